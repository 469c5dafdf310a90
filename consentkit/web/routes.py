"""Endpoints by name and method, answered from one table built at start-up."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from starlette.responses import JSONResponse, Response
from starlette.types import Receive

from ..visit.request import Visit
from .bad_request import NO_STORE, BadRequest

Handler = Callable[[Visit, Receive], Awaitable[Response]]


class Routes:
    """Endpoints by name and method, built once: ``HEAD`` is answered as ``GET``, an
    unknown name with 404, another method with 405, a ``BadRequest`` with its answer."""

    def __init__(self, table: Mapping[str, Mapping[str, Handler]]) -> None:
        self.table = {name: dict(methods) for name, methods in table.items()}

    def add(self, name: str, methods: Mapping[str, Handler]) -> None:
        """One more endpoint (built beside the table, as ``event`` is)."""
        self.table[name] = dict(methods)

    def __contains__(self, name: str) -> bool:
        return name in self.table

    async def respond(self, name: str, visit: Visit, receive: Receive) -> Response:
        methods = self.table.get(name)
        if methods is None:
            return JSONResponse({"error": "not found"}, 404, headers=NO_STORE)
        method = visit.scope["method"]
        handler = methods.get("GET" if method == "HEAD" else method)
        if handler is None:
            allowed = ", ".join(methods)
            return JSONResponse({"error": f"use {allowed}"}, 405, headers={"Allow": allowed})
        try:
            return await handler(visit, receive)
        except BadRequest as error:
            return error.response()
