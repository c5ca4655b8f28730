"""``python manage.py predict FILE... [--job ID | --model MODEL.zip] [--json]``: the emotion timeline of recordings.

``--model`` takes a model file downloaded from a site (GET /api/jobs/{id}/models/ctc/, or the job
page's button): it runs without any job or corpus in this database.

Prints each file's segments (start, end, emotion, confidence), or with ``--json`` one JSON object
per file as the API returns it (``POST /api/predict/``) with the file's path added. Exits non-zero
with the reason when a file cannot be processed (the other files are still done) or when there is
no CTC model to use.
"""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from models_app.selectors.timeline import NoCTCModel, UnknownJob
from models_app.services.timeline import ModelUnusable, RecordingError, recording_timeline, timeline_payload

MIN_WINDOWS_FOR_A_BAR = 120  # about a minute of speech: shorter files take well under a second


class _WindowBar:
    """The timeline's progress events as a tqdm bar over the recording's windows (stderr)."""

    def __init__(self, name: str, stream):
        self.name, self.stream, self.bar = name, stream, None

    def __call__(self, event) -> None:
        if event.stage != "timeline" or event.total < MIN_WINDOWS_FOR_A_BAR:
            return
        if self.bar is None:
            self.bar = tqdm(
                total=event.total, desc=self.name, unit="window", file=self.stream, leave=False, mininterval=0.5
            )
        self.bar.update(event.done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class Command(BaseCommand):
    help = "Print the emotion segments a training job's final CTC model finds in each recording (wav, flac, ogg)."

    def add_arguments(self, parser):
        parser.add_argument(
            "files", nargs="+", metavar="FILE", help="recordings: wav, flac or ogg, any rate, mono or stereo"
        )
        parser.add_argument(
            "--job", type=int, help="training job whose CTC model to use (default: the latest that has one)"
        )
        parser.add_argument(
            "--model",
            type=Path,
            metavar="MODEL.zip",
            help="a downloaded model file (zip with model.json) to use instead of a job's model",
        )
        parser.add_argument(
            "--json",
            dest="as_json",
            action="store_true",
            help="one JSON object per line, per-frame probabilities included",
        )

    def handle(self, *args, files, job, model, as_json: bool, **options):
        if job is not None and model is not None:
            raise CommandError("give --job or --model, not both")
        failures = []
        for path in files:
            bar = _WindowBar(path, sys.stderr)
            try:
                result = recording_timeline(path=path, job_id=job, progress=bar, model_file=model)
            except (NoCTCModel, UnknownJob, ModelUnusable) as exc:
                raise CommandError(str(exc)) from None  # no model: no file can be done
            except RecordingError as exc:
                failures.append(path)
                self.stderr.write(f"{path}: {exc}")
                continue
            finally:
                bar.close()
            if as_json:
                self.stdout.write(_json_line({"path": path, **timeline_payload(result)}))
            else:
                self._print_segments(path, result)
        if failures:
            raise CommandError(f"{len(failures)} of {len(files)} file(s) could not be processed: {', '.join(failures)}")

    def _print_segments(self, path, result) -> None:
        timeline = result.timeline
        self.stdout.write(
            f"{path}: {timeline.duration_s:.2f} s, job {result.job_id}, {len(timeline.segments)} segment(s)"
            + ("" if result.artifact_id is not None else " (model file)")
        )
        for segment in timeline.segments:
            self.stdout.write(
                f"  {segment.start_s:8.2f} {segment.end_s:8.2f}  {segment.emotion:<12} "
                f"confidence {segment.confidence:.2f}"
            )


def _json_line(payload: dict) -> str:
    return json.dumps(payload, separators=(",", ":"))
