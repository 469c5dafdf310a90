"""Custom events (goals) and single-page apps' page views: ``POST /consentkit/event`` and
the server's ``consentkit.track(request, "signup")`` count through one ``EventCounter``.

Counted only while the visitor grants analytics, never for a crawler; kept like a page
view (hour, country, device, browser, OS, page), with the goal's name beside it. A page
sent by the browser is a path: its query string and fragment are dropped and segments that
look like identifiers become ``{id}``, as for a page without a route template.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.types import Receive

from ..analytics.buffer import PageViewBuffer
from ..consent.categories import ANALYTICS
from ..visit.classify import VisitorClassifier
from ..visit.pages import looks_like_identifier, scrub_path
from ..visit.request import REFERER, USER_AGENT, Visit
from .bad_request import NO_STORE, BadRequest
from .bodies import BodyLimits
from .origin import is_local_path, origin_of, same_origin

MAX_GOAL = 64  # characters of a goal's name
EVENT_BODY = 2048  # bytes of an event's body


def goal_name(name: object) -> str:
    """A goal's name as it is kept; ValueError saying why when it cannot be one (too long,
    a control character, or something that looks like it names a person)."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError("a goal's name must be a non-empty string")
    name = name.strip()
    if len(name) > MAX_GOAL:
        raise ValueError(f"a goal's name must be at most {MAX_GOAL} characters")
    if not name.isprintable():
        raise ValueError("a goal's name must not contain control characters")
    if looks_like_identifier(name):
        raise ValueError(f"{name!r} looks like an identifier, not a goal such as 'signup'")
    return name


def page_path(path: str) -> str:
    """A path sent by a browser as a page: no query string or fragment, identifiers scrubbed."""
    return scrub_path(path.split("?", 1)[0].split("#", 1)[0]) or "/"


class EventCounter:
    """Counts goals and page views that reach the server outside a page's own request."""

    def __init__(
        self,
        *,
        buffer: PageViewBuffer,
        classifier: VisitorClassifier,
        visitor_key: Callable[[str], int | None],
        clock: Callable[[], float],
        page: Callable[[Visit], str],
    ) -> None:
        self.buffer = buffer
        self.classifier = classifier
        self.visitor_key = visitor_key
        self.clock = clock
        self.page = page
        self.limits = BodyLimits(EVENT_BODY, json_depth=4)

    def count(self, visit: Visit, page: str, event: str = "") -> bool:
        """Count a goal (``event``) or a page view on ``page``; False when it is not counted
        (analytics not granted, or a crawler)."""
        if ANALYTICS not in visit.consent.categories:
            return False
        agent = self.classifier.agent(visit.header(USER_AGENT))
        if agent.is_bot:
            return False
        visitor = self.visitor_key(visit.id_cookie) if visit.id_cookie else None
        segment = (self.classifier.country(visit), agent.device, agent.browser, agent.os)
        self.buffer.count(int(self.clock() // 3600), segment, page, visitor, event=event)
        return True

    def track(self, visit: Visit, name: str) -> bool:
        """``consentkit.track(request, name)``: a goal on the request's own page."""
        return self.count(visit, self.page(visit), goal_name(name))

    async def receive(self, visit: Visit, receive: Receive) -> Response:
        """``POST /consentkit/event``: ``{"name": "signup"}`` (on the page the browser is
        on, or ``"page"``), or ``{"pageview": "/path"}`` from a single-page app."""
        same_origin(visit)
        if visit.media_type not in ("application/json", "text/plain", ""):
            raise BadRequest(415, "send application/json")
        fields = self.limits.json_object(await self.limits.read(visit, receive))
        kinds = [kind for kind in ("name", "pageview", "engagement") if kind in fields]
        if len(kinds) != 1:
            raise BadRequest(400, 'send one of {"name": "signup"} or {"pageview": "/path"}')
        unknown = sorted(set(fields) - {"name", "pageview", "page"})
        if kinds == ["engagement"] or unknown:
            raise BadRequest(400, f"{(unknown or kinds)[0]!r} is not counted here", "body")
        if "pageview" in fields:
            counted = self.count(visit, _sent_page(fields["pageview"], "pageview"))
        else:
            try:
                name = goal_name(fields["name"])
            except ValueError as error:
                raise BadRequest(400, str(error), "name") from None
            page = fields.get("page")
            where = _sent_page(page, "page") if page is not None else _referring_page(visit)
            counted = self.count(visit, where, name)
        return JSONResponse({"counted": counted}, 202, headers=NO_STORE)


def _sent_page(value: Any, field: str) -> str:
    if not is_local_path(value):
        raise BadRequest(400, "must be a path on this site, such as /pricing", field)
    return page_path(value)


def _referring_page(visit: Visit) -> str:
    """The page the browser was on (same-origin: the origin check passed)."""
    referer = visit.header(REFERER)
    if origin_of(referer) is None:
        return "/"
    path = referer.split("://", 1)[1].partition("/")[2]
    return page_path("/" + path)
