"""Django admin of the models app: one module per model family, each registering its pages."""

from models_app.admin import features, jobs

__all__ = ["features", "jobs"]
