"""The feature set and the device of a training job: chosen in the API and on the start page,
recorded on the job and in its config, shown on its page; a job on eGeMAPS runs to the end."""

import pytest

from models_app.models import ModelArtifact, TrainingJob, UtterancePrediction
from models_app.ser.features.config import FeatureConfig
from models_app.services import jobs as job_services
from tests.factories import make_corpus

JOB_REQUEST = {"corpus": "tiny", "methods": ["dummy", "framewise"], "preset": "fast", "folds": 2, "seed": 0}


@pytest.fixture
def corpus(db, tmp_path):
    return make_corpus(tmp_path / "tiny", name="tiny", speakers=("s1", "s2", "s3"), per_speaker_class=1)


def test_the_api_records_the_feature_set_and_the_device(api_client, corpus, admin_user):
    api_client.force_authenticate(admin_user)
    response = api_client.post("/api/jobs/", {**JOB_REQUEST, "features": "egemaps", "device": "cpu"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["features"], body["device"]) == ("egemaps", "cpu")
    job = TrainingJob.objects.get(pk=body["id"])
    assert (job.features, job.device) == ("egemaps", "cpu")
    assert (job.config["features"], job.config["device"]) == ("egemaps", "cpu")
    # Left out, they are the paper's set and "auto".
    default = api_client.post("/api/jobs/", JOB_REQUEST, format="json").json()
    assert (default["features"], default["device"]) == ("pyaudioanalysis34", "auto")


@pytest.mark.parametrize(
    "change, message",
    [
        ({"features": "mfcc"}, "unknown feature set 'mfcc'; choose one of pyaudioanalysis34, egemaps, compare"),
        ({"device": "gpu"}, "unknown device 'gpu'; choose auto, cpu, cuda or cuda:N"),
        ({"device": "cuda:x"}, "unknown device 'cuda:x'"),
    ],
)
def test_the_api_refuses_an_unknown_feature_set_or_device(api_client, corpus, admin_user, change, message):
    api_client.force_authenticate(admin_user)
    response = api_client.post("/api/jobs/", {**JOB_REQUEST, **change}, format="json")
    assert response.status_code == 400
    assert message in str(response.json())
    assert not TrainingJob.objects.exists()


def test_the_start_page_chooses_them_and_the_job_page_shows_them(client, corpus, admin_user):
    client.force_login(admin_user)
    form = client.get("/jobs/new/").content.decode()
    assert 'name="features"' in form and 'name="device"' in form and "eGeMAPSv02" in form
    response = client.post(
        "/jobs/new/",
        {**JOB_REQUEST, "methods": ["dummy"], "features": "compare", "device": "cuda:1"},
    )
    assert response.status_code == 302
    job = TrainingJob.objects.get()
    assert (job.features, job.device, job.config["features"]) == ("compare", "cuda:1", "compare")
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert '<code id="job-features">compare</code>' in page and '<code id="job-device">cuda:1</code>' in page
    bad = client.post("/jobs/new/", {**JOB_REQUEST, "methods": ["dummy"], "device": "tpu"})
    assert bad.status_code == 200 and "unknown device" in bad.content.decode()
    assert TrainingJob.objects.count() == 1


@pytest.fixture
def worker_corpus(media_root, transactional_db, tmp_path):
    return make_corpus(
        tmp_path / "corpus", name="tiny", speakers=("s1", "s2", "s3", "s4"), per_speaker_class=3, seconds=1.5
    )


def test_a_job_on_egemaps_runs_every_method_to_success(worker_corpus, admin_user, celery_worker):
    from tests.worker import wait_until

    methods = ["dummy", "framewise", "onelabel", "ctc", "utterance_stats"]
    job = job_services.training_job_start(
        corpus=worker_corpus, methods=methods, preset="fast", folds=2, features="egemaps", created_by=admin_user
    )
    wait_until(lambda: TrainingJob.objects.get(pk=job.pk).is_finished, timeout=180, message="the job to finish")
    job.refresh_from_db()
    assert job.status == "succeeded", job.error + celery_worker.log()
    assert FeatureConfig.from_dict(job.feature_set.config).feature_set == "egemaps"
    assert set(job.results) == {
        "dummy",
        "framewise",
        "onelabel",
        "ctc",
        "ctc_best_path",
        "ctc_exact",
        "utterance_stats",
    }
    n_utterances = worker_corpus.utterances.count()
    assert UtterancePrediction.objects.filter(job=job, row="utterance_stats").count() == n_utterances
    framewise = UtterancePrediction.objects.filter(job=job, row="framewise").first()
    assert len(framewise.frame_probabilities) == 12  # 1.5 s: 14 frames, the first and last dropped
    # The tones differ in pitch: eGeMAPS's functionals separate them.
    assert job.results["utterance_stats"]["overall_accuracy"] > 0.8
    artifacts = ModelArtifact.objects.filter(job=job)
    assert {a.feature_config["feature_set"] for a in artifacts} == {"egemaps"}


@pytest.mark.parametrize("device, gpu_units", [("auto", {"ctc"}), ("cuda:0", {"ctc"}), ("cpu", set())])
def test_network_units_go_to_the_gpu_queue_when_the_deployment_has_one(
    corpus, admin_user, settings, monkeypatch, media_root, django_capture_on_commit_callbacks, device, gpu_units
):
    from emolab.celery import app
    from models_app.models import JobUnit

    settings.EMOLAB_GPU_QUEUE = "gpu"
    sent = []
    monkeypatch.setattr(app, "send_task", lambda name, args=(), **options: sent.append((name, args, options)))
    job = job_services.training_job_start(
        corpus=corpus, methods=["dummy", "ctc"], preset="fast", folds=2, device=device, created_by=admin_user
    )
    with django_capture_on_commit_callbacks(execute=True):
        job_services.training_job_prepare(job_id=job.pk)
    folds = [
        (JobUnit.objects.get(pk=args[0]).method, options.get("queue"))
        for name, args, options in sent
        if name == job_services.RUN_FOLD_TASK
    ]
    assert sorted(folds) == sorted(
        [(method, "gpu" if method in gpu_units else None) for method in ("dummy", "ctc") for _ in range(2)]
    )


def test_a_job_with_model_seeds_reports_their_mean_and_paired_tests(
    worker_corpus, admin_user, celery_worker, client, api_client
):
    import numpy as np

    from models_app.selectors.jobs import training_job_table1
    from tests.worker import wait_until

    methods = ["dummy", "framewise", "utterance_stats"]
    job = job_services.training_job_start(
        corpus=worker_corpus, methods=methods, preset="fast", folds=2, seed=1, model_seeds=[0, 3], created_by=admin_user
    )
    wait_until(lambda: TrainingJob.objects.get(pk=job.pk).is_finished, timeout=180, message="the job to finish")
    job.refresh_from_db()
    assert job.status == "succeeded", job.error + celery_worker.log()

    # The first seed's pooled scores are the ones its stored predictions give (the worker's
    # features live in its own media folder, so the comparison goes through the database).
    first_seed = training_job_table1(job=job)
    for row in ("dummy", "framewise", "utterance_stats"):
        entry = job.results[row]
        assert entry["model_seeds"] == [0, 3]
        assert entry["mean_class_accuracy_seeds"][0] == pytest.approx(first_seed[row].mean_class_accuracy)
        assert entry["overall_accuracy_seeds"][0] == pytest.approx(first_seed[row].overall_accuracy)
        assert entry["mean_class_accuracy"] == pytest.approx(np.mean(entry["mean_class_accuracy_seeds"]))
        assert entry["mean_class_accuracy_seed_std"] == pytest.approx(
            np.std(entry["mean_class_accuracy_seeds"], ddof=1)
        )
    assert job.results["dummy"]["mean_class_accuracy_seeds"] == [0.5, 0.5]  # the majority class, whatever the seed
    test = job.results["utterance_stats"]["beats"]["dummy"]
    assert test["n_pairs"] == 4 and test["mean_difference"] > 0
    client.force_login(admin_user)
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert '<span id="job-model-seeds">0, 3</span>' in page and 'id="job-comparisons"' in page
    api_client.force_authenticate(admin_user)
    assert api_client.get(f"/api/jobs/{job.pk}/").json()["model_seeds"] == [0, 3]


def test_model_seeds_are_checked_in_the_api_and_the_form(api_client, client, corpus, admin_user):
    api_client.force_authenticate(admin_user)
    response = api_client.post("/api/jobs/", {**JOB_REQUEST, "model_seeds": [1, 1]}, format="json")
    assert response.status_code == 400 and "a model seed is given twice" in str(response.json())
    ok = api_client.post("/api/jobs/", {**JOB_REQUEST, "model_seeds": [0, 1, 2]}, format="json")
    assert ok.status_code == 201 and TrainingJob.objects.get(pk=ok.json()["id"]).model_seeds == [0, 1, 2]
    client.force_login(admin_user)
    bad = client.post("/jobs/new/", {**JOB_REQUEST, "methods": ["dummy"], "model_seeds": "0,a"})
    assert bad.status_code == 200 and "comma-separated whole numbers" in bad.content.decode()
    good = client.post("/jobs/new/", {**JOB_REQUEST, "methods": ["dummy"], "model_seeds": "4, 5"})
    assert good.status_code == 302 and TrainingJob.objects.order_by("-pk").first().model_seeds == [4, 5]
