"""Decoding helpers of the numerical core: every number here is worked out by hand."""

import numpy as np
import pytest

from models_app.ser.audio import (
    PEAK_GUARD,
    InvalidAudio,
    check_finite,
    normalise,
    prepare_signal,
    read_audio,
    resample,
    signal_summary,
    to_float,
    to_mono,
)
from tests.factories import write_wav


def test_int16_is_scaled_by_two_to_the_fifteen_as_the_authors_did():
    assert to_float(np.array([16384, -32768, 0], dtype=np.int16)).tolist() == [0.5, -1.0, 0.0]


def test_unsigned_8_bit_has_its_zero_at_128():
    assert to_float(np.array([128, 192, 0], dtype=np.uint8)).tolist() == [0.0, 0.5, -1.0]


def test_stereo_becomes_the_mean_of_its_channels():
    stereo = np.array([[1.0, 0.0], [0.5, -0.5], [0.2, 0.4]])
    assert np.allclose(to_mono(stereo), [0.5, 0.0, 0.3])


def test_a_single_channel_column_is_returned_as_is():
    assert to_mono(np.array([[0.1], [0.2]])).tolist() == [0.1, 0.2]


def test_normalisation_removes_the_mean_and_divides_by_the_peak_plus_the_guard():
    # mean 2 -> [-1, 0, 2]; peak 2 -> [-0.5, 0, 1] up to the 1e-10 guard of pyAudioAnalysis
    result = normalise(np.array([1.0, 2.0, 4.0, 1.0]))
    assert result == pytest.approx(np.array([-1.0, 0.0, 2.0, -1.0]) / (2.0 + PEAK_GUARD), abs=1e-15)


def test_normalising_digital_silence_gives_silence_not_nan():
    assert normalise(np.zeros(5)).tolist() == [0.0] * 5


def test_resampling_uses_the_reduced_ratio_and_keeps_the_pitch():
    rate_in = 48000
    t = np.arange(rate_in) / rate_in
    tone = np.sin(2 * np.pi * 1000 * t)
    out = resample(tone, rate_in, 16000)
    assert out.size == 16000  # 48000 * 1 / 3
    spectrum = np.abs(np.fft.rfft(out))
    assert np.argmax(spectrum) == 1000  # 1 Hz bins over one second: still 1000 Hz


def test_resampling_from_22050_to_16000_gives_ceil_of_n_times_320_over_441():
    out = resample(np.ones(441), 22050, 16000)
    assert out.size == 320


def test_nan_and_infinite_samples_are_refused_with_counts_and_position():
    samples = np.zeros(10)
    samples[3] = np.nan
    samples[7] = np.inf
    with pytest.raises(InvalidAudio, match=r"1 NaN and 1 infinite samples \(first at sample 3\)"):
        check_finite(samples)


def test_prepare_refuses_nan_before_it_can_spread_through_resampling():
    samples = np.zeros((100, 2))
    samples[40, 1] = np.nan
    with pytest.raises(InvalidAudio, match="first at sample 40"):
        prepare_signal(samples, 8000, target_rate=16000)


def test_prepare_makes_mono_then_16_khz_then_normalises(tmp_path):
    left = np.full(8000, 0.25)
    right = np.full(8000, 0.75)
    prepared = prepare_signal(np.stack([left, right], axis=1), 8000, target_rate=16000, normalised=False)
    assert prepared.size == 16000
    assert prepared[4000:12000] == pytest.approx(np.full(8000, 0.5), abs=1e-3)  # mean of 0.25 and 0.75


def test_read_audio_returns_float_channels_and_rate(tmp_path):
    path = write_wav(tmp_path / "a.wav", np.array([[0.5, -0.5], [0.25, 0.0]]), sample_rate=22050)
    samples, rate = read_audio(path)
    assert rate == 22050
    assert samples.shape == (2, 2)
    assert samples[0].tolist() == [0.5, -0.5]


def test_read_audio_names_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.wav"):
        read_audio(tmp_path / "nope.wav")


def test_read_audio_refuses_a_file_that_is_not_audio(tmp_path):
    path = tmp_path / "fake.wav"
    path.write_bytes(b"RIFF not really a wav file")
    with pytest.raises(InvalidAudio, match="not a readable audio file"):
        read_audio(path)


@pytest.mark.parametrize("n", [0, 1, 7, 129, 32768, 32769, 100003, 1_000_001])
def test_signal_summary_sums_bit_for_bit_as_numpy_does(n):
    # The mean must be numpy's (and so pyAudioAnalysis's) to the last bit: a one-ulp change of
    # the normalised samples changes values that are rounding noise, such as a pure tone's spectrum.
    signal = np.random.default_rng(n).standard_normal(n) * 1e3 + 0.1
    total, high, low = signal_summary(signal)
    if n == 0:
        assert total == 0.0
        return
    assert total == np.add.reduce(signal)
    assert (high, low) == (signal.max(), signal.min())
