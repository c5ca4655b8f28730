"""Reading a recording of any length for the timeline: wav, flac or ogg, any rate, any channels.

A whole hour read at once as the file's channels in float64 would take gigabytes (48 kHz stereo:
2.8 GB). The file is therefore decoded block by block, each block averaged to mono (as
audio.to_mono does) and resampled to the feature rate on the way, so only the 16 kHz mono signal
is ever held whole (460 MB for an hour).

Block-wise resampling gives the same samples as scipy's ``resample_poly`` over the whole signal
(audio.resample): every block is resampled together with enough neighbouring input that each
output sample it keeps has its whole filter inside, and blocks start on input positions that map
to whole output positions. The test holds the two to 1e-12.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from math import ceil, gcd
from pathlib import Path

import numpy as np
import soundfile
from scipy.signal import resample_poly

from models_app.ser.audio import InvalidAudio
from models_app.ser.progress import ProgressCallback, ProgressEvent, ignore_progress

# libsndfile's major formats we accept: the wav family, FLAC and Ogg (Vorbis or Opus inside).
ACCEPTED_FORMATS = {"WAV": "wav", "WAVEX": "wav", "RF64": "wav", "W64": "wav", "FLAC": "flac", "OGG": "ogg"}
BLOCK_S = 30.0  # seconds of input decoded at a time: large blocks keep numpy's per-call cost negligible
_DECODE_ERRORS = (soundfile.LibsndfileError, RuntimeError, ValueError, TypeError)


@dataclass(frozen=True)
class RecordingInfo:
    format: str  # "wav", "flac" or "ogg"
    sample_rate: int  # Hz
    n_channels: int
    n_frames: int  # samples per channel, as the file announces them
    duration_s: float


def recording_info(path: Path | str) -> RecordingInfo:
    """What a file holds, without decoding it. Raises InvalidAudio when it is not audio that
    soundfile reads, not wav/flac/ogg, or holds no samples."""
    try:
        info = soundfile.info(str(path))
    except _DECODE_ERRORS:
        raise InvalidAudio("the file is not audio that can be read (wav, flac or ogg are)") from None
    if info.format not in ACCEPTED_FORMATS:
        raise InvalidAudio(f"{info.format_info} files are not accepted: upload wav, flac or ogg")
    if info.frames <= 0 or info.samplerate <= 0 or info.channels <= 0:
        raise InvalidAudio("the recording holds no samples")
    return RecordingInfo(
        format=ACCEPTED_FORMATS[info.format],
        sample_rate=int(info.samplerate),
        n_channels=int(info.channels),
        n_frames=int(info.frames),
        duration_s=info.frames / info.samplerate,
    )


def resampling_context(up: int, down: int) -> int:
    """Input samples of context each side of a block so that every kept output sample sees its
    whole filter: scipy's filter reaches 10 * max(up, down) samples of the upsampled signal each
    side, i.e. that / up input samples. Rounded up to a multiple of ``down`` so a block's start
    maps to a whole output sample."""
    reach = ceil(10 * max(up, down) / up) + 1
    return ceil(reach / down) * down


def resample_blocks(blocks: Iterator[np.ndarray], from_rate: int, to_rate: int, block_len: int) -> Iterator[np.ndarray]:
    """Resample a mono signal given as consecutive blocks, block by block.

    blocks: (n_i,) float64 arrays; every block but the last holds exactly ``block_len`` samples,
    a multiple of the reduced ``down`` factor and at least the context. Yields the output blocks,
    whose concatenation equals resample_poly(whole, up, down) (scipy's default window).
    """
    common = gcd(int(from_rate), int(to_rate))
    up, down = int(to_rate) // common, int(from_rate) // common
    if up == down:
        yield from blocks
        return
    context = resampling_context(up, down)
    if block_len % down or block_len < context:
        raise ValueError(f"block length {block_len} must be a multiple of {down} and at least {context}")
    history = np.zeros(0)  # up to ``context`` input samples before the current block
    current = None
    for block in blocks:
        if current is not None:
            yield _resample_middle(history, current, block[:context], up, down)
            history = np.concatenate([history, current])[-context:]
        current = block
    if current is not None:
        yield _resample_middle(history, current, np.zeros(0), up, down)


def _resample_middle(before: np.ndarray, middle: np.ndarray, after: np.ndarray, up: int, down: int) -> np.ndarray:
    """The output samples of ``middle``, resampled with its neighbours as context."""
    output = resample_poly(np.concatenate([before, middle, after]), up, down)
    start = len(before) * up // down  # len(before) is a multiple of down
    if len(after):
        return output[start : start + len(middle) * up // down]
    return output[start:]  # the signal's end: resample_poly's ceil(n * up / down) samples


def read_mono(
    path: Path | str, *, target_rate: int, block_s: float = BLOCK_S, progress: ProgressCallback | None = None
) -> np.ndarray:
    """The recording as one mono float64 signal at ``target_rate`` Hz, shape (n,).

    Channels are averaged; integer PCM comes out in [-1, 1] as soundfile scales it (int16 / 2**15,
    as the authors did). Raises InvalidAudio for a file that does not decode to the end or to the
    number of samples it announces (a damaged file). ``progress`` hears ("decoding", frames
    decoded, frames announced) after each block.
    """
    progress = progress or ignore_progress
    info = recording_info(path)
    common = gcd(info.sample_rate, int(target_rate))
    down = info.sample_rate // common
    context = resampling_context(int(target_rate) // common, down) if down != int(target_rate) // common else 1
    block_len = max(context, int(block_s * info.sample_rate) // down * down, down)
    expected = ceil(info.n_frames * (int(target_rate) // common) / down)
    signal = np.empty(expected)
    written, decoded = 0, 0

    def mono_blocks() -> Iterator[np.ndarray]:
        nonlocal decoded
        for block in soundfile.blocks(str(path), blocksize=block_len, dtype="float64", always_2d=True):
            decoded += block.shape[0]
            progress(ProgressEvent(stage="decoding", done=min(decoded, info.n_frames), total=info.n_frames))
            yield block.mean(axis=1) if block.shape[1] > 1 else block[:, 0]

    try:
        for piece in resample_blocks(mono_blocks(), info.sample_rate, int(target_rate), block_len):
            if written + piece.size > expected:
                raise InvalidAudio("the file holds more samples than its header announces (damaged?)")
            signal[written : written + piece.size] = piece
            written += piece.size
    except _DECODE_ERRORS as exc:
        raise InvalidAudio(f"the recording could not be decoded to its end (damaged file?): {exc}") from None
    if decoded != info.n_frames:
        raise InvalidAudio(
            f"the file announces {info.n_frames} samples but only {decoded} could be decoded (damaged file?)"
        )
    return signal[:written]
