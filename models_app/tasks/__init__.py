"""Celery tasks of the models app. Celery's autodiscovery imports this package only, so it
imports every task module."""

from models_app.tasks import features, jobs, predictions, reports

__all__ = ["features", "jobs", "predictions", "reports"]
