"""The response hook: what the middleware does to a page response, worked out in full.

On ``http.response.start`` of a page request: add ``Vary: Cookie`` to HTML, drop the
cookies the visitor has not allowed (``CookieEnforcer``), set or expire consentkit's own
(a broken decision, lapsed grants, the visitor ID), and count the page view or a
crawler's. When it had no cookie to add, it writes down the visitor's plan, and the
visitor's next page responses are carried out from the plan instead (``returning.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.types import Message

from .analytics.batch import DEFERRED
from .analytics.buffer import PageViewBuffer
from .consent.categories import ANALYTICS
from .consent.cookies import DECISION_COOKIE, ID_COOKIE, CookieHeaders, new_token
from .consent.enforcement import CookieEnforcer
from .consent.withdrawal import CookieExpiry
from .returning import (
    CONTENT_TYPE,
    OTHER,
    VARY,
    VARY_COOKIE,
    Headers,
    header_kind,
    is_html,
    is_page_view,
    plan_of,
)
from .visit.classify import VisitorClassifier
from .visit.pages import PageOption, page_of
from .visit.request import COOKIE, USER_AGENT, Visit
from .visit.sources import NO_ORIGIN, SourceReader
from .visit.useragent import MAX_UA_LENGTH

logger = logging.getLogger("consentkit")


class ResponseHook:
    """The middleware's response hook (see the module's docstring)."""

    def __init__(
        self,
        *,
        vary_cookie: bool,
        count_refused: bool,
        enforcer: CookieEnforcer,
        expiry: CookieExpiry,
        cookies: CookieHeaders,
        classifier: VisitorClassifier,
        counter: PageViewBuffer,
        visitor_key: Callable[[str], int | None],
        sources: SourceReader | None,
        page: PageOption | None,
        clock: Callable[[], float],
    ) -> None:
        self.vary_cookie = vary_cookie
        self.count_refused = count_refused
        self.enforcer = enforcer
        self.expiry = expiry
        self.cookies = cookies
        self.classifier = classifier
        self.counter = counter
        self.visitor_key = visitor_key
        self.sources = sources
        self.page = page
        self.clock = clock

    def on_response(self, message: Message, visit: Visit) -> None:
        """Adds ``Vary: Cookie``, drops the cookies the visitor has not allowed, sets or
        expires consentkit's own, counts the page view, and writes down the visitor's plan
        when nothing was added."""
        raw: Headers = message.get("headers") or []
        content_type = b""
        vary: tuple[bytes, bytes] | None = None  # the last Vary header, which gets ", Cookie"
        varies_on_cookie = sets_cookies = False
        for name, value in raw:
            kind = header_kind(name)
            if kind == OTHER:
                continue
            if kind == CONTENT_TYPE:
                content_type = value
            elif kind == VARY:
                vary = (name, value)
                lowered = value.lower()
                varies_on_cookie = (
                    varies_on_cookie or lowered.find(b"cookie") != -1 or lowered.find(b"*") != -1
                )
            else:
                sets_cookies = True
        changed = False
        html = is_html(content_type)
        if html and self.vary_cookie and not varies_on_cookie:
            if vary is not None:  # (rare: found again, from the end)
                raw = list(raw)
                at = len(raw) - 1 - [tuple(h) for h in reversed(raw)].index(vary)
                raw[at] = (vary[0], vary[1] + b", Cookie")
            else:
                raw = [*raw, VARY_COOKIE]
            changed = True
        if sets_cookies and self.enforcer.active:
            kept = self.enforcer.enforce(list(raw), visit.consent)
            if kept is not None:
                raw, changed = kept, True
        added: list[str] = []
        known = visit.known
        if not known.quiet:  # (a visitor without cookies who is no crawler skips all this)
            if visit.decision_cookie is not None and visit.consent.decision_id is None:
                added.append(self.cookies.expire(DECISION_COOKIE, secure=visit.secure))
            elif visit.consent.lapsed_grants:  # expired or outdated: cleared as on withdrawal
                added += self.expiry.headers(
                    visit.consent.lapsed_grants,
                    visit.header(COOKIE),
                    secure=visit.secure,
                    only_sent=True,
                )
            # (a visitor without analytics and without an ID cookie is not counted, unless
            # refusals are: the call is skipped, this being most requests of most sites)
            if (self.count_refused or visit.id_cookie is not None
                    or ANALYTICS in visit.consent.categories):  # fmt: skip
                try:
                    self.count(message, visit, html, added)
                except Exception:  # counting must never break the page it counts
                    logger.exception("consentkit: a page view could not be counted")
            elif html:  # a crawler is counted apart (bots_filtered), decision or none
                if known.is_bot is None:  # its user agent not classified yet: once per visitor
                    known.is_bot = self.classifier.agent(visit.header(USER_AGENT)).is_bot
                    # a person without cookies: nothing to clear, count or expire, ever
                    known.quiet = not known.is_bot and known.decision_cookie is None
                if known.is_bot and is_page_view(message, visit.scope):
                    self.counter.count_bot(int(self.clock() // 3600))
        if added:
            raw = [*raw, *[(b"set-cookie", value.encode("latin-1")) for value in added]]
        elif known.plan is None:  # no cookie of ours: the same next time, without this hook
            known.plan = plan_of(known, visit.consent, count_refused=self.count_refused)
        if added or changed:
            message["headers"] = raw

    def count(self, message: Message, visit: Visit, html: bool, added: list[str]) -> None:
        """Count the page view, when it is one; ``added`` gets the cookies to set."""
        analytics = ANALYTICS in visit.consent.categories
        id_cookie = visit.id_cookie
        if not analytics and id_cookie is not None:
            added.append(self.cookies.expire(ID_COOKIE, secure=visit.secure))
        scope = visit.scope
        if not (html and is_page_view(message, scope)):
            return
        known = visit.known
        segment = known.segment
        if segment is None:  # the first page view of these headers: derive the traits once
            known.visitor = self.visitor_key(id_cookie) if id_cookie else None
            country = self.classifier.country(visit)
            if analytics and known.visitor is not None:
                # Whether this is a crawler changes nothing in the response (no ID to
                # give): the user agent is classified at the flush, off the request path
                # (a new header costs the native engine several times more here, its
                # automata evicted from the processor's caches by the request's own work).
                # The header stays in memory until then, and never reaches the store.
                header = visit.header(USER_AGENT)[:MAX_UA_LENGTH]
                segment = known.segment = (country, DEFERRED, header, "")
            else:
                agent = self.classifier.agent(visit.header(USER_AGENT))
                known.is_bot = agent.is_bot
                segment = known.segment = (country, agent.device, agent.browser, agent.os)
        if known.is_bot:  # every crawler is counted apart, decision or none
            self.counter.count_bot(int(self.clock() // 3600))
            return
        if not analytics and not self.count_refused:
            return
        hour = int(self.clock() // 3600)
        visitor = None
        if analytics:
            visitor = known.visitor
            if visitor is None:  # no ID yet, or not one of ours: give a fresh one
                fresh = new_token()
                added.append(self.cookies.visitor_id(fresh, secure=visit.secure))
                visitor = self.visitor_key(fresh)
        origin = NO_ORIGIN if self.sources is None else self.sources.origin(scope)
        self.counter.count(hour, segment, page_of(scope, self.page), visitor, origin)
