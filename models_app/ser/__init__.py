"""ser: the numerical core of emolab (speech emotion recognition).

Features, methods, decoding, cross-validation, metrics and report analysis. This package imports
neither Django nor Celery, so it can be tested and reused alone; the apps call it and it reports
progress through a callback (see :mod:`models_app.ser.progress`).
"""
