"""Checking a recording from its header alone, before anything decodes it.

A few bytes of header decide how much work decoding a file costs: a 10 kB WAV whose header says
3 Hz and one hour makes the resampler build an hour of 16 kHz audio from nothing, and a 3 MB FLAC
of silence can announce an hour of 192 kHz stereo (1.3 billion samples to decode). So the web
process reads the header only and refuses what is impossible or over the limits; decoding runs
later, in a worker, bounded by what the header promised (timeline_audio.read_mono refuses a file
that decodes to more or fewer samples than announced).

WAV-family files (RIFF, RIFX, RF64, Wave64) are also checked against their own size: the ``data``
chunk must fit in the file. libsndfile quietly reads what is there, so a truncated file or a header
claiming 4 GB would otherwise give a shorter timeline than the file claims, without a word. FLAC
and Ogg do not say how many bytes their samples take; a damaged one is refused when it does not
decode to the samples it announces.

Pure: no Django, no Celery. Raises InvalidAudio (damaged, impossible) or RecordingOverLimits (a
real recording, but more than the limits allow), each with a message for the person who sent it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from models_app.ser.audio import InvalidAudio
from models_app.ser.timeline_audio import RecordingInfo, recording_info


class RecordingOverLimits(InvalidAudio):
    """The header is consistent, but the recording is longer or larger than the limits allow."""


@dataclass(frozen=True)
class RecordingLimits:
    # 8 kHz is telephone speech, the lowest rate the 16 kHz features can honestly be computed from
    # (below it they would describe the resampler's interpolation, not the voice).
    min_rate: int = 8_000
    # 192 kHz is the highest rate of studio recorders; beyond it a header is not a speech recording.
    max_rate: int = 192_000
    # 7.1 surround; every channel is decoded before they are averaged, so channels cost time.
    max_channels: int = 8
    # The longest recording (EMOLAB_PREDICT_MAX_SECONDS): the 16 kHz signal of an hour takes 460 MB.
    max_seconds: float = 3600.0
    # Samples decoded (frames x channels, EMOLAB_PREDICT_MAX_SAMPLES): what decoding time grows with.
    # An hour of 48 kHz stereo, decoded and resampled in about a minute on one core.
    max_samples: int = 3600 * 48_000 * 2


@dataclass(frozen=True)
class WavLayout:
    """What a WAV-family header says about its samples."""

    container: str  # "RIFF", "RIFX", "RF64" or "W64"
    sample_rate: int
    n_channels: int
    block_align: int  # bytes per frame (all channels)
    data_bytes: int  # as the header announces them
    data_available: int  # bytes from the data chunk's start to the end of the file


_W64_GUID_SUFFIX = bytes.fromhex("f3acd3118cd100c04f8edb8a")  # Wave64 chunk GUIDs end with these 12 bytes
_W64_RIFF = b"riff" + bytes.fromhex("2e91cf11a5d628db04c10000")
_MAX_CHUNKS = 1000  # a WAV has a handful; a header made of endless tiny chunks is not a recording
_UNKNOWN_32 = 0xFFFFFFFF  # a 32-bit size field's "everything": streaming writers, or a lie


def check_recording_header(path: Path | str, limits: RecordingLimits = RecordingLimits()) -> RecordingInfo:
    """The recording's format, rate, channels and length, read from its header only, after
    checking them against ``limits`` and, for WAV files, against the file's size.

    Raises InvalidAudio for a file that is not a recording we read, is damaged or impossible,
    and RecordingOverLimits for one that is longer or larger than ``limits``.
    """
    path = Path(path)
    file_size = path.stat().st_size
    with path.open("rb") as handle:
        layout = wav_layout(handle, file_size)
    if layout is not None:
        _check_rate_and_channels(layout.sample_rate, layout.n_channels, limits)
        _check_wav_data(layout)
    info = recording_info(path)  # libsndfile's reading of the header: format, frames
    _check_rate_and_channels(info.sample_rate, info.n_channels, limits)
    if info.duration_s > limits.max_seconds:
        raise RecordingOverLimits(
            f"the recording lasts {info.duration_s:.1f} s; the limit is {limits.max_seconds:.0f} s "
            "(EMOLAB_PREDICT_MAX_SECONDS)"
        )
    n_samples = info.n_frames * info.n_channels
    if n_samples > limits.max_samples:
        raise RecordingOverLimits(
            f"the recording holds {n_samples / 1e6:.0f} million samples ({info.duration_s / 60:.1f} min at "
            f"{info.sample_rate / 1000:g} kHz, {info.n_channels} channels); the limit is "
            f"{limits.max_samples / 1e6:.0f} million (EMOLAB_PREDICT_MAX_SAMPLES): send it at a lower rate, "
            "in mono, or in parts"
        )
    return info


def _check_rate_and_channels(sample_rate: int, n_channels: int, limits: RecordingLimits) -> None:
    if not limits.min_rate <= sample_rate <= limits.max_rate:
        raise InvalidAudio(
            f"the header gives a sample rate of {_hz(sample_rate)}; recordings from {_hz(limits.min_rate)} "
            f"to {_hz(limits.max_rate)} are accepted (damaged file?)"
        )
    if n_channels < 1:
        raise InvalidAudio("the header gives no channels (damaged file?)")
    if n_channels > limits.max_channels:
        raise InvalidAudio(
            f"the header gives {n_channels} channels; at most {limits.max_channels} are accepted (damaged file?)"
        )


def _hz(rate: int) -> str:
    return f"{rate / 1000:g} kHz" if rate >= 1000 else f"{rate} Hz"


def _check_wav_data(layout: WavLayout) -> None:
    if layout.block_align <= 0:
        raise InvalidAudio("the WAV header gives frames of 0 bytes (damaged file?)")
    if layout.data_bytes == _UNKNOWN_32 and layout.container in ("RIFF", "RIFX"):
        raise InvalidAudio(
            f"the WAV header claims 4.3 GB of samples, but the file holds {_bytes(layout.data_available)} "
            "after its header (damaged, or written by a program that never finished it)"
        )
    if layout.data_bytes > layout.data_available:
        announced_s = layout.data_bytes / layout.block_align / layout.sample_rate
        present_s = layout.data_available / layout.block_align / layout.sample_rate
        raise InvalidAudio(
            f"the WAV header announces {_bytes(layout.data_bytes)} of samples ({announced_s:.1f} s) but the "
            f"file holds only {_bytes(layout.data_available)} ({present_s:.1f} s): it is truncated or damaged"
        )


def _bytes(n: int) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def wav_layout(handle, file_size: int) -> WavLayout | None:
    """The sample layout a WAV-family header announces; None for a file that is not one (FLAC,
    Ogg, anything else: libsndfile judges those). Raises InvalidAudio for a WAV header that is
    cut short or has no ``fmt`` or ``data`` chunk."""
    head = handle.read(40)
    if len(head) >= 12 and head[:4] in (b"RIFF", b"RF64", b"RIFX") and head[8:12] == b"WAVE":
        return _riff_layout(handle, file_size, head[:4].decode())
    if len(head) >= 40 and head[:16] == _W64_RIFF:
        return _w64_layout(handle, file_size)
    return None


def _riff_layout(handle, file_size: int, container: str) -> WavLayout:
    endian = ">" if container == "RIFX" else "<"
    handle.seek(12)
    fmt = None
    ds64_data_bytes = None
    for _ in range(_MAX_CHUNKS):
        header = handle.read(8)
        if len(header) < 8:
            break
        chunk_id, size = header[:4], struct.unpack(endian + "I", header[4:])[0]
        start = handle.tell()
        if chunk_id == b"ds64" and size >= 16:
            ds64_data_bytes = struct.unpack("<Q", handle.read(16)[8:16])[0]
        elif chunk_id == b"fmt ":
            fmt = _parse_fmt(handle.read(min(size, 40)), endian)
        elif chunk_id == b"data":
            if fmt is None:
                raise InvalidAudio("the WAV file has its samples before their format (damaged file?)")
            if container == "RF64" and size == _UNKNOWN_32 and ds64_data_bytes is not None:
                size = ds64_data_bytes
            return WavLayout(container, *fmt, data_bytes=size, data_available=max(0, file_size - start))
        handle.seek(start + size + (size & 1))  # chunks are padded to an even length
    raise InvalidAudio("the WAV file has no samples (no data chunk) or is cut short before them")


def _w64_layout(handle, file_size: int) -> WavLayout:
    handle.seek(40)  # riff GUID, 64-bit size, wave GUID
    fmt = None
    for _ in range(_MAX_CHUNKS):
        header = handle.read(24)
        if len(header) < 24:
            break
        chunk_id, size = header[:4], struct.unpack("<Q", header[16:])[0]  # size counts these 24 bytes
        start = handle.tell()
        if size < 24:
            raise InvalidAudio("the Wave64 file has a chunk of impossible size (damaged file?)")
        if header[4:16] == _W64_GUID_SUFFIX and chunk_id == b"fmt ":
            fmt = _parse_fmt(handle.read(min(size - 24, 40)), "<")
        elif header[4:16] == _W64_GUID_SUFFIX and chunk_id == b"data":
            if fmt is None:
                raise InvalidAudio("the Wave64 file has its samples before their format (damaged file?)")
            return WavLayout("W64", *fmt, data_bytes=size - 24, data_available=max(0, file_size - start))
        handle.seek(start - 24 + size + (-size % 8))  # chunks are padded to 8 bytes
    raise InvalidAudio("the Wave64 file has no samples (no data chunk) or is cut short before them")


def _parse_fmt(body: bytes, endian: str) -> tuple[int, int, int]:
    """(sample rate, channels, bytes per frame) of a ``fmt `` chunk."""
    if len(body) < 16:
        raise InvalidAudio("the WAV file's format chunk is cut short (damaged file?)")
    _, n_channels, sample_rate, _, block_align = struct.unpack(endian + "HHIIH", body[:14])
    return sample_rate, n_channels, block_align
