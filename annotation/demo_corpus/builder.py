"""Plans the demo corpus, renders and writes its wav files, and returns the import records.

Determinism: the plan comes from one generator seeded with ``(seed, 1)``; each utterance's
rendering and votes from generators seeded with ``(seed, kind, index)``, so the result does not
depend on the order in which utterances are rendered. espeak-ng itself is made history-free in
``espeak.py``. The same seed therefore gives the same bytes on every run.
"""

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import soundfile

from annotation.consensus import consensus_from_votes
from annotation.demo_corpus import effects
from annotation.demo_corpus.config import DemoCorpusConfig
from annotation.demo_corpus.prosody import DEMO_CLASSES, draw_rendering
from annotation.demo_corpus.render import SAMPLE_RATE, assemble, render_stretch
from annotation.demo_corpus.sentences import SENTENCES
from annotation.demo_corpus.voices import DEMO_SPEAKERS, DemoSpeaker
from annotation.demo_corpus.votes import VotePlan, plan_contested, simulate_votes
from annotation.importers.records import UtteranceRecord, VoteRecord

DESCRIPTION = (
    "Synthetic demo corpus: espeak-ng voices with emotion-like prosody and simulated expert votes. "
    "Not real emotional speech."
)
MARKER_FILE = ".demo-corpus.json"  # says a folder holds a demo build (and with which settings)
MAX_LONG_ATTEMPTS = 40  # sentence draws tried for a long utterance before giving up (one or two suffice)

ProgressCallback = Callable[[int, int], None]  # (done, total), like the import service's
DEFAULT_CONFIG = DemoCorpusConfig()  # frozen: one shared instance is safe as the default

# Entropy tags that keep the generators of different purposes independent.
_PLAN, _RENDER, _VOTES = 1, 2, 3


class DemoCorpusError(Exception):
    """The demo corpus cannot be built where asked; nothing was overwritten."""


@dataclass(frozen=True)
class PlannedUtterance:
    index: int  # position in the plan; seeds this utterance's generators
    name: str  # ``Ses01F_017``: says nothing about the emotion
    speaker: DemoSpeaker
    emotion: str  # the rendered class (for a long utterance, its emotional stretch)
    is_long: bool  # a neutral stretch plus an emotional one
    intensity: float  # 0..1 of the emotional style (0 for neutral)
    clarity: float  # 0..1: how clearly raters can hear the intended emotion
    sentence: str  # the short utterance's text ('' for a long one, whose texts are drawn at render)


@dataclass
class DemoCorpusBuild:
    records: list[UtteranceRecord]
    classes: tuple[str, ...] = DEMO_CLASSES
    summary: dict = field(default_factory=dict)


def plan_corpus(config: DemoCorpusConfig) -> list[PlannedUtterance]:
    """Every utterance to render, balanced: each speaker says each class the same number of times."""
    rng = np.random.default_rng((config.seed, _PLAN))
    deck: list[str] = []  # sentences dealt in shuffled rounds, so each is spoken about equally often

    def next_sentence() -> str:
        if not deck:
            deck.extend(SENTENCES[i] for i in rng.permutation(len(SENTENCES)))
        return deck.pop()

    planned = []
    low, high = config.intensity_range
    for speaker in DEMO_SPEAKERS:
        items = []  # (emotion, is_long)
        for emotion in DEMO_CLASSES:
            items += [(emotion, False)] * config.short_per_speaker_class
            if emotion == "neutral":
                items += [(emotion, False)] * config.long_per_speaker_class
            else:
                items += [(emotion, True)] * config.long_per_speaker_class
        order = rng.permutation(len(items))  # numbering must not reveal the class
        for number, item_index in enumerate(order, start=1):
            emotion, is_long = items[item_index]
            if emotion == "neutral":
                intensity, clarity = 0.0, float(rng.uniform(0.3, 1.0))
            else:
                intensity = float(rng.uniform(low, high))
                # Map the intensity range onto 0.2..1; a long utterance is half neutral, so less clear.
                clarity = 0.2 + 0.8 * (intensity - low) / max(high - low, 1e-9)
                clarity *= 0.75 if is_long else 1.0
            planned.append(
                PlannedUtterance(
                    index=len(planned),
                    name=f"{speaker.code}_{number:03d}",
                    speaker=speaker,
                    emotion=emotion,
                    is_long=is_long,
                    intensity=intensity,
                    clarity=clarity,
                    sentence="" if is_long else next_sentence(),
                )
            )
    return planned


@dataclass(frozen=True)
class RenderedUtterance:
    samples: np.ndarray  # float32, (n,), 16 kHz
    transcript: str
    spans: list[dict]  # [] for a short utterance


def render_planned(item: PlannedUtterance, config: DemoCorpusConfig) -> RenderedUtterance:
    rng = np.random.default_rng((config.seed, _RENDER, item.index))
    if not item.is_long:
        rendering = draw_rendering(item.emotion, item.speaker, rng, intensity=item.intensity)
        assembled = assemble([render_stretch(item.sentence, item.speaker, rendering, rng)], rng)
        return RenderedUtterance(assembled.samples, item.sentence, [])
    return _render_long(item, config, rng)


def _render_long(item: PlannedUtterance, config: DemoCorpusConfig, rng: np.random.Generator) -> RenderedUtterance:
    """A neutral stretch and an emotional stretch, in random order, lasting long_duration_s.

    Stretches start with one sentence each; the shorter one gets another until the whole is long
    enough; a draw that overshoots is discarded and redrawn.
    """
    low, high = config.long_duration_s
    neutral_rendering = draw_rendering("neutral", item.speaker, rng)
    emotional_rendering = draw_rendering(item.emotion, item.speaker, rng, intensity=item.intensity)
    emotion_first = bool(rng.random() < 0.5)
    for _ in range(MAX_LONG_ATTEMPTS):
        texts, audio = _draw_sentences(item, neutral_rendering, emotional_rendering, low, rng)
        order = [item.emotion, "neutral"] if emotion_first else ["neutral", item.emotion]
        stretches = [_join_sentences(audio[emotion], rng) for emotion in order]
        assembled = assemble(stretches, rng)
        duration = assembled.samples.size / SAMPLE_RATE
        if low <= duration <= high:
            b = assembled.boundaries_s
            spans = [
                {"start": round(b[i], 4), "end": round(b[i + 1], 4), "emotion": emotion}
                for i, emotion in enumerate(order)
            ]
            transcript = " ".join(" ".join(texts[emotion]) for emotion in order)
            return RenderedUtterance(assembled.samples, transcript, spans)
    raise DemoCorpusError(f"{item.name}: no sentence draw fit {low}-{high} s in {MAX_LONG_ATTEMPTS} attempts")


def _draw_sentences(item: PlannedUtterance, neutral_rendering, emotional_rendering, low: float, rng):
    """One draw of the two stretches' sentences, (texts, audio) per emotion: one sentence each, then
    more for the shorter stretch until the whole reaches about ``low`` seconds."""
    texts = {"neutral": [], item.emotion: []}
    audio = {"neutral": [], item.emotion: []}

    def seconds(emotion: str) -> float:
        return sum(a.size for a in audio[emotion]) / SAMPLE_RATE

    def add_sentence(emotion: str) -> None:
        sentence = SENTENCES[int(rng.integers(len(SENTENCES)))]
        rendering = neutral_rendering if emotion == "neutral" else emotional_rendering
        texts[emotion].append(sentence)
        audio[emotion].append(render_stretch(sentence, item.speaker, rendering, rng))

    add_sentence("neutral")
    add_sentence(item.emotion)
    # Pauses and edge silences add about a second.
    while seconds("neutral") + seconds(item.emotion) + 1.0 < low:
        add_sentence("neutral" if seconds("neutral") < seconds(item.emotion) else item.emotion)
    return texts, audio


def _join_sentences(sentences: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    # espeak ends a text without its sentence pause, so put a short breath between sentences.
    pieces = []
    for index, sentence in enumerate(sentences):
        if index:
            pieces.append(effects.silence(rng.uniform(0.12, 0.3)))
        pieces.append(sentence)
    return np.concatenate(pieces)


def _file_name(config: DemoCorpusConfig, item: PlannedUtterance) -> str:
    # Opaque: a hash of seed and utterance id, so a file name never hints at the class.
    return hashlib.sha256(f"{config.seed}/{item.name}".encode()).hexdigest()[:16] + ".wav"


def prepare_folder(out_dir: Path, config: DemoCorpusConfig) -> None:
    """Make ``out_dir`` ready for a build: create it, or clear an earlier demo build from it.

    A non-empty folder without the marker file is not ours: refuse rather than mix or delete.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise DemoCorpusError(f"{out_dir} exists and is not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        if not (out_dir / MARKER_FILE).is_file():
            raise DemoCorpusError(
                f"{out_dir} already holds files that are not a demo corpus build; "
                "choose another corpus name or move them away"
            )
        # An earlier build (its corpus is gone from the database, or the build was interrupted):
        # synthetic and reproducible from its seed, so it is safe to replace.
        for old in out_dir.glob("Ses*/Ses*/*.wav"):
            old.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MARKER_FILE).write_text(
        json.dumps({"generator": "emolab build_demo_corpus", **asdict(config)}, indent=2)
    )


def build_demo_corpus(
    out_dir: Path, *, config: DemoCorpusConfig = DEFAULT_CONFIG, progress: ProgressCallback | None = None
) -> DemoCorpusBuild:
    """Render every planned utterance to ``out_dir/<session>/<speaker>/<hash>.wav`` (16 kHz, 16-bit,
    mono) and return the records for the import service, with votes and no label (the import
    applies the paper's rule). ``source_label`` holds the rendered emotion: the corpus's own truth.
    """
    out_dir = Path(out_dir).resolve()
    prepare_folder(out_dir, config)
    planned = plan_corpus(config)
    contested = plan_contested(
        [item.emotion for item in planned],
        [item.clarity for item in planned],
        config.no_majority_share,
        np.random.default_rng((config.seed, _VOTES)),
    )
    records = []
    for done, (item, is_contested) in enumerate(zip(planned, contested, strict=True), start=1):
        rendered = render_planned(item, config)
        path = out_dir / item.speaker.session / item.speaker.code / _file_name(config, item)
        path.parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(str(path), rendered.samples, SAMPLE_RATE, subtype="PCM_16")
        vote_plan = VotePlan(item.emotion, item.clarity, is_contested, mixed_with_neutral=item.is_long)
        votes = simulate_votes(
            vote_plan,
            np.random.default_rng((config.seed, _VOTES, item.index)),
            p_four_raters=config.p_four_raters,
            p_multi=config.p_multi_category,
        )
        records.append(
            UtteranceRecord(
                name=item.name,
                speaker=item.speaker.code,
                session=item.speaker.session,
                audio_path=path,
                label=None,
                source_label=item.emotion,
                votes=[VoteRecord(rater=rater, categories=categories) for rater, categories in votes.items()],
                speaker_gender=item.speaker.gender,
                transcript=rendered.transcript,
                emotion_spans=rendered.spans,
            )
        )
        if progress:
            progress(done, len(planned))
    return DemoCorpusBuild(records=records, summary=summarize(records))


def summarize(records: list[UtteranceRecord]) -> dict:
    """Counts a person checks after a build: rendered classes, rule labels, the no-majority share."""
    rule_labels = Counter()
    for record in records:
        label = consensus_from_votes([vote.categories for vote in record.votes]).label
        rule_labels[label or ""] += 1
    durations = [soundfile.info(str(record.audio_path)).duration for record in records]
    n = len(records)
    return {
        "n_utterances": n,
        "n_speakers": len({r.speaker for r in records}),
        "n_sessions": len({r.session for r in records}),
        "rendered_classes": dict(sorted(Counter(r.source_label for r in records).items())),
        "n_long": sum(1 for r in records if r.emotion_spans),
        "rule_labels": dict(rule_labels.most_common()),
        "no_majority_share": rule_labels[""] / n if n else 0.0,
        "label_matches_rendering": sum(
            1 for r in records if consensus_from_votes([v.categories for v in r.votes]).label == r.source_label
        )
        / n
        if n
        else 0.0,
        "total_hours": sum(durations) / 3600,
        "mean_duration_s": float(np.mean(durations)) if durations else 0.0,
    }
