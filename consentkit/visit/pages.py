"""Which page a request counts as: the route template when the framework knows it.

A raw path can carry a person's identifier (``/users/alice@example.com``,
``/orders/8f14e45fceea167a``), so it is never counted as it is: the route template is, as
each framework names it, and where none is known, identifier-like path segments are
replaced with ``{id}``.

Frameworks name the template in different places of the ASGI scope:

- Starlette and FastAPI: ``scope["route"].path_format`` (under the mount's ``root_path``);
- Litestar: ``scope["path_template"]``;
- Django and Quart: ``scope["consentkit.route"]``, written by consentkit's Django request
  middleware and by the hook the middleware adds to a Quart app.

The ``page=`` option of the middleware (a callable ``scope -> str | None``) comes first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from starlette.types import Scope

MAX_PAGE = 512  # longer paths are truncated; no real route template is this long
ROUTE_KEY = "consentkit.route"  # where an integration writes the route template it found
ID = "{id}"

PageOption = Callable[[Scope], "str | None"]

_UUID = re.compile(
    r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
    r"[0-9a-fA-F]{12}"
)
_HEX = re.compile(r"[0-9a-fA-F]{12,}")  # object ids, digests, hex tokens
_TOKEN = re.compile(r"[A-Za-z0-9_\-+/=.~]{20,}")  # base64 / base64url tokens, JWT parts
_DIGITS = re.compile(r"\d")
_NUMBER_RUN = re.compile(r"\d{5,}")  # an account or order number inside a segment
_EMAIL = re.compile(r"@|%40", re.IGNORECASE)  # e-mail addresses, encoded or not


def looks_like_identifier(segment: str) -> bool:
    """Whether a path segment looks like it names a person or a record.

    Numbers, UUIDs, long hex strings, long tokens (base64, JWT) with digits in them, runs
    of five or more digits, and anything with an ``@`` (e-mail addresses). Words and slugs
    (``pricing``, ``hello-world``, ``python-3-12-notes``) are kept.
    """
    if not segment:
        return False
    if segment.isdigit() or _EMAIL.search(segment):
        return True
    if _UUID.fullmatch(segment) or _NUMBER_RUN.search(segment):
        return True
    if _HEX.fullmatch(segment) and _DIGITS.search(segment):
        return True
    # A long token mixes letters and digits with no word structure: a slug of words has a
    # hyphen or underscore at most every dozen characters or so.
    if _TOKEN.fullmatch(segment) and _DIGITS.search(segment):
        words = re.split(r"[-_.~]", segment)
        return max(len(word) for word in words) >= 16
    return False


@lru_cache(maxsize=4096)
def scrub_path(path: str) -> str:
    """The path with each identifier-like segment replaced by ``{id}``."""
    segments = path[:MAX_PAGE].split("/")
    return "/".join(ID if looks_like_identifier(s) else s for s in segments)


def page_of(scope: Scope, option: PageOption | None = None) -> str:
    """The page a request counts as: see the module's docstring for the order."""
    if option is not None:
        chosen = option(scope)
        if isinstance(chosen, str) and chosen:
            return scrub_path(chosen) if chosen[:1] == "/" else chosen[:MAX_PAGE]
    route = scope.get("route")
    # Starlette, FastAPI: path_format is the path without convertors ("/items/{item_id}"
    # for "/items/{item_id:int}"), relative to the mount
    template = None if route is None else getattr(route, "path_format", None)
    if isinstance(template, str):
        page: str = template
        root: str = scope.get("root_path", "")
        if root:  # under a mount
            mount = root[len(scope.get("app_root_path", root)) :]
            page = mount + page if page else mount
        if not page:
            return "/"
        return page if len(page) <= MAX_PAGE else page[:MAX_PAGE]
    for key in ("path_template", ROUTE_KEY):  # Litestar; Django and Quart through consentkit
        template = scope.get(key)
        if isinstance(template, str) and template:
            return template[:MAX_PAGE]
    path: str = scope["path"]
    return scrub_path(path)


# <int:item_id> in Django's path() and in Werkzeug's (Quart's, Flask's) rules
_CONVERTER = re.compile(r"<(?:[^<>:]+:)?([A-Za-z_][A-Za-z0-9_]*)>")
_REGEX_GROUP = re.compile(r"\(\?P<([A-Za-z_][A-Za-z0-9_]*)>[^()]*(?:\([^()]*\)[^()]*)*\)")
_REGEX_LEFT = re.compile(r"[\\^$*+?()\[\]{}|]")


@lru_cache(maxsize=1024)
def template_of_rule(rule: str) -> str:
    """A Werkzeug (Quart) URL rule as a template: ``/items/<int:item_id>`` is
    ``/items/{item_id}``."""
    return _CONVERTER.sub(r"{\1}", rule)[:MAX_PAGE]


@lru_cache(maxsize=1024)
def django_template(route: str, script_name: str = "") -> str | None:
    """A Django URL pattern (``resolver_match.route``) as a template like Starlette's.

    ``items/<int:item_id>/`` becomes ``/items/{item_id}/``; a ``re_path`` pattern such as
    ``^articles/(?P<year>[0-9]{4})/$`` becomes ``/articles/{year}/``. None when a regular
    expression cannot be read as a plain template (the path is scrubbed instead).
    """
    template = route
    if "(?P<" in route or "^" in route or "$" in route or "\\" in route:  # re_path()
        template = _REGEX_GROUP.sub(r"{\1}", route.replace("^", "").replace("$", ""))
        template = template.replace("\\.", ".").replace("\\-", "-").replace("\\/", "/")
        if _REGEX_LEFT.search(template.replace("{", "").replace("}", "")):
            return None
    else:
        template = _CONVERTER.sub(r"{\1}", route)
    return (script_name.rstrip("/") + "/" + template.lstrip("/"))[:MAX_PAGE]
