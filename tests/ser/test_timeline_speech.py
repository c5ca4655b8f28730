"""On demo-corpus-like long recordings with a neutral and an emotional stretch whose spans are
known, the timeline finds both parts (models_app/ser/timeline.py).

A small CTC network is trained here on short synthesized utterances of three emotions (four
voices), then draws the timelines of long recordings of two other voices: a neutral stretch and
an angry or sad one, in both orders. Everything is seeded, so a run repeats exactly on one machine.

The threshold: ten runs of this test with seeds 0-9 (data and network alike) measured a
frame-level agreement of 0.92 to 0.98 (seed 0: 0.94) and found 88-100% of the stretches. A single
label per recording, even the right one for the longer stretch, agrees on at most the longer
stretch's share of the frames (computed below: 0.55-0.59 in those runs). The test asks for 0.75,
for 0.15 above that ceiling, and for 75% of the stretches: it fails when the timeline stops
telling the stretches apart, while the spread between seeds (and machines) stays inside the margin.
"""

import numpy as np
import pytest

from annotation import demo_corpus
from annotation.demo_corpus.sentences import SENTENCES
from models_app.ser.features import FEATURE_PRESETS, extract
from models_app.ser.methods import CTCBLSTM
from models_app.ser.timeline import emotion_timeline, span_agreement

pytestmark = pytest.mark.slow  # trains a network on synthesized speech: ~10 s

CLASSES = ("anger", "neutral", "sadness")
SEED = 0
PAPER = FEATURE_PRESETS["paper"]
TRAINING_VOICES = [speaker.espeak_voice for speaker in demo_corpus.DEMO_SPEAKERS[:4]]
TEST_VOICES = [speaker.espeak_voice for speaker in demo_corpus.DEMO_SPEAKERS[4:6]]


def _speech(rng, voice, emotion, n_sentences, intensity):
    text = " ".join(SENTENCES[int(i)] for i in rng.integers(len(SENTENCES), size=n_sentences))
    return demo_corpus.synthesize_utterance(
        text, voice=voice, emotion=emotion, seed=int(rng.integers(1 << 30)), intensity=intensity
    )


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(SEED)
    X, y = [], []
    for voice in TRAINING_VOICES:
        for emotion in CLASSES:
            for _ in range(8):
                intensity = 0.0 if emotion == "neutral" else float(rng.uniform(0.6, 1.0))
                X.append(extract(_speech(rng, voice, emotion, 1, intensity), 16000, PAPER).matrix)
                y.append(emotion)
    model = CTCBLSTM(
        hidden_units=32,
        dense_units=64,
        pad_frames=None,
        standardize=True,
        epochs=25,
        learning_rate=3e-3,
        batch_size=16,
        n_threads=1,
        random_state=SEED,
    ).fit(X, np.array(y))
    return model, rng


def test_timeline_finds_the_neutral_and_the_emotional_stretch(trained):
    model, rng = trained
    results, ceilings, frames = [], [], []
    for voice in TEST_VOICES:
        for emotion in ("anger", "sadness"):
            for neutral_first in (True, False):
                neutral = _speech(rng, voice, "neutral", 2, 0.0)
                emotional = _speech(rng, voice, emotion, 2, 1.0)
                first, second = (neutral, emotional) if neutral_first else (emotional, neutral)
                names = ("neutral", emotion) if neutral_first else (emotion, "neutral")
                boundary = first.size / 16000
                duration = (first.size + second.size) / 16000
                spans = [
                    {"start": 0.0, "end": boundary, "emotion": names[0]},
                    {"start": boundary, "end": duration, "emotion": names[1]},
                ]
                timeline = emotion_timeline(model, np.concatenate([first, second]), 16000, feature_config=PAPER)
                result = span_agreement(timeline, spans)
                results.append(result)
                frames.append(result.n_frames)
                ceilings.append(max(n for _, n in result.per_emotion.values()))  # frames of the longer stretch
    agreement = sum(r.agreement * r.n_frames for r in results) / sum(frames)
    one_label_ceiling = sum(ceilings) / sum(frames)
    parts_found = np.mean([r.parts_found for r in results])
    assert agreement >= 0.75, f"frame agreement {agreement:.3f}"
    assert agreement >= one_label_ceiling + 0.15, (
        f"agreement {agreement:.3f} vs one label's best {one_label_ceiling:.3f}"
    )
    assert parts_found >= 0.75, f"stretches found {parts_found:.3f}"
