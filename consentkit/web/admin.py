"""The admin side under the prefix: ``POST /consentkit/api/query``, ``GET
/consentkit/api/cookies`` (undeclared cookies the application set) and the dashboard.

Answers 404 when no ``admin_token`` is configured (the feature does not exist), 401 without
valid credentials, 400 naming the wrong field of a bad query. The query runs in a worker
thread through the same ``store.query`` that Python code and the CLI call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from typing import Any

import anyio.to_thread
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from ..errors import QueryError, StoreError
from ..store import Store
from .admin_auth import AdminAuth
from .bad_request import NO_STORE, BadRequest
from .bodies import BodyLimits
from .dashboard import Dashboard
from .requests import AUTHORIZATION, COOKIE

logger = logging.getLogger("consentkit")

QUERY_BODY = BodyLimits(65536)
_METHODS = {"api/query": "POST", "api/cookies": "GET"}


class AdminEndpoints:
    def __init__(
        self,
        *,
        store: Store,
        auth: AdminAuth | None,
        k_anonymity: int | None,
        time_zone: str,
        categories: Collection[str],
        cookie_report: Callable[[], dict[str, object]] = dict,
    ) -> None:
        self.store = store
        self.categories = categories
        self.cookie_report = cookie_report
        self.auth = auth
        self.k_anonymity = k_anonymity
        self.time_zone = time_zone
        self.dashboard = Dashboard(auth) if auth is not None else None

    def authorized(self, headers: dict[bytes, str]) -> bool:
        assert self.auth is not None
        return self.auth.bearer_ok(headers.get(AUTHORIZATION)) or self.auth.cookie_ok(
            headers.get(COOKIE)
        )

    async def __call__(
        self, name: str, scope: Scope, receive: Receive, send: Send, headers: dict[bytes, str]
    ) -> None:
        response: Response
        if self.dashboard is not None and name.partition("/")[0] == "dashboard":
            await self.dashboard(name, scope, receive, send, headers)
            return
        method = _METHODS.get(name)
        if self.auth is None or method is None:
            response = JSONResponse({"error": "not found"}, 404, headers=NO_STORE)
        elif scope["method"] != method:
            response = JSONResponse({"error": f"use {method}"}, 405, headers={"Allow": method})
        elif not self.authorized(headers):
            response = JSONResponse(
                {"error": "send the admin token as 'Authorization: Bearer <token>'"}, 401,
                headers={"WWW-Authenticate": "Bearer", **NO_STORE},
            )
        elif name == "api/cookies":
            response = JSONResponse(self.cookie_report(), headers=NO_STORE)
        else:
            try:
                response = JSONResponse(await self.query(receive, headers), headers=NO_STORE)
            except BadRequest as error:
                response = error.response()
        await response(scope, receive, send)

    async def query(self, receive: Receive, headers: dict[bytes, str]) -> dict[str, Any]:
        query = QUERY_BODY.json_value(await QUERY_BODY.read(receive, headers))
        try:
            answer: dict[str, Any] = await anyio.to_thread.run_sync(
                lambda: self.store.query(
                    query, k_anonymity=self.k_anonymity, time_zone=self.time_zone,
                    categories=self.categories,
                )
            )
        except QueryError as error:
            raise BadRequest(400, error.message, error.field) from None
        except StoreError as error:
            # The detail names the database (user, host, schema): for the log, not the client.
            logger.warning("consentkit: a query failed: %s", error)
            raise BadRequest(503, "the store cannot answer now; please retry") from None
        return answer
