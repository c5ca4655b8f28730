"""``run_experiment --features`` and ``--seeds`` on a tiny corpus through the real services."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.factories import make_corpus

pytestmark = pytest.mark.django_db


@pytest.fixture
def corpus(tmp_path, media_root):
    return make_corpus(tmp_path / "audio", name="tiny", classes=("anger", "neutral", "sadness"), per_speaker_class=2)


def test_features_and_seeds_give_the_mean_table_and_per_seed_json(corpus, tmp_path):
    out, err = StringIO(), StringIO()
    json_path = tmp_path / "seeds.json"
    call_command(
        "run_experiment",
        corpus="tiny",
        preset="fast",
        methods="dummy,framewise,utterance_stats",
        features="egemaps",
        seeds="0,1",
        folds=2,
        json_path=str(json_path),
        stdout=out,
        stderr=err,
    )
    printed = out.getvalue()
    assert "features egemaps" in printed and "model seeds 0,1" in printed
    assert "Mean ± standard deviation over model seeds 0, 1" in printed and "Model seed 1" in printed
    data = json.loads(json_path.read_text())
    assert data["config"]["features"] == "egemaps" and data["model_seeds"] == [0, 1]
    per_seed = [entry["methods"]["framewise"]["mean_class_accuracy"] for entry in data["per_seed"]]
    assert data["methods"]["framewise"]["mean_class_accuracy"] == pytest.approx(sum(per_seed) / 2)
    assert data["comparisons"] and data["paper_ordering"][0]["a"] == "framewise"


def test_standardize_feeds_the_paper_set_standardised_and_the_json_records_it(corpus, tmp_path):
    out = StringIO()
    json_path = tmp_path / "standardised.json"
    call_command(
        "run_experiment",
        corpus="tiny",
        preset="fast",
        methods="dummy",
        folds=2,
        standardize=True,
        json_path=str(json_path),
        stdout=out,
        stderr=StringIO(),
    )
    assert "network inputs standardised" in out.getvalue()
    config = json.loads(json_path.read_text())["config"]
    assert config["features"] == "pyaudioanalysis34" and config["network"]["standardize"] is True


@pytest.mark.parametrize(
    "options, message",
    [({"seeds": "0,x"}, "--seeds: give comma-separated integers"), ({"seeds": "1,1"}, "a seed is given twice")],
)
def test_bad_seeds_are_refused(corpus, options, message):
    with pytest.raises(CommandError, match=message):
        call_command("run_experiment", corpus="tiny", methods="dummy", folds=2, stdout=StringIO(), **options)


def test_an_unknown_feature_set_is_refused(corpus):
    with pytest.raises(CommandError, match="invalid choice: 'mfcc'"):
        call_command("run_experiment", "--corpus", "tiny", "--features", "mfcc", stdout=StringIO(), stderr=StringIO())


def test_the_device_is_checked_before_any_work(corpus):
    import torch

    with pytest.raises(CommandError, match="unknown device 'gpu'"):
        call_command("run_experiment", corpus="tiny", methods="dummy", device="gpu", stdout=StringIO())
    if not torch.cuda.is_available():  # on a GPU machine "cuda" is valid and this part says nothing
        with pytest.raises(CommandError, match="torch sees no CUDA GPU"):
            call_command("run_experiment", corpus="tiny", methods="dummy", device="cuda", stdout=StringIO())
    out = StringIO()
    call_command("run_experiment", corpus="tiny", methods="dummy", folds=2, device="cpu", stdout=out, stderr=StringIO())
    assert "device cpu" in out.getvalue()
