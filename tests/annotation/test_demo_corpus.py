"""The synthesized demo corpus: real espeak-ng speech, classes that differ the intended way,
deterministic builds, balanced design, planned disagreement, true spans, and the command.

Builds here are reduced (1 short + 1 long utterance per speaker and class: 80 utterances) to stay
fast; the design is the same as the full 640-utterance corpus.
"""

import hashlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile
from django.core.management import CommandError, call_command

from annotation.consensus import consensus_from_votes
from annotation.demo_corpus import (
    DEMO_CLASSES,
    DEMO_SPEAKERS,
    DemoCorpusConfig,
    DemoCorpusError,
    build_demo_corpus,
    synthesize_utterance,
)
from annotation.demo_corpus.builder import MARKER_FILE, prepare_folder
from annotation.demo_corpus.espeak import ESPEAK_SAMPLE_RATE, EspeakError, SpeechParameters, synthesize_speech
from annotation.demo_corpus.votes import RATERS, VotePlan, plan_contested, simulate_votes
from annotation.models import Corpus, ExpertVote, Utterance

SMALL = {"short_per_speaker_class": 1, "long_per_speaker_class": 1}
SENTENCE = "We have to be at the station by half past six."
SR = 16000


# --- measuring helpers (numpy only), checked on signals with known answers first -----------------


def median_f0(x: np.ndarray, sample_rate: int = SR) -> float:
    """Median pitch (Hz) over voiced 40 ms frames, by autocorrelation in 60-500 Hz."""
    frame, hop = int(0.04 * sample_rate), int(0.02 * sample_rate)
    energies = [np.mean(x[s : s + frame] ** 2) for s in range(0, x.size - frame, hop)]
    threshold = 0.1 * max(energies)
    lo, hi = int(sample_rate / 500), int(sample_rate / 60)
    f0s = []
    for index, start in enumerate(range(0, x.size - frame, hop)):
        if energies[index] < threshold:
            continue
        f = x[start : start + frame] - x[start : start + frame].mean()
        ac = np.correlate(f, f, "full")[frame - 1 :]
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.5 * ac[0]:
            f0s.append(sample_rate / lag)
    return float(np.median(f0s))


def speech_rms(x: np.ndarray) -> float:
    """RMS over the 20 ms frames that hold speech (above a tenth of the loudest frame's RMS)."""
    frames = x[: x.size // 320 * 320].reshape(-1, 320)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    return float(rms[rms > 0.1 * rms.max()].mean())


def speech_extent_s(x: np.ndarray) -> float:
    """Seconds from the first to the last 20 ms frame above 5% of the loudest frame's RMS."""
    frames = x[: x.size // 320 * 320].reshape(-1, 320)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    loud = np.flatnonzero(rms > 0.05 * rms.max())
    return (loud[-1] - loud[0] + 1) * 0.02


def spectral_centroid(x: np.ndarray) -> float:
    magnitude = np.abs(np.fft.rfft(x))
    return float(np.sum(magnitude * np.fft.rfftfreq(x.size, 1 / SR)) / np.sum(magnitude))


def test_the_measuring_helpers_give_known_answers():
    t = np.arange(SR) / SR
    tone = 0.5 * np.sin(2 * np.pi * 200 * t)
    assert median_f0(tone) == pytest.approx(200, abs=3)
    assert speech_rms(tone) == pytest.approx(0.5 / np.sqrt(2), rel=0.01)
    half_silent = np.concatenate([np.zeros(SR // 2), tone[: SR // 2]])
    assert speech_extent_s(half_silent) == pytest.approx(0.5, abs=0.021)
    assert spectral_centroid(tone) == pytest.approx(200, abs=5)


# --- the espeak-ng binding -----------------------------------------------------------------------


def test_espeak_speaks_a_sentence_as_16_bit_samples_at_22050_hz():
    samples = synthesize_speech(SENTENCE, voice="en-us+m1")
    assert samples.dtype == np.int16 and samples.ndim == 1
    seconds = samples.size / ESPEAK_SAMPLE_RATE
    assert 1.5 < seconds < 5.0  # eleven words at espeak's normal 175 words per minute
    assert speech_rms(samples / 32768.0) > 0.05  # real sound, not near-silence
    # A male variant speaks in a male pitch range.
    assert 70 < median_f0(samples / 32768.0, ESPEAK_SAMPLE_RATE) < 180


def test_espeak_output_does_not_depend_on_what_was_spoken_before():
    first = synthesize_speech(SENTENCE, voice="en-us+f3", random_seed=4)
    synthesize_speech("Something else entirely, and longer than that.", voice="en-us+m2", random_seed=9)
    again = synthesize_speech(SENTENCE, voice="en-us+f3", random_seed=4)
    assert np.array_equal(first, again)


def test_espeak_rate_parameter_changes_the_duration():
    slow = synthesize_speech(SENTENCE, voice="en-us+f1", parameters=SpeechParameters(rate_wpm=100))
    fast = synthesize_speech(SENTENCE, voice="en-us+f1", parameters=SpeechParameters(rate_wpm=300))
    assert slow.size > 2 * fast.size


def test_espeak_refuses_an_unknown_voice_and_out_of_range_parameters():
    with pytest.raises(EspeakError, match="voice"):
        synthesize_speech(SENTENCE, voice="zz-nonexistent")
    with pytest.raises(ValueError, match="rate_wpm"):
        SpeechParameters(rate_wpm=20)
    with pytest.raises(ValueError, match="empty"):
        synthesize_speech("   ", voice="en-us")


# --- the emotion renderings ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def renderings():
    """Each class at full intensity without jitter, by a female and a male speaker."""
    voices = ("en-us+f3", "en-us+m1")
    return {
        (voice, emotion): synthesize_utterance(SENTENCE, voice, emotion, seed=1, jitter=False)
        for voice in voices
        for emotion in DEMO_CLASSES
    }


def test_synthesize_utterance_gives_16_khz_float_speech(renderings):
    x = renderings[("en-us+f3", "neutral")]
    assert x.dtype == np.float32 and x.ndim == 1
    assert np.max(np.abs(x)) <= 1.0
    # Same text as the 22,050 Hz espeak output, resampled: duration within the added silences.
    assert 1.5 < x.size / SR < 6.0
    spectrum = np.abs(np.fft.rfft(x))
    assert spectrum.argmax() * SR / x.size < 4000  # speech energy, not noise, dominates


def test_synthesize_utterance_is_deterministic_for_a_seed():
    a = synthesize_utterance(SENTENCE, "en-us+f2", "excitement", seed=5)
    b = synthesize_utterance(SENTENCE, "en-us+f2", "excitement", seed=5)
    c = synthesize_utterance(SENTENCE, "en-us+f2", "excitement", seed=6)
    assert np.array_equal(a, b)
    assert not (a.size == c.size and np.array_equal(a, c))


@pytest.mark.parametrize("voice", ["en-us+f3", "en-us+m1"])
def test_pitch_is_highest_in_excitement_and_lowest_in_sadness(renderings, voice):
    f0 = {emotion: median_f0(renderings[(voice, emotion)]) for emotion in DEMO_CLASSES}
    assert f0["excitement"] > f0["anger"] > f0["neutral"] > f0["sadness"]
    assert f0["excitement"] > 1.25 * f0["neutral"]  # clearly audible, not a rounding difference


@pytest.mark.parametrize("voice", ["en-us+f3", "en-us+m1"])
def test_loudness_is_highest_in_anger_and_lowest_in_sadness(renderings, voice):
    rms = {emotion: speech_rms(renderings[(voice, emotion)]) for emotion in DEMO_CLASSES}
    assert rms["anger"] > rms["excitement"] > rms["neutral"] > rms["sadness"]
    assert rms["anger"] > 2 * rms["neutral"] > 2 * rms["sadness"]


@pytest.mark.parametrize("voice", ["en-us+f3", "en-us+m1"])
def test_sadness_is_slowest_and_the_aroused_classes_fastest(renderings, voice):
    seconds = {emotion: speech_extent_s(renderings[(voice, emotion)]) for emotion in DEMO_CLASSES}
    assert seconds["sadness"] > 1.3 * seconds["neutral"]
    assert seconds["neutral"] > seconds["anger"] and seconds["neutral"] > seconds["excitement"]


@pytest.mark.parametrize("voice", ["en-us+f3", "en-us+m1"])
def test_anger_is_brightest_and_sadness_darkest(renderings, voice):
    centroid = {emotion: spectral_centroid(renderings[(voice, emotion)]) for emotion in DEMO_CLASSES}
    assert centroid["anger"] > centroid["neutral"] > centroid["sadness"]


def test_a_weak_rendering_lies_between_neutral_and_the_full_emotion():
    f0 = {
        intensity: median_f0(
            synthesize_utterance(SENTENCE, "en-us+f1", "excitement", seed=2, intensity=intensity, jitter=False)
        )
        for intensity in (0.0, 0.5, 1.0)
    }
    assert f0[0.0] < f0[0.5] < f0[1.0]


# --- vote simulation -----------------------------------------------------------------------------


def test_plan_contested_marks_the_share_of_each_class_exactly():
    emotions = ["anger"] * 8 + ["sadness"] * 4
    flags = plan_contested(emotions, [0.5] * 12, 0.25, np.random.default_rng(0))
    assert sum(flags[:8]) == 2 and sum(flags[8:]) == 1  # 25% of 8, 25% of 4


@pytest.mark.parametrize("contested", [True, False])
def test_simulated_votes_match_the_plan_under_the_papers_rule(contested):
    for seed in range(40):
        rng = np.random.default_rng(seed)
        plan = VotePlan(emotion=DEMO_CLASSES[seed % 4], clarity=rng.uniform(), contested=contested)
        votes = simulate_votes(plan, rng)
        assert len(votes) in (3, 4) and set(votes) <= set(RATERS)
        has_label = consensus_from_votes(list(votes.values())).label is not None
        assert has_label is not contested


# --- a reduced build -----------------------------------------------------------------------------


def _digest(build) -> list[tuple]:
    return [
        (
            r.name,
            Path(r.audio_path).name,
            hashlib.sha256(Path(r.audio_path).read_bytes()).hexdigest(),
            tuple((v.rater, v.categories) for v in r.votes),
            r.transcript,
            tuple(tuple(sorted(span.items())) for span in r.emotion_spans),
        )
        for r in build.records
    ]


@pytest.fixture(scope="module")
def small_build(tmp_path_factory):
    return build_demo_corpus(tmp_path_factory.mktemp("demo") / "corpus", config=DemoCorpusConfig(seed=0, **SMALL))


def test_same_seed_gives_identical_audio_bytes_and_votes(small_build, tmp_path):
    again = build_demo_corpus(tmp_path / "again", config=DemoCorpusConfig(seed=0, **SMALL))
    assert _digest(again) == _digest(small_build)


def test_another_seed_gives_another_corpus(small_build, tmp_path):
    other = build_demo_corpus(tmp_path / "other", config=DemoCorpusConfig(seed=1, **SMALL))
    hashes = {d[2] for d in _digest(small_build)}
    assert not hashes & {d[2] for d in _digest(other)}


def test_ten_speakers_in_five_mixed_gender_sessions(small_build):
    speakers = {(r.speaker, r.session, r.speaker_gender) for r in small_build.records}
    assert len(speakers) == 10
    by_session = Counter(session for _, session, _ in speakers)
    assert len(by_session) == 5 and set(by_session.values()) == {2}
    for session in by_session:
        assert sorted(g for _, s, g in speakers if s == session) == ["F", "M"]


def test_every_speaker_renders_every_class_equally_often(small_build):
    per_speaker_class = Counter((r.speaker, r.source_label) for r in small_build.records)
    assert set(per_speaker_class) == {(s.code, c) for s in DEMO_SPEAKERS for c in DEMO_CLASSES}
    assert set(per_speaker_class.values()) == {2}  # 1 short + 1 long (neutral: 2 short)
    assert len(small_build.records) == 80


def test_files_are_16_khz_mono_16_bit_with_opaque_names(small_build):
    for record in small_build.records[:10]:
        info = soundfile.info(str(record.audio_path))
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        stem = Path(record.audio_path).stem
        assert len(stem) == 16 and all(ch in "0123456789abcdef" for ch in stem)
        assert not any(emotion[:3] in record.name.lower() for emotion in DEMO_CLASSES)


def test_a_quarter_of_utterances_reach_no_majority(small_build):
    labels = [consensus_from_votes([v.categories for v in r.votes]).label for r in small_build.records]
    assert labels.count(None) / len(labels) == pytest.approx(0.25, abs=0.02)
    assert all(r.label is None for r in small_build.records)  # the import applies the rule


def test_votes_look_like_human_disagreement(small_build):
    votes = [v for r in small_build.records for v in r.votes]
    assert {len(r.votes) for r in small_build.records} == {3, 4}
    assert {v.rater for v in votes} == set(RATERS)
    assert any(len(v.categories) > 1 for v in votes)  # the occasional multi-category vote
    outside = Counter(c for v in votes for c in v.categories if c not in DEMO_CLASSES)
    assert {"frustration", "happiness"} <= set(outside)
    # Sadness is mistaken for neutral above all; excitement for happiness or anger.
    wrong_for = {
        emotion: Counter(
            c
            for r in small_build.records
            if r.source_label == emotion
            for v in r.votes
            for c in v.categories
            if c != emotion
        )
        for emotion in ("sadness", "excitement")
    }
    assert wrong_for["sadness"].most_common(1)[0][0] == "neutral"
    assert wrong_for["excitement"].most_common(1)[0][0] in {"happiness", "anger"}


def test_long_utterances_carry_spans_that_tile_their_duration(small_build):
    long_ones = [r for r in small_build.records if r.emotion_spans]
    assert len(long_ones) == 30  # 10 speakers x 3 emotional classes
    orders = set()
    for record in long_ones:
        duration = soundfile.info(str(record.audio_path)).duration
        assert 6.0 <= duration <= 12.0
        spans = record.emotion_spans
        assert [s["emotion"] for s in spans] in (["neutral", record.source_label], [record.source_label, "neutral"])
        assert spans[0]["start"] == 0.0
        assert spans[0]["end"] == spans[1]["start"]
        assert spans[1]["end"] == pytest.approx(duration, abs=1e-3)
        assert all(s["end"] - s["start"] > 1.0 for s in spans)
        orders.add(spans[0]["emotion"] == "neutral")
    assert orders == {True, False}  # both orders occur


def test_spans_mark_where_the_emotion_really_is(small_build):
    """Sad stretches are quieter than the neutral stretch of the same file; angry ones louder."""
    checked = 0
    for record in small_build.records:
        if not record.emotion_spans or record.source_label not in ("anger", "sadness"):
            continue
        x, sr = soundfile.read(str(record.audio_path), dtype="float32")
        rms = {s["emotion"]: speech_rms(x[int(s["start"] * sr) : int(s["end"] * sr)]) for s in record.emotion_spans}
        if record.source_label == "sadness":
            assert rms["sadness"] < rms["neutral"]
        else:
            assert rms["anger"] > rms["neutral"]
        checked += 1
    assert checked == 20


def test_a_folder_with_foreign_files_is_refused_and_an_old_build_replaced(tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(DemoCorpusError, match="not a demo corpus"):
        prepare_folder(foreign, DemoCorpusConfig())
    assert (foreign / "notes.txt").read_text() == "mine"

    old = tmp_path / "old"
    stale = old / "Ses01" / "Ses01F" / "0123456789abcdef.wav"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    (old / MARKER_FILE).write_text("{}")
    prepare_folder(old, DemoCorpusConfig(seed=3))
    assert not stale.exists()
    assert '"seed": 3' in (old / MARKER_FILE).read_text()


# --- the command, through the real import service and database -----------------------------------


def _build_command(*extra: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command(
        "build_demo_corpus",
        "--short-per-speaker-class",
        "1",
        "--long-per-speaker-class",
        "1",
        *extra,
        stdout=out,
        stderr=StringIO(),
    )
    return out.getvalue()


@pytest.mark.django_db
def test_command_builds_and_imports_a_corpus_that_says_it_is_synthetic(media_root):
    output = _build_command("--name", "demo-test", "--seed", "0")
    corpus = Corpus.objects.get(name="demo-test")
    assert corpus.is_synthetic and corpus.format == "demo"
    assert "Synthetic demo corpus" in corpus.description and "Not real emotional speech" in corpus.description
    assert corpus.classes == list(DEMO_CLASSES)
    assert Path(corpus.source_path) == (media_root / "corpora" / "demo-test").resolve()
    assert corpus.speakers.count() == 10 and corpus.sessions.count() == 5
    utterances = Utterance.objects.filter(corpus=corpus)
    assert utterances.count() == 80
    assert utterances.filter(label="").count() == 20  # 25% planned without a majority
    assert set(utterances.values_list("n_raters", flat=True)) == {3, 4}
    assert utterances.exclude(emotion_spans=[]).count() == 30
    assert ExpertVote.objects.filter(utterance__corpus=corpus).count() == sum(
        utterances.values_list("n_raters", flat=True)
    )
    assert all(u.audio_file.is_file() for u in utterances[:5])
    assert "80 utterances from 10 speakers in 5 sessions" in output


@pytest.mark.django_db
def test_if_absent_leaves_an_existing_corpus_alone_and_without_it_the_command_refuses(media_root):
    _build_command("--name", "demo-test")
    corpus = Corpus.objects.get(name="demo-test")
    before = (corpus.updated_at, Utterance.objects.filter(corpus=corpus).count())

    output = _build_command("--name", "demo-test", "--if-absent", "--seed", "7")
    assert "exists already; nothing to do" in output
    corpus.refresh_from_db()
    assert (corpus.updated_at, Utterance.objects.filter(corpus=corpus).count()) == before

    with pytest.raises(CommandError, match="exists already"):
        _build_command("--name", "demo-test", "--seed", "7")


@pytest.mark.django_db
def test_command_refuses_a_name_that_could_leave_the_media_folder(media_root):
    with pytest.raises(CommandError, match="invalid corpus name"):
        _build_command("--name", "../outside")
    assert not (media_root.parent / "outside").exists()
    assert not Corpus.objects.exists()
