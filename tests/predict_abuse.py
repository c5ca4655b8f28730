"""Hand-made recordings whose headers lie or ask for the impossible (issue 12, item 1), shared by
the tests and scripts/reliability_predict.py. Each is built byte by byte, so what its header says
is exactly what the test claims."""

from __future__ import annotations

import io
import struct

import numpy as np
import soundfile

FOUR_GB = 0xFFFFFFFF


def wav_header(
    *, rate: int, channels: int, bits: int, data_bytes: int, riff_bytes: int | None = None, container=b"RIFF"
) -> bytes:
    """A canonical 44-byte PCM WAV header announcing ``data_bytes`` of samples."""
    block_align = channels * bits // 8
    riff_bytes = 36 + data_bytes if riff_bytes is None else riff_bytes
    return (
        container
        + struct.pack("<I", min(riff_bytes, FOUR_GB))
        + b"WAVE"
        + b"fmt "
        + struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * block_align, block_align, bits)
        + b"data"
        + struct.pack("<I", min(data_bytes, FOUR_GB))
    )


def wav_3hz_one_hour() -> bytes:
    """10.8 kB: one hour at 3 Hz, 8-bit mono. Every byte the header announces is there."""
    n = 3 * 3600
    return wav_header(rate=3, channels=1, bits=8, data_bytes=n) + bytes([128]) * n


def wav_1hz() -> bytes:
    n = 600  # ten minutes at 1 Hz, 16-bit mono
    return wav_header(rate=1, channels=1, bits=16, data_bytes=2 * n) + bytes(2 * n)


def wav_100mhz() -> bytes:
    n = 100_000  # 1 ms at 100 MHz, 16-bit mono
    return wav_header(rate=100_000_000, channels=1, bits=16, data_bytes=2 * n) + bytes(2 * n)


def wav_1024_channels() -> bytes:
    frames = 160  # 10 ms at 16 kHz
    return wav_header(rate=16000, channels=1024, bits=16, data_bytes=frames * 1024 * 2) + bytes(frames * 1024 * 2)


def wav_truncated(seconds: float = 3.0, keep: float = 0.5) -> bytes:
    """A real 16 kHz WAV of ``seconds``, cut after ``keep`` of its bytes (an interrupted upload)."""
    whole = real_wav(seconds)
    return whole[: int(len(whole) * keep)]


def wav_claims_4gb(seconds: float = 1.0) -> bytes:
    """A header whose RIFF and data sizes say 4 GB, followed by one second of real samples."""
    samples = real_samples(seconds)
    body = (samples * 32767).astype("<i2").tobytes()
    return wav_header(rate=16000, channels=1, bits=16, data_bytes=FOUR_GB, riff_bytes=FOUR_GB) + body


def flac_claiming(total_frames: int, *, rate: int = 192_000, channels: int = 2, seconds: float = 1.0) -> bytes:
    """A real FLAC at ``rate`` and ``channels`` whose STREAMINFO announces ``total_frames`` samples
    per channel (``seconds`` of silence are really in it)."""
    buffer = io.BytesIO()
    soundfile.write(buffer, np.zeros((int(seconds * rate), channels), np.int16), rate, format="FLAC")
    data = bytearray(buffer.getvalue())
    assert data[:4] == b"fLaC" and data[4] & 0x7F == 0  # STREAMINFO first, as the format requires
    offset = 8 + 10  # after "fLaC", the block header, block sizes (4 bytes) and frame sizes (6 bytes)
    packed = int.from_bytes(data[offset : offset + 8], "big")
    packed = (packed & ~((1 << 36) - 1)) | total_frames  # the low 36 bits: samples per channel
    data[offset : offset + 8] = packed.to_bytes(8, "big")
    return bytes(data)


def flac_58_minutes_192k_stereo() -> bytes:
    """The issue's 2.7 MB FLAC as its header reads: 58 minutes of 192 kHz stereo (1.34 billion
    samples to decode), within the byte and duration limits of the time."""
    return flac_claiming(58 * 60 * 192_000)


def real_samples(seconds: float, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return 0.3 * np.sin(2 * np.pi * 220 * t)


def real_wav(seconds: float, rate: int = 16000) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, real_samples(seconds, rate), rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


# name -> (bytes maker, a fragment the refusal must contain)
ABUSE_FILES = {
    "3 Hz, one hour (10.8 kB WAV)": (wav_3hz_one_hour, "sample rate of 3 Hz"),
    "1 Hz WAV": (wav_1hz, "sample rate of 1 Hz"),
    "100 MHz WAV": (wav_100mhz, "sample rate of 100000 kHz"),
    "1024 channels": (wav_1024_channels, "1024 channels"),
    "truncated WAV": (wav_truncated, "truncated"),
    "header claiming 4 GB": (wav_claims_4gb, "4.3 GB"),
    "58 min 192 kHz stereo FLAC": (flac_58_minutes_192k_stereo, "EMOLAB_PREDICT_MAX_SAMPLES"),
}
