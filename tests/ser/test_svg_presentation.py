"""Issue 12, item 4: figures carry no inline CSS, so they render under the site's strict
Content-Security-Policy (no 'unsafe-inline' for styles)."""

import io
import re
import xml.etree.ElementTree as ElementTree

import matplotlib
from matplotlib.figure import Figure

from models_app.ser.analysis import build_comparison
from models_app.ser.analysis.plots import comparison_figures
from models_app.ser.svg import SVG_NS, presentation_attributes
from tests.ser.analysis_dataset import CLASSES, judgments, predictions, utterances


def test_declarations_become_attributes_and_the_star_rule_moves_to_the_root():
    svg = (
        f'<svg xmlns="{SVG_NS}" xmlns:xlink="http://www.w3.org/1999/xlink"><defs>'
        '<style type="text/css">*{stroke-linejoin: round; stroke-linecap: butt}</style></defs>'
        '<path d="M0 0" style="fill: #ff0000; stroke-width: 0.8"/>'
        '<text x="1" style="font-size: 9px; font-family: \'DejaVu Sans\', sans-serif; text-anchor: middle">a</text>'
        '<use xlink:href="#m1" style="fill: none"/></svg>'
    )
    root = ElementTree.fromstring(presentation_attributes(svg))
    assert root.get("stroke-linejoin") == "round" and root.get("stroke-linecap") == "butt"
    path = root.find(f"{{{SVG_NS}}}path")
    assert path.attrib == {"d": "M0 0", "fill": "#ff0000", "stroke-width": "0.8"}
    text = root.find(f"{{{SVG_NS}}}text")
    assert text.get("font-family") == "'DejaVu Sans', sans-serif" and text.get("text-anchor") == "middle"
    assert text.get("font-size") == "9px" and text.text == "a"
    assert root.find(f"{{{SVG_NS}}}use").get("{http://www.w3.org/1999/xlink}href") == "#m1"
    assert root.find(f".//{{{SVG_NS}}}style") is None


def _matplotlib_svg() -> str:
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "t"}):
        figure = Figure(figsize=(3, 2))
        axes = figure.add_subplot()
        axes.errorbar([0, 1], [0.5, 0.6], yerr=[[0.1, 0.1], [0.1, 0.1]], marker="o", label="x")
        axes.imshow([[0, 1], [1, 0]])
        axes.axhline(0.5, linestyle="--")
        axes.legend()
        axes.set_title("Title", fontweight="bold")
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg")
    return buffer.getvalue()


def test_a_matplotlib_figure_keeps_every_declaration_as_an_attribute():
    original = _matplotlib_svg()
    declarations = [
        pair
        for css in re.findall(r'style="([^"]*)"', original)
        for pair in (d.split(":", 1) for d in css.split(";") if ":" in d)
    ]
    assert len(declarations) > 50
    converted = presentation_attributes(original)
    assert "style=" not in converted and "<style" not in converted
    root = ElementTree.fromstring(converted)
    attributes = [(name, value) for element in root.iter() for name, value in element.attrib.items()]
    for name, value in declarations:
        assert (name.strip(), value.strip().replace("&#x27;", "'")) in attributes or name.strip() == "font-family"
    assert "#1f77b4" in converted  # the line's colour survived


def test_no_report_figure_carries_inline_css():
    report = build_comparison(utterances(), predictions(), judgments(), CLASSES, seed=0)
    for name, svg in comparison_figures(report).items():
        assert "style=" not in svg and "<style" not in svg, name
        ElementTree.fromstring(svg)
