"""Same origin: who may change something, and where a form post may send the browser back.

An origin is scheme, host and port (RFC 6454): ``https://example.com`` is not
``http://example.com``, nor ``http://example.com:8080``. The site's own origin is the
request's: ``scope["scheme"]`` (behind a TLS proxy, the server must be told, e.g. uvicorn's
``--proxy-headers``, as the ``Secure`` cookie attribute already requires) and the ``Host``
header. Every endpoint that changes state calls ``same_origin``; a redirect goes only to a
path on this site (``back_to``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ..visit.request import HOST, ORIGIN, REFERER, SEC_FETCH_SITE, Visit
from .bad_request import BadRequest

DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_REDIRECT_PATH = 2048

Origin = tuple[str, str, int]  # scheme, host (lower case), port


def origin_of(url: str) -> Origin | None:
    """The origin of an absolute http(s) URL; None for anything else (``null`` included)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port that is not a number, an unclosed "[" ...
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname, DEFAULT_PORTS[scheme] if port is None else port


def site_origin(visit: Visit) -> Origin | None:
    """This request's origin, as the browser that sent it sees the site."""
    scheme = str(visit.scope.get("scheme", "http"))
    host = visit.header(HOST)
    if not host:
        server = visit.scope.get("server")
        if not server:
            return None
        name = f"[{server[0]}]" if ":" in str(server[0]) else str(server[0])  # IPv6
        host = f"{name}:{server[1]}" if server[1] is not None else name
    if any(c in host for c in "/\\?#@"):
        return None
    return origin_of(f"{scheme}://{host}")


def same_origin(visit: Visit) -> None:
    """Refuse (403) a request another site made the browser send: its ``Origin`` (or, when
    a browser sends none, its ``Referer``) must be this site's origin. A request with
    neither is not a browser's cross-site request, and passes."""
    fetch_site = visit.headers.get(SEC_FETCH_SITE)
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        raise BadRequest(403, "cross-origin requests may not change consent")
    source = visit.headers.get(ORIGIN) or visit.headers.get(REFERER)
    if source is None:
        return
    origin = origin_of(source)
    if origin is None or origin != site_origin(visit):
        raise BadRequest(403, "cross-origin requests may not change consent")


def is_local_path(path: object) -> bool:
    """A path on this site: never another host (``//evil``, ``/\\evil``) or a scheme, and
    nothing a browser strips or rewrites before it resolves the URL (tabs, newlines,
    backslashes)."""
    return (
        isinstance(path, str)
        and path.startswith("/")
        and not path.startswith("//")
        and len(path) <= MAX_REDIRECT_PATH
        and all(" " < c < "\x7f" and c != "\\" for c in path)
    )


def back_to(visit: Visit, next_path: object = None) -> str:
    """Where a no-JS form post returns: its ``next`` field, or the page it came from when
    that page is on this site (same origin), or ``/``. Always a path on this site."""
    if is_local_path(next_path):
        assert isinstance(next_path, str)
        return next_path
    referer = visit.header(REFERER)
    if referer and origin_of(referer) == site_origin(visit):
        parts = urlsplit(referer)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if is_local_path(path):
            return path
    return "/"
