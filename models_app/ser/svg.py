"""SVG without inline CSS, so that figures render under a Content-Security-Policy that allows no
inline style (``style-src 'self'``, no ``'unsafe-inline'``).

matplotlib writes every colour, stroke and font as a ``style="..."`` attribute and adds a
``<style>`` element; a strict policy blocks both in a page (and in an SVG document served with
it), and the figure comes out black. Every property matplotlib uses (fill, stroke-*, opacity,
font-*, text-anchor...) is also an SVG presentation attribute, which no policy blocks: this moves
each declaration to the attribute of the same name. The ``*`` rule of matplotlib's ``<style>``
element moves to the root element, whose presentation attributes every element inherits.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree

SVG_NS = "http://www.w3.org/2000/svg"
_NAMESPACES = {
    "": SVG_NS,
    "xlink": "http://www.w3.org/1999/xlink",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "cc": "http://creativecommons.org/ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
}
for _prefix, _uri in _NAMESPACES.items():
    ElementTree.register_namespace(_prefix, _uri)

_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
XML_DECLARATION = '<?xml version="1.0" encoding="utf-8" standalone="no"?>\n'


def _declarations(css: str) -> list[tuple[str, str]]:
    pairs = []
    for declaration in css.split(";"):
        name, colon, value = declaration.partition(":")
        if colon and name.strip() and value.strip():
            pairs.append((name.strip(), value.strip()))
    return pairs


def presentation_attributes(svg: str) -> str:
    """``svg`` (one SVG document) with its inline CSS moved to presentation attributes.

    Returns the ``<svg>`` element alone, without XML declaration or doctype, ready to be put in an
    HTML page; prefix :data:`XML_DECLARATION` for a standalone file.
    """
    root = ElementTree.fromstring(svg)
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag == f"{{{SVG_NS}}}style":
                for selectors, body in _RULE.findall(child.text or ""):
                    if "*" in (s.strip() for s in selectors.split(",")):
                        for name, value in _declarations(body):
                            root.set(name, value)
                parent.remove(child)
    for element in root.iter():
        css = element.attrib.pop("style", None)
        if css:
            for name, value in _declarations(css):
                element.set(name, value)
    return ElementTree.tostring(root, encoding="unicode")
