"""``python manage.py bench_features [--seconds N] [--json PATH] [--source espeak|synthetic]``
``python manage.py bench_features --layouts [--corpus NAME]``"""

import json
import tempfile
from pathlib import Path

import numpy as np
from django.core.management.base import BaseCommand, CommandError

from annotation.demo_corpus.render import synthesize_utterance
from annotation.selectors.corpora import UnknownCorpus, corpus_named
from models_app.selectors.features import feature_matrices, feature_set_ready
from models_app.ser.features.benchmark import (
    benchmark_extractor,
    benchmark_layouts,
    speech_like_signal,
    synthetic_matrices,
)

SAMPLE_RATE = 16000
# Sentences the espeak source cycles through; each is spoken by several voices and emotions.
_SENTENCES = (
    "The meeting was moved to Thursday afternoon without telling anyone.",
    "I cannot believe you left the keys inside the car again.",
    "Please put the blue folder back on the shelf by the window.",
    "We walked along the river until the sun went down behind the hills.",
    "Nobody answered the phone when I called the office this morning.",
    "She said the results would be ready before the end of the week.",
)
_VOICES = ("en-us+f1", "en-us+m1", "en-gb-x-rp+f2", "en-gb-x-rp+m3", "en-us+f3", "en-us+m2")
_EMOTIONS = ("neutral", "anger", "sadness", "excitement")


def _espeak_speech(seconds: float) -> np.ndarray:
    """Concatenated demo-corpus utterances (espeak-ng speech with emotional prosody) up to
    ``seconds``: up to 48 distinct renderings, then repeated with a random gain."""
    wanted = int(seconds * SAMPLE_RATE)
    pieces, total = [], 0
    while total < wanted and len(pieces) < 48:
        n = len(pieces)
        sentence, voice, emotion = _SENTENCES[n % 6], _VOICES[(n // 6) % 6], _EMOTIONS[n % 4]
        pieces.append(synthesize_utterance(sentence, voice, emotion, seed=n).astype(np.float64))
        total += pieces[-1].size
    rng = np.random.default_rng(0)
    out, total, n = [], 0, 0
    while total < wanted:
        piece = pieces[n % len(pieces)] * (rng.uniform(0.5, 1.0) if n >= len(pieces) else 1.0)
        out.append(piece)
        total += piece.size
        n += 1
    return np.concatenate(out)[:wanted]


class Command(BaseCommand):
    help = (
        "Time our feature extractor against pyAudioAnalysis on the same speech, one thread each; "
        "or, with --layouts, compare the on-disk layouts for a feature set's matrices."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seconds", type=float, default=600.0, help="audio length (default 600 = 10 minutes)")
        parser.add_argument(
            "--repeats",
            type=int,
            default=3,
            help="rounds of timing (each: pyAudioAnalysis once, ours and the FFTs 5 times); medians are reported",
        )
        parser.add_argument(
            "--source",
            choices=("espeak", "synthetic"),
            default="espeak",
            help="espeak: synthesized speech (demo corpus voices); synthetic: a noise-modulated harmonic signal",
        )
        parser.add_argument("--json", dest="json_path", type=Path, help="also write the figures to this JSON file")
        parser.add_argument("--layouts", action="store_true", help="compare storage layouts instead")
        parser.add_argument("--corpus", help="with --layouts: use this corpus's ready paper-preset features")

    def handle(
        self, *args, seconds: float, repeats: int, source: str, json_path: Path | None, layouts: bool, corpus, **options
    ):
        if seconds <= 0.5 or repeats < 1:
            raise CommandError("--seconds must exceed 0.5 and --repeats must be at least 1")
        figures = self._layouts(corpus) if layouts else self._extractor(seconds, repeats, source)
        if json_path is not None:
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
            self.stdout.write(f"Figures written to {json_path}")

    def _extractor(self, seconds: float, repeats: int, source: str) -> dict:
        self.stdout.write(f"Preparing {seconds:.0f} s of {source} speech at {SAMPLE_RATE} Hz ...")
        signal = _espeak_speech(seconds) if source == "espeak" else speech_like_signal(seconds, SAMPLE_RATE)
        self.stdout.write(f"Timing pyAudioAnalysis and ours alternately, {repeats} round(s), one thread ...")
        result = benchmark_extractor(signal, SAMPLE_RATE, repeats=repeats)
        self.stdout.write(
            f"  audio:            {result.audio_seconds:.1f} s, {result.n_frames} frames of 200 ms every 100 ms\n"
            f"  pyAudioAnalysis:  {result.reference_s:.3f} s\n"
            f"  ours:             {result.ours_s:.4f} s\n"
            f"  speed-up:         {result.speedup:.1f}x (target >= 30x)\n"
            f"  real-time factor: {result.realtime_factor:.0f}x faster than real time (target >= 1000x)\n"
            f"  FFTs alone:       {result.fft_s:.4f} s; "
            f"the whole extractor takes {result.fft_share:.2f}x the FFT time\n"
            f"  max |deviation|:  {result.max_abs_dev:.3g} absolute, {result.max_rel_dev:.3g} relative "
            f"(worst: {result.worst_feature})"
        )
        return {"source": source, **result.to_dict()}

    def _layouts(self, corpus_name: str | None) -> dict:
        if corpus_name:
            matrices, label = self._corpus_matrices(corpus_name), f"corpus {corpus_name}"
        else:
            matrices, label = synthetic_matrices(), "synthetic IEMOCAP-size set"
        n_frames = sum(m.shape[0] for m in matrices.values())
        self.stdout.write(f"{label}: {len(matrices)} utterances, {n_frames} frames")
        with tempfile.TemporaryDirectory(prefix="emolab-layouts-") as folder:
            timings = benchmark_layouts(matrices, Path(folder))
        self.stdout.write(
            f"  {'layout':20s} {'files':>6s} {'MB':>7s} {'write s':>8s} {'read cold s':>11s} {'read warm s':>11s}"
        )
        for t in timings:
            self.stdout.write(
                f"  {t.layout:20s} {t.n_files:6d} {t.bytes_on_disk / 1e6:7.1f} {t.write_s:8.3f} "
                f"{t.read_all_cold_s:11.3f} {t.read_all_warm_s:11.3f}"
            )
        return {
            "set": label,
            "n_utterances": len(matrices),
            "n_frames": n_frames,
            "layouts": [t.__dict__ for t in timings],
        }

    def _corpus_matrices(self, corpus_name: str) -> dict:
        try:
            corpus = corpus_named(name=corpus_name)
        except UnknownCorpus as exc:
            raise CommandError(str(exc)) from None
        feature_set = feature_set_ready(corpus=corpus, preset="paper")
        if feature_set is None:
            raise CommandError(f"corpus {corpus_name!r} has no ready paper-preset features: run extract_features first")
        return feature_matrices(feature_set=feature_set)
