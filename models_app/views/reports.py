"""Pages of the comparison report (issue 7) for researchers and admins: a chooser, the report with
every section's tables and figures, CSV and SVG downloads, and the utterance explorer (figure 4)."""

import csv
import io

import numpy as np
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils.html import escape
from django.utils.safestring import mark_safe

from annotation.audio import audio_response, audio_suffix, file_inside
from annotation.models import Utterance
from emolab.errors import DOMAIN_ERRORS, render_domain_error
from emolab.roles import researcher_required
from models_app.selectors.reports import (
    ReportInputError,
    report_choices,
    report_sources,
    stored_report,
    utterance_explorer,
)
from models_app.ser.analysis import csv_tables, formats, plots
from models_app.ser.analysis.explorer import CORRECTNESS, SORTS, ExplorerQuery, explore
from models_app.ser.analysis.inputs import HUMAN_ROW, row_label
from models_app.ser.analysis.reading import ALPHA, table1_reading
from models_app.services.reports import stored_report_request

# The page's sections: title, the CSV tables and the figures each one shows, in the paper's order.
# A figure name ending in "_*" stands for one figure per row (human first, beside the best method),
# laid out in a grid of at most two per row.
SECTIONS = [
    (
        "overview",
        "Data overview (figures 1b, 2a, 2b)",
        ["class_distribution", "expert_agreement", "speakers", "sessions"],
        ["class_distribution", "consensus", "expert_agreement"],
    ),
    ("table1", "Table 1: accuracy with 95% bootstrap intervals", ["table1", "mcnemar"], ["table1"]),
    ("confusion", "Confusion matrices (figures 6a, 7a)", ["confusion"], ["confusion_*"]),
    ("disagreement", "Error against expert disagreement (figure 6b)", ["disagreement"], ["disagreement_*"]),
    ("residual", "Residual agreement (Table 2)", ["considered_ratio", "residual_agreement"], ["residual_agreement"]),
    ("human", "Humans", ["assessors", "answer_index", "human_agreement"], ["answer_index"]),
]
TABLE_NAMES = {filename.removesuffix(".csv") for filename in csv_tables.TABLES}


def _sources_or_error(request):
    """(job, campaign, seed), or the chooser saying what is wrong (400, 404)."""
    try:
        return report_sources(params=request.GET), None
    except DOMAIN_ERRORS as exc:
        return None, render_domain_error(request, exc, "models_app/reports/choose.html", {"choices": report_choices()})


def _stored_or_404(request):
    """(job, campaign, seed, stored report) for the downloads: the stored version, never computed here."""
    found, error = _sources_or_error(request)
    if error is not None:
        return None, error
    job, campaign, seed = found
    stored = stored_report(job=job, campaign=campaign, seed=seed)
    if stored is None or stored.report is None:
        raise Http404("this report has not been computed yet: open the report page first")
    return (job, campaign, seed, stored), None


def _status(stored) -> dict:
    """What the page's script polls: the stored version and the computation on its way."""
    return {
        "version": stored.fingerprint if stored.report is not None else "",
        "as_of": stored.as_of.isoformat() if stored.as_of else None,
        "pending": stored.is_pending,
        "status": stored.status,
        "done": stored.progress_done,
        "total": stored.progress_total,
        "section": stored.progress_section,
        # The last computation's failure, shown until a new one starts (a retry clears it).
        "error": stored.error,
    }


def _query(job, campaign, seed) -> str:
    parts = []
    if job is not None:
        parts.append(f"job={job.pk}")
    if campaign is not None:
        parts.append(f"campaign={campaign.pk}")
    if seed:
        parts.append(f"seed={seed}")
    return "&".join(parts)


def _parsed(csv_text: str) -> dict:
    """A CSV download as its preview: readable headings, numbers in the page's formats, and the
    table's HTML built here (a template loop over IEMOCAP's thousands of cells took most of the
    page's time)."""
    rows = list(csv.reader(io.StringIO(csv_text)))
    columns = rows[0] if rows else []
    header = [formats.column_title(column) for column in columns]
    body = [
        [formats.preview_cell(column, cell) for column, cell in zip(columns, row, strict=False)] for row in rows[1:]
    ]
    head_html = "".join(f"<th>{escape(cell)}</th>" for cell in header)
    if body:
        body_html = "".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in body)
    else:
        body_html = f'<tr><td colspan="{len(header)}">No rows.</td></tr>'
    return {
        "header": header,
        "rows": body,
        "html": mark_safe(f"<thead><tr>{head_html}</tr></thead><tbody>{body_html}</tbody>"),  # noqa: S308 (escaped above)
    }


def _section_figures(names: list[str], figures: dict[str, str], report: dict) -> list[dict]:
    shown = []
    for name in names:
        if name.endswith("_*"):
            prefix = name.removesuffix("*")
            for row in plots.matrix_order(report) if report["table1"] else []:
                if f"{prefix}{row}.svg" in figures:
                    shown.append({"name": f"{prefix}{row}", "svg": figures[f"{prefix}{row}.svg"], "grid": True})
        elif f"{name}.svg" in figures:
            shown.append({"name": name, "svg": figures[f"{name}.svg"], "grid": False})
    return shown


_percent = formats.percent
_interval = formats.interval


def _mcnemar_rows(report: dict) -> list[dict]:
    """Every McNemar pair as the page shows it: raw and Holm-corrected p-values side by side."""
    return [
        {
            "a": row_label(pair["row_a"]),
            "b": row_label(pair["row_b"]),
            "n": formats.count(pair["n"]),
            "accuracy_a": _percent(pair["accuracy_a"]),
            "accuracy_b": _percent(pair["accuracy_b"]),
            "discordant": f"{pair['b']} / {pair['c']}",
            "test": "exact binomial" if pair["test"] == "exact" else "chi-square",
            "p_value": formats.p_value(pair["p_value"]),
            "p_value_holm": formats.p_value(pair.get("p_value_holm")),
            "significant": pair.get("p_value_holm") is not None and pair["p_value_holm"] <= ALPHA,
        }
        for pair in report["mcnemar"]["pairs"]
    ]


def _table1_rows(report: dict) -> list[dict]:
    """Table 1 as the page shows it: percentages, intervals and the spread (folds or assessors)."""
    rows = []
    for row in report["rows"]:
        values = report["table1"][row["name"]]
        spread = values.get("overall_accuracy_fold_std")
        spread_of = "folds"
        if spread is None and values.get("overall_accuracy_assessor_std") is not None:
            spread, spread_of = values["overall_accuracy_assessor_std"], "assessors"
        mca_spread = values.get("mean_class_accuracy_fold_std")
        if mca_spread is None:
            mca_spread = values.get("mean_class_accuracy_assessor_std")
        rows.append(
            {
                "name": row["name"],
                "label": row["label"],
                "n": values["n"],
                "n_utterances": values["n_utterances"],
                "overall": _percent(values["overall_accuracy"]),
                "overall_ci": _interval(values["overall_accuracy_ci"]),
                "overall_std": _percent(spread),
                "mca": _percent(values["mean_class_accuracy"]),
                "mca_ci": _interval(values["mean_class_accuracy_ci"]),
                "mca_std": _percent(mca_spread),
                "spread_of": spread_of if spread is not None else "",
                "all_agree": _percent(report["disagreement"]["rows"].get(row["name"], {}).get("accuracy_all_agree")),
            }
        )
    return rows


@researcher_required
def report_choose(request):
    return render(request, "models_app/reports/choose.html", {"choices": report_choices()})


@researcher_required
def report_comparison(request):
    """The latest stored version at once; a report never computed shows its progress instead."""
    found, error = _sources_or_error(request)
    if error is not None:
        return error
    job, campaign, seed = found
    stored = stored_report_request(job=job, campaign=campaign, seed=seed, without=("explorer",))
    query = _query(job, campaign, seed)
    common = {"job": job, "campaign": campaign, "query": query, "stored": stored, "status": _status(stored)}
    if stored.report is None:
        return render(request, "models_app/reports/computing.html", common)
    report, figures = stored.report, stored.figures
    tables = csv_tables.comparison_csv_tables(report)
    sections = []
    for key, title, table_names, figure_names in SECTIONS:
        sections.append(
            {
                "key": key,
                "title": title,
                "tables": [{"name": name, **_parsed(tables[f"{name}.csv"])} for name in table_names],
                "figures": _section_figures(figure_names, figures, report),
            }
        )
    context = {
        **common,
        "report": report,
        "sections": sections,
        "table1_rows": _table1_rows(report),
        "table1_reading": table1_reading(report),
        "mcnemar_rows": _mcnemar_rows(report),
        "human": report["human"],
        "explorer_methods": [row for row in report["rows"] if row["name"] != HUMAN_ROW],
    }
    return render(request, "models_app/reports/comparison.html", context)


_LARGEST_PAGE = 10**6


def _explorer_query(params, classes: list[str], methods: list[str]) -> ExplorerQuery:
    """The explorer's query string checked: unknown classes, rows or sorts are refused (400)."""

    def choice(name: str, allowed) -> str:
        value = (params.get(name) or "").strip()
        if value and value not in allowed:
            raise ReportInputError(
                f"{name} must be one of {', '.join(str(a) for a in allowed if a)}, got {value[:40]!r}"
            )
        return value

    def number(name: str, default):
        raw = (params.get(name) or "").strip()
        if not raw:
            return default
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 7 or int(raw) > _LARGEST_PAGE:
            raise ReportInputError(f"{name} must be a whole number, got {raw[:40]!r}")
        return int(raw)

    page = number("page", 1)
    return ExplorerQuery(
        q=(params.get("q") or "").strip()[:100],
        label=choice("label", classes),
        human=choice("human", classes),
        method=choice("method", methods),
        method_answer=choice("method_answer", classes),
        method_correct=choice("method_correct", CORRECTNESS),
        dissent=number("dissent", None),
        both_wrong=(params.get("both_wrong") or "") == "1",
        sort=choice("sort", SORTS) or "disputed",
        page=max(1, page),
    )


@researcher_required
def report_explorer(request):
    """The utterance explorer: the stored report's utterances, searched, filtered, sorted, paged."""
    found, error = _sources_or_error(request)
    if error is not None:
        return error
    job, campaign, seed = found
    stored = stored_report_request(job=job, campaign=campaign, seed=seed, without=("report", "figures"))
    query = _query(job, campaign, seed)
    common = {"job": job, "campaign": campaign, "query": query, "stored": stored, "status": _status(stored)}
    if not stored.explorer:
        return render(request, "models_app/reports/computing.html", common)
    explorer = stored.explorer
    try:
        asked = _explorer_query(request.GET, explorer["classes"], explorer["methods"])
    except ReportInputError as exc:
        return render_domain_error(request, exc)
    # Confidence (shown and sorted on when no method is chosen): the best method's.
    best = explorer.get("best")
    by_preference = ([best] if best else []) + [name for name in explorer["methods"] if name != best]
    result = explore(explorer["rows"], asked, by_preference)
    for row in result["rows"]:
        row["method_cells"] = [row["methods"].get(name) for name in explorer["methods"]]
    params = request.GET.copy()
    params.pop("page", None)
    filters = params.urlencode()
    context = {
        **common,
        "asked": asked,
        "result": result,
        "classes": explorer["classes"],
        "methods": [{"name": name, "label": row_label(name)} for name in explorer["methods"]],
        "confidence_label": row_label(result["confidence_row"]) if result["confidence_row"] else "",
        "filters": filters,
        "sorts": [("disputed", "most disputed first"), ("confidence", "model confidence, highest first"),
                  ("-confidence", "model confidence, lowest first"), ("name", "name")],
    }  # fmt: skip
    return render(request, "models_app/reports/explorer.html", context)


@researcher_required
def report_status(request):
    """The stored report's version and the progress of a newer one (JSON, for the page's script)."""
    found, error = _sources_or_error(request)
    if error is not None:
        return error
    job, campaign, seed = found
    stored = stored_report(job=job, campaign=campaign, seed=seed)
    if stored is None:
        raise Http404("nobody has asked for this report yet")
    return JsonResponse(_status(stored))


@researcher_required
def report_csv(request, table: str):
    if table not in TABLE_NAMES:
        raise Http404(f"no table {table!r}")
    found, error = _stored_or_404(request)
    if error is not None:
        return error
    job, campaign, _seed, stored = found
    report = stored.report
    text = csv_tables.TABLES[f"{table}.csv"](report)
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    name = "_".join(
        part
        for part in (
            report["corpus"],
            f"job{job.pk}" if job else "",
            f"campaign{campaign.pk}" if campaign else "",
            table,
        )
        if part
    )
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


@researcher_required
def report_svg(request, figure: str):
    found, error = _stored_or_404(request)
    if error is not None:
        return error
    stored = found[3]
    svg = stored.figures.get(f"{figure}.svg") or plots.on_demand_figure(stored.report, f"{figure}.svg")
    if svg is None:
        raise Http404(f"no figure {figure!r} for this report (see the report's missing list)")
    response = HttpResponse(svg, content_type="image/svg+xml")
    response["Content-Disposition"] = f'inline; filename="{figure}.svg"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@researcher_required
def report_utterance(request, utterance_id):
    utterance = get_object_or_404(
        Utterance.objects.select_related("corpus", "speaker", "session"), public_id=utterance_id
    )
    try:
        job, campaign, seed = report_sources(params=request.GET)
        explorer = utterance_explorer(utterance=utterance, job=job, campaign=campaign)
    except DOMAIN_ERRORS as exc:
        return render_domain_error(request, exc)
    figure = None
    if explorer.has_frames:
        figure = plots.frame_probabilities_svg(
            classes=explorer.classes,
            frame_step_s=explorer.frame_step_s,
            framewise=np.asarray(explorer.framewise_frames) if explorer.framewise_frames else None,
            ctc=np.asarray(explorer.ctc_frames) if explorer.ctc_frames else None,
            decoded=explorer.decoded,
            title=f"{utterance.name} (expert label: {utterance.label or 'no consensus'})",
            frame_index=explorer.frame_index,
            window_s=explorer.window_s,
            duration_s=utterance.duration_s,
        )
    context = {
        "explorer": explorer,
        "utterance": utterance,
        "figure": figure,
        "job": job,
        "campaign": campaign,
        "query": _query(job, campaign, seed),
    }
    return render(request, "models_app/reports/utterance.html", context)


@researcher_required
def report_utterance_audio(request, utterance_id):
    """Researchers may hear any utterance; the file is named by the public id, never its own name."""
    utterance = get_object_or_404(Utterance.objects.select_related("corpus"), public_id=utterance_id)
    path = file_inside(utterance.corpus.root, utterance.audio_path)
    return audio_response(
        path=path, range_header=request.headers.get("Range"), download_name=f"{utterance.public_id}{audio_suffix(path)}"
    )
