"""The few request headers consentkit reads, collected in one pass over the scope."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.types import Scope

COOKIE = b"cookie"
USER_AGENT = b"user-agent"
SEC_GPC = b"sec-gpc"
DNT = b"dnt"
FORWARDED_FOR = b"x-forwarded-for"
ORIGIN = b"origin"
REFERER = b"referer"
HOST = b"host"
ACCEPT_LANGUAGE = b"accept-language"
CONTENT_TYPE = b"content-type"
CONTENT_LENGTH = b"content-length"
SEC_FETCH_SITE = b"sec-fetch-site"
AUTHORIZATION = b"authorization"
IF_NONE_MATCH = b"if-none-match"

_ALWAYS = frozenset({COOKIE, USER_AGENT, SEC_GPC})
_ENDPOINTS = frozenset({
    FORWARDED_FOR, ORIGIN, REFERER, HOST, ACCEPT_LANGUAGE, CONTENT_TYPE, CONTENT_LENGTH,
    SEC_FETCH_SITE, AUTHORIZATION, IF_NONE_MATCH, DNT,
})


class HeaderReader:
    """Picks the wanted headers out of ``scope["headers"]``; decided once at start-up."""

    def __init__(self, country_header: str | None) -> None:
        self.country = country_header.lower().encode("latin-1") if country_header else None
        extra = {self.country} if self.country else set()
        self.page_headers = _ALWAYS | {FORWARDED_FOR} | extra
        self.endpoint_headers = _ALWAYS | _ENDPOINTS | extra

    def read(self, scope: Scope, wanted: frozenset[bytes]) -> dict[bytes, str]:
        found: dict[bytes, str] = {}
        for name, value in scope["headers"]:
            if name in wanted:
                text = value.decode("latin-1")
                # HTTP/2 may split the Cookie header; other repeats keep the first value.
                if name == COOKIE and name in found:
                    found[name] += "; " + text
                else:
                    found.setdefault(name, text)
        return found


def query_value(scope: Scope, name: str) -> str | None:
    """The first value of one query-string parameter (endpoints only: never on the page path)."""
    query = scope.get("query_string", b"").decode("latin-1")
    return next((v for k, v in parse_qsl(query) if k == name), None)
