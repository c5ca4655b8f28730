"""The API's JSON parser: DRF's, with a body nested too deeply for the decoder answered 400.

Python's JSON decoder recurses once per level of nesting; ``"[" * 100000`` exhausts the stack
and raises RecursionError, which DRF's parser does not catch (it catches ValueError only), so
such a body answered 500. Nothing the API accepts nests more than a few levels.
"""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the body is nested too deeply.") from exc
