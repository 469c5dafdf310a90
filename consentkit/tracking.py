"""``consentkit.track(request, "signup")``: a goal reached, counted from the server."""

from __future__ import annotations

from typing import Any

from .errors import ConfigurationError
from .frameworks import SITE_KEY


def track(request: Any, name: str) -> bool:
    """Count the goal ``name`` (``"signup"``, ``"purchase"``) for this request's visitor, on
    the request's page, as ``consentkit.track("signup")`` does in the browser.

    ``request`` is the framework's request (Starlette, FastAPI, Litestar, Quart, Django
    under ASGI) or the ASGI scope. Counted only while the visitor grants analytics and
    never for a crawler; returns whether it was counted. A name that cannot be a goal
    (empty, longer than 64 characters, or looking like an identifier) is a ``ValueError``.
    """
    # The ASGI scope itself (a framework's request is a view of it; Starlette's is a
    # Mapping too): what the middleware's request path reads is a dict.
    scope = getattr(request, "scope", request)
    links = scope.get(SITE_KEY) if isinstance(scope, dict) else None
    if links is None or links.track is None:
        raise ConfigurationError(
            "consentkit.track() needs a request that went through ConsentMiddleware"
        )
    tracked: bool = links.track(scope, name)
    return tracked
