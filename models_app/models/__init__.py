"""Models of the models app: feature sets (features.py), training jobs with their results (jobs.py),
emotion timelines of uploads (predictions.py) and stored comparison reports (reports.py)."""

from models_app.models.features import FeatureSet
from models_app.models.jobs import FoldResult, JobUnit, ModelArtifact, TrainingJob, UtterancePrediction
from models_app.models.predictions import Prediction
from models_app.models.reports import StoredReport

__all__ = [
    "FeatureSet",
    "FoldResult",
    "JobUnit",
    "ModelArtifact",
    "Prediction",
    "StoredReport",
    "TrainingJob",
    "UtterancePrediction",
]
