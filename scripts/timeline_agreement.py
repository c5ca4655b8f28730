"""Frame-level agreement of the emotion timeline with the demo corpus's known spans.

The demo corpus's long utterances (6-12 s) hold a neutral stretch and an emotional stretch whose
true spans are stored in ``Utterance.emotion_spans``. This script trains CTC models on the corpus
and asks how much of each long utterance the timeline gives the right emotion.

Two protocols:

- ``heldout`` (default): 5-fold cross-validation grouped by session. Each fold's CTC model is
  trained on the labelled utterances of the other sessions (short and long, as a training job
  does) and draws the timelines of the held-out sessions' long utterances: speakers it never heard.
- ``final``: one model on every labelled utterance (what a training job's final model is) and the
  timelines of all long utterances: what a researcher sees in the demo after a job.

Run it on a throwaway var dir that holds a demo corpus::

    export EMOLAB_VAR_DIR=/tmp/emolab-h7 DEBUG=1
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py build_demo_corpus
    nice -n 10 .venv/bin/python scripts/timeline_agreement.py [--corpus demo] [--preset fast]
        [--protocol heldout|final] [--folds 5] [--windows 20:5,30:5] [--save-model PATH]

Prints, per window setting (window:hop in frames), the frame-level agreement (over the frames the
network saw), the agreement within the neutral and within the emotional stretches, the share of
stretches found (most of their frames right) and of utterances where both were found; and the
same for two baselines: one label per recording (the CTC's exact single-label decision), and
each frame's most probable emotion from one network pass over the whole recording; and for a
reference that knows the true boundaries: each stretch classified alone.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emolab.settings")
os.environ.setdefault("DEBUG", "1")

from models_app.ser.config import DEFAULT_PRESET


def parse_windows(text: str) -> list[tuple[int, int]]:
    settings = []
    for item in text.split(","):
        window, hop = item.split(":")
        settings.append((int(window), int(hop)))
    return settings


def _with_segments(timeline, probabilities):
    """A copy of ``timeline`` with other per-frame probabilities and the segments they give."""
    from dataclasses import replace

    from models_app.ser.timeline import form_segments

    segments = form_segments(
        probabilities,
        timeline.scored,
        classes=timeline.classes,
        frame_step_s=timeline.frame_step_s,
        window_s=timeline.window_s,
        duration_s=timeline.duration_s,
        max_pause_s=1.0,
    )
    return replace(timeline, probabilities=probabilities, segments=tuple(segments))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="demo")
    parser.add_argument(
        "--preset", default=DEFAULT_PRESET, help=f"experiment preset of the CTC models (default: {DEFAULT_PRESET})"
    )
    parser.add_argument("--protocol", choices=("heldout", "final"), default="heldout")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--windows", default="", help="window:hop settings in frames to compare, e.g. 20:5,30:5 (default: the config's)"
    )
    parser.add_argument("--save-model", type=Path, help="with --protocol final: save the model (a checkpoint) here")
    args = parser.parse_args()

    import django

    django.setup()
    import torch
    from threadpoolctl import threadpool_limits
    from tqdm import tqdm

    from annotation.models import Utterance
    from annotation.selectors.corpora import UnknownCorpus, corpus_named, experiment_utterances
    from models_app.ser.audio import read_audio
    from models_app.ser.config import preset
    from models_app.ser.cv import grouped_folds
    from models_app.ser.features import extract, feature_config_for_preset
    from models_app.ser.registry import build_estimator
    from models_app.ser.timeline import (
        TimelineConfig,
        recording_features,
        span_agreement,
        timeline_from_features,
    )

    torch.set_num_threads(1)
    try:
        corpus = corpus_named(name=args.corpus)
    except UnknownCorpus as exc:
        print(f"{exc} (in {os.environ.get('EMOLAB_VAR_DIR', 'var/')})", file=sys.stderr)
        return 2
    config = preset(args.preset)
    feature_config = feature_config_for_preset(config.feature_preset)
    default = TimelineConfig()
    settings = parse_windows(args.windows) if args.windows else [(default.window_frames, default.hop_frames)]

    labelled = list(experiment_utterances(corpus=corpus).order_by("id"))
    long_ones = [
        u for u in Utterance.objects.filter(corpus=corpus).select_related("session").order_by("id") if u.emotion_spans
    ]
    print(
        f"{corpus.name}: {len(labelled)} labelled utterances for training, {len(long_ones)} long utterances with spans"
    )

    started = time.perf_counter()
    with threadpool_limits(1):
        features = {}
        for utterance in tqdm(labelled, desc="training features", unit="utt", file=sys.stderr):
            samples, rate = read_audio(utterance.audio_file)
            features[utterance.pk] = extract(samples, rate, feature_config).matrix
        recordings = {}
        for utterance in tqdm(long_ones, desc="long recordings", unit="utt", file=sys.stderr):
            samples, rate = read_audio(utterance.audio_file)
            recordings[utterance.pk] = recording_features(samples, rate, feature_config)
    print(f"features: {time.perf_counter() - started:.1f} s")

    usable = [u for u in labelled if len(features[u.pk])]
    groups = np.array([u.session.code for u in usable])
    speakers = np.array([u.speaker_id for u in usable])
    if args.protocol == "heldout":
        folds = grouped_folds(groups, speakers, args.folds, args.seed)
        plans = []
        for fold in folds:
            test_sessions = set(groups[fold.test_indices])
            plans.append((fold.train_indices, [u for u in long_ones if u.session.code in test_sessions]))
    else:
        plans = [(np.arange(len(usable)), long_ones)]

    results = {setting: [] for setting in settings}
    one_label = []  # baseline: every frame given the model's one label for the whole recording
    one_pass = []  # baseline: each frame's emotion read from one network pass over the recording
    oracle = []  # reference: each true stretch given to the network alone (boundaries known)
    for number, (train_indices, evaluated) in enumerate(plans, start=1):
        started = time.perf_counter()
        estimator = build_estimator("ctc", config)
        X = [features[usable[i].pk] for i in train_indices]
        y = np.array([usable[i].label for i in train_indices])
        with threadpool_limits(1):
            estimator.fit(X, y, groups=groups[train_indices])
        print(
            f"model {number}/{len(plans)}: {len(X)} utterances, {time.perf_counter() - started:.0f} s, "
            f"final loss {estimator.history_[-1]['loss']:.3f}; {len(evaluated)} long utterances"
        )
        for utterance in evaluated:
            recording = recordings[utterance.pk]
            for window, hop in settings:
                timeline_config = TimelineConfig(window_frames=window, hop_frames=hop)
                timeline = timeline_from_features(estimator, recording, config=timeline_config)
                results[(window, hop)].append(span_agreement(timeline, utterance.emotion_spans))
            if not len(recording.matrix):
                continue
            whole = estimator.predict_frame_proba([recording.matrix])[0]  # (n_kept, K+1), blank last
            # Baseline 1: the CTC's exact single-label decision for the whole recording, on every frame.
            label = int(estimator.proba_from_frame_proba([whole]).argmax(axis=1)[0])
            probabilities = np.zeros_like(timeline.probabilities)
            probabilities[:, label] = 1.0
            one_label.append(span_agreement(_with_segments(timeline, probabilities), utterance.emotion_spans))
            # Baseline 2: one pass over the recording, each frame's most probable emotion (blank left out).
            probabilities = np.zeros_like(timeline.probabilities)
            probabilities[recording.kept_index] = whole
            one_pass.append(span_agreement(_with_segments(timeline, probabilities), utterance.emotion_spans))
            # Reference: the true boundaries given, each stretch's frames classified alone.
            probabilities = np.zeros_like(timeline.probabilities)
            centres = timeline.frame_centres_s()[recording.kept_index]
            for span in utterance.emotion_spans:
                inside = (centres >= span["start"]) & (centres < span["end"])
                if inside.any():
                    stretch = estimator.predict_frame_proba([recording.matrix[inside]])
                    probabilities[
                        recording.kept_index[inside], int(estimator.proba_from_frame_proba(stretch).argmax())
                    ] = 1.0
            oracle.append(span_agreement(_with_segments(timeline, probabilities), utterance.emotion_spans))

    print(f"\nprotocol {args.protocol}, preset {args.preset}, {len(long_ones)} long utterances")
    if args.save_model and args.protocol == "final":
        from models_app.ser.persistence import save_estimator

        save_estimator(estimator, args.save_model, config=config)
        print(f"model saved to {args.save_model}")
    print(f"baseline, one label per recording (the CTC's exact single-label decision): {_summary(one_label)}")
    print(f"baseline, one network pass, each frame's most probable emotion: {_summary(one_pass)}")
    print(f"reference, each true stretch classified alone (boundaries known): {_summary(oracle)}")
    for (window, hop), agreements in results.items():
        print(f"timeline, windows of {window} frames every {hop}: {_summary(agreements)}")
    return 0


def _summary(agreements) -> str:
    """Frame agreement pooled over utterances, within neutral and emotional stretches, stretches found."""
    frames = np.array([a.n_frames for a in agreements])
    overall = np.array([a.agreement for a in agreements])
    pooled = float(np.nansum(overall * frames) / frames.sum())
    per_emotion = {}
    for a in agreements:
        for emotion, (share, n) in a.per_emotion.items():
            hits, total = per_emotion.get(emotion, (0.0, 0))
            per_emotion[emotion] = (hits + share * n, total + n)
    neutral = per_emotion.pop("neutral", (0.0, 0))
    emotional_hits = sum(h for h, _ in per_emotion.values())
    emotional_total = sum(n for _, n in per_emotion.values())
    parts = np.array([a.parts_found for a in agreements])
    both = np.mean([a.parts_found == 1.0 for a in agreements])
    return (
        f"frame agreement {pooled:.3f} (per utterance mean {np.nanmean(overall):.3f}, sd {np.nanstd(overall):.3f}); "
        f"neutral stretches {neutral[0] / max(neutral[1], 1):.3f}, "
        f"emotional stretches {emotional_hits / max(emotional_total, 1):.3f} "
        + "("
        + ", ".join(f"{e} {h / n:.3f}" for e, (h, n) in sorted(per_emotion.items()) if n)
        + "); "
        f"stretches found {np.nanmean(parts):.3f}, both in {both:.3f} of the utterances"
    )


if __name__ == "__main__":
    sys.exit(main())
