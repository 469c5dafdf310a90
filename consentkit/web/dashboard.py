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
from starlette.types import Receive

from ..visit.request import COOKIE, Visit
from .admin_auth import ADMIN_COOKIE, ADMIN_MAX_AGE, AdminAuth
from .bad_request import NO_STORE, BadRequest
from .bodies import BodyLimits
from .origin import same_origin
from .routes import Routes
from .static_files import StaticFile, file_response, load_static_files

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

RANGES = [
    ("day", "Today"),
    ("7d", "7 days"),
    ("30d", "30 days"),
    ("month", "This month"),
    ("12mo", "12 months"),
    ("custom", "Custom"),
]
PANELS = [  # dimension, title, what one value is called, the two metrics shown
    ("visit:source", "Sources", "Source", "visitors,percentage"),
    ("event:page", "Pages", "Page", "visitors,percentage"),
    ("event:goal", "Goals", "Goal", "visitors,events"),
    ("visit:country", "Countries", "Country", "visitors,percentage"),
    ("visit:device", "Devices", "Device", "visitors,percentage"),
    ("visit:browser", "Browsers", "Browser", "visitors,percentage"),
    ("visit:os", "Operating systems", "OS", "visitors,percentage"),
]

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
<label>From <input type="date" id="from" required aria-describedby="range-error"></label>
<label>To <input type="date" id="to" required aria-describedby="range-error"></label>
<button type="submit">Apply</button>
<p id="range-error" class="error" role="alert"></p>
</form>
<ul id="filters" class="chips" aria-label="Active filters"></ul>
<button type="button" id="download" class="quiet download">Download CSV</button>
</section>
<section class="totals" aria-label="Totals">
<div class="total visitors"><span class="name">Visitors</span>
<strong id="total-visitors">&ndash;</strong> <span id="change-visitors" class="change"></span></div>
<div class="total pageviews"><span class="name">Page views</span>
<strong id="total-pageviews">&ndash;</strong> <span id="change-pageviews" class="change"></span>
</div>
<div class="total ratio"><span class="name">Views per visitor</span>
<strong id="total-ratio">&ndash;</strong> <span id="change-ratio" class="change"></span></div>
</section>
<section class="panel wide" aria-labelledby="h-time">
<h2 id="h-time">Visitors and page views <span id="range-label" class="sub"></span></h2>
<div id="timechart" class="chart"></div>
<details class="fallback"><summary>Show as a table</summary>
<table id="timetable"><thead><tr><th scope="col">Time</th><th scope="col">Visitors</th>
<th scope="col">Page views</th><th scope="col">Visitors, previous period</th></tr></thead>
<tbody></tbody></table></details>
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
 data-metrics="{metrics}" aria-labelledby="h-{id}">
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
        PANEL.format(dimension=d, title=t, label=label, metrics=m, id=d.replace(":", "-"))
        for d, t, label, m in PANELS
    )


class Dashboard:
    """Serves ``dashboard``, ``dashboard/login``, ``dashboard/logout`` and the two files."""

    def __init__(self, auth: AdminAuth, *, prefix: str) -> None:
        self.auth = auth
        self.base = prefix + "/dashboard"
        self.files: dict[str, StaticFile] = load_static_files("dashboard", FILES)
        self.body = (
            DASHBOARD.replace("{ranges}", _range_buttons())
            .replace("{panels}", _panels())
            .replace("{api}", escape(prefix + "/api/query"))
            .replace("{base}", escape(self.base))
        )
        back = {"GET": self.back_to_dashboard}
        self.routes = Routes(
            {
                "dashboard": {"GET": self.dashboard},
                "dashboard/login": {"POST": self.login, **back},
                "dashboard/logout": {"POST": self.logout, **back},
                **{f"dashboard/{name}": {"GET": self.static} for name in self.files},
            }
        )

    async def dashboard(self, visit: Visit, receive: Receive) -> Response:
        if self.auth.cookie_ok(visit.headers.get(COOKIE)):
            return self.page("Analytics · consentkit", self.body)
        return self.login_form()

    async def back_to_dashboard(self, visit: Visit, receive: Receive) -> Response:
        return RedirectResponse(self.base, status_code=303, headers=NO_STORE)

    def page(self, title: str, body: str, status: int = 200, *, script: bool = True) -> Response:
        base = escape(self.base)
        tag = (
            (
                f'<script src="{base}/dashboard.js?v={self.files["dashboard.js"].version}"'
                " defer></script>\n"
            )
            if script
            else ""
        )
        head = HEAD.format(
            title=escape(title), base=base, script=tag, css=self.files["dashboard.css"].version
        )
        return HTMLResponse(head + body, status, headers=PAGE_HEADERS)

    def login_form(self, message: str = "", status: int = 200) -> Response:
        note = invalid = ""
        if message:
            note = f'<p class="error" id="error" role="alert">{escape(message)}</p>\n'
            invalid = ' aria-invalid="true" aria-describedby="error"'
        body = LOGIN.format(base=escape(self.base), message=note, invalid=invalid)
        return self.page("Log in · consentkit", body, status, script=False)

    async def login(self, visit: Visit, receive: Receive) -> Response:
        try:
            same_origin(visit)
            form = LOGIN_BODY.form(await LOGIN_BODY.read(visit, receive))
        except BadRequest as error:
            if error.status == 403:
                return self.login_form("Cross-origin login refused.", 403)
            return self.login_form(error.message, error.status)
        token = next((value for key, value in form if key == "token"), "")
        if not self.auth.token_matches(token):
            return self.login_form("That token is not right. Please try again.", 401)
        response = RedirectResponse(self.base, status_code=303, headers=NO_STORE)
        response.headers.append("Set-Cookie", self.auth.login_cookie(secure=visit.secure))
        return response

    async def logout(self, visit: Visit, receive: Receive) -> Response:
        try:
            same_origin(visit)
        except BadRequest:
            return Response("cross-origin requests may not log out", 403, headers=NO_STORE)
        response = RedirectResponse(self.base, status_code=303, headers=NO_STORE)
        attributes = self.auth.cookie_attributes.replace(f"Max-Age={ADMIN_MAX_AGE}", "Max-Age=0")
        response.headers.append("Set-Cookie", f"{ADMIN_COOKIE}={attributes}")
        return response

    async def static(self, visit: Visit, receive: Receive) -> Response:
        file = self.files[visit.scope["path"].rpartition("/")[2]]
        return file_response(file, visit, unversioned="no-cache")
