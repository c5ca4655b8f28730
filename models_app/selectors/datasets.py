"""The numerical core's Dataset for a corpus: its labelled utterances with their frame features."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from annotation.models import Corpus
from annotation.selectors.corpora import experiment_utterances
from models_app.selectors.features import feature_matrices, feature_utterance_vectors
from models_app.ser.dataset import Dataset


class DatasetError(ValueError):
    """The corpus cannot give a dataset for an experiment (the message says why)."""


def dataset_for_corpus(*, corpus: Corpus, feature_set, classes: Sequence[str] | None = None) -> Dataset:
    """Utterances labelled with one of ``classes`` (default: the corpus's class set, in its order)
    that kept at least one frame, ordered by id. Groups are sessions (a corpus without sessions
    has one session per speaker), so folds built on them are speaker-independent."""
    corpus_classes = list(corpus.classes)
    classes = list(classes) if classes is not None else corpus_classes
    unknown = [name for name in classes if name not in corpus_classes]
    if unknown:
        raise DatasetError(
            f"classes not in corpus {corpus.name!r}'s class set ({', '.join(corpus_classes)}): {', '.join(unknown)}"
        )
    if len(classes) < 2:
        raise DatasetError("an experiment needs at least two classes")
    rows = list(
        experiment_utterances(corpus=corpus)
        .filter(label__in=classes)
        .order_by("pk")
        .values_list("pk", "label", "session__code", "speaker__code")
    )
    if not rows:
        raise DatasetError(f"corpus {corpus.name!r} has no utterance labelled {', '.join(classes)}")
    matrices = feature_matrices(feature_set=feature_set, utterance_ids=[pk for pk, _, _, _ in rows])
    kept = [row for row in rows if row[0] in matrices]
    if not kept:
        raise DatasetError(f"no utterance of corpus {corpus.name!r} has frames left after feature extraction")
    class_index = {name: i for i, name in enumerate(classes)}
    vectors = feature_utterance_vectors(feature_set=feature_set, utterance_ids=[pk for pk, _, _, _ in kept])
    return Dataset(
        utterance_ids=np.array([pk for pk, _, _, _ in kept], dtype=np.int64),
        features=[matrices[pk] for pk, _, _, _ in kept],
        labels=np.array([class_index[label] for _, label, _, _ in kept], dtype=np.int64),
        groups=np.array([session for _, _, session, _ in kept]),
        speakers=np.array([speaker for _, _, _, speaker in kept]),
        classes=classes,
        utterance_vectors=None if vectors is None else np.stack([vectors[pk] for pk, _, _, _ in kept]),
    )
