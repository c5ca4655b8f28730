"""How the report writes its numbers for a reader (pages and figures; the CSV downloads stay raw).

One place, so a page, a figure and a sentence never disagree: percentages with one decimal, counts
as integers, p-values with three decimals, and in scientific notation below 0.001 (where three
decimals would print 0.000).
"""

from __future__ import annotations

# Below this a p-value is written in scientific notation.
SCIENTIFIC_BELOW = 1e-3


def percent(value: float | None) -> str:
    """A fraction in [0, 1] as a percentage with one decimal: 0.6234 -> "62.3%"; None -> ""."""
    return "" if value is None else f"{100 * value:.1f}%"


def interval(ci) -> str:
    """A (low, high) fraction interval as "55.1–61.0%"; None or empty -> ""."""
    return "" if not ci else f"{100 * ci[0]:.1f}–{100 * ci[1]:.1f}%"


def count(value) -> str:
    """A count as an integer: 12.0 -> "12"; None -> ""."""
    return "" if value is None else str(int(round(value)))


def p_value(value: float | None) -> str:
    """0.0423 -> "0.042"; 0.00001234 -> "1.2e-05"; 0 -> "<1e-300"; None -> ""."""
    if value is None:
        return ""
    if value == 0.0:
        return "<1e-300"  # below the float range: the chi-square tail underflowed
    if value < SCIENTIFIC_BELOW:
        return f"{value:.1e}"
    return f"{value:.3f}"


# Words of the CSV column names a reader would not guess, spelled out for the table previews.
_WORDS = {"n": "count", "ci": "95% CI", "ms": "(ms)"}
_WHOLE = {
    "b": "A right, B wrong",
    "c": "A wrong, B right",
    "n": "Count",
    "p_value": "p (raw)",
    "p_value_holm": "p (Holm-corrected)",
    "row_a": "Row A",
    "row_b": "Row B",
    "accuracy_a": "Accuracy A",
    "accuracy_b": "Accuracy B",
    "n_utterances": "Utterances",
    "n_no_class": "Empty or outside the class set",
}
# Columns holding fractions, shown as percentages; and measures shown with three decimals.
_FRACTION_WORDS = ("accuracy", "share", "ratio", "rate", "chance_level")
_DECIMAL_WORDS = ("statistic", "kappa", "alpha", "value")


def column_title(name: str) -> str:
    """A CSV column name as a heading: "overall_accuracy_ci_low" -> "Overall accuracy 95% CI low"."""
    if name in _WHOLE:
        return _WHOLE[name]
    words = [_WORDS.get(word, word) for word in name.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def preview_cell(column: str, text: str) -> str:
    """A raw CSV cell as the preview shows it, by its column: fractions as percentages, p-values
    and measures in their formats, counts as integers; anything else (names, labels) unchanged."""
    if text == "":
        return text
    try:
        value = float(text)
    except ValueError:
        return text
    if column.startswith("p_value"):
        return p_value(value)
    if any(word in column for word in _FRACTION_WORDS) and not column.startswith("n_"):
        return percent(value)
    if any(word in column for word in _DECIMAL_WORDS):
        return f"{value:.3f}"
    if value.is_integer():
        return count(value)
    return f"{value:.3f}"
