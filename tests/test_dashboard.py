"""GET /consentkit/dashboard: its login, its files, and the admin cookie it sets."""

from __future__ import annotations

import re

import httpx
import pytest
from support import UA, Clock, set_cookies, visit

pytestmark = pytest.mark.anyio

TOKEN = "admin-token-for-tests-0123456789"
ORIGIN = {"Origin": "http://testserver"}
QUERY = {"metrics": ["visitors", "pageviews"], "dimensions": ["visit:device"], "date_range": "day"}


async def log_in(browser: httpx.AsyncClient, token: str = TOKEN) -> httpx.Response:
    return await browser.post("/consentkit/dashboard/login", data={"token": token}, headers=ORIGIN)


def assert_strict_csp(response: httpx.Response) -> None:
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "unsafe-inline" not in policy


async def test_no_admin_token_means_no_dashboard(make_site):
    async with visit(make_site()) as browser:
        for path in ("/consentkit/dashboard", "/consentkit/dashboard/dashboard.js"):
            assert (await browser.get(path)).status_code == 404
        response = await log_in(browser)
        assert response.status_code == 404
        assert "set-cookie" not in response.headers


async def test_without_the_cookie_the_dashboard_is_a_login_form(make_site):
    async with visit(make_site(admin_token=TOKEN)) as browser:
        response = await browser.get("/consentkit/dashboard")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    assert_strict_csp(response)
    page = response.text
    assert '<form method="post" action="/consentkit/dashboard/login"' in page
    assert 'type="password"' in page and 'name="token"' in page
    assert "data-api" not in page and "dashboard.js" not in page  # no dashboard before login
    assert "<style" not in page and "<script>" not in page and " style=" not in page


async def test_a_wrong_token_answers_401_with_the_form(make_site):
    async with visit(make_site(admin_token=TOKEN)) as browser:
        for token in ("wrong", TOKEN + "x", TOKEN[:-1], ""):
            response = await log_in(browser, token)
            assert response.status_code == 401
            assert "set-cookie" not in response.headers
            assert 'role="alert"' in response.text and "not right" in response.text
            assert 'type="password"' in response.text
        assert "data-api" not in (await browser.get("/consentkit/dashboard")).text


async def test_the_right_token_sets_a_strict_cookie_and_redirects(make_site):
    async with visit(make_site(admin_token=TOKEN)) as browser:
        response = await log_in(browser)
        assert response.status_code == 303
        assert response.headers["location"] == "/consentkit/dashboard"
        cookie = set_cookies(response)["consentkit_admin"]
        attributes = [part.strip().lower() for part in cookie.split(";")]
        assert "httponly" in attributes and "samesite=strict" in attributes
        assert "path=/consentkit" in attributes
        assert TOKEN not in cookie
        page = await browser.get("/consentkit/dashboard")
    assert page.status_code == 200
    assert 'data-api="/consentkit/api/query"' in page.text
    assert_strict_csp(page)


async def test_login_over_https_marks_the_cookie_secure(make_site):
    async with visit(make_site(admin_token=TOKEN), base_url="https://testserver") as browser:
        response = await browser.post(
            "/consentkit/dashboard/login",
            data={"token": TOKEN},
            headers={"Origin": "https://testserver"},
        )
    assert response.status_code == 303
    assert "; secure" in set_cookies(response)["consentkit_admin"].lower()


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/page"},
        {"Origin": "http://testserver", "Sec-Fetch-Site": "cross-site"},
    ],
)
async def test_a_cross_origin_login_is_refused(make_site, headers):
    async with visit(make_site(admin_token=TOKEN)) as browser:
        response = await browser.post(
            "/consentkit/dashboard/login", data={"token": TOKEN}, headers=headers
        )
        assert response.status_code == 403
        assert "set-cookie" not in response.headers
        assert "data-api" not in (await browser.get("/consentkit/dashboard")).text


async def test_with_the_cookie_the_page_and_its_files_are_served(make_site):
    async with visit(make_site(admin_token=TOKEN)) as browser:
        await log_in(browser)
        page = await browser.get("/consentkit/dashboard")
        assert page.headers["cache-control"] == "no-store"
        assert_strict_csp(page)
        assert "<style" not in page.text and " style=" not in page.text
        assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text) is None  # no inline script
        for name, media_type, marker in [
            ("dashboard.js", "text/javascript", "/api/query"),
            ("dashboard.css", "text/css", "prefers-color-scheme"),
        ]:
            match = re.search(rf'"(/consentkit/dashboard/{name}\?v=\w+)"', page.text)
            assert match, name
            versioned = await browser.get(match.group(1))
            assert versioned.status_code == 200
            assert versioned.headers["content-type"].startswith(media_type)
            assert "immutable" in versioned.headers["cache-control"]
            assert marker in versioned.text
            etag = versioned.headers["etag"]
            plain = await browser.get(f"/consentkit/dashboard/{name}")
            assert (
                plain.headers["etag"] == etag and "immutable" not in plain.headers["cache-control"]
            )
            again = await browser.get(
                f"/consentkit/dashboard/{name}", headers={"If-None-Match": etag}
            )
            assert again.status_code == 304 and again.content == b""
        # The script never needs eval, inline handlers or remote code.
        script = (await browser.get("/consentkit/dashboard/dashboard.js")).text
        assert (
            "eval(" not in script
            and "innerHTML" not in script
            and "http" not in script.replace("http://www.w3.org/2000/svg", "")
        )


async def test_the_admin_cookie_authorizes_the_query_api(make_site):
    app = make_site(admin_token=TOKEN, flush_interval=3600)
    for agent in (UA["iphone"], UA["windows_chrome"]):
        async with visit(app) as visitor:
            visitor.headers["user-agent"] = agent
            await visitor.post("/consentkit/consent", json={"action": "accept_all"})
            await visitor.get("/")
    async with visit(app) as browser:
        assert (await browser.post("/consentkit/api/query", json=QUERY)).status_code == 401
        await log_in(browser)
        response = await browser.post("/consentkit/api/query", json=QUERY)
    assert response.status_code == 200
    assert sorted(r["dimensions"][0] for r in response.json()["results"]) == ["desktop", "mobile"]


async def test_a_forged_or_expired_cookie_does_not_authorize(make_site):
    clock = Clock()
    app = make_site(admin_token=TOKEN, clock=clock)
    async with visit(app) as browser:
        cookie = set_cookies(await log_in(browser))["consentkit_admin"]
        value = cookie.split(";")[0].split("=", 1)[1]
        browser.cookies.clear()
        forged = [
            value[:-2] + ("AA" if not value.endswith("AA") else "BB"),
            "admin",
            "",
            value + "x",
            "a" * 300,
        ]
        for bad in forged:
            headers = {"Cookie": f"consentkit_admin={bad}"}
            api = await browser.post("/consentkit/api/query", json=QUERY, headers=headers)
            assert api.status_code == 401, bad
            page = await browser.get("/consentkit/dashboard", headers=headers)
            assert "data-api" not in page.text, bad
        good = {"Cookie": f"consentkit_admin={value}"}
        assert (
            await browser.post("/consentkit/api/query", json=QUERY, headers=good)
        ).status_code == 200
        clock.advance(12 * 3600 + 60)
        assert (
            await browser.post("/consentkit/api/query", json=QUERY, headers=good)
        ).status_code == 401
        assert "data-api" not in (await browser.get("/consentkit/dashboard", headers=good)).text


async def test_a_cookie_signed_with_another_secret_does_not_authorize(make_site):
    async with visit(make_site(admin_token=TOKEN, secret_key="another-secret" * 4)) as other:
        value = set_cookies(await log_in(other))["consentkit_admin"].split(";")[0].split("=", 1)[1]
    async with visit(make_site(admin_token=TOKEN)) as browser:
        response = await browser.post(
            "/consentkit/api/query", json=QUERY, headers={"Cookie": f"consentkit_admin={value}"}
        )
        assert response.status_code == 401


async def test_logout_expires_the_cookie(make_site):
    async with visit(make_site(admin_token=TOKEN)) as browser:
        await log_in(browser)
        assert "data-api" in (await browser.get("/consentkit/dashboard")).text
        refused = await browser.post(
            "/consentkit/dashboard/logout", headers={"Origin": "https://evil.example"}
        )
        assert refused.status_code == 403 and "set-cookie" not in refused.headers
        response = await browser.post("/consentkit/dashboard/logout", headers=ORIGIN)
        assert response.status_code == 303
        assert response.headers["location"] == "/consentkit/dashboard"
        expired = set_cookies(response)["consentkit_admin"].lower()
        assert expired.startswith("consentkit_admin=;") and "max-age=0" in expired
        assert "path=/consentkit" in expired
        assert "consentkit_admin" not in browser.cookies
        assert "data-api" not in (await browser.get("/consentkit/dashboard")).text
        assert (await browser.post("/consentkit/api/query", json=QUERY)).status_code == 401


async def test_methods_and_unknown_paths(make_site):
    async with visit(make_site(admin_token=TOKEN)) as browser:
        assert (await browser.post("/consentkit/dashboard")).status_code == 405
        assert (await browser.get("/consentkit/dashboard/nothing")).status_code == 404
        login = await browser.get("/consentkit/dashboard/login")
        assert login.status_code == 303


async def test_the_dashboard_follows_a_custom_prefix(make_site):
    async with visit(make_site(admin_token=TOKEN, prefix="/privacy")) as browser:
        response = await browser.post(
            "/privacy/dashboard/login", data={"token": TOKEN}, headers=ORIGIN
        )
        assert response.headers["location"] == "/privacy/dashboard"
        assert "path=/privacy" in set_cookies(response)["consentkit_admin"].lower()
        page = await browser.get("/privacy/dashboard")
    assert 'data-api="/privacy/api/query"' in page.text
    assert 'href="/privacy/dashboard/dashboard.css?v=' in page.text
