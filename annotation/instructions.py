"""A campaign's instructions: Markdown written by a researcher, shown to assessors as HTML.

The text comes from a researcher, but it is shown to every assessor, so it is rendered with
Python-Markdown and then sanitised with nh3 (the Ammonia sanitiser): only the tags and attributes
below survive, raw HTML and ``javascript:`` links do not.
"""

import markdown
import nh3

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "b", "i", "code", "pre", "blockquote",
    "ul", "ol", "li", "h2", "h3", "h4", "a", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}


def render_instructions(text: str) -> str:
    """Safe HTML for ``text`` (Markdown). Headings start at h2: the page has its own h1."""
    html = markdown.markdown(text or "", extensions=["tables", "sane_lists"], output_format="html")
    html = html.replace("<h1>", "<h2>").replace("</h1>", "</h2>")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
