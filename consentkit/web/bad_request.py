"""A request the endpoints refuse: a 4xx (or 503) answer naming what is wrong."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse, Response

NO_STORE = {"Cache-Control": "no-store"}


class BadRequest(Exception):
    """``field`` names the part of the request that is wrong; ``limit`` the bound it broke,
    e.g. ``{"form_fields": 64}``."""

    def __init__(
        self,
        status: int,
        message: str,
        field: str | None = None,
        *,
        limit: dict[str, int] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.field, self.limit = status, message, field, limit
        self.headers = headers or {}

    def response(self) -> Response:
        body: dict[str, Any] = {"error": self.message}
        if self.field:
            body["field"] = self.field
        if self.limit:
            body["limit"] = self.limit
        return AsciiJSONResponse(
            body, status_code=self.status, headers={**NO_STORE, **self.headers}
        )


class AsciiJSONResponse(JSONResponse):
    """JSON with every non-ASCII character escaped: an error may quote what the client sent,
    and an unpaired surrogate from a ``\\ud800`` escape cannot be encoded as UTF-8."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, allow_nan=False, separators=(",", ":")).encode("ascii")
