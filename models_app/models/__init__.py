"""Models of the models app: feature sets (features.py), training jobs with their results (jobs.py)
and emotion timelines of uploads (predictions.py)."""

from models_app.models.features import FeatureSet
from models_app.models.jobs import FoldResult, JobUnit, ModelArtifact, TrainingJob, UtterancePrediction
from models_app.models.predictions import Prediction

__all__ = ["FeatureSet", "FoldResult", "JobUnit", "ModelArtifact", "Prediction", "TrainingJob", "UtterancePrediction"]
