"""Builders for test data: users per role, tiny wav files, small corpora written through the real
import service."""

import itertools
from pathlib import Path

import numpy as np
import soundfile
from django.contrib.auth.models import Group, User

from emolab.roles import ASSESSOR_GROUP, RESEARCHER_GROUP

_counter = itertools.count(1)
TEST_PASSWORD = "a-long-test-password-123"


def make_user(role: str, username: str | None = None, password: str = TEST_PASSWORD) -> User:
    """role: "admin", "researcher", "assessor" or "none"."""
    username = username or f"{role}{next(_counter)}"
    user = User.objects.create_user(username=username, password=password, is_staff=(role == "admin"))
    if role in (ASSESSOR_GROUP, RESEARCHER_GROUP):
        group, _ = Group.objects.get_or_create(name=role)
        user.groups.add(group)
    return user


def write_wav(path: Path, signal: np.ndarray, sample_rate: int = 16000, subtype: str = "PCM_16") -> Path:
    """Write float samples in [-1, 1] (shape (n,) or (n, channels)) as a wav file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), signal, sample_rate, subtype=subtype)
    return path


def tone(seconds: float, frequency: float = 220.0, sample_rate: int = 16000, amplitude: float = 0.3, seed: int = 0):
    """A tone with a little noise, so every frame has energy and spectral content."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (amplitude * np.sin(2 * np.pi * frequency * t) + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def make_corpus(
    root: Path,
    name: str = "tiny",
    classes=("anger", "neutral"),
    speakers=("s1", "s2", "s3", "s4"),
    per_speaker_class: int = 2,
    seconds: float = 1.0,
):
    """A small labelled corpus: one session per speaker, tones whose pitch depends on the class.
    Returns the Corpus row."""
    from annotation.importers.records import UtteranceRecord, VoteRecord
    from annotation.services.corpora import corpus_import

    records = []
    for s_index, speaker in enumerate(speakers):
        for c_index, label in enumerate(classes):
            for k in range(per_speaker_class):
                utt = f"{speaker}_{label}_{k}"
                path = write_wav(
                    root / f"{utt}.wav",
                    tone(seconds, frequency=150.0 * (c_index + 1), seed=s_index * 100 + c_index * 10 + k),
                )
                votes = [VoteRecord(rater=f"E{r}", categories=(label,)) for r in range(3)]
                records.append(
                    UtteranceRecord(
                        name=utt, speaker=speaker, session=speaker, audio_path=path, label=label, votes=votes
                    )
                )
    corpus_import(name=name, format="manifest", source_path=root, classes=list(classes), records=records)
    from annotation.models import Corpus

    return Corpus.objects.get(name=name)


def synthetic_sequences(
    n_per_class: int = 30,
    n_classes: int = 3,
    n_speakers: int = 6,
    n_features: int = 34,
    min_frames: int = 8,
    max_frames: int = 20,
    shift: float = 1.5,
    emotional_share: float = 1 / 3,
    seed: int = 0,
):
    """A learnable task for the numerical core, no audio: (X, y, speakers).

    X: list of (n_frames, n_features) float32 noise sequences; in a centred stretch of
    ``emotional_share`` of each utterance's frames (at least 2) features 2..4 are shifted by
    ``shift * class`` (emotion in part of the utterance, as CTC assumes) and feature 1 (energy)
    is raised. Speakers cycle.
    """
    rng = np.random.default_rng(seed)
    X, y, speakers = [], [], []
    for i in range(n_per_class * n_classes):
        label = i % n_classes
        n_frames = int(rng.integers(min_frames, max_frames + 1))
        x = rng.normal(size=(n_frames, n_features)).astype(np.float32)
        x[:, 1] = np.abs(x[:, 1]) * 0.1
        n_emotional = max(2, int(round(emotional_share * n_frames)))
        start = (n_frames - n_emotional) // 2
        stop = start + n_emotional
        x[start:stop, 2:5] += shift * label
        x[start:stop, 1] += 1.0
        X.append(x)
        y.append(label)
        speakers.append(f"spk{(i // n_classes) % n_speakers}")
    return X, np.array(y), np.array(speakers)
