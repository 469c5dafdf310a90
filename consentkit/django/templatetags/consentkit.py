"""``{% load consentkit %}``: ``{% consentkit_banner %}`` is the banner's one script tag.

Needs ``"consentkit.django"`` in ``INSTALLED_APPS`` and the ``request`` context processor
(Django's default project template has it). The tag links to the banner of the running
``ConsentMiddleware``, with its prefix and content hash (cached for a year); ``nonce=``
adds a CSP nonce: ``{% consentkit_banner nonce=request.csp_nonce %}``.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html

from ...frameworks import SITE_KEY, SiteLinks

register = template.Library()

DEFAULT_SCRIPT = "/consentkit/banner.js"


@register.simple_tag(takes_context=True)
def consentkit_banner(context: Any, nonce: str | None = None) -> str:
    request = context.get("request")
    links = getattr(request, "scope", {}).get(SITE_KEY) if request is not None else None
    src = links.banner_script if isinstance(links, SiteLinks) else DEFAULT_SCRIPT
    if nonce:
        return format_html('<script src="{}" defer nonce="{}"></script>', src, nonce)
    return format_html('<script src="{}" defer></script>', src)
