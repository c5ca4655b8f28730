"""A CSV manifest for any corpus: ``path,speaker[,session][,label][,votes]``.

- ``path``: the audio file, relative to the CSV's folder. A path that is absolute or leaves that
  folder (``..``, a symlink pointing out) refuses the whole manifest: the error names every such
  line, and nothing is imported.
- ``session``: the cross-validation group; defaults to the speaker.
- ``label``: an emotion name (any spelling :func:`annotation.emotions.canonical_emotion` knows);
  empty = the half-of-raters rule over the votes decides.
- ``votes``: ``rater:Category;rater:Category``; a rater named twice chose both categories.
- Optional ``transcript`` and ``gender`` (F/M) columns are read too.

A row with an unknown emotion, a malformed vote or a missing file is skipped and reported with
its CSV line; the rest imports.
"""

import csv
import posixpath
from pathlib import Path, PurePosixPath

from annotation.consensus import consensus_from_votes
from annotation.emotions import canonical_emotion
from annotation.importers.common import SourceError
from annotation.importers.records import ParseResult, SkippedItem, UtteranceRecord, VoteRecord

REQUIRED_COLUMNS = ("path", "speaker")
OPTIONAL_COLUMNS = ("session", "label", "votes", "transcript", "gender")


class BadRow(Exception):
    """The row cannot be imported; the message says why."""


def parse_votes(text: str) -> list[VoteRecord]:
    """``"E1:Anger;E2:Anger;E2:Sadness"`` -> one VoteRecord per rater, categories in first-seen order."""
    categories_by_rater: dict[str, list[str]] = {}
    for item in text.split(";"):
        item = item.strip()
        if not item:
            continue  # a trailing ';' is harmless
        rater, colon, category = item.partition(":")
        rater, category = rater.strip(), category.strip()
        if not colon or not rater or not category:
            raise BadRow(f"vote {item!r} is not rater:Category")
        try:
            name = canonical_emotion(category)
        except ValueError as exc:
            raise BadRow(f"vote of {rater}: {exc}") from None
        chosen = categories_by_rater.setdefault(rater, [])
        if name not in chosen:
            chosen.append(name)
    return [VoteRecord(rater=rater, categories=tuple(names)) for rater, names in categories_by_rater.items()]


def _inside_folder(folder: Path, value: str) -> tuple[Path | None, str]:
    """(absolute path, "") for a path inside ``folder`` (symlinks followed), else (None, why)."""
    if PurePosixPath(value).is_absolute() or Path(value).is_absolute():
        return None, "is absolute; paths must be relative to the manifest's folder"
    candidate = folder / value
    try:
        candidate.resolve().relative_to(folder.resolve())
    except ValueError:
        return None, f"leaves the manifest's folder {folder}"
    return candidate, ""


def _row_value(row: dict, column: str) -> str:
    return (row.get(column) or "").strip()


def parse_manifest(csv_path: Path) -> ParseResult:
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise SourceError(
            f"manifest not found: {csv_path}" if not csv_path.exists() else f"manifest is not a file: {csv_path}"
        )
    folder = csv_path.parent
    result = ParseResult()
    refused: list[str] = []
    first_line_of_path: dict[str, int] = {}
    # utf-8-sig: spreadsheets often save a byte-order mark that would otherwise stick to "path".
    with csv_path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [(name or "").strip().lower() for name in (reader.fieldnames or [])]
        missing = [column for column in REQUIRED_COLUMNS if column not in header]
        if missing:
            raise SourceError(
                f"{csv_path}: the header must name the columns path,speaker[,session][,label][,votes]; "
                f"missing: {', '.join(missing)}"
            )
        reader.fieldnames = header
        unknown = [column for column in header if column not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
        if unknown:
            result.warnings.append(f"{csv_path}: columns not used: {', '.join(unknown)}")
        for row in reader:
            line = reader.line_num
            if not any((value or "").strip() for value in row.values() if isinstance(value, str)):
                continue  # blank line
            value = _row_value(row, "path")
            if not value:
                result.skipped.append(SkippedItem(path=str(csv_path), reason="no path", line=line))
                continue
            audio_path, why = _inside_folder(folder, value)
            if audio_path is None:
                refused.append(f"{csv_path}:{line}: path {value!r} {why}")
                continue
            try:
                record = _record_from_row(
                    row, value=value, audio_path=audio_path, first_line_of_path=first_line_of_path
                )
            except BadRow as exc:
                result.skipped.append(SkippedItem(path=str(csv_path), reason=str(exc), line=line))
                continue
            first_line_of_path[record.name] = line
            result.records.append(record)
    if refused:
        raise SourceError(
            f"manifest refused, nothing imported: {len(refused)} path(s) outside its folder:\n  "
            + "\n  ".join(refused[:20])
            + ("\n  ..." if len(refused) > 20 else "")
        )
    return result


def _record_from_row(row: dict, *, value: str, audio_path: Path, first_line_of_path: dict[str, int]) -> UtteranceRecord:
    # The id is the path without its extension: unique within the folder and readable in reports.
    name = PurePosixPath(posixpath.normpath(value.replace("\\", "/"))).with_suffix("").as_posix()
    if name in first_line_of_path:
        raise BadRow(f"{value} is listed twice (first on line {first_line_of_path[name]})")
    if not audio_path.is_file():
        raise BadRow(f"audio file not found: {value}")
    speaker = _row_value(row, "speaker")
    if not speaker:
        raise BadRow("no speaker")
    label_text = _row_value(row, "label")
    try:
        label = canonical_emotion(label_text) if label_text else None
    except ValueError as exc:
        raise BadRow(f"label: {exc}") from None
    gender = _row_value(row, "gender").upper()
    if gender not in ("", "F", "M"):
        raise BadRow(f"gender {gender!r} is not F or M")
    return UtteranceRecord(
        name=name,
        speaker=speaker,
        session=_row_value(row, "session") or speaker,
        audio_path=audio_path,
        label=label,
        label_from_votes=True,  # an empty label means: the votes decide
        source_label=label_text,
        votes=parse_votes(_row_value(row, "votes")),
        speaker_gender=gender,
        transcript=_row_value(row, "transcript"),
    )


def labels_found(result: ParseResult) -> tuple[str, ...]:
    """Every label the manifest gives or its votes decide, sorted: the default class set."""
    labels = set()
    for record in result.records:
        if record.label is not None:
            labels.add(record.label)
        else:
            rule = consensus_from_votes([v.categories for v in record.votes if not v.is_self_evaluation])
            if rule.label:
                labels.add(rule.label)
    return tuple(sorted(labels))
