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
        [--protocol heldout|final] [--folds 5] [--windows 500:100,100:30,1000000:0]

Prints, per window setting, the frame-level agreement (over the frames the network scored),
agreement within the neutral and the emotional stretches, the share of stretches found (most of
their frames right), and the largest difference between the windowed and the whole-sequence
probabilities.
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


def parse_windows(text: str) -> list[tuple[int, int]]:
    settings = []
    for item in text.split(","):
        window, margin = item.split(":")
        settings.append((int(window), int(margin)))
    return settings


def _relabelled(timeline, labels):
    """A copy of ``timeline`` whose segments are the runs of ``labels`` (frame emotion indices)."""
    from dataclasses import replace

    from models_app.ser.timeline import Segment

    segments = []
    for frame, label in enumerate(labels):
        if label >= 0:
            segments.append(Segment(0.0, 0.0, timeline.classes[label], 1.0, int(label), frame, frame + 1))
    return replace(timeline, segments=tuple(segments))


def _pooled(agreements) -> float:
    frames = np.array([a.n_frames for a in agreements])
    overall = np.array([a.agreement for a in agreements])
    return float(np.nansum(overall * frames) / frames.sum())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="demo")
    parser.add_argument("--preset", default="fast", help="experiment preset of the CTC models (default: fast)")
    parser.add_argument("--protocol", choices=("heldout", "final"), default="heldout")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--windows", default="", help="window:margin settings to compare (default: the config's)")
    parser.add_argument("--smoothing", default="", help="smoothing_s values to compare (default: the config's)")
    parser.add_argument("--save-model", type=Path, help="with --protocol final: save the model (a checkpoint) here")
    args = parser.parse_args()

    import django

    django.setup()
    import torch
    from threadpoolctl import threadpool_limits
    from tqdm import tqdm

    from annotation.models import Corpus, Utterance
    from annotation.selectors.corpora import experiment_utterances
    from models_app.ser.audio import read_audio
    from models_app.ser.config import preset
    from models_app.ser.cv import grouped_folds
    from models_app.ser.experiment import build_estimator
    from models_app.ser.features import extract, feature_config_for_preset
    from models_app.ser.timeline import (
        TimelineConfig,
        recording_features,
        span_agreement,
        timeline_from_features,
        windowed_frame_proba,
    )

    torch.set_num_threads(1)
    corpus = Corpus.objects.filter(name=args.corpus).first()
    if corpus is None:
        print(f"no corpus {args.corpus!r} in {os.environ.get('EMOLAB_VAR_DIR', 'var/')}: run build_demo_corpus first", file=sys.stderr)
        return 2
    config = preset(args.preset)
    feature_config = feature_config_for_preset(config.feature_preset)
    classes = list(corpus.classes)
    default = TimelineConfig()
    windows = parse_windows(args.windows) if args.windows else [(default.window_frames, default.margin_frames)]
    smoothings = [float(v) for v in args.smoothing.split(",")] if args.smoothing else [default.smoothing_s]
    settings = [(w, m, s) for w, m in windows for s in smoothings]

    labelled = list(experiment_utterances(corpus).order_by("id"))
    long_ones = [u for u in Utterance.objects.filter(corpus=corpus).select_related("session").order_by("id") if u.emotion_spans]
    print(f"{corpus.name}: {len(labelled)} labelled utterances for training, {len(long_ones)} long utterances with spans")

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
    one_label = []  # baseline: the whole recording given the model's one utterance label
    seam_differences = {setting: 0.0 for setting in windows}
    for number, (train_indices, evaluated) in enumerate(plans, start=1):
        started = time.perf_counter()
        estimator = build_estimator("ctc", config)
        X = [features[usable[i].pk] for i in train_indices]
        y = np.array([usable[i].label for i in train_indices])
        with threadpool_limits(1):
            estimator.fit(X, y, groups=groups[train_indices])
        print(f"model {number}/{len(plans)}: {len(X)} utterances, {time.perf_counter() - started:.0f} s, "
              f"final loss {estimator.history_[-1]['loss']:.3f}; {len(evaluated)} long utterances")
        for utterance in evaluated:
            recording = recordings[utterance.pk]
            whole = None
            if len(recording.matrix):
                whole = windowed_frame_proba(estimator, recording.matrix, window_frames=10**9, margin_frames=0)
            for window, margin, smoothing in settings:
                timeline_config = TimelineConfig(window_frames=window, margin_frames=margin, smoothing_s=smoothing)
                timeline = timeline_from_features(estimator, recording, config=timeline_config)
                results[(window, margin, smoothing)].append(span_agreement(timeline, utterance.emotion_spans))
            if whole is not None:
                # The same frames labelled with the CTC's exact single-label decision for the
                # whole recording: what one label per recording gets right.
                label = estimator.proba_from_frame_proba([whole]).argmax(axis=1)[0]
                timeline = timeline_from_features(estimator, recording)
                labels = np.where(timeline.scored, label, -1)
                one_label.append(span_agreement(_relabelled(timeline, labels), utterance.emotion_spans))
            for window, margin in windows:
                if whole is not None:
                    windowed = windowed_frame_proba(estimator, recording.matrix, window_frames=window, margin_frames=margin)
                    seam_differences[(window, margin)] = max(seam_differences[(window, margin)], float(np.abs(windowed - whole).max()))

    print(f"\nprotocol {args.protocol}, preset {args.preset}, {len(long_ones)} long utterances")
    if args.save_model and args.protocol == "final":
        from models_app.ser.persistence import save_estimator

        save_estimator(estimator, args.save_model, config=config)
        print(f"model saved to {args.save_model}")
    print(f"baseline, one label (CTC exact single label) per recording: frame agreement {_pooled(one_label):.3f}")
    for (window, margin, smoothing), agreements in results.items():
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
        print(
            f"window {window} frames, margin {margin}, smoothing {smoothing} s: frame agreement {pooled:.3f} "
            f"(per utterance mean {np.nanmean(overall):.3f}, sd {np.nanstd(overall):.3f}); "
            f"neutral stretches {neutral[0] / max(neutral[1], 1):.3f}, "
            f"emotional stretches {emotional_hits / max(emotional_total, 1):.3f} "
            + "(" + ", ".join(f"{e} {h / n:.3f}" for e, (h, n) in sorted(per_emotion.items()) if n) + "); "
            f"stretches found {np.nanmean(parts):.3f}, both found in {both:.3f} of utterances; "
            f"max |windowed - whole| probability {seam_differences[(window, margin)]:.2e}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
