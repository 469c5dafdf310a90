"""A returning visitor's page request, in as few steps as it takes.

The middleware's response hook (``response_hook.py``) decides, for each page
response, which cookies to drop, set or expire and whether to count a page view. For most
requests of a site that decision is the same as last time: the same visitor (the same
cookies, browser and address: one ``Known``) with the same consent. Once the hook has run
for a visitor, ``plan_of`` writes down what its page responses come to, as a ``Plan``:

- ``VARY_ONLY``: nothing but ``Vary: Cookie`` (a visitor without cookies, or one who
  refused and is not counted);
- ``BOT``: a crawler's page view, counted apart;
- ``COUNT``: a page view counted in the visitor's segment, with the keyed hash of its ID.

``ReturningPath.page`` then takes the visitor's next page requests whole, from reading
the visitor to the response, and ``respond`` carries out the plan without the hook; a
response the plan does not cover (one that sets cookies the server enforces, or that has
a ``Vary`` header of its own) still goes through the hook. The plan is dropped whenever
the consent is read anew (the decision lapsed, say), and a visitor whose responses add a
cookie (a new visitor ID, an expired decision) never has one.

This module is on every request's path: it is one of those compiled to C when a compiler
is at hand at install time (``consentkit/compiled.py``); as Python it is the reference,
and the same.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import clocks
from .analytics.batch import NO_ORIGIN
from .analytics.cube import NUMBER_BITS
from .analytics.tally import Tally
from .consent.categories import ANALYTICS
from .consent.consent import Consent
from .frameworks import SITE_KEY
from .visit.pages import PageOption, page_of
from .visit.request import Known, Plan, Visit, VisitReader
from .visit.sources import SourceReader, origin_of

logger = logging.getLogger("consentkit")

VARY_ONLY, BOT, COUNT = 1, 2, 3
HOUR_SHIFT = 2 * NUMBER_BITS  # a packed cell's hour: cell >> HOUR_SHIFT (cube.pack)
# Known.until of a visitor without a decision: visit/request.py's NEVER, which its compiled
# build keeps as a C constant (not importable from there)
NEVER = float("inf")

Headers = list[tuple[bytes, bytes]]
# The response headers read (header_kind compares the two common spellings, lower case and
# Django's "Content-Type"; another is lowered and looked up here).
OTHER, CONTENT_TYPE, VARY, SET_COOKIE = -1, 0, 1, 2
READ = {b"content-type": CONTENT_TYPE, b"vary": VARY, b"set-cookie": SET_COOKIE}
VARY_COOKIE = (b"vary", b"Cookie")
VARY_LIST = [VARY_COOKIE]  # (never changed: added to a response's headers as a new list)
# The same, as the compiled build's C constants for respond (the names above are the
# module's, imported by response_hook.py and the tests): compared as C ints, not looked up
# in the module's dict and compared as objects on every page
_OTHER, _CONTENT_TYPE, _VARY = OTHER, CONTENT_TYPE, VARY
_VARY_COOKIE, _VARY_LIST = VARY_COOKIE, VARY_LIST


def header_kind(name: bytes) -> int:
    """Which of the response headers read a header is (``OTHER`` for the rest): told by its
    length, then compared as servers and frameworks spell it; no name is hashed (they are
    new objects each time) unless it is spelled some other way."""
    size = len(name)
    if size == 12:
        if name == b"content-type" or name == b"Content-Type":
            return CONTENT_TYPE
    elif size == 4:
        if name == b"vary" or name == b"Vary":
            return VARY
    elif size == 10:
        if name == b"set-cookie" or name == b"Set-Cookie":
            return SET_COOKIE
    else:
        return OTHER
    return READ.get(name.lower(), OTHER)


def is_html(content_type: bytes) -> bool:
    """Whether a Content-Type names HTML, in any case (as spelled most often first: the
    compiled build tests a prefix of bytes in C, without a slice)."""
    return content_type.startswith(b"text/html") or content_type[:9].lower() == b"text/html"


def is_page_view(message: Message, scope: Scope) -> bool:
    """A ``GET`` answered 2xx (with HTML, the caller checks): what a page view is."""
    status: int = message["status"]
    return scope["method"] == "GET" and 200 <= status < 300


_start: object = None  # the "http.response.start" the app sends (see is_response_start)


def is_response_start(kind: object) -> bool:
    """Whether a message's type is ``http.response.start``. A framework sends the same
    string object each time (a constant of its code), so it is told by identity once
    seen; the body's type (one character shorter) by its length."""
    global _start
    if kind is _start:
        return True
    if type(kind) is str and len(kind) == 19 and kind == "http.response.start":
        _start = kind
        return True
    return False


def plan_of(known: Known, consent: Consent, *, count_refused: bool) -> Plan | None:
    """What the visitor's page responses come to, with nothing to set or expire; None when
    a response may have a cookie to add, or the visitor's traits are not derived yet."""
    if known.quiet:
        return VARY_ONLY, None
    if known.decision_cookie is not None and consent.decision_id is None:
        return None  # a broken decision cookie, expired on each response
    if consent.lapsed_grants:
        return None  # cookies of a lapsed grant to clear
    analytics = ANALYTICS in consent.categories
    if count_refused or known.id_cookie is not None or analytics:
        if known.segment is None or (not analytics and known.id_cookie is not None):
            return None  # traits not derived yet; an ID cookie to expire
        if known.is_bot:
            return BOT, None
        if not analytics:
            return COUNT, None  # counted without an ID (count_refused)
        return None if known.visitor is None else (COUNT, known.visitor)  # else a new ID
    if known.is_bot is None:
        return None
    return (BOT, None) if known.is_bot else (VARY_ONLY, None)


class ReturningPath:
    """Carries out a visitor's plan on a page response (see the module's docstring)."""

    def __init__(
        self,
        *,
        app: ASGIApp,
        reader: VisitReader,
        links: object,
        tally: Tally,
        clock: Callable[[], float],
        sources: SourceReader | None,
        page: PageOption | None,
        vary_cookie: bool,
        enforcing: bool,
        hook: Callable[[Message, Visit], None],
        prefix: str,
        endpoints: ASGIApp,
    ) -> None:
        self.app = app
        self.prefix = prefix  # the middleware's own paths ("/consentkit/")
        self.endpoints = endpoints  # what serves them
        self.reader = reader
        self.links = links  # what the scope carries for template helpers (SITE_KEY)
        self.tally = tally
        self.clock = clock
        self.system_clock = clock is time.time  # (read from C where compiled: clocks.py)
        self.sources = sources  # None: where visitors come from is not read
        self.page_option = page
        self.vary_cookie = vary_cookie
        self.enforcing = enforcing  # cookies set by the app are checked (by the hook)
        self.hook = hook

    def page(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        """A request for one of the app's pages (over HTTP): the app's awaitable, its
        response planned, or through the middleware's hook (``HookedSend``) when there is
        no plan for the visitor yet. A request under the middleware's prefix goes to
        ``endpoints`` instead (the middleware's ``asgi``)."""
        path: str = scope["path"]
        if path.startswith(self.prefix):
            return self.endpoints(scope, receive, send)
        reader = self.reader
        known = reader.known_of(scope)
        state = scope.get("state")
        if state is None:
            state = scope["state"] = {}
        state["consent"] = known.consent
        scope[SITE_KEY] = self.links
        if known.plan is None:
            visit = Visit(scope, known, known.consent)
            return self.app(scope, receive, HookedSend(self.hook, visit, send))
        planned = PlannedSend.__new__(PlannedSend)
        planned.path, planned.scope, planned.known, planned.send = self, scope, known, send
        planned.referer, planned.host = reader.referer, reader.host  # (this request's)
        return self.app(scope, receive, planned)

    def respond(
        self, message: Message, scope: Scope, known: Known, referer: bytes | None, host: bytes
    ) -> None:
        """A planned page response on its way out (``referer`` and ``host``: the request's
        headers, None and "" when it has none)."""
        raw: Headers = message.get("headers") or []
        content_type = b""
        for name, value in raw:
            kind = header_kind(name)
            if kind == _OTHER:
                continue
            if kind == _CONTENT_TYPE:
                content_type = value
            elif kind == _VARY or self.enforcing:
                self.hook(message, Visit(scope, known, known.consent))
                return
        if not is_html(content_type):
            return  # not a page: nothing to add, nothing to count
        if self.vary_cookie:
            # (a new list: the app's own may be sent again, by a response kept for reuse)
            message["headers"] = raw + _VARY_LIST if type(raw) is list else [*raw, _VARY_COOKIE]
        self.count(message, scope, known, referer, host)

    def count(
        self, message: Message, scope: Scope, known: Known, referer: bytes | None, host: bytes
    ) -> None:
        """The page view of a planned HTML response counted, as its plan says (``respond``
        has looked at the response's headers)."""
        plan = known.plan
        if plan is None:
            return
        what: int = plan[0]
        if what == VARY_ONLY:
            return
        if not is_page_view(message, scope):
            return
        # (the clock was read for this request where the visitor has a decision: known_of)
        if known.until != NEVER:
            now = known.seen
        else:
            now = clocks.wall() if self.system_clock else self.clock()
        hour = int(now // 3600)
        if what == BOT:
            self.tally.count_bot(hour)
            return
        segment = known.segment
        assert segment is not None  # (a COUNT plan is made once the traits are derived)
        try:  # counting must never break the page it counts
            origin = (
                NO_ORIGIN if self.sources is None
                else origin_of(scope.get("query_string", b""), referer, host)
            )  # fmt: skip
            page = page_of(scope, self.page_option)
            tally = self.tally
            last = known.counted  # the cell of the visitor's page view before, if any
            if last is not None:
                cell, batch, page_before, origin_before = last
                if (batch == tally.batch and cell >> HOUR_SHIFT == hour
                        and page_before == page
                        and (origin_before is origin or origin_before == origin)):  # fmt: skip
                    tally.count_cell(cell, plan[1])
                    return
            cell = tally.count(hour, segment, page, plan[1], origin)
            known.counted = (cell, tally.batch, page, origin) if cell >= 0 else None
        except Exception:
            logger.exception("consentkit: a page view could not be counted")


class Entry:
    """``ConsentMiddleware``'s base: the call a server makes for every request, compiled
    with the request path. A request over HTTP, once the middleware has started, goes to
    the returning path's ``page`` as it is (its awaitable handed to the server: no
    coroutine of the middleware's own to create and step through), the rest to ``asgi``."""

    started: bool
    returning: ReturningPath | None

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        returning = self.returning
        if returning is not None and self.started and scope["type"] == "http":
            return returning.page(scope, receive, send)
        return self.asgi(scope, receive, send)

    def asgi(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        """Every kind of request (the subclass's coroutine)."""
        raise NotImplementedError


class HookedSend:
    """The ``send`` a page request's app gets while its visitor has no plan: the response
    start goes through the middleware's hook (``response_hook.py``) on its way out."""

    __slots__ = ("hook", "send", "visit")

    def __init__(self, hook: Callable[[Message, Visit], None], visit: Visit, send: Send) -> None:
        self.hook = hook
        self.visit = visit
        self.send = send

    def __call__(self, message: Message) -> Awaitable[None]:
        # (as PlannedSend: send's own awaitable handed back)
        if is_response_start(message["type"]):
            self.hook(message, self.visit)
        return self.send(message)


class PlannedSend:
    """The ``send`` a planned page request's app gets: the response start goes through
    ``ReturningPath.respond`` on its way out. Made by ``ReturningPath.page``, which sets
    its fields (no ``__init__``: the compiled build would parse its arguments on every page
    request)."""

    __slots__ = ("host", "known", "path", "referer", "scope", "send")
    path: ReturningPath
    scope: Scope
    known: Known
    send: Send
    referer: bytes | None
    host: bytes

    def __call__(self, message: Message) -> Awaitable[None]:
        # A plain call handing back send's own awaitable: no coroutine of its own to
        # create and step through for each message.
        if is_response_start(message["type"]):
            self.path.respond(message, self.scope, self.known, self.referer, self.host)
        return self.send(message)
