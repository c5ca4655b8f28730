"""Heatmaps (confusion matrices, error against disagreement) written as SVG directly.

A heatmap is rectangles and text: writing them takes milliseconds, where matplotlib's layout and
text measuring took about 0.4 s a matrix, most of a fresh report's time at IEMOCAP's size (issue
16). Colours still come from matplotlib's colour maps, so the figures look as before. Every
property is a presentation attribute (no ``style``), so a strict Content-Security-Policy keeps it.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

import matplotlib
import numpy as np

from ..svg import XML_DECLARATION
from . import formats

FONT = "DejaVu Sans, Arial, sans-serif"
# Sizes in CSS pixels (SVG user units). The cells of a matrix span GRID_PX (a 4-class matrix: 4 x
# 96 px); with many classes they shrink, never below two lines of readable text.
GRID_PX = 384
MIN_CELL_PX = 56
CELL_FONT_PX = 14
LABEL_FONT_PX = 13
TITLE_FONT_PX = 15
MARGIN_LEFT = 110  # row labels and the y axis title
MARGIN_TOP = 40  # the title
MARGIN_BOTTOM = 96  # rotated column labels and the x axis title
MARGIN_RIGHT = 16
EMPTY_COLOUR = "#eeeeee"


def _hex(rgba) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(round(255 * c)) for c in rgba[:3]))


def _text(x, y, text, size, *, anchor="middle", fill="#000000", weight="normal", transform="") -> str:
    extra = f' transform="{transform}"' if transform else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" font-family="{FONT}" text-anchor="{anchor}" '
        f'fill="{fill}" font-weight="{weight}" dominant-baseline="middle"{extra}>{escape(text)}</text>'
    )


def heatmap_svg(
    values: Sequence[Sequence[float | None]],
    counts: Sequence[Sequence[int]],
    *,
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    title: str,
    x_label: str,
    y_label: str,
    cmap: str = "Blues",
    rotate_columns: bool = True,
) -> str:
    """One heatmap: each cell coloured by its value in [0, 1] and labelled with the value as a
    percentage and its count; an empty cell (None) grey and blank. Returns a standalone SVG."""
    data = np.array([[np.nan if v is None else float(v) for v in line] for line in values], dtype=float)
    n_rows, n_columns = data.shape if data.size else (len(row_labels), len(column_labels))
    cell = max(MIN_CELL_PX, GRID_PX // max(1, n_rows, n_columns))
    grid_w, grid_h = cell * n_columns, cell * n_rows
    width = MARGIN_LEFT + grid_w + MARGIN_RIGHT
    height = MARGIN_TOP + grid_h + MARGIN_BOTTOM
    colour_map = matplotlib.colormaps[cmap]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title, {chr(34): "&quot;"})}">',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        _text(MARGIN_LEFT + grid_w / 2, MARGIN_TOP / 2, title, TITLE_FONT_PX, weight="bold"),
    ]
    for r in range(n_rows):
        for c in range(n_columns):
            x, y = MARGIN_LEFT + c * cell, MARGIN_TOP + r * cell
            value = data[r, c]
            fill = EMPTY_COLOUR if np.isnan(value) else _hex(colour_map(value))
            parts.append(
                f'<rect id="cell" x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{fill}" '
                'stroke="#ffffff" stroke-width="1"/>'
            )
            if np.isnan(value):
                continue
            ink = "#ffffff" if value > 0.6 else "#000000"
            centre_x, centre_y = x + cell / 2, y + cell / 2
            share, count = formats.percent(value), f"({formats.count(counts[r][c])})"
            parts.append(_text(centre_x, centre_y - CELL_FONT_PX * 0.6, share, CELL_FONT_PX, fill=ink))
            parts.append(_text(centre_x, centre_y + CELL_FONT_PX * 0.7, count, CELL_FONT_PX - 2, fill=ink))
    for r, label in enumerate(row_labels):
        parts.append(_text(MARGIN_LEFT - 8, MARGIN_TOP + (r + 0.5) * cell, label, LABEL_FONT_PX, anchor="end"))
    for c, label in enumerate(column_labels):
        x, y = MARGIN_LEFT + (c + 0.5) * cell, MARGIN_TOP + grid_h + 10
        if rotate_columns:
            parts.append(_text(x, y, label, LABEL_FONT_PX, anchor="end", transform=f"rotate(-45 {x:.1f} {y:.1f})"))
        else:
            parts.append(_text(x, y + 4, label, LABEL_FONT_PX))
    parts.append(_text(MARGIN_LEFT + grid_w / 2, height - 14, x_label, LABEL_FONT_PX))
    y_centre = MARGIN_TOP + grid_h / 2
    parts.append(_text(18, y_centre, y_label, LABEL_FONT_PX, transform=f"rotate(-90 18 {y_centre:.1f})"))
    parts.append("</svg>")
    return XML_DECLARATION + "\n".join(parts)
