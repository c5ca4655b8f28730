"""How each of the four classes is rendered: espeak prosody plus post-processing.

The directions follow what acoustic studies of acted emotion report (e.g. Banse & Scherer 1996;
Juslin & Laukka 2003): hot anger is fast, loud, tense and bright with a raised, moderately varied
pitch; excitement (joyful arousal) is fast and loud with the highest pitch and the widest, most
erratic pitch movement; sadness is slow, quiet, low, monotone and dark; neutral sits in between.
These are caricatures made with a formant synthesizer, not emotional speech: they give the
features and a listener real differences to work with, nothing more.

An utterance is rendered at an ``intensity`` in [0, 1]: 0 is the speaker's neutral, 1 the full
style, in between a weaker rendition, so that some utterances are hard to tell from neutral (and
draw more rater disagreement). On top, every parameter is jittered per utterance, so that no
single setting identifies a class.
"""

import math
from dataclasses import dataclass, fields
from xml.sax.saxutils import escape

import numpy as np

from annotation.demo_corpus.espeak import PITCH_LIMITS, RANGE_LIMITS, RATE_LIMITS, VOLUME_LIMITS, SpeechParameters
from annotation.demo_corpus.voices import DemoSpeaker

DEMO_CLASSES = ("anger", "excitement", "neutral", "sadness")  # the paper's four, alphabetical


@dataclass(frozen=True)
class EmotionStyle:
    rate_factor: float  # x the speaker's habitual rate
    pitch_shift: float  # espeak pitch units added to the speaker's habitual pitch
    range_factor: float  # x the speaker's habitual pitch range
    volume: float  # espeak volume (100 = normal; above it espeak compresses)
    word_gap_10ms: float  # extra pause between words
    word_pitch_jitter: float  # sd of a per-word pitch change, fraction of the pitch (SSML)
    clip_drive: float  # tanh soft-clipping drive, 0 = none
    brightness: float  # gain of the band above 2 kHz added back, 0 = none
    low_pass_hz: float  # Butterworth cutoff; 8000 = nothing audible left to cut at 16 kHz
    tremolo_depth: float  # amplitude wobble depth, 0 = none
    peak_level: float  # final peak amplitude, fraction of full scale: the recording's loudness


STYLES = {
    "neutral": EmotionStyle(
        rate_factor=1.0, pitch_shift=0.0, range_factor=0.8, volume=100, word_gap_10ms=0,
        word_pitch_jitter=0.03, clip_drive=0.0, brightness=0.0, low_pass_hz=8000.0,
        tremolo_depth=0.0, peak_level=0.55,
    ),
    "anger": EmotionStyle(
        rate_factor=1.2, pitch_shift=12.0, range_factor=1.35, volume=165, word_gap_10ms=0,
        word_pitch_jitter=0.08, clip_drive=3.5, brightness=1.2, low_pass_hz=8000.0,
        tremolo_depth=0.0, peak_level=0.97,
    ),
    "excitement": EmotionStyle(
        rate_factor=1.3, pitch_shift=30.0, range_factor=1.9, volume=135, word_gap_10ms=0,
        word_pitch_jitter=0.22, clip_drive=0.8, brightness=0.5, low_pass_hz=8000.0,
        tremolo_depth=0.0, peak_level=0.88,
    ),
    "sadness": EmotionStyle(
        rate_factor=0.7, pitch_shift=-16.0, range_factor=0.3, volume=70, word_gap_10ms=4,
        word_pitch_jitter=0.0, clip_drive=0.0, brightness=0.0, low_pass_hz=2400.0,
        tremolo_depth=0.3, peak_level=0.3,
    ),
}  # one block per emotion, its settings side by side to compare with the others  # fmt: skip


def style_at(emotion: str, intensity: float) -> EmotionStyle:
    """The style ``intensity`` of the way from neutral (0) to the full emotion (1).

    Every field moves linearly except the low-pass cutoff, which moves geometrically (hearing is
    logarithmic in frequency).
    """
    if emotion not in STYLES:
        raise ValueError(f"no rendering for {emotion!r}; known: {', '.join(DEMO_CLASSES)}")
    if not 0.0 <= intensity <= 1.0:
        raise ValueError(f"intensity {intensity} outside [0, 1]")
    neutral, target = STYLES["neutral"], STYLES[emotion]
    values = {}
    for field in fields(EmotionStyle):
        a, b = getattr(neutral, field.name), getattr(target, field.name)
        if field.name == "low_pass_hz":
            values[field.name] = a * (b / a) ** intensity
        else:
            values[field.name] = a + intensity * (b - a)
    return EmotionStyle(**values)


@dataclass(frozen=True)
class Rendering:
    """Everything needed to render one stretch of speech; drawn once, then deterministic."""

    emotion: str
    intensity: float
    speech: SpeechParameters
    word_pitch_jitter: float
    clip_drive: float
    brightness: float
    low_pass_hz: float
    tremolo_depth: float
    tremolo_hz: float
    peak_level: float


def _clamp(value: float, limits: tuple[int, int]) -> int:
    return int(round(min(max(value, limits[0]), limits[1])))


def draw_rendering(
    emotion: str, speaker: DemoSpeaker, rng: np.random.Generator, intensity: float = 1.0, jitter: bool = True
) -> Rendering:
    """The speaker's rendering of ``emotion`` at ``intensity``, with per-utterance variation.

    ``jitter=False`` gives the style's exact centre (for tests that compare classes).
    """
    style = style_at(emotion, intensity)

    # Log-normal factors keep rates and ranges positive; sizes are a few percent, like one
    # speaker's variation between takes of the same line.
    def factor(sd: float) -> float:
        return float(math.exp(rng.normal(0.0, sd))) if jitter else 1.0

    def shift(sd: float) -> float:
        return float(rng.normal(0.0, sd)) if jitter else 0.0

    speech = SpeechParameters(
        rate_wpm=_clamp(speaker.rate_wpm * style.rate_factor * factor(0.07), RATE_LIMITS),
        volume=_clamp(style.volume + shift(8.0), VOLUME_LIMITS),
        pitch=_clamp(speaker.pitch + style.pitch_shift + shift(4.0), PITCH_LIMITS),
        pitch_range=_clamp(speaker.pitch_range * style.range_factor * factor(0.12), RANGE_LIMITS),
        word_gap_10ms=_clamp(style.word_gap_10ms + shift(1.0), (0, 100)),
    )
    return Rendering(
        emotion=emotion,
        intensity=intensity,
        speech=speech,
        word_pitch_jitter=style.word_pitch_jitter * factor(0.2),
        clip_drive=style.clip_drive * factor(0.2),
        brightness=style.brightness * factor(0.2),
        low_pass_hz=style.low_pass_hz * factor(0.1),
        tremolo_depth=min(style.tremolo_depth * factor(0.2), 0.6),
        tremolo_hz=float(rng.uniform(4.0, 6.5)) if jitter else 5.0,
        peak_level=min(style.peak_level * factor(0.08), 0.98),
    )


def speech_markup(text: str, word_pitch_jitter: float, rng: np.random.Generator) -> tuple[str, bool]:
    """The text for espeak and whether it is SSML.

    With pitch jitter each word gets its own ``<prosody pitch="+x%">``: the erratic pitch jumps of
    aroused speech, which espeak's smooth intonation contours do not make on their own.
    """
    if word_pitch_jitter <= 0.005:
        return text, False
    parts = []
    for word in text.split():
        change = float(np.clip(rng.normal(0.0, word_pitch_jitter), -0.5, 0.6))
        parts.append(f'<prosody pitch="{change * 100:+.0f}%">{escape(word)}</prosody>')
    return "<speak>" + " ".join(parts) + "</speak>", True
