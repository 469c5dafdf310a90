"""Hostile headers never break the site: every request is answered, nothing is counted wrong."""

from __future__ import annotations

import json
import logging

import pytest
from starlette.responses import HTMLResponse
from support import eventually, visit

from consentkit import ConsentMiddleware, open_store

pytestmark = pytest.mark.anyio

HOSTILE = [
    {"cookie": "a=b; " * 8000},
    {"cookie": "consentkit=" + "A" * 100_000},
    {"cookie": 'consentkit="unterminated; consentkit_id=; ;;; ==='},
    {"user-agent": "Mozilla/5.0 " + "(" * 50_000},
    {"user-agent": "\x00\x01\x7f bot\xff\xfe"},
    {"accept-language": "xx;q=abc, " * 1000},
    {"accept-language": ";;;,,,q=,"},
    {"x-forwarded-for": "::::, 999.1.1.1, " * 10},
    {"sec-gpc": "1" * 1000},
    {"dnt": "1\x00" * 1000},
    {"host": "\xff" * 300},
]


@pytest.mark.parametrize("headers", HOSTILE, ids=range(len(HOSTILE)))
async def test_hostile_headers_get_answers_not_errors(make_site, headers):
    async with visit(make_site(trusted_proxies=["127.0.0.1"])) as browser:
        raw = {k: v.encode("latin-1") for k, v in headers.items()}
        for method, path in (
            ("GET", "/"),
            ("GET", "/consentkit/state"),
            ("GET", "/consentkit/banner.js"),
            ("GET", "/consentkit/me"),
            ("GET", "/consentkit/me/export"),
        ):
            response = await browser.request(method, path, headers=raw)
            assert response.status_code == 200, (method, path)
        post = await browser.post("/consentkit/consent", json={"action": "accept_all"}, headers=raw)
        assert post.status_code in (200, 403)


ENDPOINTS = {  # path -> the one method it answers
    "/consentkit/state": "GET",
    "/consentkit/consent": "POST",
    "/consentkit/me": "GET",
    "/consentkit/me/export": "GET",
    "/consentkit/me/erase": "POST",
    "/consentkit/banner.js": "GET",
    "/consentkit/api/query": "POST",
    "/consentkit/api/cookies": "GET",
    "/consentkit/cookies": "GET",
}


async def test_every_endpoint_refuses_other_methods_and_bad_bodies_with_a_4xx(make_site):
    async with visit(make_site(admin_token="a" * 20)) as browser:
        await browser.post("/consentkit/consent", json={"action": "accept_all"})
        decided = dict(browser.cookies)
        for path, method in ENDPOINTS.items():
            for other in {"GET", "POST", "PUT", "DELETE", "PATCH"} - {method}:
                response = await browser.request(other, path)
                assert response.status_code == 405, (other, path)
                assert response.headers["allow"] == method
        malformed = (b"{", b"\xff\xfe", b"[]", b'"x"', b"x" * 100_000)
        for body, paths in (
            (b'{"action": 3}', ["consent"]),
            *((b, ["consent", "me/erase"]) for b in malformed),
        ):
            for path in paths:
                response = await browser.post(
                    f"/consentkit/{path}",
                    content=body,
                    headers={"content-type": "application/json"},
                )
                assert 400 <= response.status_code < 500, (path, body[:10])
        for path in ("consent", "me/erase"):
            response = await browser.post(
                f"/consentkit/{path}", content=b"<a/>", headers={"content-type": "text/xml"}
            )
            assert response.status_code == 415, path
        assert dict(browser.cookies) == decided  # nothing was changed by any of it
        answer = await browser.get("/consentkit/me/export", params={"format": "\x00" * 500})
        assert answer.status_code == 400
        many = "&".join(f"p{n}=1" for n in range(100))  # more fields than any form has
        for path in ("/consentkit/me/export", "/consentkit/cookies"):
            assert (await browser.get(f"{path}?{many}&format=json")).status_code == 200


async def test_a_consented_visitor_with_a_monstrous_user_agent_is_counted_once(
    make_site, store_url
):
    app = make_site(flush_interval=3600)
    async with visit(app) as browser:
        browser.headers["user-agent"] = "Mozilla/5.0 (Windows NT 10.0) " + "x" * 200_000
        await browser.post("/consentkit/consent", json={"action": "accept_all"})
        assert (await browser.get("/")).status_code == 200
    answer = open_store(store_url).query(
        {"metrics": ["pageviews"], "date_range": "day", "dimensions": ["visit:device"]}
    )
    assert answer["results"] == [{"dimensions": ["desktop"], "metrics": [1]}]


# The defects an audit against a live server found (issue 11), each through the ASGI stack.

TOKEN = "admin-token-for-tests-0123456789"
BEARER = {"authorization": f"Bearer {TOKEN}"}
SAME_SITE = {"origin": "http://testserver"}
FORM = {"content-type": "application/x-www-form-urlencoded"}
JSON_BODY = {"content-type": "application/json"}
DEEP = ("[" * 2000 + "]" * 2000).encode()  # 4 KB; json.loads recurses once per bracket


@pytest.mark.parametrize("path", ["consent", "me/erase", "api/query"])
async def test_deeply_nested_json_is_a_400_naming_the_depth_limit(make_site, path):
    async with visit(make_site(admin_token=TOKEN)) as browser:
        for body in (DEEP, b'{"action": ' + DEEP + b"}"):
            response = await browser.post(
                f"/consentkit/{path}", content=body, headers={**SAME_SITE, **JSON_BODY, **BEARER}
            )
            assert response.status_code == 400, response.text
            assert response.json()["limit"] == {"json_depth": 32}
        assert "consentkit" not in browser.cookies
        # nesting inside a string is text, not depth
        text = json.dumps({"action": "accept_all", "note": "[" * 3000})
        answer = await browser.post(
            "/consentkit/consent", content=text, headers={**SAME_SITE, **JSON_BODY}
        )
        assert answer.status_code == 200


async def test_a_consent_form_with_more_than_64_fields_is_a_400_naming_the_limit(make_site):
    async with visit(make_site()) as browser:
        body = "&".join(["a=1"] * 65)
        response = await browser.post(
            "/consentkit/consent", content=body, headers={**SAME_SITE, **FORM}
        )
        assert response.status_code == 400, response.text
        assert response.json()["limit"] == {"form_fields": 64}
        assert "consentkit" not in browser.cookies
        fits = "&".join(["action=reject_all", *["a=1"] * 63])
        answer = await browser.post(
            "/consentkit/consent", content=fits, headers={**SAME_SITE, **FORM}
        )
        assert answer.status_code == 303 and "consentkit" in browser.cookies


async def test_a_dashboard_login_with_more_than_8_fields_is_a_400(make_site):
    async with visit(make_site(admin_token=TOKEN)) as browser:
        body = "&".join([f"token={TOKEN}", *["a=1"] * 8])
        response = await browser.post(
            "/consentkit/dashboard/login", content=body, headers={**SAME_SITE, **FORM}
        )
        assert response.status_code == 400, response.text
        assert "8 fields" in response.text and "set-cookie" not in response.headers


@pytest.mark.parametrize(
    "referer",
    [
        "http://testserver//evil.example/landing",
        "http://testserver/\\evil.example/landing",
        "http://testserver/\t/evil.example",  # a browser drops the tab: //evil.example
        "https://testserver/account",  # another scheme is another origin
        "http://testserver:8080/account",
    ],
)
async def test_the_no_js_form_never_redirects_off_the_site(make_site, referer):
    async with visit(make_site()) as browser:
        response = await browser.post(
            "/consentkit/consent",
            content=b"action=reject_all",
            headers={**FORM, **SAME_SITE, "referer": referer},
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/"


@pytest.mark.every_store
async def test_an_extreme_date_range_is_answered(make_site):
    async with visit(make_site(admin_token=TOKEN)) as browser:
        for date_range in (
            ["0001-01-01", "9999-12-31"],
            ["9999-12-31", "9999-12-31"],
            ["0001-01-01", "0001-01-01"],
        ):
            for zone in ("UTC", "Pacific/Kiritimati", "America/Anchorage"):
                query = {
                    "metrics": ["pageviews"],
                    "date_range": date_range,
                    "dimensions": ["time:day"],
                }
                app = make_site(admin_token=TOKEN, time_zone=zone)
                async with visit(app) as client:
                    response = await client.post(
                        "/consentkit/api/query", json=query, headers=BEARER
                    )
                assert response.status_code == 200, (date_range, zone, response.text)
                assert response.json()["meta"]["date_range"] == date_range
        consent = {"metrics": ["decisions"], "date_range": ["0001-01-01", "9999-12-31"]}
        answer = await browser.post("/consentkit/api/query", json=consent, headers=BEARER)
        assert answer.status_code == 200, answer.text


@pytest.mark.every_store
@pytest.mark.parametrize("value", ["DE\x00", "\x00", "a\x1fb", "\x7f", "a\ud800b"])
async def test_control_characters_in_a_filter_are_a_400_naming_the_field(make_site, value):
    async with visit(make_site(admin_token=TOKEN)) as browser:
        query = {
            "metrics": ["visitors"],
            "date_range": "7d",
            "filters": [["is", "event:page", ["/", value]]],
        }
        body = json.dumps(query).encode()  # \u escapes: the value arrives as it is
        response = await browser.post("/consentkit/api/query", content=body, headers=BEARER)
        assert response.status_code == 400, response.text
        assert response.json()["field"] == "filters[0][2][1]"
        site = {"metrics": ["visitors"], "date_range": "7d", "site_id": value}
        response = await browser.post(
            "/consentkit/api/query", content=json.dumps(site), headers=BEARER
        )
        assert response.status_code == 400 and response.json()["field"] == "site_id"


async def test_a_json_error_about_an_unpaired_surrogate_is_still_json(make_site):
    async with visit(make_site(admin_token=TOKEN)) as browser:
        body = b'{"metrics": ["visitors"], "\\ud800": 1}'
        response = await browser.post("/consentkit/api/query", content=body, headers=BEARER)
        assert response.status_code == 400
        assert response.json()["field"] == "\ud800"


OTHER_SCHEME = {"origin": "https://testserver"}


async def test_an_origin_of_another_scheme_or_port_is_cross_origin(make_site):
    async with visit(make_site(admin_token=TOKEN)) as browser:
        for origin in (
            "https://testserver",
            "http://testserver:8080",
            "ftp://testserver",
            "http://testserver:80x",
            "http://[testserver",
        ):
            other = {"origin": origin}
            consent = await browser.post(
                "/consentkit/consent", json={"action": "accept_all"}, headers=other
            )
            assert consent.status_code == 403, origin
            referer = await browser.post(
                "/consentkit/consent",
                json={"action": "accept_all"},
                headers={"referer": origin + "/page"},
            )
            assert referer.status_code == 403, origin
            assert (await browser.post("/consentkit/me/erase", headers=other)).status_code == 403
            login = await browser.post(
                "/consentkit/dashboard/login", data={"token": TOKEN}, headers=other
            )
            assert login.status_code == 403 and "set-cookie" not in login.headers
            logout = await browser.post("/consentkit/dashboard/logout", headers=other)
            assert logout.status_code == 403
        assert "consentkit" not in browser.cookies
        for origin in ("http://testserver", "http://testserver:80", "HTTP://TestServer"):
            same = await browser.post(
                "/consentkit/consent", json={"action": "accept_all"}, headers={"origin": origin}
            )
            assert same.status_code == 200, origin


async def test_an_https_site_accepts_its_default_port_and_refuses_plain_http(make_site):
    async with visit(make_site(), base_url="https://testserver") as browser:
        for origin, status in (
            ("https://testserver", 200),
            ("https://testserver:443", 200),
            ("http://testserver", 403),
            ("http://testserver:443", 403),
        ):
            answer = await browser.post(
                "/consentkit/consent", json={"action": "reject_all"}, headers={"origin": origin}
            )
            assert answer.status_code == status, origin


async def html_anywhere(scope, receive, send):
    """An app without route templates (as Django's or a catch-all's): the page is the path."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await HTMLResponse("<p>anything</p>")(scope, receive, send)


@pytest.mark.every_store
async def test_a_path_or_user_agent_with_control_characters_never_stops_the_counting(
    store_url, tmp_path, caplog
):
    app = ConsentMiddleware(
        html_anywhere,
        secret_key="s" * 32,
        store=store_url,
        flush_interval=0.05,
        decision_spool=str(tmp_path / "spool.sqlite3"),
    )
    agent = "Probe\x00Name/70 CFNetwork/978.0.7 Darwin/18.5.0"  # the family is a UA's token
    async with visit(app) as browser:
        browser.headers["user-agent"] = agent
        answer = await browser.post("/consentkit/consent", json={"action": "accept_all"})
        assert answer.status_code == 200
        for path in ("/a%00b", "/a%01b", "/a%7Fb", "/a%C2%85b"):
            assert (await browser.get(path)).status_code == 200
        # Flushed meanwhile: a poisoned batch would be retried for ever.
        store = open_store(store_url)
        await eventually(
            lambda: (
                store.query({"metrics": ["pageviews"], "date_range": "day"})["results"][0][
                    "metrics"
                ]
                == [4]
            ),
            what="the flush of the odd paths",
        )
        store.close()
        assert (await browser.get("/ok")).status_code == 200
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR and "consentkit" in r.name]
    store = open_store(store_url)
    pages = store.query(
        {"metrics": ["pageviews"], "date_range": "day", "dimensions": ["event:page"]}
    )["results"]
    assert {tuple(r["dimensions"]): r["metrics"] for r in pages} == {
        ("/ok",): [1],
        ("/a\ufffdb",): [4],
    }  # the four are one page once made storable
    browsers = store.query(
        {"metrics": ["decisions"], "date_range": "day", "dimensions": ["visit:browser"]}
    )["results"]
    assert browsers == [{"dimensions": ["Probe\ufffdName"], "metrics": [1]}]
    store.close()


@pytest.mark.parametrize("length", [b"\xb2", b"abc", b"-1", b" 5"])
async def test_a_content_length_that_is_no_number_is_a_400(make_site, length):
    async with visit(make_site(admin_token=TOKEN)) as browser:
        for path in ("consent", "me/erase", "api/query", "dashboard/login"):
            response = await browser.post(
                f"/consentkit/{path}",
                content=b"{}",
                headers={**SAME_SITE, **JSON_BODY, **BEARER, "content-length": length},
            )
            assert response.status_code == 400, (path, response.text)
