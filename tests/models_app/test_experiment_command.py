"""``manage.py run_experiment`` on a tiny corpus written through the real import and feature
services: Table 1 on stdout, every number in the JSON."""

import json
import re
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from annotation.models import Utterance
from models_app.selectors.datasets import DatasetError, dataset_for_corpus
from models_app.services.features import feature_set_ensure
from tests.factories import make_corpus

pytestmark = pytest.mark.django_db


@pytest.fixture
def corpus(tmp_path, media_root):
    # four speakers, one session each; class decides the tone's pitch, so the task is learnable
    return make_corpus(tmp_path / "audio", name="tiny", classes=("anger", "neutral", "sadness"), per_speaker_class=2)


def test_command_prints_table_1_and_writes_the_json(corpus, tmp_path):
    out, err = StringIO(), StringIO()
    json_path = tmp_path / "result.json"
    call_command(
        "run_experiment",
        corpus="tiny",
        preset="fast",
        folds=2,
        threads=1,
        jobs=2,  # two units at once in worker processes, progress bars side by side
        json_path=str(json_path),
        stdout=out,
        stderr=err,
    )
    printed = out.getvalue()
    for title in ("Dummy", "Framewise", "One-label", "CTC (beam search)", "Utterance statistics forest"):
        assert title in printed
    assert "24 utterances" in printed
    data = json.loads(json_path.read_text())
    assert set(data) >= {"methods", "folds", "predictions", "classes", "config"}
    assert data["classes"] == ["anger", "neutral", "sadness"] and data["corpus"] == "tiny"
    assert data["config"]["name"] == "fast"
    assert len(data["folds"]) == 2
    ids = set(Utterance.objects.filter(corpus=corpus).values_list("pk", flat=True))
    for row, summary in data["methods"].items():
        assert 0.0 <= summary["overall_accuracy"] <= 1.0 and 0.0 <= summary["mean_class_accuracy"] <= 1.0
        assert {p["utterance_id"] for p in data["predictions"][row]} == ids
    # pitch separates the classes: the statistics forest gets them (nearly) all
    assert data["methods"]["utterance_stats"]["mean_class_accuracy"] > 0.8
    # the progress bars went to stderr: units, and the epochs of each network unit
    assert re.search(r"ctc fold 1: .*epoch/s, loss=", err.getvalue())
    assert re.search(r"onelabel fold 0: .*epoch/s, loss=", err.getvalue())


def test_dataset_for_corpus_keeps_class_order_and_sessions(corpus):
    feature_set = feature_set_ensure(corpus=corpus, preset="paper")
    dataset = dataset_for_corpus(corpus=corpus, feature_set=feature_set, classes=["sadness", "anger"])
    assert dataset.classes == ["sadness", "anger"]
    assert len(dataset) == 16
    labels = dict(Utterance.objects.filter(corpus=corpus).values_list("pk", "label"))
    assert all(
        dataset.classes[label] == labels[uid] for uid, label in zip(dataset.utterance_ids, dataset.labels, strict=True)
    )
    assert set(dataset.groups) == {"s1", "s2", "s3", "s4"}
    assert all(x.shape[1] == 34 and x.dtype == np.float32 for x in dataset.features)
    with pytest.raises(DatasetError, match="not in corpus"):
        dataset_for_corpus(corpus=corpus, feature_set=feature_set, classes=["anger", "joy"])


def test_command_refuses_what_it_cannot_do(corpus, tmp_path):
    with pytest.raises(CommandError, match="no corpus named 'nope'"):
        call_command("run_experiment", corpus="nope", stdout=StringIO())
    with pytest.raises(CommandError, match="unknown methods svm"):
        call_command("run_experiment", corpus="tiny", methods="dummy,svm", stdout=StringIO())
    with pytest.raises(CommandError, match="does not exist"):
        call_command("run_experiment", corpus="tiny", json_path=str(tmp_path / "missing" / "x.json"), stdout=StringIO())
    with pytest.raises(CommandError, match="--jobs must be at least 1"):
        call_command("run_experiment", corpus="tiny", jobs=0, stdout=StringIO())
    with pytest.raises(CommandError, match="at most 4 folds"):
        call_command(
            "run_experiment", corpus="tiny", methods="dummy", folds=5, threads=1, stdout=StringIO(), stderr=StringIO()
        )
