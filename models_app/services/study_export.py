"""One archive per study, the artefact a researcher attaches to a paper: every raw-data export,
the trained models, the comparison report's JSON, tables and figures, and a README saying what
is inside (``manage.py export_study --campaign N --job M OUT.zip``).

The tables are streamed into the zip a chunk of rows at a time, as the API streams them.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from django.db.models import QuerySet
from django.utils import timezone

from annotation.models import Campaign, Corpus
from annotation.selectors.exports import JUDGMENT_COLUMNS, VOTE_COLUMNS, judgment_rows, vote_rows
from emolab.streaming import CSV, columns_markdown, table_lines
from models_app.models import TrainingJob
from models_app.selectors.exports import documented_prediction_columns, prediction_columns, prediction_rows
from models_app.selectors.model_files import model_file_write
from models_app.selectors.reports import comparison_report
from models_app.ser.analysis import csv_tables, plots


class StudyExportError(ValueError):
    """The study cannot be exported as asked; the message says why."""


@dataclass
class StudyContents:
    entries: list[tuple[str, str]] = field(default_factory=list)  # (path in the zip, what it is)
    rows: dict[str, int] = field(default_factory=dict)  # table path -> data rows


class _CountingLines:
    def __init__(self, lines):
        self.lines, self.rows = lines, 0

    def __iter__(self):
        for piece in self.lines:
            self.rows += piece.count("\n")
            yield piece


def _write_table(archive: zipfile.ZipFile, path: str, columns, rows, contents: StudyContents, what: str) -> None:
    counted = _CountingLines(table_lines(CSV, columns, rows))
    with archive.open(path, "w", force_zip64=True) as sink:
        for piece in counted:
            sink.write(piece.encode("utf-8"))
    contents.rows[path] = counted.rows - 1  # the header line
    contents.entries.append((path, f"{what}: {contents.rows[path]} rows"))


def study_export(*, out: Path, campaign: Campaign | None, job: TrainingJob | None, seed: int = 0) -> StudyContents:
    """Write the study's zip to ``out`` (written under a temporary name, then renamed)."""
    if campaign is None and job is None:
        raise StudyExportError("name a campaign, a training job or both")
    corpora: QuerySet[Corpus] = Corpus.objects.filter(
        pk__in=[obj.corpus_id for obj in (campaign, job) if obj is not None]
    ).order_by("name")
    out = Path(out)
    partial = out.with_name(out.name + ".partial")
    contents = StudyContents()
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        if campaign is not None:
            _write_table(
                archive, "judgments.csv", JUDGMENT_COLUMNS, judgment_rows(campaign=campaign), contents,
                f"every answer of campaign {campaign.pk} ({campaign.name}), assessors pseudonymous",
            )  # fmt: skip
        for corpus in corpora:
            _write_table(
                archive, f"votes-{corpus.name}.csv", VOTE_COLUMNS, vote_rows(corpus=corpus), contents,
                f"every expert vote of corpus {corpus.name}, with the consensus label and its rule",
            )  # fmt: skip
        if job is not None:
            _write_table(
                archive, "predictions.csv", prediction_columns(job), prediction_rows(job=job), contents,
                f"out-of-fold predictions of training job {job.pk}, one row per utterance and method",
            )  # fmt: skip
            for artifact in job.artifacts.filter(job__status=TrainingJob.Status.SUCCEEDED):
                with tempfile.TemporaryFile() as model_zip:
                    model_file_write(artifact=artifact, out=model_zip)
                    model_zip.seek(0)
                    with archive.open(f"models/{artifact.method}.zip", "w") as sink:
                        while block := model_zip.read(1 << 20):
                            sink.write(block)
                contents.entries.append(
                    (f"models/{artifact.method}.zip", f"final {artifact.method} model: weights + model.json")
                )
        _write_report(archive, campaign, job, seed, contents)
        archive.writestr("README.md", _readme(campaign, job, contents))
    partial.replace(out)
    return contents


def _write_report(archive, campaign, job, seed, contents: StudyContents) -> None:
    report = comparison_report(job=job, campaign=campaign, seed=seed)
    archive.writestr("report/comparison.json", json.dumps(report, indent=1, default=str))
    contents.entries.append(("report/comparison.json", "the comparison report, every section (docs/reports.md)"))
    for name, make in csv_tables.TABLES.items():
        try:
            text = make(report)
        except (KeyError, TypeError):  # a section this report does not have (no job, no campaign)
            continue
        archive.writestr(f"report/tables/{name}", text)
        contents.entries.append((f"report/tables/{name}", "a table of the report"))
    for name, svg in plots.comparison_figures(report).items():
        archive.writestr(f"report/figures/{name}", svg)
        contents.entries.append((f"report/figures/{name}", "a figure of the report (SVG)"))
    if report.get("missing"):
        contents.entries.append(("(not included)", "; ".join(report["missing"])))


def _readme(campaign, job, contents: StudyContents) -> str:
    lines = [
        "# emolab study export",
        "",
        f"Written {timezone.now().isoformat(timespec='seconds')}"
        + (f"; campaign {campaign.pk} ({campaign.name}, corpus {campaign.corpus.name})" if campaign else "")
        + (
            f"; training job {job.pk} ({job.corpus.name}, preset {job.preset}, code {job.code_version or '?'})"
            if job
            else ""
        )
        + ".",
        "",
        "## Contents",
        "",
    ]
    lines += [f"- `{path}`: {what}" for path, what in contents.entries]
    lines += [
        "",
        "Tables are CSV (UTF-8, header row; lists and objects as JSON text, booleans true/false, empty = none).",
        "Read them with `pandas.read_csv(path, keep_default_na=False)`. A model runs with",
        "`python manage.py predict RECORDING.wav --model models/ctc.zip`.",
        "",
        "## Columns of judgments.csv",
        "",
        columns_markdown(JUDGMENT_COLUMNS),
        "",
        "## Columns of votes-<corpus>.csv",
        "",
        columns_markdown(VOTE_COLUMNS),
        "",
        "## Columns of predictions.csv",
        "",
        columns_markdown(documented_prediction_columns()),
        "",
    ]
    return "\n".join(lines)
