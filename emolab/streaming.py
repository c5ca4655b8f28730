"""Streamed table exports: a table is a list of columns and an iterator of rows, written as CSV or
JSON Lines a few rows at a time, so a 100,000-row export never sits in memory.

A column has a name, a description (docs/exports.md and the OpenAPI schema are written from it)
and a function from the row object to a value. Values are plain Python: str, int, float, bool,
None, lists and dicts. JSON Lines keeps them as they are; CSV writes lists and dicts as JSON text,
booleans as ``true``/``false`` and None as an empty cell, so pandas reads both alike.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

CSV = "csv"
JSONL = "jsonl"
FORMATS = (CSV, JSONL)
CONTENT_TYPES = {CSV: "text/csv; charset=utf-8", JSONL: "application/x-ndjson; charset=utf-8"}
# Rows read from the database per query: large enough that the queries cost little, small enough
# that a chunk's objects (a few MB) are all the export ever holds.
CHUNK_ROWS = 2000
# Rows written per piece of the response: one piece per row would make the server's writes tiny.
ROWS_PER_PIECE = 200


@dataclass(frozen=True)
class Column:
    name: str
    description: str
    value: Callable[[object], object]


def chunked(queryset: QuerySet, size: int = CHUNK_ROWS) -> Iterator[list]:
    """The queryset's rows in primary-key order, ``size`` at a time, each chunk one query keyed on
    the last primary key seen (no OFFSET, no server-side cursor: the same on SQLite and PostgreSQL,
    and a chunk's related rows can be fetched in one query per chunk). The caller should drop its
    reference to a chunk (``del chunk``) before asking for the next one."""
    last = None
    queryset = queryset.order_by("pk")
    while True:
        page = queryset if last is None else queryset.filter(pk__gt=last)
        rows = list(page[:size])
        if not rows:
            return
        yield rows
        last, complete = rows[-1].pk, len(rows) == size
        # Let go of this chunk before the next is read: two chunks alive at once would double the peak.
        del rows
        if not complete:
            return


def _csv_cell(value) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return value


def csv_lines(columns: Sequence[Column], rows: Iterable) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([column.name for column in columns])
    pending = 1
    for row in rows:
        writer.writerow([_csv_cell(column.value(row)) for column in columns])
        pending += 1
        if pending >= ROWS_PER_PIECE:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if buffer.tell():
        yield buffer.getvalue()


def jsonl_lines(columns: Sequence[Column], rows: Iterable) -> Iterator[str]:
    piece: list[str] = []
    for row in rows:
        record = {column.name: column.value(row) for column in columns}
        piece.append(json.dumps(record, separators=(",", ":"), ensure_ascii=False, default=str) + "\n")
        if len(piece) >= ROWS_PER_PIECE:
            yield "".join(piece)
            piece = []
    if piece:
        yield "".join(piece)


def table_lines(file_format: str, columns: Sequence[Column], rows: Iterable) -> Iterator[str]:
    if file_format == CSV:
        return csv_lines(columns, rows)
    if file_format == JSONL:
        return jsonl_lines(columns, rows)
    raise ValueError(f"unknown export format {file_format!r}; choose {' or '.join(FORMATS)}")


def streamed_table(file_format: str, columns: Sequence[Column], rows: Iterable, *, filename: str):
    """A download of the table, written while it is sent."""
    lines = table_lines(file_format, columns, rows)
    response = StreamingHttpResponse((line.encode("utf-8") for line in lines), content_type=CONTENT_TYPES[file_format])
    response["Content-Disposition"] = f'attachment; filename="{filename}.{file_format}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"  # research data of named people: not for shared caches
    return response


def columns_markdown(columns: Sequence[Column]) -> str:
    """The columns as a Markdown table (docs/exports.md is checked against it by the tests)."""
    lines = ["| column | meaning |", "| --- | --- |"]
    lines += [f"| `{column.name}` | {column.description} |" for column in columns]
    return "\n".join(lines)


def export_schema(
    *, summary: str, columns: Sequence[Column], operation_id: str, extra: str = "", parameters=()
) -> dict:
    """``extend_schema`` arguments of an export endpoint: both media types, the columns described."""
    from drf_spectacular.types import OpenApiTypes

    description = (
        f"{extra}\n\nStreamed; `.csv` or `.jsonl` at the end of the path chooses the format. "
        "Researchers and admins only (401 without credentials, 403 for other roles). "
        "Columns (docs/exports.md):\n\n" + columns_markdown(columns)
    ).strip()
    return {
        "operation_id": operation_id,
        "summary": summary,
        "description": description,
        "parameters": list(parameters),
        "responses": {
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/x-ndjson"): OpenApiTypes.STR,
            401: None,
            403: None,
            404: None,
        },
    }


def export_renderers() -> list:
    """Renderers of an export view: JSON for its errors, and the two table types, so that a client
    asking for ``Accept: text/csv`` is not refused with 406 by content negotiation (the table
    itself is a StreamingHttpResponse, which no renderer touches)."""
    from rest_framework.renderers import JSONRenderer

    class _TableErrorRenderer(JSONRenderer):
        """An error answered to a client that accepts only the table's type: JSON text all the same."""

    class CSVRenderer(_TableErrorRenderer):
        media_type = "text/csv"
        format = CSV

    class JSONLinesRenderer(_TableErrorRenderer):
        media_type = "application/x-ndjson"
        format = JSONL

    return [JSONRenderer, CSVRenderer, JSONLinesRenderer]
