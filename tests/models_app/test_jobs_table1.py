"""A job's Table 1 is the experiment's: fold results stored in the database, pooled by the core."""

import importlib

import numpy as np
import pytest
from django.apps import apps

from models_app.models import JobUnit, TrainingJob
from models_app.selectors.jobs import training_job_table1
from models_app.ser.folds import FoldResult, UtterancePrediction
from models_app.ser.table1 import aggregate
from models_app.services.jobs import _store_fold_result
from tests.factories import make_corpus

CLASSES = ["anger", "neutral", "sadness"]


@pytest.fixture
def job(db, tmp_path, admin_user):
    corpus = make_corpus(tmp_path / "corpus", name="tiny", classes=CLASSES, speakers=("s1", "s2"), per_speaker_class=1)
    return TrainingJob.objects.create(
        corpus=corpus, methods=["ctc"], preset="fast", config={}, n_folds=2, classes=CLASSES, created_by=admin_user
    )


def _fold_results(ids):
    """The hand-computed example of tests/ser/test_experiment.py, on real utterance ids."""

    def prediction(i, fold, true, predicted):
        return UtterancePrediction(ids[i], fold, true, predicted, np.zeros(3))

    fold0 = [prediction(0, 0, 0, 0), prediction(1, 0, 1, 1), prediction(2, 0, 2, 2), prediction(3, 0, 2, 0)]
    fold1 = [prediction(4, 1, 0, 0), prediction(5, 1, 1, None)]
    metrics0 = {"overall_accuracy": 0.75, "mean_class_accuracy": 2.5 / 3, "n": 4, "n_empty": 0, "n_multi": 1}
    metrics1 = {"overall_accuracy": 0.5, "mean_class_accuracy": 0.5, "n": 2, "n_empty": 1, "n_multi": 0}
    metrics0["confusion"] = [[1, 0, 0], [0, 1, 0], [1, 0, 1]]
    metrics1["confusion"] = [[1, 0, 0], [0, 0, 0], [0, 0, 0]]
    return [
        FoldResult("ctc", 0, 2, 4, 0.0, {"ctc": metrics0}, {"ctc": fold0}),
        FoldResult("ctc", 1, 4, 2, 0.0, {"ctc": metrics1}, {"ctc": fold1}),
    ]


def test_a_jobs_table1_is_the_experiments(job):
    ids = list(job.corpus.utterances.order_by("pk").values_list("pk", flat=True))
    results = _fold_results(ids)
    for result in results:
        unit = JobUnit.objects.create(job=job, kind=JobUnit.Kind.FOLD, method="ctc", fold=result.fold)
        _store_fold_result(job, unit, result)
    stored = training_job_table1(job=job)
    assert list(stored) == ["ctc"]
    assert stored["ctc"].to_json(CLASSES) == aggregate(results)["ctc"].to_json(CLASSES)
    summary = stored["ctc"]
    assert summary.overall_accuracy == pytest.approx(4 / 6)
    assert (summary.n, summary.n_empty, summary.n_multi) == (6, 1, 1)


def test_results_stored_before_one_aggregation_are_renamed(job):
    job.results = {"ctc": {"overall_accuracy": 0.5, "n_utterances": 6, "n_empty": 1}, "dummy": {"n": 3}}
    job.save()
    migration = importlib.import_module("models_app.migrations.0003_job_results_n")
    migration.forwards(apps, None)
    job.refresh_from_db()
    assert job.results == {"ctc": {"overall_accuracy": 0.5, "n": 6, "n_empty": 1}, "dummy": {"n": 3}}
    migration.backwards(apps, None)
    job.refresh_from_db()
    assert job.results["ctc"]["n_utterances"] == 6
