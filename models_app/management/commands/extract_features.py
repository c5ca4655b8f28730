"""``python manage.py extract_features --corpus NAME [--preset paper] [--features egemaps] [--workers]``"""

import time

from django.core.management.base import BaseCommand, CommandError

from annotation.selectors.corpora import UnknownCorpus, corpus_named
from emolab.command_progress import CommandProgressBar
from models_app.models import FeatureSet
from models_app.ser.features import FEATURE_PRESETS
from models_app.ser.features.config import DEFAULT_FEATURE_SET, FEATURE_SET_DESCRIPTIONS, FEATURE_SET_NAMES
from models_app.ser.progress import ProgressEvent
from models_app.services.features import FeatureExtractionError, feature_set_ensure, feature_set_extract_async

SHOWN = 10  # utterances without frames listed in the summary; all are kept on the set


class _FeatureProgress:
    """Turns the service's ProgressEvents into a bar; notes when the cache was reused."""

    def __init__(self, command_stderr):
        self._bar = CommandProgressBar(command_stderr, "extracting features", "utt")
        self.cached = False

    def __call__(self, event: ProgressEvent) -> None:
        if event.detail.get("cached"):
            self.cached = True
            return
        self._bar(event.done, event.total)

    def close(self) -> None:
        self._bar.close()


class Command(BaseCommand):
    help = (
        "Extract a corpus's frame features, the paper's 34 by default (cached: a second run with the "
        "same configuration reuses the stored set at once)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--corpus", required=True, help="corpus name (see the home page or the admin)")
        parser.add_argument(
            "--preset",
            default="paper",
            choices=sorted(FEATURE_PRESETS),
            help="paper: the authors' frame selection (default); full: every frame kept (timeline)",
        )
        parser.add_argument(
            "--features",
            default=DEFAULT_FEATURE_SET,
            choices=FEATURE_SET_NAMES,
            help="; ".join(f"{name}: {text}" for name, text in FEATURE_SET_DESCRIPTIONS.items()),
        )
        parser.add_argument(
            "--workers",
            action="store_true",
            help="hand the chunks to Celery workers instead of extracting in this process",
        )

    def handle(self, *args, corpus: str, preset: str, workers: bool, features: str = DEFAULT_FEATURE_SET, **options):
        try:
            corpus_row = corpus_named(name=corpus)
        except UnknownCorpus as exc:
            raise CommandError(str(exc)) from None
        if workers:
            feature_set = feature_set_extract_async(corpus=corpus_row, preset=preset, features=features)
            if feature_set.status == FeatureSet.Status.READY:
                self._summary(feature_set, cached=True, seconds=0.0)
            else:
                self.stdout.write(
                    f"Feature set {feature_set.pk}: {len(feature_set.chunks)} chunks handed to the Celery workers; "
                    "progress is on the set (admin, or run this command again without --workers to finish in-process)."
                )
            return
        progress = _FeatureProgress(self.stderr)
        start = time.perf_counter()
        try:
            feature_set = feature_set_ensure(corpus=corpus_row, preset=preset, features=features, progress=progress)
        except FeatureExtractionError as exc:
            raise CommandError(f"feature extraction failed: {exc}") from None
        finally:
            progress.close()
        self._summary(feature_set, cached=progress.cached, seconds=time.perf_counter() - start)

    def _summary(self, feature_set: FeatureSet, *, cached: bool, seconds: float) -> None:
        head = (
            f"Feature set {feature_set.pk} of {feature_set.corpus.name} "
            f"(preset {feature_set.preset}, config {feature_set.config_hash[:12]})"
        )
        if cached:
            self.stdout.write(self.style.SUCCESS(f"{head}: cache reused, nothing extracted."))
        else:
            self.stdout.write(self.style.SUCCESS(f"{head}: extracted in {seconds:.1f} s."))
        dropped = feature_set.n_frames_total - feature_set.n_frames
        self.stdout.write(
            f"  {feature_set.n_utterances} utterances with frames, {feature_set.n_frames} frames stored "
            f"({feature_set.n_frames_total} before frame selection, {dropped} dropped)."
        )
        self.stdout.write(f"  Stored in MEDIA_ROOT/{feature_set.store_path}")
        empty = feature_set.empty_utterances
        if empty:
            self.stdout.write(
                self.style.WARNING(f"  {len(empty)} utterance(s) have no frames and are left out of experiments:")
            )
            for item in empty[:SHOWN]:
                self.stdout.write(f"    {item['name'] or item['id']}: {item['reason']}")
            if len(empty) > SHOWN:
                self.stdout.write(f"    ... and {len(empty) - SHOWN} more (all listed on the feature set in the admin)")
