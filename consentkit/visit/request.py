"""One request as consentkit reads it: a ``Visit``.

The middleware reads a request once: the few headers consentkit needs (in one pass over the
scope), its two cookies and the consent they carry. What it learns travels as one ``Visit``
to the page path (``middleware.py``) or to an endpoint, instead of as loose pieces.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qsl

from starlette.types import Scope

from .. import clocks
from ..caches import forget_oldest
from ..consent.consent import Consent
from ..consent.cookies import DecisionCodec, is_visitor_id, read_cookies

COOKIE = b"cookie"
USER_AGENT = b"user-agent"
SEC_GPC = b"sec-gpc"
DNT = b"dnt"
FORWARDED_FOR = b"x-forwarded-for"
ORIGIN = b"origin"
REFERER = b"referer"
HOST = b"host"
ACCEPT = b"accept"
ACCEPT_LANGUAGE = b"accept-language"
CONTENT_TYPE = b"content-type"
CONTENT_LENGTH = b"content-length"
SEC_FETCH_SITE = b"sec-fetch-site"
AUTHORIZATION = b"authorization"
IF_NONE_MATCH = b"if-none-match"
ACCEPT_ENCODING = b"accept-encoding"

# What a page response comes to for a visitor (see returning.py): its kind, and for a
# counted page view the visitor's keyed hash (None: counted without one).
Plan = tuple[int, "int | None"]
# The cell a visitor's latest page view was counted in: (cell, batch, page, origin).
CountedCell = tuple[int, int, str, tuple[str, str, str]]

UNDECIDED, UNDECIDED_GPC = Consent.undecided(), Consent.undecided(gpc=True)
NEVER = float("inf")
_ALWAYS = frozenset({COOKIE, USER_AGENT, SEC_GPC})
_ENDPOINTS = frozenset(
    {
        FORWARDED_FOR,
        ORIGIN,
        REFERER,
        HOST,
        ACCEPT,
        ACCEPT_LANGUAGE,
        CONTENT_TYPE,
        CONTENT_LENGTH,
        SEC_FETCH_SITE,
        AUTHORIZATION,
        IF_NONE_MATCH,
        ACCEPT_ENCODING,
        DNT,
    }
)


class Known:
    """What the visitor-level headers of a request tell, worked out once per distinct set
    of them: every request of a returning visitor (same cookies, browser and address)
    shares one, so its cookies are parsed, and its traits derived, once.

    ``segment`` (country, device, browser, OS), ``is_bot`` and ``visitor`` (the keyed hash
    of the visitor-ID cookie) are filled in by the middleware the first time a page view
    needs them (``is_bot`` alone for a visitor with nothing else to count). For a visitor
    with an ID the segment may be a deferred one (``analytics.batch.DEFERRED``: the user
    agent classified at the flush), and ``is_bot`` then stays None. Known entries live in
    process memory only, a bounded number of them.
    """

    __slots__ = (
        "agent", "consent", "counted", "country_sent", "decision_cookie", "forgotten",
        "forwarded", "gpc", "gpc_sent", "headers", "id_cookie", "is_bot", "peer", "plan",
        "quiet", "seen", "segment", "until", "visitor",
    )  # fmt: skip

    def __init__(self, headers: dict[bytes, str]) -> None:
        self.headers = headers
        # The address and the values of User-Agent, X-Forwarded-For, Sec-GPC and the
        # country header it was worked out from, as sent (VisitReader.known_of compares
        # them; its Cookie header is the key it is found by)
        self.peer: object = None
        self.agent = self.forwarded = self.gpc_sent = self.country_sent = None
        self.decision_cookie, self.id_cookie = read_cookies(headers.get(COOKIE, ""))
        self.gpc = headers.get(SEC_GPC, "").strip() == "1"
        self.segment: tuple[str, str, str, str] | None = None
        self.is_bot: bool | None = None  # None: the user agent not classified yet
        self.quiet = False  # a person with no cookie of ours: a response has nothing to do
        self.visitor: int | None = None
        # What a page response of this visitor comes to, once the middleware has seen one
        # (``returning.py``); None until then, and again whenever the consent is read anew.
        self.plan: Plan | None = None
        # The consent the decision cookie carries, and until when it holds (it lapses
        # when the decision expires); before the first page view, none yet.
        self.consent: Consent = UNDECIDED_GPC if self.gpc else UNDECIDED
        self.until = 0.0 if self.decision_cookie else NEVER
        # When the decision was last checked against ``until`` (the clock read for the
        # visitor's latest request; unread while ``until`` is NEVER).
        self.seen = 0.0
        # The cell (Tally.count) that the visitor's latest counted page view went to, with
        # the batch, page and origin it holds for (one tuple, written at once): the next
        # page view of the same page and way in, in the same hour and batch, goes to the
        # same cell without looking its numbers up (returning.py).
        self.counted: CountedCell | None = None
        # Whether it has left VisitReader's entries (replaced, or the oldest forgotten):
        # a reference kept elsewhere (the compiled build's lane, fastlane.pyx) is then
        # no longer the one a request of its Cookie header finds.
        self.forgotten = False


class Visit:
    """One request: its scope, the headers consentkit read, and the visitor's consent.

    ``decision_cookie`` and ``id_cookie`` are the raw values of ``consentkit`` and
    ``consentkit_id`` as sent (None when absent), whatever they hold.
    """

    __slots__ = ("consent", "decision_cookie", "headers", "id_cookie", "known", "scope")

    def __init__(self, scope: Scope, known: Known, consent: Consent) -> None:
        self.scope = scope
        self.known = known
        self.headers = known.headers
        self.consent = consent
        self.decision_cookie = known.decision_cookie
        self.id_cookie = known.id_cookie

    @property
    def secure(self) -> bool:
        """Whether the request came over https (cookies then carry ``Secure``)."""
        return self.scope.get("scheme") == "https"

    @property
    def visitor_id(self) -> str | None:
        """The ``consentkit_id`` cookie when it is one of ours in form, else None."""
        return self.id_cookie if is_visitor_id(self.id_cookie) else None

    @property
    def stale_decision(self) -> bool:
        """A decision cookie that is forged or broken (a genuine outdated one is not: its
        decision ID still names the visitor in the ledger)."""
        return self.decision_cookie is not None and self.consent.decision_id is None

    @property
    def peer(self) -> str | None:
        """The address the request came from (a proxy's, behind one)."""
        client = self.scope.get("client")
        return client[0] if client else None

    def header(self, name: bytes) -> str:
        """A header consentkit read ("" when the request has none)."""
        return self.headers.get(name, "")

    @property
    def media_type(self) -> str:
        """The body's media type, without parameters, in lower case ("" when none)."""
        return self.header(CONTENT_TYPE).split(";")[0].strip().lower()

    def query(self, name: str) -> str | None:
        """The first value of one query-string parameter (endpoints only)."""
        query = self.scope.get("query_string", b"").decode("latin-1")
        return next((v for k, v in parse_qsl(query) if k == name), None)


KNOWN_VISITS = 4096  # distinct visitor-level header sets remembered (a few MB at most)


class VisitReader:
    """Reads a ``Visit`` from a scope; what it looks for is decided once, at start-up."""

    def __init__(
        self, codec: DecisionCodec, country_header: str | None, *, remembered: int = KNOWN_VISITS
    ) -> None:
        self.codec = codec
        self.clock = codec.clock
        # The system's clock, read from C where compiled (clocks.py); a clock of the
        # settings' own (a test's) is called as it is.
        self.system_clock = self.clock is time.time
        self.country_header = country_header.lower().encode("latin-1") if country_header else None
        self.country_size = len(self.country_header) if self.country_header else -1
        extra = {self.country_header} if self.country_header else set()
        self.page_headers = _ALWAYS | {FORWARDED_FOR} | extra
        self.endpoint_headers = _ALWAYS | _ENDPOINTS | extra
        self.remembered = remembered
        self._known: dict[object, Known] = {}  # Cookie header (or all the values) -> Known
        # The Referer (None: none sent) and Host ("" for none) of the request known_of read
        # last, for its caller to take at once (returning.py: where a counted page view came
        # from)
        self.referer: bytes | None = None
        self.host = b""

    def __len__(self) -> int:
        """How many visitors' header sets are remembered."""
        return len(self._known)

    def read(self, scope: Scope, *, endpoint: bool = False) -> Visit:
        if endpoint:
            known = Known(self._decoded(scope, self.endpoint_headers))
            return Visit(scope, known, self.codec.decode(known.decision_cookie, gpc=known.gpc))
        return self.read_page(scope)

    def read_page(self, scope: Scope) -> Visit:
        """A request for the app's own pages."""
        known = self.known_of(scope)
        return Visit(scope, known, known.consent)

    def known_of(self, scope: Scope) -> Known:
        """What is known of the visitor of a page request (every request of the site: keep
        it short)."""
        # What is known of a visitor is found by the peer's address and the values of the
        # headers that say who visits, as sent, each in its own place. A header name is
        # told by its length, then compared: no name is hashed (they are new objects on
        # every request).
        country, country_size = self.country_header, self.country_size
        client = scope.get("client")
        peer = client[0] if client else None
        cookie = agent = forwarded = gpc = country_value = referer = host = None
        more: list[tuple[bytes, bytes]] | None = None  # any of them sent again (HTTP/2
        # may split the Cookie header)
        for name, value in scope["headers"]:
            size = len(name)
            if size == 6 and name == COOKIE:
                if cookie is None:
                    cookie = value
                    continue
            elif size == 10 and name == USER_AGENT:
                if agent is None:
                    agent = value
                    continue
            elif size == 15 and name == FORWARDED_FOR:
                if forwarded is None:
                    forwarded = value
                    continue
            elif size == 7 and name == SEC_GPC:
                if gpc is None:
                    gpc = value
                    continue
            elif size == country_size and name == country:
                if country_value is None:
                    country_value = value
                    continue
            else:
                # The request's own (not the visitor's): where it came from, for the count
                if size == 7 and name == REFERER and referer is None:
                    referer = value
                elif size == 4 and name == HOST and host is None:
                    host = value
                continue
            if more is None:
                more = []
            more.append((name, value))
        # Keyed by the Cookie header alone where there is one (it is the visitor's own: an
        # ID and a signed decision); the other values are compared, not hashed. The same
        # cookies from another browser or address are another entry's (this one replaced).
        key: object
        if cookie is not None and more is None:
            key = cookie
            found = self._known.get(cookie)
            if found is not None and not (
                found.agent == agent and found.peer == peer and found.forwarded == forwarded
                and found.gpc_sent == gpc and found.country_sent == country_value
            ):  # fmt: skip
                found = None
        else:
            key = (peer, cookie, agent, forwarded, gpc, country_value, *(more or ()))
            found = self._known.get(key)
        if found is None:
            found = Known(self._decoded(scope, self.page_headers))
            found.peer, found.agent, found.forwarded = peer, agent, forwarded
            found.gpc_sent, found.country_sent = gpc, country_value
            replaced = self._known.pop(key, None)
            if replaced is not None:
                replaced.forgotten = True
            elif len(self._known) >= self.remembered:
                for forgotten in forget_oldest(self._known, self.remembered):
                    forgotten.forgotten = True
            self._known[key] = found
        self.referer, self.host = referer, host or b""
        until = found.until  # (infinite for a visitor with no decision: no clock to read)
        if until != NEVER:
            now = found.seen = clocks.wall() if self.system_clock else self.clock()
            if until <= now:  # a decision not verified yet, or lapsed
                found.consent = self.codec.decode(found.decision_cookie, gpc=found.gpc)
                found.until = self.codec.holds_until(found.decision_cookie)
                found.plan = None
        return found

    @staticmethod
    def _decoded(scope: Scope, wanted: frozenset[bytes] | set[bytes]) -> dict[bytes, str]:
        headers: dict[bytes, str] = {}
        for name, value in scope["headers"]:
            if name in wanted:
                text = value.decode("latin-1")
                # HTTP/2 may split the Cookie header; other repeats keep the first value.
                if name == COOKIE and name in headers:
                    headers[name] += "; " + text
                else:
                    headers.setdefault(name, text)
        return headers
