"""What the middleware does for particular frameworks, decided when it is built.

- Litestar's ``middleware=[DefineMiddleware(ConsentMiddleware, ...)]`` is refused with a
  message saying to wrap the app instead;
- a Quart app wrapped as ``app.asgi_app = ConsentMiddleware(app.asgi_app, ...)`` tells the
  middleware each request's URL rule, so that pages are counted by route template;
- template helpers (Django's ``{% consentkit_banner %}``) find the banner's URL at
  ``scope["consentkit"]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import ConfigurationError
from .visit.pages import ROUTE_KEY, template_of_rule

SITE_KEY = "consentkit"  # scope key of the site's consentkit links, for template helpers


@dataclass(frozen=True, slots=True)
class SiteLinks:
    """What template helpers need to link to consentkit, and ``consentkit.track()`` to count
    a goal (found at ``scope["consentkit"]``)."""

    prefix: str
    banner_script: str  # the banner's URL, with its content hash: cached for a year
    track: Callable[[Any, str], bool] | None = None  # what consentkit.track() calls


def refuse_inner_litestar_layer(app: object) -> None:
    """Litestar's middleware list puts the middleware inside each route: it would never see
    ``/consentkit/*`` (404) nor the lifespan, and would open one store per route."""
    module = type(app).__module__
    if module.startswith("litestar.") and module != "litestar.app":
        raise ConfigurationError(
            "ConsentMiddleware must wrap the whole Litestar app, not sit in its middleware "
            "list: app = ConsentMiddleware(Litestar(route_handlers=[...]), secret_key=...) "
            "(see docs/integrations/litestar.md)"
        )


def note_quart_routes(app: object) -> None:
    """When ``app`` is a Quart app's ``asgi_app``, make the app write each request's URL rule
    where the middleware reads the page's template (``visit/pages.py``)."""
    quart_app: Any = getattr(app, "__self__", None)
    if not type(quart_app).__module__.startswith("quart") or not hasattr(
        quart_app, "before_request"
    ):
        return
    from quart import request

    def note_route() -> None:
        rule = request.url_rule
        if rule is not None:
            scope: dict[str, Any] = request.scope  # type: ignore[assignment]
            scope[ROUTE_KEY] = template_of_rule(rule.rule)

    quart_app.before_request(note_route)
