"""``python manage.py import_corpus FORMAT PATH [--name NAME] [--classes anger,neutral ...]``"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotation.importers.formats import FORMATS
from annotation.services.corpora import CorpusImportError, ImportReport, corpus_import_from_source
from emolab.command_progress import CommandProgressBar

# How many entries of a long list (skipped files, mismatches) the summary prints; the full
# lists are kept in the corpus's import report.
SHOWN = 10


def _class_names(values: list[str] | None) -> list[str] | None:
    """``--classes anger,neutral`` and ``--classes anger neutral`` alike."""
    if values is None:
        return None
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    if not names:
        raise CommandError("--classes needs at least one emotion name")
    return names


class Command(BaseCommand):
    help = (
        "Import a corpus: IEMOCAP_full_release, Berlin EmoDB, RAVDESS, or a CSV manifest. "
        "Idempotent: a second import of the same data changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "format",
            choices=sorted(FORMATS),
            help="; ".join(f"{name}: {FORMATS[name].description}" for name in sorted(FORMATS)),
        )
        parser.add_argument("path", type=Path, help="the release folder (the CSV file for manifest)")
        parser.add_argument("--name", help="corpus name (default: the format's name; the CSV's stem for a manifest)")
        parser.add_argument(
            "--classes",
            nargs="+",
            metavar="EMOTION",
            help="the class set used by experiments, comma- or space-separated "
            "(default: the corpus's current set, else the format's default)",
        )

    def handle(self, *args, format: str, path: Path, name: str | None, classes: list[str] | None, **options):
        progress = CommandProgressBar(self.stderr, "reading audio", "file")
        try:
            report = corpus_import_from_source(
                format=format, path=path, name=name, classes=_class_names(classes), progress=progress
            )
        except CorpusImportError as exc:
            raise CommandError(str(exc)) from None
        finally:
            progress.close()
        self._print_summary(report, source=path)

    def _print_summary(self, report: ImportReport, *, source: Path) -> None:
        write = self.stdout.write
        write(f"Corpus {report.corpus!r} from {source}")
        write(f"  {report.n_utterances} utterances from {report.n_speakers} speakers in {report.n_sessions} sessions")
        write(f"  this import: {report.created} created, {report.updated} updated, {report.unchanged} unchanged")
        write(f"  class set: {', '.join(report.classes) or '(none)'}")
        write("  utterances per label:")
        for label, count in report.label_counts.items():
            marker = "*" if label in report.classes else " "
            write(f"   {marker} {label or '(no label)':<14} {count:>6}")
        write("    (* = in the class set; the others stay in the database and are left out of experiments)")
        self._print_list("corpus changes", report.corpus_changes)
        self._print_list("changed audio files", report.changed_audio)
        self._print_list("skipped", [item.describe() for item in report.skipped])
        self._print_list(
            "label differs from the half-of-raters rule (the corpus's label is kept)", report.rule_mismatches
        )
        self._print_list("warnings", report.warnings)
        if report.changed_anything:
            self.stdout.write(self.style.SUCCESS("Import finished."))
        else:
            self.stdout.write(self.style.SUCCESS("Nothing changed: the database already held this data."))

    def _print_list(self, title: str, items: list[str]) -> None:
        self.stdout.write(f"  {title}: {len(items)}")
        for item in items[:SHOWN]:
            self.stdout.write(f"    - {item}")
        if len(items) > SHOWN:
            self.stdout.write(f"    ... and {len(items) - SHOWN} more (all are kept in the corpus's import report)")
