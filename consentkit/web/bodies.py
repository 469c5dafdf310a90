"""Request bodies, read within bounds: their size, how deeply JSON nests, how many form fields.

Every endpoint that reads a body reads it here, so a hostile body is answered with a 413 or
a 400 whose JSON names the limit it broke (``{"error": ..., "limit": {"json_depth": 32}}``),
never with an exception. The nesting is measured before ``json.loads`` sees the text:
the decoder recurses once per bracket, and a few kilobytes of ``[`` exhaust Python's stack.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import Receive

from ..visit.request import CONTENT_LENGTH, Visit
from .bad_request import BadRequest

MAX_JSON_DEPTH = 32  # a query's filters nest 8 deep in about 20 levels; a consent needs 2
MAX_FORM_FIELDS = 64

# A JSON string, escapes included; possessive, so an unterminated one costs one pass.
_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


@dataclass(frozen=True, slots=True)
class BodyLimits:
    """What one endpoint accepts: at most ``size`` bytes, JSON nested at most ``json_depth``
    levels, a form of at most ``form_fields`` fields."""

    size: int
    json_depth: int = MAX_JSON_DEPTH
    form_fields: int = MAX_FORM_FIELDS

    async def read(self, visit: Visit, receive: Receive) -> bytes:
        """The whole body, or a 413 as soon as it is known to be too large."""
        declared = visit.headers.get(CONTENT_LENGTH)
        if declared is not None and not (declared.isascii() and declared.isdigit()):
            raise BadRequest(400, "Content-Length must be a number of bytes")
        if declared is not None and int(declared) > self.size:
            raise self.too_large()
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise BadRequest(400, "the client went away")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.size:
                raise self.too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def too_large(self) -> BadRequest:
        return BadRequest(
            413, f"the body is larger than {self.size} bytes", limit={"body_bytes": self.size}
        )

    def json_value(self, body: bytes) -> Any:
        """The JSON value of a body (UTF-8, as RFC 8259 requires); 400 when it is not one."""
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BadRequest(400, "the body is not valid JSON (UTF-8)") from None
        if nests_deeper(text, self.json_depth):
            raise BadRequest(
                400,
                f"the JSON nests deeper than {self.json_depth} levels",
                limit={"json_depth": self.json_depth},
            )
        try:
            return json.loads(text)
        except ValueError:
            raise BadRequest(400, "the body is not valid JSON") from None

    def json_object(self, body: bytes) -> dict[str, Any]:
        """A body that must be a JSON object (400 otherwise)."""
        fields = self.json_value(body)
        if not isinstance(fields, dict):
            raise BadRequest(400, "the body must be a JSON object")
        return fields

    def form(self, body: bytes) -> list[tuple[str, str]]:
        """The fields of an ``application/x-www-form-urlencoded`` body, in order."""
        text = body.decode("utf-8", "replace")
        if text.count("&") + 1 > self.form_fields:  # how parse_qsl counts them
            raise BadRequest(
                400,
                f"the form has more than {self.form_fields} fields",
                limit={"form_fields": self.form_fields},
            )
        return parse_qsl(text, max_num_fields=self.form_fields)


def nests_deeper(text: str, limit: int) -> bool:
    """Whether a JSON text nests more than ``limit`` levels; brackets inside strings are
    text. Strings are read as the decoder reads them, so any prefix it would parse (and
    recurse into) is measured exactly; what lies past a syntax error may be over-counted,
    which only turns one 400 into another."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for bracket in _BRACKET.findall(_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > limit:
            return True
    return False
