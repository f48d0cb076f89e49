"""DRF parsers shared by every API view."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class SafeJSONParser(JSONParser):
    """JSONParser that answers 400 for absurdly nested documents.

    Python's json raises RecursionError (not ValueError) for `[[[[...]]]]` nested deeper than
    the interpreter's recursion limit; DRF's parser would let that become a 500.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the document is nested too deeply.") from exc
