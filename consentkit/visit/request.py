"""One request as consentkit reads it: a ``Visit``.

The middleware reads a request once: the few headers consentkit needs (in one pass over the
scope), its two cookies and the consent they carry. What it learns travels as one ``Visit``
to the page path (``middleware.py``) or to an endpoint, instead of as loose pieces.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.types import Scope

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


class Visit:
    """One request: its scope, the headers consentkit read, and the visitor's consent.

    ``decision_cookie`` and ``id_cookie`` are the raw values of ``consentkit`` and
    ``consentkit_id`` as sent (None when absent), whatever they hold.
    """

    __slots__ = ("consent", "decision_cookie", "headers", "id_cookie", "scope")

    def __init__(
        self,
        scope: Scope,
        headers: dict[bytes, str],
        consent: Consent,
        decision_cookie: str | None,
        id_cookie: str | None,
    ) -> None:
        self.scope = scope
        self.headers = headers
        self.consent = consent
        self.decision_cookie = decision_cookie
        self.id_cookie = id_cookie

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


class VisitReader:
    """Reads a ``Visit`` from a scope; what it looks for is decided once, at start-up."""

    def __init__(self, codec: DecisionCodec, country_header: str | None) -> None:
        self.codec = codec
        self.country_header = country_header.lower().encode("latin-1") if country_header else None
        extra = {self.country_header} if self.country_header else set()
        self.page_headers = _ALWAYS | {FORWARDED_FOR} | extra
        self.endpoint_headers = _ALWAYS | _ENDPOINTS | extra

    def read(self, scope: Scope, *, endpoint: bool = False) -> Visit:
        wanted = self.endpoint_headers if endpoint else self.page_headers
        headers: dict[bytes, str] = {}
        for name, value in scope["headers"]:
            if name in wanted:
                text = value.decode("latin-1")
                # HTTP/2 may split the Cookie header; other repeats keep the first value.
                if name == COOKIE and name in headers:
                    headers[name] += "; " + text
                else:
                    headers.setdefault(name, text)
        decision_cookie, id_cookie = read_cookies(headers.get(COOKIE, ""))
        gpc = headers.get(SEC_GPC, "").strip() == "1"
        consent = self.codec.decode(decision_cookie, gpc=gpc)
        return Visit(scope, headers, consent, decision_cookie, id_cookie)
