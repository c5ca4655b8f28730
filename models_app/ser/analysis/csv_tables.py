"""Each table of the comparison report as CSV text for the downloads.

One header row, then one record per line (RFC 4180 line ends, which every spreadsheet opens);
numbers are plain (up to 6 significant digits), an absent value is an empty cell. Every function
takes the dict ``build_comparison`` returned.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _csv(header: Sequence[str], records: Iterable[Sequence]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for record in records:
        writer.writerow([_cell(v) for v in record])
    return buffer.getvalue()


def _interval(ci: Sequence[float] | None) -> tuple:
    return (ci[0], ci[1]) if ci else (None, None)


def class_distribution_csv(report: dict) -> str:
    rows = report["overview"]["class_distribution"]
    return _csv(["class", "n", "share"], ([r["class"], r["n"], r["share"]] for r in rows))


def agreement_csv(report: dict) -> str:
    agreement = report["overview"]["agreement"]
    values = agreement["n_agreeing_values"]
    header = ["class"] + [f"n_agreeing_{v}" for v in values] + ["n_all_agree", "all_agree_share"]
    return _csv(
        header,
        (
            [c, *agreement["counts"][c], agreement["n_all_agree"][c], agreement["all_agree_share"][c]]
            for c in report["classes"]
        ),
    )


def groups_csv(report: dict, key: str) -> str:
    """Counts per ``speaker`` or ``session``."""
    collection = report["overview"][f"{key}s"]
    header = [key, "n", "n_in_class_set"] + [f"n_{c}" for c in report["classes"]]
    return _csv(header, ([g[key], g["n"], g["n_in_class_set"], *g["per_class"]] for g in collection))


def table1_csv(report: dict) -> str:
    header = [
        "row",
        "label",
        "overall_accuracy",
        "overall_accuracy_ci_low",
        "overall_accuracy_ci_high",
        "overall_accuracy_fold_std",
        "overall_accuracy_fold_mean",
        "mean_class_accuracy",
        "mean_class_accuracy_ci_low",
        "mean_class_accuracy_ci_high",
        "mean_class_accuracy_fold_std",
        "mean_class_accuracy_fold_mean",
        "overall_accuracy_assessor_std",
        "mean_class_accuracy_assessor_std",
        "n",
        "n_utterances",
        "n_no_class",
    ]
    records = []
    for name, entry in report["table1"].items():
        records.append(
            [
                name,
                entry["label"],
                entry["overall_accuracy"],
                *_interval(entry["overall_accuracy_ci"]),
                entry["overall_accuracy_fold_std"],
                entry["overall_accuracy_fold_mean"],
                entry["mean_class_accuracy"],
                *_interval(entry["mean_class_accuracy_ci"]),
                entry["mean_class_accuracy_fold_std"],
                entry["mean_class_accuracy_fold_mean"],
                entry.get("overall_accuracy_assessor_std"),
                entry.get("mean_class_accuracy_assessor_std"),
                entry["n"],
                entry["n_utterances"],
                entry["n_no_class"],
            ]
        )
    return _csv(header, records)


def mcnemar_csv(report: dict) -> str:
    header = ["row_a", "row_b", "n", "accuracy_a", "accuracy_b", "b", "c", "test", "statistic"]
    header += ["p_value", "p_value_holm"]
    return _csv(header, ([p[k] for k in header] for p in report["mcnemar"]["pairs"]))


def confusion_csv(report: dict) -> str:
    """One line per (row, expert label): counts per answer, answers outside the class set, and the
    row-normalised shares in the same class order."""
    classes = report["classes"]
    header = (
        ["row", "expert_label"]
        + [f"count_{c}" for c in classes]
        + ["count_no_class", "total"]
        + [f"share_{c}" for c in classes]
        + ["share_no_class"]
    )
    records = []
    for name, matrix in report["confusion"]["rows"].items():
        for t, label in enumerate(classes):
            records.append(
                [
                    name,
                    label,
                    *matrix["counts"][t],
                    matrix["no_class"][t],
                    matrix["row_totals"][t],
                    *matrix["normalized"][t],
                    matrix["no_class_share"][t],
                ]
            )
    return _csv(header, records)


def disagreement_csv(report: dict) -> str:
    table = report["disagreement"]
    header = ["row", "expert_label", "n_dissenting", "n", "errors", "error_rate"]
    records = []
    for name, row in table["rows"].items():
        for c, label in enumerate(table["classes"]):
            for d in table["n_dissenting_values"]:
                records.append([name, label, d, row["n"][c][d], row["errors"][c][d], row["error_rate"][c][d]])
        for d in table["n_dissenting_values"]:
            records.append([name, "all", d, row["n_all_classes"][d], None, row["error_rate_all_classes"][d]])
    return _csv(header, records)


def residual_csv(report: dict) -> str:
    residual = report["residual"]
    header = ["row", "expert_label", "n_wrong", "n_match", "ratio", "chance_level", "chance_level_adjusted"]
    records = []
    for name, row in residual["rows"].items():
        for cell in [*row["per_class"], {"class": "all", **row["all"]}]:
            records.append(
                [
                    name,
                    cell["class"],
                    cell["n_wrong"],
                    cell["n_match"],
                    cell["ratio"],
                    residual["chance_level"],
                    cell["chance_level_adjusted"],
                ]
            )
    return _csv(header, records)


def considered_ratio_csv(report: dict) -> str:
    considered = report["residual"]["considered"]
    header = ["class", "n_dissenting_votes", "n_in_class_set", "ratio"]
    cells = [*considered["per_class"], {"class": "all", **considered["all"]}]
    return _csv(header, ([cell[k] for k in header] for cell in cells))


def assessors_csv(report: dict) -> str:
    header = ["assessor", "n", "overall_accuracy", "mean_class_accuracy", "median_response_ms"]
    human = report["human"] or {"assessors": []}
    return _csv(header, ([a[k] for k in header] for a in human["assessors"]))


def answer_index_csv(report: dict) -> str:
    header = ["start", "end", "n", "accuracy", "ci_low", "ci_high", "n_assessors"]
    bins = (report["human"] or {"answer_index": {"bins": []}})["answer_index"]["bins"]
    return _csv(
        header, ([b["start"], b["end"], b["n"], b["accuracy"], *_interval(b["ci"]), b["n_assessors"]] for b in bins)
    )


def human_agreement_csv(report: dict) -> str:
    """Agreement among assessors and between the assessors' majority answer and each method."""
    header = ["measure", "between", "value", "n"]
    human = report["human"]
    if human is None:
        return _csv(header, [])
    records = [
        ["fleiss_kappa", "assessors", human["fleiss_kappa"]["kappa"], human["fleiss_kappa"]["n_utterances"]],
        [
            "krippendorff_alpha",
            "assessors",
            human["krippendorff_alpha"]["alpha"],
            human["krippendorff_alpha"]["n_utterances_pairable"],
        ],
    ]
    records += [
        ["cohen_kappa", f"human majority vs {k['row']}", k["kappa"], k["n"]] for k in human["cohen_kappa_with_methods"]
    ]
    records.append(["gold_accuracy", "assessors", human["gold"]["accuracy"], human["gold"]["n"]])
    return _csv(header, records)


# File name of each download -> the function that writes it.
TABLES = {
    "class_distribution.csv": class_distribution_csv,
    "expert_agreement.csv": agreement_csv,
    "speakers.csv": lambda report: groups_csv(report, "speaker"),
    "sessions.csv": lambda report: groups_csv(report, "session"),
    "table1.csv": table1_csv,
    "mcnemar.csv": mcnemar_csv,
    "confusion.csv": confusion_csv,
    "disagreement.csv": disagreement_csv,
    "residual_agreement.csv": residual_csv,
    "considered_ratio.csv": considered_ratio_csv,
    "assessors.csv": assessors_csv,
    "answer_index.csv": answer_index_csv,
    "human_agreement.csv": human_agreement_csv,
}


def comparison_csv_tables(report: dict) -> dict[str, str]:
    """Every table of a report: file name -> CSV text."""
    return {filename: write(report) for filename, write in TABLES.items()}
