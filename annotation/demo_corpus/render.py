"""From text and a rendering to 16 kHz samples: espeak, post-processing, resampling, assembly."""

from dataclasses import dataclass

import numpy as np

from annotation.demo_corpus import effects
from annotation.demo_corpus.espeak import ESPEAK_SAMPLE_RATE, synthesize_speech
from annotation.demo_corpus.prosody import Rendering, draw_rendering, speech_markup
from annotation.demo_corpus.voices import DemoSpeaker, speaker_for_voice

SAMPLE_RATE = effects.TARGET_SAMPLE_RATE  # Hz, every demo file
# Quiet-room noise floor, RMS as a fraction of full scale (about -60 to -50 dBFS).
NOISE_RMS_RANGE = (0.001, 0.003)
LEADING_SILENCE_S = (0.10, 0.35)
TRAILING_SILENCE_S = (0.15, 0.40)
PAUSE_BETWEEN_STRETCHES_S = (0.25, 0.60)


def render_stretch(text: str, speaker: DemoSpeaker, rendering: Rendering, rng: np.random.Generator) -> np.ndarray:
    """One stretch of speech in one emotion: float32, shape (n,), 16 kHz, peak = rendering.peak_level.

    No silence is added around it (espeak's own short edges remain).
    """
    markup, is_ssml = speech_markup(text, rendering.word_pitch_jitter, rng)
    x = synthesize_speech(
        markup,
        voice=speaker.espeak_voice,
        parameters=rendering.speech,
        ssml=is_ssml,
        random_seed=int(rng.integers(2**31)),
    )
    x = x.astype(np.float32) / 32768.0  # int16 full scale -> [-1, 1)
    sr = ESPEAK_SAMPLE_RATE
    x = effects.soft_clip(x, rendering.clip_drive)
    x = effects.brighten(x, sr, rendering.brightness)
    x = effects.low_pass(x, sr, rendering.low_pass_hz)
    x = effects.tremolo(x, sr, rendering.tremolo_hz, rendering.tremolo_depth, phase=float(rng.uniform(0, 2 * np.pi)))
    x = effects.to_target_rate(x, sr)
    return effects.scale_to_peak(x, rendering.peak_level)


@dataclass(frozen=True)
class Assembled:
    samples: np.ndarray  # float32, shape (n,), 16 kHz, within [-1, 1]
    boundaries_s: tuple[float, ...]  # len(stretches) + 1 times in seconds: 0, ..., duration
    # Each stretch owns the silence up to the middle of the pause that follows it, so the spans
    # tile the file with no gap.


def assemble(stretches: list[np.ndarray], rng: np.random.Generator) -> Assembled:
    """Put stretches in one file: leading silence, pauses between, trailing silence, room noise."""
    if not stretches:
        raise ValueError("nothing to assemble")
    pieces = [effects.silence(rng.uniform(*LEADING_SILENCE_S))]
    boundaries = [0]
    for index, stretch in enumerate(stretches):
        if index > 0:
            pause = effects.silence(rng.uniform(*PAUSE_BETWEEN_STRETCHES_S))
            position = sum(p.size for p in pieces)
            boundaries.append(position + pause.size // 2)
            pieces.append(pause)
        pieces.append(stretch)
    pieces.append(effects.silence(rng.uniform(*TRAILING_SILENCE_S)))
    samples = np.concatenate(pieces)
    boundaries.append(samples.size)
    samples = effects.add_room_noise(samples, rng, rms=float(rng.uniform(*NOISE_RMS_RANGE)))
    samples = np.clip(samples, -0.999, 0.999).astype(np.float32)
    return Assembled(samples=samples, boundaries_s=tuple(b / SAMPLE_RATE for b in boundaries))


def synthesize_utterance(
    text: str,
    voice: str = "en-us+f3",
    emotion: str = "neutral",
    seed: int = 0,
    *,
    intensity: float = 1.0,
    jitter: bool = True,
) -> np.ndarray:
    """One demo-corpus utterance, for tests that need real speech without building a corpus.

    ``voice``: an espeak voice (one of the ten speakers' voices uses that speaker's habits);
    ``emotion``: one of DEMO_CLASSES; ``intensity`` in [0, 1] (0 = neutral); ``jitter=False``
    renders the style's exact centre. Returns float32 samples, shape (n,), 16 kHz mono, with
    short silences and a quiet noise floor around the speech, like a corpus file. The same
    arguments give the same samples. Takes a few tens of milliseconds.
    """
    rng = np.random.default_rng(seed)
    speaker = speaker_for_voice(voice)
    rendering = draw_rendering(emotion, speaker, rng, intensity=intensity, jitter=jitter)
    return assemble([render_stretch(text, speaker, rendering, rng)], rng).samples
