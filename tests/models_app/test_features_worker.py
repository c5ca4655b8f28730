"""Feature extraction through the real queue: a Celery worker subprocess on the configured broker
(filesystem transport by default, Redis in CI's second run) extracts the chunks and packs the set."""

import shutil
import uuid

import numpy as np
import pytest

from annotation.models import Utterance
from models_app.models import FeatureSet
from models_app.selectors.features import feature_matrices
from models_app.ser.audio import read_audio
from models_app.ser.features import FEATURE_PRESETS, extract
from models_app.services import features as services
from tests.factories import make_corpus_from_signals, tone
from tests.worker import wait_until


@pytest.mark.worker
def test_a_real_worker_extracts_every_chunk_and_packs_the_set(tmp_path, monkeypatch, celery_worker):
    # The worker reads the test settings' MEDIA_ROOT, so this test keeps the default one and
    # removes its own folder afterwards; a unique corpus name keeps runs apart.
    name = f"worker-{uuid.uuid4().hex[:8]}"
    corpus = make_corpus_from_signals(
        tmp_path / "audio",
        {"a": tone(1.0, 200, seed=1), "b": tone(1.5, 300, seed=2), "c": tone(2.0, 400, seed=3), "d": tone(0.1)},
        name=name,
    )
    monkeypatch.setattr(services, "CHUNK_MAX_UTTERANCES", 1)  # four chunks: four tasks
    feature_set = services.feature_set_extract_async(corpus=corpus, preset="paper")
    try:
        assert len(feature_set.chunks) == 4
        wait_until(
            lambda: (
                FeatureSet.objects.get(pk=feature_set.pk).status in (FeatureSet.Status.READY, FeatureSet.Status.FAILED)
            ),
            timeout=120,
            message="the worker to finish the feature set:\n" + celery_worker.log(),
        )
        feature_set.refresh_from_db()
        assert feature_set.status == FeatureSet.Status.READY, feature_set.error + celery_worker.log()
        assert (feature_set.n_utterances, feature_set.n_frames) == (3, 7 + 12 + 17)
        assert [item["name"] for item in feature_set.empty_utterances] == ["d"]
        assert feature_set.progress_done == feature_set.progress_total == 4
        log = celery_worker.log()
        assert log.count("models_app.features.extract_chunk") >= 4

        # The worker's numbers are the in-process extractor's numbers.
        matrices = feature_matrices(feature_set=feature_set)
        for utterance in Utterance.objects.filter(corpus=corpus).exclude(name="d"):
            samples, rate = read_audio(utterance.audio_file)
            assert np.array_equal(matrices[utterance.pk], extract(samples, rate, FEATURE_PRESETS["paper"]).matrix)
    finally:
        shutil.rmtree(feature_set.store_folder, ignore_errors=True)
