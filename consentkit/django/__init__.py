"""Django, as Django people expect it: ``request.consent`` in views, route patterns counted.

Django is served over ASGI with the middleware wrapping the application, in ``asgi.py``::

    from django.core.asgi import get_asgi_application
    from consentkit import ConsentMiddleware

    application = ConsentMiddleware(get_asgi_application(), secret_key=..., ...)

and, in ``settings.py``::

    INSTALLED_APPS = [..., "consentkit.django"]        # the {% consentkit_banner %} tag
    MIDDLEWARE = [..., "consentkit.django.ConsentRequestMiddleware"]

``ConsentRequestMiddleware`` puts the visitor's ``Consent`` on ``request.consent`` and tells
the ASGI middleware the URL pattern that matched (``items/<int:pk>/`` is counted as
``/items/{pk}/``), so page views are counted by pattern, never by a path with an ID in it.
It needs ASGI: under WSGI there is no ASGI middleware to read the consent, and it says so.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.deprecation import MiddlewareMixin

from ..consent.consent import Consent
from ..visit.pages import ROUTE_KEY, django_template

__all__ = ["ConsentRequestMiddleware"]


class ConsentRequestMiddleware(MiddlewareMixin):
    """Django middleware: ``request.consent``, and the route pattern for the page count.

    Works in sync and async middleware stacks alike (``MiddlewareMixin``).
    """

    def process_request(self, request: Any) -> None:
        request.consent = consent_of(request)

    def process_view(self, request: Any, view_func: Any, view_args: Any, view_kwargs: Any) -> None:
        match = getattr(request, "resolver_match", None)
        route = getattr(match, "route", None)
        if isinstance(route, str):
            template = django_template(route, request.META.get("SCRIPT_NAME", ""))
            if template is not None:
                request.scope[ROUTE_KEY] = template


def consent_of(request: Any) -> Consent:
    """The consent that ``ConsentMiddleware`` read for this request, or a clear error."""
    scope = getattr(request, "scope", None)
    if not isinstance(scope, dict):
        raise ImproperlyConfigured(
            "consentkit needs Django served over ASGI (uvicorn, hypercorn, daphne) with "
            "application = ConsentMiddleware(get_asgi_application(), ...) in asgi.py; "
            "under WSGI there is no consent to read"
        )
    consent = scope.get("state", {}).get("consent")
    if not isinstance(consent, Consent):
        raise ImproperlyConfigured(
            "no consent on this request: wrap the ASGI application in asgi.py, "
            "application = ConsentMiddleware(get_asgi_application(), ...)"
        )
    return consent
