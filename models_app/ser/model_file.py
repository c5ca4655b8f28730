"""A trained model as one downloadable file: a zip holding the checkpoint and ``model.json``, the
model card (what was trained, on what, how well, with which code).

    model.json              the card (see ``CARD_KEYS``)
    weights/<method>.ckpt   the checkpoint as models_app/ser/persistence.py wrote it

Reading one back checks the card's ``model_format`` against ``MODEL_FORMAT`` before anything
else: a file written by code whose model files this code cannot read is refused with a message
that names both code versions. Only network checkpoints (plain tensors, read with
``weights_only=True``) are loaded from such a file; a pickled forest from elsewhere could run code.

No Django here; torch is imported only when a model is loaded.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from models_app.ser.checkpoint_format import FORMAT_VERSION

# The layout of the zip and of its card. Raise it when either changes so that old code refuses
# new files (and new code old ones) with a clear message instead of failing half-way.
MODEL_FORMAT = 1
CARD_NAME = "model.json"
WEIGHTS_FOLDER = "weights"
# The checkpoint inside is small (a few MB); anything much larger is not one of ours.
MAX_MEMBER_BYTES = 500_000_000

CARD_KEYS = (
    "model_format",  # MODEL_FORMAT of the code that wrote the file
    "checkpoint_format",  # persistence.FORMAT_VERSION of the checkpoint inside
    "code_version",  # git commit of the code that trained the model
    "method",  # registry name: ctc, onelabel, framewise, ...
    "classes",  # class names in the order of the model's outputs
    "feature_config",  # the whole FeatureConfig the training features were computed with
    "preset",  # the experiment preset the job was started with
    "config",  # the whole ExperimentConfig
    "training",  # job id, corpus name and format, utterances, speakers, sessions, folds, seed
    "table1",  # the cross-validated Table 1 row(s) of this method (CTC: one per decoder)
    "created_at",  # when the final model was saved (ISO 8601)
    "weights",  # path of the checkpoint inside the zip
)


class ModelFileError(ValueError):
    """Not a model file this code can use; the message says why."""


class IncompatibleModel(ModelFileError):
    """A model file written by code whose model format this code does not read."""


def write_model_file(out, *, checkpoint: Path, card: dict) -> None:
    """Write the zip to ``out`` (a path or a binary file object)."""
    checkpoint = Path(checkpoint)
    weights = f"{WEIGHTS_FOLDER}/{card['method']}.ckpt"
    card = {**card, "model_format": MODEL_FORMAT, "weights": weights}
    missing = [key for key in CARD_KEYS if key not in card]
    if missing:
        raise ValueError(f"model card lacks {', '.join(missing)}")
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(CARD_NAME, json.dumps({key: card[key] for key in CARD_KEYS}, indent=2, default=str))
        archive.write(checkpoint, weights)


def read_model_card(path: Path | str) -> dict:
    """The card of a model file, checked for compatibility with this code."""
    try:
        with zipfile.ZipFile(path) as archive:
            card = json.loads(archive.read(CARD_NAME))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{path}: not an emolab model file (a zip with {CARD_NAME}): {exc}") from None
    if not isinstance(card, dict):
        raise ModelFileError(f"{path}: {CARD_NAME} is not an object")
    check_compatible(card, path=path)
    return card


def check_compatible(card: dict, *, path, code_version: str | None = None) -> None:
    their_format = card.get("model_format")
    if their_format != MODEL_FORMAT:
        theirs = card.get("code_version") or "unknown"
        ours = code_version if code_version is not None else current_code_version()
        raise IncompatibleModel(
            f"{path} was written by emolab code version {theirs} (model format {their_format}); this is code "
            f"version {ours or 'unknown'}, which reads model format {MODEL_FORMAT}. Use code version {theirs} "
            f"to run it, or download the model again from a site running version {ours or 'this version'}."
        )


def current_code_version() -> str:
    """The git commit of this checkout ('' outside a git checkout)."""
    import subprocess

    try:
        result = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
        return result.stdout.strip() if result.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        return ""


@dataclass(frozen=True)
class LoadedModelFile:
    estimator: object
    card: dict


def load_model_file(path: Path | str, *, scratch: Path) -> LoadedModelFile:
    """The fitted estimator and the card of a model file. The checkpoint is copied to ``scratch``
    (a folder the caller owns and removes) and read as a network checkpoint only."""
    from models_app.ser.persistence import CheckpointError, load_estimator

    card = read_model_card(path)
    if card.get("checkpoint_format") != FORMAT_VERSION:
        raise IncompatibleModel(
            f"{path}: checkpoint format {card.get('checkpoint_format')} (code version "
            f"{card.get('code_version') or 'unknown'}); this code reads checkpoint format {FORMAT_VERSION}"
        )
    weights = card.get("weights", "")
    with zipfile.ZipFile(path) as archive:
        try:
            info = archive.getinfo(weights)
        except KeyError:
            raise ModelFileError(f"{path}: the card names {weights!r}, which the file does not hold") from None
        if info.file_size > MAX_MEMBER_BYTES:
            raise ModelFileError(f"{path}: {weights} is {info.file_size} bytes, too large for a checkpoint")
        target = Path(scratch) / "checkpoint.ckpt"  # a fixed name: the member's own name is not trusted
        with archive.open(info) as source, target.open("wb") as sink:
            copied = 0
            while chunk := source.read(1 << 20):
                copied += len(chunk)
                if copied > MAX_MEMBER_BYTES:
                    raise ModelFileError(f"{path}: {weights} is larger than it claims")
                sink.write(chunk)
    try:
        estimator, metadata = load_estimator(target, trusted=False)
    except CheckpointError as exc:
        raise ModelFileError(f"{path}: {exc}") from None
    if metadata["method"] != card.get("method"):
        raise ModelFileError(f"{path}: the card says {card.get('method')}, the checkpoint holds {metadata['method']}")
    return LoadedModelFile(estimator=estimator, card=card)
