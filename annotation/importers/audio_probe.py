"""Reads an audio file once: checks it decodes, measures it, and fingerprints it."""

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile


class UnreadableAudio(Exception):
    """The file is missing, empty, corrupt or holds no samples. The message is the reason."""


@dataclass(frozen=True)
class AudioInfo:
    sha256: str
    duration_s: float
    sample_rate: int
    n_channels: int


def probe_audio(path: Path) -> AudioInfo:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UnreadableAudio("file not found") from None
    except OSError as exc:
        raise UnreadableAudio(f"cannot read file: {exc.strerror or exc}") from None
    if not data:
        raise UnreadableAudio("empty file (0 bytes)")
    try:
        with soundfile.SoundFile(path) as sound:
            sample_rate = sound.samplerate
            n_channels = sound.channels
            # Decode everything: a header can be intact while the data behind it is truncated.
            samples = sound.read(dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, ValueError) as exc:
        raise UnreadableAudio(f"not a readable audio file ({exc})") from None
    if samples.shape[0] == 0:
        raise UnreadableAudio("audio holds no samples")
    if not np.isfinite(samples).all():
        raise UnreadableAudio("audio holds NaN or infinite samples")
    return AudioInfo(
        sha256=hashlib.sha256(data).hexdigest(),
        duration_s=samples.shape[0] / sample_rate,
        sample_rate=sample_rate,
        n_channels=n_channels,
    )
