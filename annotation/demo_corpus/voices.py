"""The demo corpus's ten speakers: espeak-ng voices in five sessions of two.

As in IEMOCAP, a session is a pair of speakers, one female and one male, and is the group for
session-wise cross-validation. Speakers differ by espeak variant (its own pitch, formants,
roughness), by English accent, and by their habitual rate, pitch and pitch range, so a
speaker-independent split really meets new voices.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoSpeaker:
    code: str  # the speaker's id in the corpus (``Ses01F``), as in IEMOCAP
    session: str  # the cross-validation group (``Ses01``)
    gender: str  # "F" or "M": the espeak variant's nominal gender
    espeak_voice: str  # language + variant for espeak_SetVoiceByName
    rate_wpm: float  # habitual speaking rate (espeak words per minute)
    pitch: float  # habitual base pitch, espeak units 0-100 (50 = the variant's normal)
    pitch_range: float  # habitual pitch range, espeak units 0-100


DEMO_SPEAKERS = (
    DemoSpeaker("Ses01F", "Ses01", "F", "en-us+f1", rate_wpm=168, pitch=50, pitch_range=48),
    DemoSpeaker("Ses01M", "Ses01", "M", "en-us+m1", rate_wpm=160, pitch=46, pitch_range=44),
    DemoSpeaker("Ses02F", "Ses02", "F", "en-gb-x-rp+f2", rate_wpm=176, pitch=44, pitch_range=52),
    DemoSpeaker("Ses02M", "Ses02", "M", "en-gb-x-rp+m3", rate_wpm=170, pitch=52, pitch_range=40),
    DemoSpeaker("Ses03F", "Ses03", "F", "en-us+f3", rate_wpm=158, pitch=40, pitch_range=46),
    DemoSpeaker("Ses03M", "Ses03", "M", "en-us+m2", rate_wpm=182, pitch=50, pitch_range=50),
    DemoSpeaker("Ses04F", "Ses04", "F", "en-029+f4", rate_wpm=164, pitch=48, pitch_range=55),
    DemoSpeaker("Ses04M", "Ses04", "M", "en-gb-scotland+m4", rate_wpm=172, pitch=55, pitch_range=45),
    DemoSpeaker("Ses05F", "Ses05", "F", "en-us+f5", rate_wpm=174, pitch=42, pitch_range=50),
    DemoSpeaker("Ses05M", "Ses05", "M", "en-us-nyc+m6", rate_wpm=166, pitch=48, pitch_range=42),
)

# What synthesize_utterance uses for a voice that is not one of the ten speakers.
DEFAULT_HABITS = {"rate_wpm": 170.0, "pitch": 48.0, "pitch_range": 48.0}


def speaker_for_voice(espeak_voice: str) -> DemoSpeaker:
    """The corpus speaker with this espeak voice, or an ad-hoc speaker with average habits."""
    for speaker in DEMO_SPEAKERS:
        if speaker.espeak_voice == espeak_voice:
            return speaker
    gender = "F" if "+f" in espeak_voice else "M" if "+m" in espeak_voice else ""
    return DemoSpeaker("adhoc", "adhoc", gender, espeak_voice, **DEFAULT_HABITS)
