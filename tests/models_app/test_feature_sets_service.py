"""The openSMILE sets through the real service and database: cached apart from the paper's set,
the same numbers when a corpus is extracted twice, and datasets that carry the functionals."""

import numpy as np
import pytest

from models_app.models import FeatureSet
from models_app.selectors.datasets import dataset_for_corpus
from models_app.selectors.features import feature_matrices, feature_set_ready, feature_utterance_vectors
from models_app.ser.features import FEATURE_PRESETS
from models_app.ser.features.config import FeatureConfig
from models_app.services.features import feature_set_delete, feature_set_ensure
from tests.factories import make_corpus_from_signals, tone

pytestmark = pytest.mark.django_db


@pytest.fixture
def corpus(tmp_path, media_root):
    # 1 s and 1.5 s: 9 and 14 frames, the paper preset keeps 7 and 12; 0.1 s: no frame at all.
    return make_corpus_from_signals(
        tmp_path / "audio",
        {"one": tone(1.0, 220, seed=1), "one_and_half": tone(1.5, 330, seed=2), "blip": tone(0.1, 440, seed=3)},
    )


def test_each_set_is_cached_apart_with_its_own_columns(corpus):
    paper = feature_set_ensure(corpus=corpus, preset="paper")
    egemaps = feature_set_ensure(corpus=corpus, preset="paper", features="egemaps")
    compare = feature_set_ensure(corpus=corpus, preset="paper", features="compare")
    assert len({paper.pk, egemaps.pk, compare.pk}) == 3
    assert len({paper.store_path, egemaps.store_path, compare.store_path}) == 3
    assert paper.config_hash == FEATURE_PRESETS["paper"].config_hash()  # the paper's cache is unchanged
    assert FeatureConfig.from_dict(egemaps.config).feature_set == "egemaps" and egemaps.preset == "paper/egemaps"
    for feature_set, n_columns in ((paper, 34), (egemaps, 50), (compare, 130)):
        assert feature_set.n_frames == 7 + 12 and feature_set.n_utterances == 2
        assert [item["reason"] for item in feature_set.empty_utterances] == ["shorter than one 200 ms frame (0.100 s)"]
        assert {m.shape[1] for m in feature_matrices(feature_set=feature_set).values()} == {n_columns}
    assert feature_utterance_vectors(feature_set=paper) is None
    assert {v.shape for v in feature_utterance_vectors(feature_set=egemaps).values()} == {(88,)}
    assert feature_set_ready(corpus=corpus, preset="paper", features="egemaps") == egemaps
    # A second call is the cache: nothing extracted again.
    assert feature_set_ensure(corpus=corpus, preset="paper", features="egemaps").pk == egemaps.pk


def test_a_corpus_extracted_twice_gives_the_same_numbers(corpus):
    first = feature_set_ensure(corpus=corpus, preset="paper", features="egemaps")
    matrices, vectors = feature_matrices(feature_set=first), feature_utterance_vectors(feature_set=first)
    feature_set_delete(feature_set=first)
    assert not FeatureSet.objects.filter(pk=first.pk).exists()
    second = feature_set_ensure(corpus=corpus, preset="paper", features="egemaps")
    again, again_vectors = feature_matrices(feature_set=second), feature_utterance_vectors(feature_set=second)
    assert matrices.keys() == again.keys()
    for pk in matrices:
        assert matrices[pk].tobytes() == again[pk].tobytes()
        assert vectors[pk].tobytes() == again_vectors[pk].tobytes()


def test_the_dataset_carries_the_functionals_in_utterance_order(corpus):
    egemaps = feature_set_ensure(corpus=corpus, preset="paper", features="egemaps")
    dataset = dataset_for_corpus(corpus=corpus, feature_set=egemaps, classes=["anger", "neutral"])
    vectors = feature_utterance_vectors(feature_set=egemaps)
    assert dataset.utterance_vectors.shape == (2, 88)
    for row, pk in enumerate(dataset.utterance_ids):
        np.testing.assert_array_equal(dataset.utterance_vectors[row], vectors[int(pk)])
    paper = feature_set_ensure(corpus=corpus, preset="paper")
    assert dataset_for_corpus(corpus=corpus, feature_set=paper, classes=["anger", "neutral"]).utterance_vectors is None


def test_the_extract_command_takes_the_feature_set(corpus):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("extract_features", corpus="feat", features="compare", stdout=out, stderr=StringIO())
    assert "(preset paper/compare" in out.getvalue()
    assert FeatureSet.objects.get(corpus=corpus).preset == "paper/compare"
