"""Our vectorised extractor equals pyAudioAnalysis 0.3.14, the paper's feature reference.

Protocol: every input goes through the same decoding (mono, 16 kHz) and is then handed to both
extractors *before* normalisation: to ours as float samples, to pyAudioAnalysis in int16 units,
as it expects (``feature_extraction`` divides by 2**15 and then normalises itself). Its
normalisation and ours are then the same numbers bit for bit (asserted below), so both extract
from the same normalised 16 kHz mono signal. Giving pyAudioAnalysis an already normalised signal
instead would normalise it twice (shifting it by its residual mean of ~1e-17 and scaling it by
1 / (1 + 1e-10)), which changes values that are pure float64 rounding noise, such as the
spectrum of a tone between its harmonics.

Tolerance (docs/features.md): |ours - reference| <= 1e-6 * |reference| + 1e-12 for every one of
the 34 features in every frame. The relative part covers our float32 result (rounding at 6e-8);
the absolute 1e-12 covers values that are float64 rounding noise in both (chroma bins of a pure
tone at 1e-30, MFCCs of digital silence at 1e-14). Before the float32 cast the two agree to
1e-9 relative (second assertion).
"""

import numpy as np
import pytest
from pyAudioAnalysis import ShortTermFeatures

from models_app.ser.audio import normalisation_parameters, normalise, prepare_signal
from models_app.ser.features import FEATURE_NAMES, FEATURE_PRESETS, extract, short_term_features

RTOL, ATOL = 1e-6, 1e-12
RTOL_FLOAT64 = 1e-9
RATE = 16000
WINDOW, STEP = 3200, 1600


def _speech(seed: int = 0, voice: str = "en-us+m1", emotion: str = "anger") -> np.ndarray:
    """A demo-corpus utterance: espeak-ng speech, 16 kHz mono float32."""
    from annotation.demo_corpus.render import synthesize_utterance

    return synthesize_utterance("I told you to close the door before the storm arrived.", voice, emotion, seed=seed)


def _seconds(n: float, rate: int = RATE) -> np.ndarray:
    return np.arange(int(n * rate)) / rate


def _signals():
    rng = np.random.default_rng(7)
    speech = _speech().astype(np.float64)
    yield "speech", speech, RATE
    yield "speech_sad_female", _speech(seed=3, voice="en-us+f3", emotion="sadness"), RATE
    yield "silence", np.zeros(2 * RATE), RATE
    yield "tone_on_a_bin", 0.5 * np.sin(2 * np.pi * 440 * _seconds(3)), RATE  # 440 Hz = bin 88 exactly
    yield "tone_between_bins", 0.5 * np.sin(2 * np.pi * 221.3 * _seconds(3)), RATE
    yield "white_noise", rng.standard_normal(3 * RATE), RATE
    yield "clipped", np.clip(4.0 * speech / np.abs(speech).max(), -1.0, 1.0), RATE
    yield "dc_offset", 0.5 + 0.2 * speech / np.abs(speech).max(), RATE
    yield "exactly_one_window", rng.standard_normal(WINDOW), RATE
    yield "one_window_and_one_step", rng.standard_normal(WINDOW + STEP), RATE
    yield "int16_pcm", (speech / np.abs(speech).max() * 20000).astype(np.int16), RATE
    t8 = _seconds(3, 8000)
    yield (
        "8_khz",
        np.sin(2 * np.pi * 300 * t8) * (1 + np.sin(2 * np.pi * 3 * t8)) + 0.05 * rng.standard_normal(t8.size),
        8000,
    )
    t48 = _seconds(3, 48000)
    yield "48_khz", np.sin(2 * np.pi * 523.25 * t48) + 0.3 * rng.standard_normal(t48.size), 48000
    yield "stereo", np.stack([speech, 0.3 * speech + 0.01 * rng.standard_normal(speech.size)], axis=1), RATE


SIGNALS = list(_signals())


def _reference(mono_16k: np.ndarray) -> np.ndarray:
    """pyAudioAnalysis's (n_frames, 34) for the decoded, not yet normalised 16 kHz signal."""
    features, names = ShortTermFeatures.feature_extraction(mono_16k * 2**15, RATE, WINDOW, STEP, deltas=False)
    assert tuple(names) == FEATURE_NAMES
    return features.T


@pytest.mark.parametrize("name,raw,rate", SIGNALS, ids=[s[0] for s in SIGNALS])
def test_features_equal_pyaudioanalysis(name, raw, rate):
    mono_16k = prepare_signal(raw, rate, target_rate=RATE, normalised=False)
    # The reference's own normalisation is ours, to the bit: both extract from the same signal.
    assert np.array_equal(ShortTermFeatures.dc_normalize(mono_16k), normalise(mono_16k))

    reference = _reference(mono_16k)
    ours = extract(raw, rate, FEATURE_PRESETS["full"])
    assert ours.matrix.dtype == np.float32
    assert ours.matrix.shape == reference.shape == ((mono_16k.size - WINDOW) // STEP + 1, 34)
    assert ours.frame_index.tolist() == list(range(reference.shape[0]))
    np.testing.assert_allclose(ours.matrix, reference, rtol=RTOL, atol=ATOL, err_msg=name)

    offset, divisor = normalisation_parameters(mono_16k)
    float64 = short_term_features(mono_16k, RATE, WINDOW, STEP, offset=offset, divisor=divisor)
    np.testing.assert_allclose(float64, reference, rtol=RTOL_FLOAT64, atol=ATOL, err_msg=name)


def test_a_signal_shorter_than_one_window_has_no_frames_where_the_reference_fails():
    short = np.random.default_rng(1).standard_normal(WINDOW - 1)
    with pytest.raises(ValueError):  # pyAudioAnalysis concatenates an empty list of frames
        _reference(short)
    result = extract(short, RATE, FEATURE_PRESETS["full"])
    assert result.matrix.shape == (0, 34)
    assert result.n_frames_total == 0


def test_zero_length_audio_has_no_frames():
    assert extract(np.zeros(0), RATE).matrix.shape == (0, 34)


def test_exact_zeros_count_half_a_crossing_as_in_the_reference():
    # +1, 0, -1 repeated: every pair (x, 0) and (0, y) changes sign by 1, i.e. half a crossing.
    pattern = np.tile([1.0, 0.0, -1.0, 0.0], WINDOW // 4 + STEP)
    mono = pattern[: WINDOW + STEP]
    reference = _reference(mono)
    ours = extract(mono, RATE, FEATURE_PRESETS["full"]).matrix
    assert ours[:, 0] == pytest.approx(reference[:, 0], rel=1e-7)
    # every one of the 3199 neighbour pairs touches zero once: 3199 halves / 3199 pairs
    assert ours[0, 0] == pytest.approx(0.5, rel=1e-7)


@pytest.mark.parametrize("window,step", [(3210, 1600), (2048, 512), (400, 160), (3200, 1000), (1000, 1000)])
def test_other_windows_and_steps_equal_pyaudioanalysis_too(window, step):
    # Window lengths whose spectrum does not split into 10 equal sub-bands, steps off the
    # sub-block grid, gaps between frames: the general code paths.
    mono = _speech(seed=5, voice="en-us+f3", emotion="excitement").astype(np.float64)
    reference = ShortTermFeatures.feature_extraction(mono * 2**15, RATE, window, step, deltas=False)[0].T
    offset, divisor = normalisation_parameters(mono)
    ours = short_term_features(mono, RATE, window, step, offset=offset, divisor=divisor)
    np.testing.assert_allclose(ours, reference, rtol=RTOL_FLOAT64, atol=ATOL)


def test_the_batched_fft_gives_the_reference_fft_to_the_bit():
    # Why the pure tone passes: our batched numpy real FFT and the reference's per-frame
    # scipy.fftpack complex FFT are the same pocketfft transform, so magnitudes agree exactly,
    # rounding noise included.
    from scipy.fftpack import fft

    frames = np.random.default_rng(11).standard_normal((70, WINDOW))
    ours = np.abs(np.fft.rfft(frames, axis=1))[:, : WINDOW // 2]
    reference = np.stack([np.abs(fft(frame))[: WINDOW // 2] for frame in frames])
    assert np.array_equal(ours, reference)
