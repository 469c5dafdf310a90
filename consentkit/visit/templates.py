"""The route template of a path the browser sends (an engagement report's page), when the
app is Starlette's or FastAPI's.

A page view is counted under the template the framework matched for its request
(``pages.page_of``). A report sent later names its page by path, so the path is matched
here against the app's own routes, as Starlette's router would match a ``GET`` of it:
only patterns are compared (no endpoint runs, nothing is read). Other frameworks, a path
no route matches fully, a catch-all route (``{rest:path}``: a single-page app's pages are
told apart by their paths) or a route that raises: None, and the path is scrubbed instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.convertors import PathConvertor
from starlette.routing import BaseRoute, Match, Mount, Route, Router
from starlette.types import ASGIApp, Scope

from .pages import page_of

MAX_WRAPPERS = 32  # middleware between consentkit and the router


def find_routes(app: ASGIApp) -> Sequence[BaseRoute] | None:
    """The routes of the Starlette router that ``app`` leads to through its middleware."""
    here: Any = app
    for _ in range(MAX_WRAPPERS):
        if isinstance(here, Router):
            return here.routes
        router = getattr(here, "router", None)
        if isinstance(router, Router):
            return router.routes
        here = getattr(here, "app", None)
        if here is None:
            return None
    return None


class RouteTemplates:
    """``template(path)``: the route template a ``GET`` of ``path`` would be counted as."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def template(self, path: str) -> str | None:
        routes = find_routes(self.app)  # looked up each time: Starlette builds it lazily
        if not routes:
            return None
        scope: Scope = {"type": "http", "method": "GET", "path": path, "root_path": "",
                        "headers": [], "query_string": b""}  # fmt: skip
        try:
            return _matched(routes, scope)
        except Exception:  # a convertor of the app's that refuses the value: no template
            return None


def _matched(routes: Sequence[BaseRoute], scope: Scope) -> str | None:
    for route in routes:
        match, child = route.matches(scope)
        if match is not Match.FULL:
            continue
        inner = {**scope, **child}
        if isinstance(route, Mount):
            found = _matched(route.routes, inner) if route.routes else None
            if found is not None:
                return found
            continue
        if isinstance(route, Route) and not any(
            isinstance(convertor, PathConvertor) for convertor in route.param_convertors.values()
        ):
            return page_of({**inner, "route": route})
        return None  # a catch-all ({rest:path}, a single-page app's shell): the path says more
    return None
