"""Builders for test data: users per role, tiny wav files, small corpora written through the real
import service, a tiny CTC model with its training job, and the comparison report's hand-worked
database."""

import io
import itertools
from pathlib import Path

import numpy as np
import soundfile
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile

from annotation.importers.records import UtteranceRecord, VoteRecord
from annotation.models import Campaign, CampaignItem, Corpus, Judgment, Utterance
from annotation.services.corpora import corpus_import
from emolab.roles import ASSESSOR_GROUP, RESEARCHER_GROUP
from models_app.models import ModelArtifact, TrainingJob, UtterancePrediction
from models_app.ser.features import FEATURE_PRESETS, extract
from models_app.ser.methods import CTCBLSTM
from models_app.ser.persistence import save_estimator

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


def confirm_instructions(campaign, *users) -> None:
    """The assessors confirm having read the campaign's instructions (the trial page waits for it)."""
    from annotation.services.instructions import instructions_confirm

    for user in users:
        instructions_confirm(campaign=campaign, assessor=user)


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


# --- corpora, models and jobs for the timeline, the predict API and the reports -------------------

# The class set of the small corpora below: two classes keep the hand-worked numbers small.
TWO_CLASSES = ["anger", "neutral"]


def make_corpus_from_signals(root, signals: dict[str, np.ndarray], name: str = "feat"):
    """A corpus with one utterance per (name -> 16 kHz signal), imported by the real service."""
    records = []
    for index, (utterance, signal) in enumerate(signals.items()):
        path = write_wav(root / f"{utterance}.wav", signal)
        speaker = f"s{index % 2}"
        records.append(
            UtteranceRecord(
                name=utterance,
                speaker=speaker,
                session=speaker,
                audio_path=path,
                label="anger",
                votes=[VoteRecord(rater="E1", categories=("anger",))],
            )
        )
    corpus_import(name=name, format="manifest", source_path=root, classes=["anger", "neutral"], records=records)
    return Corpus.objects.get(name=name)


def tiny_ctc_model(seed: int = 0) -> CTCBLSTM:
    """A CTC network fitted as training jobs fit it, on label indices (high tones class 0, low
    tones class 1). What it predicts is not the point of these tests; its inputs and outputs are."""
    X, y = [], []
    for k in range(12):
        label = k % 2
        signal = tone(1.0 + 0.1 * (k % 3), frequency=440.0 if label == 0 else 150.0, seed=k)
        X.append(extract(signal, 16000, FEATURE_PRESETS["paper"]).matrix)
        y.append(label)
    return CTCBLSTM(
        hidden_units=8, dense_units=8, pad_frames=None, standardize=True, epochs=3, n_threads=1, random_state=seed
    ).fit(X, np.array(y))


def small_corpus(tmp_path, name="tiny"):
    return make_corpus(
        tmp_path / name, name=name, classes=tuple(TWO_CLASSES), speakers=("s1", "s2"), per_speaker_class=1, seconds=0.5
    )


def job_with_ctc_model(corpus, model: CTCBLSTM, methods=("ctc",)):
    """A succeeded training job whose final CTC model is ``model``, saved under MEDIA_ROOT as a
    job's finalize step saves it."""
    job = TrainingJob.objects.create(
        corpus=corpus,
        methods=list(methods),
        preset="fast",
        config={},
        classes=TWO_CLASSES,
        status=TrainingJob.Status.SUCCEEDED,
    )
    path = Path(settings.MEDIA_ROOT) / "models" / f"job-{job.pk}" / "ctc.ckpt"
    save_estimator(model, path)
    ModelArtifact.objects.create(
        job=job,
        method="ctc",
        path=str(path.relative_to(settings.MEDIA_ROOT)),
        config={},
        feature_config=FEATURE_PRESETS["paper"].to_dict(),
        classes=TWO_CLASSES,
    )
    return job


def job_without_ctc_model(corpus, status="succeeded", methods=("dummy",)):
    return TrainingJob.objects.create(
        corpus=corpus, methods=list(methods), preset="fast", config={}, classes=TWO_CLASSES, status=status
    )


def audio_bytes(seconds=3.0, rate=16000, channels=1, file_format="WAV", seed=0) -> bytes:
    """Speech-like test audio: a tone with a pause, so some frames are silent."""
    signal = np.concatenate(
        [
            tone(seconds / 2, 300.0, rate, seed=seed),
            np.zeros(int(0.4 * rate), np.float32),
            tone(seconds / 2 - 0.4, 200.0, rate, seed=seed + 1),
        ]
    )
    if channels == 2:
        signal = np.stack([signal, 0.5 * signal], axis=1)
    buffer = io.BytesIO()
    soundfile.write(buffer, signal, rate, format=file_format)
    return buffer.getvalue()


def upload(content: bytes, name="recording.wav") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


FRAMEWISE_WRONG = {"s1_anger_0", "s1_anger_1", "s2_neutral_0"}
CAMPAIGN_MAIN = ["s1_anger_0", "s1_anger_1", "s2_anger_0", "s1_neutral_0"]


def _other(label: str) -> str:
    return "neutral" if label == "anger" else "anger"


def build_report_data(root, name: str = "tiny") -> dict:
    """The comparison report's database, every number worked out by hand (the report API, page
    and browser tests):
    - corpus "tiny": speakers s1, s2; two anger and two neutral utterances each (8 utterances), every
      one with three agreeing expert votes;
    - job (succeeded, classes anger, neutral), folds by speaker (s1 -> 0, s2 -> 1):
      dummy always "neutral": 4/8 right; framewise wrong on s1_anger_0, s1_anger_1, s2_neutral_0:
      5/8 right; ctc right everywhere except an empty decoding on s2_neutral_1: 7/8 right;
    - campaign on the same corpus: main items s1_anger_0, s1_anger_1, s2_anger_0, s1_neutral_0;
      assessor "alice" answers all four right, "bob" answers "neutral" to all four (1/4 right);
      alice also answered a warm-up item (s2_neutral_1) wrongly, which must not count.
    """
    corpus = make_corpus(root, name=name, classes=tuple(TWO_CLASSES), speakers=("s1", "s2"), per_speaker_class=2)
    utterances = {u.name: u for u in Utterance.objects.filter(corpus=corpus)}
    job = TrainingJob.objects.create(
        corpus=corpus,
        methods=["dummy", "framewise", "ctc"],
        preset="fast",
        config={},
        n_folds=2,
        classes=TWO_CLASSES,
        status=TrainingJob.Status.SUCCEEDED,
    )
    predictions = []
    for utt_name, utterance in utterances.items():
        fold = 0 if utt_name.startswith("s1") else 1
        framewise = _other(utterance.label) if utt_name in FRAMEWISE_WRONG else utterance.label
        ctc = "" if utt_name == "s2_neutral_1" else utterance.label
        k = TWO_CLASSES.index(utterance.label)
        # Three frames; the framewise forest and CTC (K + 1 columns, blank last) lean to the label.
        framewise_frames = [[0.8, 0.2] if k == 0 else [0.2, 0.8]] * 3
        ctc_frames = [[0.1, 0.1, 0.8], [0.7, 0.1, 0.2] if k == 0 else [0.1, 0.7, 0.2], [0.1, 0.1, 0.8]]
        predictions += [
            UtterancePrediction(
                job=job,
                row="dummy",
                fold=fold,
                utterance=utterance,
                true_label=utterance.label,
                predicted_label="neutral",
                probabilities=[0.5, 0.5],
            ),
            UtterancePrediction(
                job=job,
                row="framewise",
                fold=fold,
                utterance=utterance,
                true_label=utterance.label,
                predicted_label=framewise,
                probabilities=[0.6, 0.4] if framewise == "anger" else [0.4, 0.6],
                frame_probabilities=framewise_frames,
            ),
            UtterancePrediction(
                job=job,
                row="ctc",
                fold=fold,
                utterance=utterance,
                true_label=utterance.label,
                predicted_label=ctc,
                probabilities=[0.5, 0.5],
                frame_probabilities=ctc_frames,
                decoded=[] if not ctc else [[k, 1, 2]],
            ),
        ]
    UtterancePrediction.objects.bulk_create(predictions)

    campaign = Campaign.objects.create(corpus=corpus, name="relabel", classes=TWO_CLASSES)
    items = {
        n: CampaignItem.objects.create(campaign=campaign, utterance=utterances[n], role="main") for n in CAMPAIGN_MAIN
    }
    warmup = CampaignItem.objects.create(campaign=campaign, utterance=utterances["s2_neutral_1"], role="warmup")
    alice, bob = make_user("assessor", "alice"), make_user("assessor", "bob")

    def judge(assessor, item, answer, position):
        utterance = item.utterance
        Judgment.objects.create(
            campaign=campaign,
            item=item,
            utterance=utterance,
            assessor=assessor,
            answer=answer,
            phase=item.role,
            expert_label=utterance.label,
            is_correct=answer == utterance.label,
            response_ms=1500,
            position=position,
        )

    judge(alice, warmup, "anger", 1)
    for position, utt_name in enumerate(CAMPAIGN_MAIN, start=2):
        judge(alice, items[utt_name], utterances[utt_name].label, position)
        judge(bob, items[utt_name], "neutral", position - 1)
    return {"corpus": corpus, "job": job, "campaign": campaign, "utterances": utterances}
