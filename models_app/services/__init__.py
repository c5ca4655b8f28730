"""Writes and workflows of the models app: feature extraction, training jobs."""
