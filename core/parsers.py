"""Request parsers: DRF's, with one gap closed.

Python's `json` module raises `RecursionError`, not `ValueError`, for arrays or objects nested
deeper than the interpreter's recursion limit (`[[[[...]]]]`, a few kilobytes). DRF's JSONParser only
turns `ValueError` into a 400, so such a body was a 500. Found by reliability/tests/test_malformed_input.py.
"""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
