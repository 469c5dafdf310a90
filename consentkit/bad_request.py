"""A request the endpoints refuse: a 4xx (or 503) answer naming what is wrong."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

NO_STORE = {"Cache-Control": "no-store"}


class BadRequest(Exception):
    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field = status, message, field

    def response(self) -> Response:
        body: dict[str, Any] = {"error": self.message}
        if self.field:
            body["field"] = self.field
        return JSONResponse(body, status_code=self.status, headers=NO_STORE)
