"""``python manage.py build_demo_corpus [--seed 0] [--name demo] [--if-absent]``

Synthesizes the demo corpus into MEDIA_ROOT/corpora/<name>/ and imports it through the import
service. The synthesis lives in ``annotation.demo_corpus`` (no Django there).
"""

import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from annotation.demo_corpus import DESCRIPTION, DemoCorpusConfig, DemoCorpusError, build_demo_corpus
from annotation.models import Corpus, corpus_name_validator
from annotation.services.corpora import CorpusImportError, corpus_import
from emolab.command_progress import CommandProgressBar


class Command(BaseCommand):
    help = (
        "Synthesize the demo corpus (espeak-ng voices with emotion-like prosody, simulated expert votes; "
        "not real emotional speech) and import it. Deterministic for a seed."
    )

    def add_arguments(self, parser):
        defaults = DemoCorpusConfig()
        parser.add_argument("--seed", type=int, default=defaults.seed, help="random seed (default: %(default)s)")
        parser.add_argument("--name", default="demo", help="corpus name (default: %(default)s)")
        parser.add_argument(
            "--if-absent", action="store_true", help="do nothing (and say so) when a corpus of that name exists"
        )
        parser.add_argument(
            "--short-per-speaker-class",
            type=int,
            default=defaults.short_per_speaker_class,
            help="short utterances per speaker and class (default: %(default)s)",
        )
        parser.add_argument(
            "--long-per-speaker-class",
            type=int,
            default=defaults.long_per_speaker_class,
            help="long neutral+emotional utterances per speaker and emotional class (default: %(default)s)",
        )

    def handle(
        self,
        *args,
        seed: int,
        name: str,
        if_absent: bool,
        short_per_speaker_class: int,
        long_per_speaker_class: int,
        **options,
    ):
        try:
            corpus_name_validator(name)
        except ValidationError as exc:
            raise CommandError(f"invalid corpus name {name!r}: {' '.join(exc.messages)}") from None
        if Corpus.objects.filter(name=name).exists():
            if if_absent:
                self.stdout.write(f"Corpus {name!r} exists already; nothing to do.")
                return
            raise CommandError(
                f"corpus {name!r} exists already. Use --if-absent to keep it, or --name to build another "
                "(rebuilding in place could change labels that judgments refer to)."
            )
        try:
            config = DemoCorpusConfig(
                seed=seed,
                short_per_speaker_class=short_per_speaker_class,
                long_per_speaker_class=long_per_speaker_class,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None

        folder = settings.MEDIA_ROOT / "corpora" / name
        started = time.monotonic()
        bar = CommandProgressBar(self.stderr, "synthesizing", "utt")
        try:
            build = build_demo_corpus(folder, config=config, progress=bar)
        except DemoCorpusError as exc:
            raise CommandError(str(exc)) from None
        finally:
            bar.close()
        synthesized = time.monotonic() - started

        bar = CommandProgressBar(self.stderr, "importing", "file")
        try:
            report = corpus_import(
                name=name,
                format=Corpus.Format.DEMO,
                source_path=folder,
                classes=list(build.classes),
                records=build.records,
                is_synthetic=True,
                description=f"{DESCRIPTION} Built with seed {seed}.",
                progress=bar,
            )
        except CorpusImportError as exc:
            raise CommandError(str(exc)) from None
        finally:
            bar.close()

        summary = build.summary
        write = self.stdout.write
        write(f"Demo corpus {name!r} in {folder} (synthetic: espeak-ng voices, simulated votes)")
        write(
            f"  {report.n_utterances} utterances from {report.n_speakers} speakers in {report.n_sessions} sessions, "
            f"{summary['total_hours'] * 60:.1f} minutes of audio, {summary['n_long']} long ones with emotion spans"
        )
        write("  rendered classes: " + ", ".join(f"{c} {n}" for c, n in summary["rendered_classes"].items()))
        write("  labels by the half-of-raters rule:")
        for label, count in report.label_counts.items():
            marker = "*" if label in build.classes else " "
            write(f"   {marker} {label or '(no majority)':<14} {count:>5}")
        write(f"  no majority: {summary['no_majority_share']:.1%}")
        for item in report.skipped:
            write(f"  skipped: {item.describe()}")
        self.stdout.write(
            self.style.SUCCESS(f"Built in {time.monotonic() - started:.1f} s (synthesis {synthesized:.1f} s).")
        )
