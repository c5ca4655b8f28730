"""Reads for a trained model's download: which artifact, and its model card from the job."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db.models import Count

from models_app.models import ModelArtifact, TrainingJob, UtterancePrediction
from models_app.ser.checkpoint_format import FORMAT_VERSION
from models_app.ser.model_file import CARD_KEYS, write_model_file
from models_app.ser.registry import METHODS


class ModelFileMissing(Exception):
    """The artifact's checkpoint is not on disk: an installation problem; the message says which file."""


def model_artifact(*, job: TrainingJob, method: str) -> ModelArtifact | None:
    return ModelArtifact.objects.filter(job=job, method=method, job__status=TrainingJob.Status.SUCCEEDED).first()


def model_card(*, artifact: ModelArtifact) -> dict:
    """Everything a reader of the model needs to know, from the job that trained it. The speakers
    and utterances are those the job's cross-validation predicted (the labelled utterances of the
    corpus when the job ran); the final model was trained on all of them."""
    job = artifact.job
    used = UtterancePrediction.objects.filter(job=job, row=artifact.method)
    speakers = dict(
        used.values_list("utterance__speaker__code").annotate(n=Count("id")).order_by("utterance__speaker__code")
    )
    sessions = sorted(set(used.values_list("utterance__session__code", flat=True)))
    rows = [row.name for row in METHODS[artifact.method].rows] if artifact.method in METHODS else [artifact.method]
    card = {
        "checkpoint_format": FORMAT_VERSION,
        "code_version": job.code_version,
        "method": artifact.method,
        "classes": list(artifact.classes),
        "feature_config": artifact.feature_config,
        "preset": job.preset,
        "config": artifact.config,
        "training": {
            "job": job.pk,
            "corpus": job.corpus.name,
            "corpus_format": job.corpus.format,
            "n_utterances": sum(speakers.values()),
            "speakers": speakers,
            "sessions": sessions,
            "folds": job.n_folds,
            "seed": job.seed,
            "started_at": job.started_at.isoformat() if job.started_at else None,
            "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        },
        "table1": {row: _table1_row(job.results.get(row)) for row in rows if row in job.results},
        "created_at": artifact.created_at.isoformat(),
    }
    return {key: card[key] for key in CARD_KEYS if key in card}


def _table1_row(result: dict | None) -> dict | None:
    if result is None:
        return None
    keep = (
        "title",
        "overall_accuracy",
        "mean_class_accuracy",
        "overall_accuracy_fold_std",
        "mean_class_accuracy_fold_std",
        "per_class_recall",
        "n",
        "n_empty",
        "confusion",
    )
    return {key: result[key] for key in keep if key in result}


def model_file_write(*, artifact: ModelArtifact, out) -> None:
    """The artifact as one zip (weights + model.json) written to ``out``."""
    checkpoint = Path(settings.MEDIA_ROOT) / artifact.path
    if not checkpoint.is_file():
        raise ModelFileMissing(f"The {artifact.method} model of job {artifact.job_id} is missing on the server.")
    write_model_file(out, checkpoint=checkpoint, card=model_card(artifact=artifact))
