"""Reads of the models app: feature sets and their matrices, training jobs, datasets."""
