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
from starlette.types import Receive

from ..errors import QueryError, StoreError
from ..store import Store
from ..visit.request import AUTHORIZATION, COOKIE, Visit
from .admin_auth import AdminAuth
from .bad_request import NO_STORE, BadRequest
from .bodies import BodyLimits
from .dashboard import Dashboard
from .routes import Handler, Routes

logger = logging.getLogger("consentkit")

QUERY_BODY = BodyLimits(65536)
MAX_BATCH = 16


class AdminEndpoints:
    """``api/query``, ``api/cookies`` and the dashboard, behind the admin token; without
    one configured, none of them exists (404)."""

    def __init__(
        self,
        *,
        store: Store,
        auth: AdminAuth | None,
        prefix: str,
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
        table: dict[str, dict[str, Handler]] = {}
        if auth is not None:
            table = {"api/query": {"POST": self.query}, "api/cookies": {"GET": self.cookies}}
            table.update(Dashboard(auth, prefix=prefix).routes.table)
        self.routes = Routes(table)

    def authorize(self, visit: Visit) -> None:
        """401 unless the request carries the admin token (header) or the login cookie."""
        assert self.auth is not None
        if not (
            self.auth.bearer_ok(visit.headers.get(AUTHORIZATION))
            or self.auth.cookie_ok(visit.headers.get(COOKIE))
        ):
            raise BadRequest(
                401,
                "send the admin token as 'Authorization: Bearer <token>'",
                headers={"WWW-Authenticate": "Bearer"},
            )

    async def cookies(self, visit: Visit, receive: Receive) -> Response:
        self.authorize(visit)
        return JSONResponse(self.cookie_report(), headers=NO_STORE)

    async def query(self, visit: Visit, receive: Receive) -> Response:
        """One query, or a batch: a JSON list of up to ``MAX_BATCH`` queries answered as a
        list in the same order, each an answer or ``{"error", "field"}`` (the dashboard asks
        for everything it shows in one request)."""
        self.authorize(visit)
        body = QUERY_BODY.json_value(await QUERY_BODY.read(visit, receive))
        if isinstance(body, list):
            if not 1 <= len(body) <= MAX_BATCH:
                raise BadRequest(400, f"a batch holds 1 to {MAX_BATCH} queries", "query")
            answers = await self._run(lambda: [self._answer_or_error(q) for q in body])
            return JSONResponse(answers, headers=NO_STORE)
        try:
            answer = await self._run(lambda: self._answer(body))
        except QueryError as error:
            raise BadRequest(400, error.message, error.field) from None
        return JSONResponse(answer, headers=NO_STORE)

    def _answer(self, query: Any) -> dict[str, Any]:
        answer: dict[str, Any] = self.store.query(
            query,
            k_anonymity=self.k_anonymity,
            time_zone=self.time_zone,
            categories=self.categories,
        )
        return answer

    def _answer_or_error(self, query: Any) -> dict[str, Any]:
        try:
            return self._answer(query)
        except QueryError as error:
            return {"error": error.message, "field": error.field}

    async def _run(self, work: Callable[[], Any]) -> Any:
        """The queries in a worker thread; a store that cannot answer is a 503."""
        try:
            return await anyio.to_thread.run_sync(work)
        except StoreError as error:
            # The detail names the database (user, host, schema): for the log, not the client.
            logger.warning("consentkit: a query failed: %s", error)
            raise BadRequest(503, "the store cannot answer now; please retry") from None
