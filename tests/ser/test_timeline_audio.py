"""Reading recordings for the timeline block by block (models_app/ser/timeline_audio.py): the
same samples as decoding and resampling the whole file at once, and clear errors for bad files."""

import numpy as np
import pytest
import soundfile

from models_app.ser.audio import InvalidAudio, resample, to_mono
from models_app.ser.timeline_audio import read_mono, recording_info, resample_blocks, resampling_context


def _noise(seconds, rate, channels=1, seed=0):
    rng = np.random.default_rng(seed)
    shape = (int(seconds * rate), channels) if channels > 1 else (int(seconds * rate),)
    return (0.3 * rng.standard_normal(shape)).clip(-0.99, 0.99)


@pytest.mark.parametrize("rate", [48000, 44100, 22050, 8000, 16000])
def test_block_reading_equals_whole_file_resampling(tmp_path, rate):
    samples = _noise(2.3, rate, channels=2, seed=rate)
    path = tmp_path / "stereo.wav"
    soundfile.write(str(path), samples, rate, subtype="FLOAT")
    stored, _ = soundfile.read(str(path), dtype="float64")
    whole = resample(to_mono(stored), rate, 16000)
    blockwise = read_mono(path, target_rate=16000, block_s=0.25)  # ten blocks and a bit
    assert blockwise.shape == whole.shape == (int(np.ceil(stored.shape[0] * 16000 / rate)),)
    np.testing.assert_allclose(blockwise, whole, rtol=0, atol=1e-12)


def test_resample_blocks_checks_its_block_length():
    context = resampling_context(160, 441)  # 44.1 kHz -> 16 kHz
    assert context % 441 == 0 and context * 160 >= 10 * 441
    with pytest.raises(ValueError, match="multiple of 441"):
        list(resample_blocks(iter([np.zeros(1000)]), 44100, 16000, 1000))


def test_recording_info_of_each_accepted_format(tmp_path):
    samples = _noise(1.0, 22050, channels=2)
    for subtype_format, extension in (("WAV", "wav"), ("FLAC", "flac"), ("OGG", "ogg")):
        path = tmp_path / f"x.{extension}"
        soundfile.write(str(path), samples, 22050, format=subtype_format)
        info = recording_info(path)
        assert (info.format, info.sample_rate, info.n_channels) == (extension, 22050, 2)
        assert info.duration_s == pytest.approx(1.0)
        assert read_mono(path, target_rate=16000).shape == (16000,)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p.write_text("this is not audio"), "not audio that can be read"),
        (lambda p: p.write_bytes(b""), "not audio that can be read"),
        (lambda p: soundfile.write(str(p), np.zeros(0), 16000, format="WAV"), "holds no samples"),
        (
            lambda p: soundfile.write(str(p), _noise(0.5, 16000), 16000, format="AIFF"),
            "not accepted: upload wav, flac or ogg",
        ),
    ],
    ids=["text", "empty file", "no samples", "aiff"],
)
def test_bad_files_are_refused_with_the_reason(tmp_path, make, message):
    path = tmp_path / "upload"
    make(path)
    with pytest.raises(InvalidAudio, match=message):
        read_mono(path, target_rate=16000)


def test_a_damaged_flac_is_refused(tmp_path):
    path = tmp_path / "x.flac"
    soundfile.write(str(path), _noise(3.0, 16000), 16000, format="FLAC")
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 400] = bytes(400)
    path.write_bytes(bytes(data))
    with pytest.raises(InvalidAudio, match="could not be decoded|only"):
        read_mono(path, target_rate=16000)
