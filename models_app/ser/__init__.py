"""ser: the numerical core of emolab (speech emotion recognition).

Features, methods, decoding, cross-validation, metrics and report analysis. This package imports
neither Django nor Celery, so it can be tested and reused alone; the apps call it and it reports
progress through a callback (see :mod:`models_app.ser.progress`).

Torch stays out of the web process. The networks (``ser/methods``: the package imports them all),
``ser/torch_utils.py`` and the checkpoints (``ser/persistence.py``) import torch, which costs
seconds and hundreds of MB per gunicorn worker that never trains or loads a network. Nothing
outside them imports them at module level: ``ser/registry.py`` imports an estimator class when
the first estimator is built, and the two services that save or load a checkpoint import
``persistence`` inside the function that does. ``tests/test_import_boundaries.py`` imports every
other module of the project, the way the web process and Celery's autodiscovery do, and fails if
torch is loaded.
"""
