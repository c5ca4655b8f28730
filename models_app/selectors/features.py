"""Reads of feature sets: which set is ready, and its per-utterance matrices."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from annotation.models import Corpus
from models_app.models import FeatureSet
from models_app.ser.feature_store import FeatureStoreError, PackedStore
from models_app.ser.features import FeatureConfig, feature_config_for_preset
from models_app.ser.features.config import DEFAULT_FEATURE_SET


class FeatureSetNotReady(Exception):
    """The set's matrices cannot be read: it is not ready (extracting, failed) or its store is damaged."""


class UnknownUtterances(KeyError):
    """Utterances asked for that the feature set never saw (imported after it was extracted)."""


def feature_set_ready(
    *, corpus: Corpus, preset: str = "paper", features: str = DEFAULT_FEATURE_SET
) -> FeatureSet | None:
    """The ready set of ``corpus`` under ``preset``'s configuration with ``features``, or None."""
    config_hash = feature_config_for_preset(preset, features).config_hash()
    return FeatureSet.objects.filter(corpus=corpus, config_hash=config_hash, status=FeatureSet.Status.READY).first()


def feature_config_of(*, feature_set: FeatureSet) -> FeatureConfig:
    return FeatureConfig.from_dict(feature_set.config)


def _open_store(feature_set: FeatureSet) -> PackedStore:
    if feature_set.status != FeatureSet.Status.READY:
        raise FeatureSetNotReady(
            f"feature set {feature_set.pk} of corpus {feature_set.corpus_id} is {feature_set.status}, not ready"
        )
    try:
        return PackedStore(feature_set.store_folder)
    except FeatureStoreError as exc:
        raise FeatureSetNotReady(f"feature set {feature_set.pk}: {exc}") from None


def _check_known(feature_set: FeatureSet, store: PackedStore, utterance_ids: Iterable[int] | None) -> list[int] | None:
    if utterance_ids is None:
        return None
    wanted = [int(u) for u in utterance_ids]
    empty = {item["id"] for item in feature_set.empty_utterances}
    unknown = [u for u in wanted if u not in store and u not in empty]
    if unknown:
        shown = ", ".join(map(str, unknown[:10])) + (" ..." if len(unknown) > 10 else "")
        raise UnknownUtterances(
            f"{len(unknown)} utterance(s) not in feature set {feature_set.pk} (imported after its extraction? "
            f"run feature_set_ensure again): {shown}"
        )
    return wanted


def feature_matrices(*, feature_set: FeatureSet, utterance_ids: Iterable[int] | None = None) -> dict[int, np.ndarray]:
    """Utterance primary key -> its (n_frames, 34) float32 matrix, for utterances that have
    frames (those without frames are left out; ``feature_set.empty_utterances`` says why).

    utterance_ids: the utterances wanted (default: all). Raises FeatureSetNotReady when the set
    is not ready and UnknownUtterances for ids the set never saw.
    """
    store = _open_store(feature_set)
    return store.matrices(_check_known(feature_set, store, utterance_ids))


def feature_frame_indices(
    *, feature_set: FeatureSet, utterance_ids: Iterable[int] | None = None
) -> dict[int, np.ndarray]:
    """Utterance primary key -> (n_frames,) int64 frame numbers of its kept frames: kept frame j
    starts at frame_indices[j] * step_s seconds (see feature_config_of(feature_set=feature_set).step_s)."""
    store = _open_store(feature_set)
    return store.frame_indices(_check_known(feature_set, store, utterance_ids))


def feature_utterance_vectors(
    *, feature_set: FeatureSet, utterance_ids: Iterable[int] | None = None
) -> dict[int, np.ndarray] | None:
    """Utterance primary key -> (V,) float32 per-utterance descriptors (eGeMAPS's functionals),
    or None for a set without them."""
    store = _open_store(feature_set)
    if not store.has_utterance_vectors:
        return None
    return store.utterance_vectors(_check_known(feature_set, store, utterance_ids))
