"""Checking a recording from its header alone (models_app/ser/recording_header.py): the abuse files
of issue 12 are refused with a reason, real recordings of every accepted kind pass with what their
header says, and nothing is decoded to find out."""

import io
import time

import numpy as np
import pytest
import soundfile

from models_app.ser.audio import InvalidAudio
from models_app.ser.recording_header import (
    RecordingLimits,
    RecordingOverLimits,
    check_recording_header,
    wav_layout,
)
from tests.predict_abuse import (
    ABUSE_FILES,
    flac_claiming,
    real_samples,
    real_wav,
    wav_claims_4gb,
    wav_header,
    wav_truncated,
)


def _file(tmp_path, content: bytes, name="x.wav"):
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("name", list(ABUSE_FILES))
def test_each_abuse_file_is_refused_from_its_header_at_once(tmp_path, name):
    make, fragment = ABUSE_FILES[name]
    path = _file(tmp_path, make())
    started = time.perf_counter()
    with pytest.raises(InvalidAudio, match=fragment):
        check_recording_header(path)
    assert time.perf_counter() - started < 0.5  # before: 11-19 s and 930 MB for the 3 Hz file


def test_the_messages_say_what_is_wrong(tmp_path):
    with pytest.raises(InvalidAudio) as refused:
        check_recording_header(_file(tmp_path, ABUSE_FILES["3 Hz, one hour (10.8 kB WAV)"][0]()))
    assert str(refused.value) == (
        "the header gives a sample rate of 3 Hz; recordings from 8 kHz to 192 kHz are accepted (damaged file?)"
    )
    with pytest.raises(InvalidAudio) as refused:
        check_recording_header(_file(tmp_path, wav_truncated(3.0, keep=0.5)))
    # 3 s of 16-bit mono at 16 kHz: 96,000 bytes announced; half the file (48,022 bytes) minus the
    # 44-byte header leaves 47,978 bytes of samples, 1.5 s.
    assert str(refused.value) == (
        "the WAV header announces 96.0 kB of samples (3.0 s) but the file holds only 48.0 kB (1.5 s): "
        "it is truncated or damaged"
    )
    with pytest.raises(InvalidAudio) as refused:
        check_recording_header(_file(tmp_path, wav_claims_4gb(1.0)))
    assert "claims 4.3 GB of samples, but the file holds 32.0 kB after its header" in str(refused.value)


def test_the_rate_and_channel_bounds_are_inclusive(tmp_path):
    for rate in (8000, 192_000):
        info = check_recording_header(_file(tmp_path, real_wav(0.5, rate=rate)))
        assert info.sample_rate == rate
    for rate in (7999, 192_001):
        with pytest.raises(InvalidAudio, match="sample rate"):
            check_recording_header(_file(tmp_path, real_wav(0.5, rate=rate)))
    eight = np.zeros((1600, 8), np.int16)
    buffer = io.BytesIO()
    soundfile.write(buffer, eight, 16000, format="WAV")
    assert check_recording_header(_file(tmp_path, buffer.getvalue())).n_channels == 8
    nine = wav_header(rate=16000, channels=9, bits=16, data_bytes=1600 * 9 * 2) + bytes(1600 * 9 * 2)
    with pytest.raises(InvalidAudio, match="9 channels; at most 8"):
        check_recording_header(_file(tmp_path, nine))


def test_duration_and_sample_limits(tmp_path):
    path = _file(tmp_path, real_wav(3.0))  # 48,000 samples
    limits = RecordingLimits(max_seconds=2.0)
    with pytest.raises(RecordingOverLimits, match=r"lasts 3.0 s; the limit is 2 s \(EMOLAB_PREDICT_MAX_SECONDS\)"):
        check_recording_header(path, limits)
    with pytest.raises(RecordingOverLimits, match="EMOLAB_PREDICT_MAX_SAMPLES"):
        check_recording_header(path, RecordingLimits(max_samples=47_999))
    assert check_recording_header(path, RecordingLimits(max_samples=48_000)).n_frames == 48_000


def test_the_58_minute_192k_stereo_flac_is_over_the_sample_limit(tmp_path):
    """The issue's FLAC: 58 minutes are within the hour, but 1.34 billion samples are four times
    an hour of 48 kHz stereo; with a raised sample limit its header alone would be accepted (and
    the worker would find that it does not decode to what it announces)."""
    path = _file(tmp_path, flac_claiming(58 * 60 * 192_000), "long.flac")
    with pytest.raises(RecordingOverLimits, match="1336 million samples"):
        check_recording_header(path)
    info = check_recording_header(path, RecordingLimits(max_samples=2_000_000_000))
    assert (info.format, info.sample_rate, info.n_channels) == ("flac", 192_000, 2)
    assert info.duration_s == pytest.approx(58 * 60)


def test_real_recordings_pass_with_what_their_header_says(tmp_path):
    stereo = np.stack([real_samples(2.0, 44100), real_samples(2.0, 44100)], axis=1)
    for file_format, subtype in (("WAV", "PCM_16"), ("WAV", "FLOAT"), ("FLAC", None), ("OGG", None), ("RF64", None)):
        buffer = io.BytesIO()
        soundfile.write(buffer, stereo, 44100, format=file_format, subtype=subtype)
        info = check_recording_header(_file(tmp_path, buffer.getvalue(), f"x.{file_format.lower()}"))
        assert (info.sample_rate, info.n_channels) == (44100, 2)
        assert info.duration_s == pytest.approx(2.0, abs=1e-3)


def test_wave64_and_rf64_layouts_are_read(tmp_path):
    samples = real_samples(1.0)
    for file_format in ("W64", "RF64"):
        buffer = io.BytesIO()
        soundfile.write(buffer, samples, 16000, format=file_format, subtype="PCM_16")
        content = buffer.getvalue()
        layout = wav_layout(io.BytesIO(content), len(content))
        assert (layout.sample_rate, layout.n_channels, layout.block_align) == (16000, 1, 2)
        assert layout.data_bytes == 32000 <= layout.data_available
        with pytest.raises(InvalidAudio, match="truncated"):
            check_recording_header(_file(tmp_path, content[: len(content) - 1000]))


def test_trailing_chunks_after_the_samples_are_fine(tmp_path):
    content = real_wav(1.0) + b"LIST" + (4).to_bytes(4, "little") + b"INFO"
    assert check_recording_header(_file(tmp_path, content)).n_frames == 16000


def test_not_a_wav_is_left_to_libsndfile(tmp_path):
    assert wav_layout(io.BytesIO(b"fLaC" + bytes(60)), 64) is None
    with pytest.raises(InvalidAudio, match="not audio"):
        check_recording_header(_file(tmp_path, b"just text, not audio at all"))
    with pytest.raises(InvalidAudio, match="no samples"):
        check_recording_header(_file(tmp_path, b"RIFF\x04\x00\x00\x00WAVE"))
