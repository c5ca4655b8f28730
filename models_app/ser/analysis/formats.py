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
