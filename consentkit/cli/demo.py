"""The demo site behind ``consentkit demo``.

Every page carries the one banner tag and a strict Content-Security-Policy, to show that
the banner needs no inline script or style.
"""

from __future__ import annotations

import html

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from ..consent.categories import Category, Cookie
from ..middleware import ConsentMiddleware

CSP = "default-src 'self'; img-src 'self' data:"
PAGES = {
    "/": (
        "Home",
        "Welcome to the consentkit demo. Choose in the banner; nothing is counted "
        "until you allow analytics.",
    ),
    "/about": (
        "About",
        "consentkit asks for consent, proves it, and counts page views "
        "without keeping anything that identifies you.",
    ),
    "/pricing": ("Pricing", "Free and open source."),
}
_STYLE = """body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem}
nav a{margin-right:1rem}.gated{padding:.5rem;border:1px dashed #888}
footer{margin-top:2rem;padding-top:1rem;border-top:1px solid #ccc}
footer button{margin-right:1rem}"""
_GATED = "document.getElementById('gated-status').textContent='Analytics script ran.';"


def _page(request: Request, title: str, body: str) -> HTMLResponse:
    consent = request.state.consent
    granted = ", ".join(sorted(consent.categories))
    links = " ".join(f'<a href="{path}">{name}</a>' for path, (name, _) in PAGES.items())
    links += ' <a href="/blog/hello-world">Blog</a>'
    document = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} · consentkit demo</title>
<link rel="stylesheet" href="/demo.css">
<script src="/consentkit/banner.js" defer></script>
</head><body>
<nav>{links}</nav>
<h1>{html.escape(title)}</h1>
<p>{html.escape(body)}</p>
<p>The server sees your consent as: <strong>{html.escape(granted)}</strong>
{"(decided)" if consent.decided else "(not decided yet)"}.</p>
<p class="gated" id="gated-status">Analytics script not run (no consent yet).</p>
<script type="text/plain" data-category="analytics" data-src="/gated.js"></script>
<footer><nav aria-label="Privacy">
<button type="button" data-consentkit-open>Cookie preferences</button>
<a href="/consentkit/me">Your privacy: what this site holds about you</a>
<a href="/consentkit/cookies">Cookies we use</a>
</nav></footer>
</body></html>"""
    return HTMLResponse(document, headers={"Content-Security-Policy": CSP})


async def page(request: Request) -> HTMLResponse:
    title, body = PAGES[request.url.path]
    return _page(request, title, body)


async def blog_post(request: Request) -> HTMLResponse:
    slug = request.path_params["slug"]
    return _page(request, f"Blog: {slug}", "Every post is counted under /blog/{slug}.")


async def demo_css(request: Request) -> Response:
    return Response(_STYLE, media_type="text/css")


async def gated_js(request: Request) -> Response:
    return Response(_GATED, media_type="text/javascript")


def build_app(*, store: str, secret_key: str, admin_token: str | None) -> Starlette:
    routes = [Route(path, page) for path in PAGES]
    routes += [
        Route("/blog/{slug}", blog_post),
        Route("/demo.css", demo_css),
        Route("/gated.js", gated_js),
    ]
    consent = Middleware(
        ConsentMiddleware,
        secret_key=secret_key,
        store=store,
        categories=[
            Category(
                "analytics",
                title="Analytics",
                description="Counts visits without identifying you.",
                cookies=[
                    Cookie(
                        "_ga",
                        purpose="Google Analytics: tells visits apart",
                        lifetime="2 years",
                        provider="Google",
                    ),
                    Cookie(
                        "_ga_*",
                        purpose="Google Analytics: session state",
                        lifetime="2 years",
                        provider="Google",
                    ),
                ],
            ),
            Category(
                "marketing",
                title="Marketing",
                description="Measures campaigns and personalises ads.",
                cookies=[
                    Cookie(
                        "_fbp",
                        purpose="Meta Pixel: ad measurement",
                        lifetime="90 days",
                        provider="Meta",
                    )
                ],
            ),
        ],
        policy_version="2026-11",
        admin_token=admin_token,
    )
    return Starlette(routes=routes, middleware=[consent])
