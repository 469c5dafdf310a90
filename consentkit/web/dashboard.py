"""The analytics dashboard under the prefix: ``GET /consentkit/dashboard`` and its login.

Exists only when an ``admin_token`` is configured (``api.py`` answers 404 otherwise). A
visitor without the signed admin cookie gets a login form; posting the right token sets the
cookie (HttpOnly, SameSite=Strict) and redirects to the dashboard, whose script then calls
``POST /consentkit/api/query`` with that cookie. Pages carry no inline script or style and
are sent with ``Content-Security-Policy: default-src 'self'``.
"""

from __future__ import annotations

from html import escape

from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from .admin_auth import ADMIN_COOKIE, ADMIN_MAX_AGE, AdminAuth
from .bad_request import NO_STORE, BadRequest
from .bodies import BodyLimits
from .origin import same_origin
from .requests import COOKIE, IF_NONE_MATCH
from .static_files import StaticFile, load_static_files

FILES = {
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
}
LOGIN_BODY = BodyLimits(4096, form_fields=8)
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    **NO_STORE,
}

HEAD = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="robots" content="noindex">
<title>{title}</title>
<link rel="stylesheet" href="{base}/dashboard.css?v={css}">
{script}</head>
"""

LOGIN = """<body class="login">
<main>
<form method="post" action="{base}/login" class="card">
<h1>Analytics</h1>
<p>Enter the admin token to see the dashboard.</p>
{message}<label for="token">Admin token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required
 autofocus{invalid}>
<button type="submit">Log in</button>
</form>
</main>
</body></html>
"""

RANGES = [("day", "Today"), ("7d", "7 days"), ("30d", "30 days"), ("month", "This month"),
          ("12mo", "12 months"), ("custom", "Custom")]
PANELS = [("visit:country", "Countries", "Country"), ("visit:device", "Devices", "Device"),
          ("visit:browser", "Browsers", "Browser"), ("visit:os", "Operating systems", "OS"),
          ("event:page", "Pages", "Page")]

DASHBOARD = """<body data-api="{api}">
<header class="top">
<h1>Analytics</h1>
<form method="post" action="{base}/logout"><button type="submit" class="quiet">Log out</button>
</form>
</header>
<main>
<section class="controls" aria-label="Date range and filters">
<div class="ranges" role="group" aria-label="Date range">
{ranges}
</div>
<form id="custom" class="custom" hidden>
<label>From <input type="date" id="from" required></label>
<label>To <input type="date" id="to" required></label>
<button type="submit">Apply</button>
</form>
<ul id="filters" class="chips" aria-label="Active filters"></ul>
</section>
<section class="totals" aria-label="Totals">
<div class="total visitors"><span class="name">Visitors</span>
<strong id="total-visitors">&ndash;</strong></div>
<div class="total pageviews"><span class="name">Page views</span>
<strong id="total-pageviews">&ndash;</strong></div>
<div class="total"><span class="name">Views per visitor</span>
<strong id="total-ratio">&ndash;</strong></div>
</section>
<section class="panel wide" aria-labelledby="h-time">
<h2 id="h-time">Visitors and page views <span id="range-label" class="sub"></span></h2>
<div id="timechart" class="chart"></div>
<details class="fallback"><summary>Show as a table</summary>
<table id="timetable"><thead><tr><th scope="col">Time</th><th scope="col">Visitors</th>
<th scope="col">Page views</th></tr></thead><tbody></tbody></table></details>
</section>
<div class="grid">
{panels}
<section class="panel" id="consent" aria-labelledby="h-consent">
<h2 id="h-consent">Consent opt-in rate</h2>
<div class="body"><p class="empty">Loading…</p></div>
</section>
</div>
</main>
<p id="status" class="status" role="status" aria-live="polite"></p>
</body></html>
"""

PANEL = """<section class="panel" data-dimension="{dimension}" data-label="{label}"
 aria-labelledby="h-{id}">
<h2 id="h-{id}">{title}</h2>
<ol class="bars" aria-label="{title} by visitors"></ol>
</section>"""


def _range_buttons() -> str:
    return "\n".join(
        f'<button type="button" data-range="{key}" aria-pressed="false">{label}</button>'
        for key, label in RANGES
    )


def _panels() -> str:
    return "\n".join(
        PANEL.format(dimension=d, title=t, label=label, id=d.replace(":", "-"))
        for d, t, label in PANELS
    )


class Dashboard:
    """Serves ``dashboard``, ``dashboard/login``, ``dashboard/logout`` and the two files."""

    def __init__(self, auth: AdminAuth) -> None:
        self.auth = auth
        self.files: dict[str, StaticFile] = load_static_files("dashboard", FILES)
        self.body = DASHBOARD.replace("{ranges}", _range_buttons()).replace(
            "{panels}", _panels()
        )

    async def __call__(
        self, name: str, scope: Scope, receive: Receive, send: Send, headers: dict[bytes, str]
    ) -> None:
        # ``name`` is the path after "{prefix}/", so the prefix is what comes before it.
        prefix = scope["path"][: len(scope["path"]) - len(name) - 1]
        base = prefix + "/dashboard"
        page = name.removeprefix("dashboard").strip("/")
        method = "GET" if scope["method"] == "HEAD" else scope["method"]
        response: Response
        if page in self.files and method == "GET":
            response = self.static(self.files[page], scope, headers)
        elif page == "" and method == "GET":
            if self.auth.cookie_ok(headers.get(COOKIE)):
                response = self.page(
                    "Analytics · consentkit", base,
                    self.body.replace("{api}", escape(prefix + "/api/query"))
                    .replace("{base}", escape(base)),
                )
            else:
                response = self.login_form(base)
        elif page == "login" and method == "POST":
            response = await self.login(scope, receive, headers, base)
        elif page == "logout" and method == "POST":
            response = self.logout(scope, headers, base)
        elif page in ("login", "logout") and method == "GET":
            response = RedirectResponse(base, status_code=303, headers=NO_STORE)
        elif page in ("", "login", "logout", *self.files):
            allowed = "POST" if page in ("login", "logout") else "GET"
            response = Response("use " + allowed, 405, headers={"Allow": allowed})
        else:
            response = Response("not found", 404, headers=NO_STORE)
        await response(scope, receive, send)

    def page(self, title: str, base: str, body: str, status: int = 200, *,
             script: bool = True) -> Response:
        tag = (
            f'<script src="{escape(base)}/dashboard.js?v={self.files["dashboard.js"].version}"'
            " defer></script>\n"
        ) if script else ""
        head = HEAD.format(title=escape(title), base=escape(base), script=tag,
                           css=self.files["dashboard.css"].version)
        return HTMLResponse(head + body, status, headers=PAGE_HEADERS)

    def login_form(self, base: str, message: str = "", status: int = 200) -> Response:
        note = invalid = ""
        if message:
            note = f'<p class="error" id="error" role="alert">{escape(message)}</p>\n'
            invalid = ' aria-invalid="true" aria-describedby="error"'

        body = LOGIN.format(base=escape(base), message=note, invalid=invalid)
        return self.page("Log in · consentkit", base, body, status, script=False)

    async def login(
        self, scope: Scope, receive: Receive, headers: dict[bytes, str], base: str
    ) -> Response:
        try:
            same_origin(scope, headers)
            form = LOGIN_BODY.form(await LOGIN_BODY.read(receive, headers))
        except BadRequest as error:
            if error.status == 403:
                return self.login_form(base, "Cross-origin login refused.", 403)
            return self.login_form(base, error.message, error.status)
        token = next((value for key, value in form if key == "token"), "")
        if not self.auth.token_matches(token):
            return self.login_form(base, "That token is not right. Please try again.", 401)
        response = RedirectResponse(base, status_code=303, headers=NO_STORE)
        response.headers.append(
            "Set-Cookie", self.auth.login_cookie(secure=scope.get("scheme") == "https")
        )
        return response

    def logout(self, scope: Scope, headers: dict[bytes, str], base: str) -> Response:
        try:
            same_origin(scope, headers)
        except BadRequest:
            return Response("cross-origin requests may not log out", 403, headers=NO_STORE)
        response = RedirectResponse(base, status_code=303, headers=NO_STORE)
        attributes = self.auth.cookie_attributes.replace(f"Max-Age={ADMIN_MAX_AGE}", "Max-Age=0")
        response.headers.append("Set-Cookie", f"{ADMIN_COOKIE}={attributes}")
        return response

    @staticmethod
    def static(file: StaticFile, scope: Scope, headers: dict[bytes, str]) -> Response:
        versioned = f"v={file.version}".encode() == scope.get("query_string", b"")
        cache = "public, max-age=31536000, immutable" if versioned else "no-cache"
        extra = {"ETag": file.etag, "Cache-Control": cache,
                 "X-Content-Type-Options": "nosniff"}
        if headers.get(IF_NONE_MATCH) == file.etag:
            return Response(status_code=304, headers=extra)
        return Response(file.body, media_type=file.media_type, headers=extra)
