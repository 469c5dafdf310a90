"""The HTTP surface under /consentkit: state, consent posts, banner files."""

from __future__ import annotations

import json
import sqlite3

import pytest
from support import set_cookies, visit

pytestmark = pytest.mark.anyio


async def test_state_describes_the_banner_and_is_not_cached(make_site):
    async with visit(make_site()) as browser:
        response = await browser.get("/consentkit/state")
        assert response.headers["cache-control"] == "no-store"
        state = response.json()
        assert state["decided"] is False
        assert state["categories"] == ["necessary"]
        assert state["policy_version"] == "2026-11"
        assert state["gpc"] is False
        names = [c["name"] for c in state["config"]["categories"]]
        assert names == ["necessary", "analytics", "marketing"]
        assert state["config"]["categories"][0]["required"] is True
        assert state["config"]["texts"]["accept_all"] == "Accept all"


async def test_gpc_is_reported_and_keeps_marketing_off_on_accept_all(make_site):
    async with visit(make_site()) as browser:
        headers = {"Sec-GPC": "1"}
        assert (await browser.get("/consentkit/state", headers=headers)).json()["gpc"] is True
        response = await browser.post(
            "/consentkit/consent", json={"action": "accept_all"}, headers=headers
        )
        assert response.json()["categories"] == ["analytics", "necessary"]
        explicit = await browser.post(
            "/consentkit/consent",
            json={"action": "custom", "categories": ["marketing"]},
            headers=headers,
        )
        assert explicit.json()["categories"] == ["marketing", "necessary"]


async def test_form_post_without_javascript_redirects_back(make_site):
    async with visit(make_site()) as browser:
        response = await browser.post(
            "/consentkit/consent",
            content=b"action=custom&categories=analytics&categories=marketing",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": "http://testserver",
                "Referer": "http://testserver/items/3?x=1",
            },
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/items/3?x=1"
        assert {"consentkit", "consentkit_id"} <= set(set_cookies(response))
        echo = (await browser.get("/consent-echo")).json()
        assert echo["categories"] == ["analytics", "marketing", "necessary"]


async def test_form_post_never_redirects_off_site(make_site):
    async with visit(make_site()) as browser:
        response = await browser.post(
            "/consentkit/consent",
            content=b"action=reject_all",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.headers["location"] == "/"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "field"),
    [
        (b"{not json", "application/json", 400, None),
        (b"[1, 2]", "application/json", 400, None),
        (b'{"action": "sell_everything"}', "application/json", 400, "action"),
        (
            b'{"action": "custom", "categories": ["telemetry"]}',
            "application/json",
            400,
            "categories",
        ),
        (b'{"action": "custom", "categories": "analytics"}', "application/json", 400, "categories"),
        (b'{"action": "custom", "categories": [1]}', "application/json", 400, "categories"),
        (b"\xff\xfe", "application/json", 400, None),
        (b"action=maybe", "application/x-www-form-urlencoded", 400, "action"),
        (b"<xml/>", "text/xml", 415, None),
        (b'{"action": "accept_all", "pad": "' + b"x" * 5000 + b'"}', "application/json", 413, None),
    ],
)
async def test_bad_posts_get_a_clear_error_and_change_nothing(
    make_site, store_url, body, content_type, status, field
):
    async with visit(make_site()) as browser:
        response = await browser.post(
            "/consentkit/consent", content=body, headers={"Content-Type": content_type}
        )
        assert response.status_code == status
        error = response.json()
        assert error["error"]
        if field:
            assert error["field"] == field
        assert "set-cookie" not in response.headers
        assert (await browser.get("/consent-echo")).json()["decided"] is False
    with sqlite3.connect(store_url.removeprefix("sqlite:///")) as db:
        assert db.execute("SELECT COUNT(*) FROM ck_decisions").fetchone()[0] == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/page"},
        {"Origin": "http://testserver.evil.example"},
        {"Sec-Fetch-Site": "cross-site", "Origin": "http://testserver"},
    ],
)
async def test_cross_origin_posts_are_forbidden(make_site, headers):
    async with visit(make_site()) as browser:
        response = await browser.post(
            "/consentkit/consent", json={"action": "accept_all"}, headers=headers
        )
        assert response.status_code == 403
        assert "set-cookie" not in response.headers


async def test_same_origin_post_is_accepted(make_site):
    async with visit(make_site()) as browser:
        response = await browser.post(
            "/consentkit/consent",
            json={"action": "accept_all"},
            headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
        )
        assert response.status_code == 200


async def test_wrong_methods_and_unknown_paths(make_site):
    async with visit(make_site()) as browser:
        assert (await browser.get("/consentkit/consent")).status_code == 405
        assert (await browser.post("/consentkit/state")).status_code == 405
        assert (await browser.get("/consentkit/nothing-here")).status_code == 404


async def test_banner_files_are_served_with_a_content_hash(make_site):
    async with visit(make_site()) as browser:
        script = await browser.get("/consentkit/banner.js")
        assert script.status_code == 200
        assert script.headers["content-type"].startswith("text/javascript")
        etag = script.headers["etag"]
        assert "max-age" in script.headers["cache-control"]
        again = await browser.get("/consentkit/banner.js", headers={"If-None-Match": etag})
        assert again.status_code == 304
        style = await browser.get("/consentkit/banner.css")
        assert style.headers["content-type"].startswith("text/css")
        version = etag.strip('"').split("-")[0]  # "<version>-gzip": one ETag per coding
        pinned = await browser.get(f"/consentkit/banner.js?v={version}")
        assert "immutable" in pinned.headers["cache-control"]


async def test_the_app_and_its_websockets_see_the_consent(make_site):
    app = make_site()
    async with visit(app) as browser:
        await browser.post("/consentkit/consent", json={"action": "accept_all"})
        cookie = browser.cookies["consentkit"]
    incoming = iter([{"type": "websocket.connect"}, {"type": "websocket.disconnect"}])
    sent = []

    async def receive():
        return next(incoming)

    async def send(message):
        sent.append(message)

    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "path": "/ws",
        "raw_path": b"/ws",
        "query_string": b"",
        "root_path": "",
        "subprotocols": [],
        "headers": [(b"host", b"testserver"), (b"cookie", f"consentkit={cookie}".encode())],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)
    assert sent[0]["type"] == "websocket.accept"
    assert json.loads(sent[1]["text"]) == {
        "decided": True,
        "categories": ["analytics", "marketing", "necessary"],
    }


async def test_every_decision_is_in_the_ledger_before_the_answer(make_site, store_url):
    async with visit(make_site()) as browser:
        await browser.post(
            "/consentkit/consent",
            json={"action": "accept_all"},
            headers={"Accept-Language": "en-GB,en;q=0.9"},
        )
        with sqlite3.connect(store_url.removeprefix("sqlite:///")) as db:
            rows = db.execute(
                "SELECT action, categories, policy_version, language, subject, config_hash"
                " FROM ck_decisions"
            ).fetchall()
        assert len(rows) == 1
        action, categories, version, language, subject, config_hash = rows[0]
        assert (action, categories, version, language) == (
            "accept_all",
            "analytics marketing necessary",
            "2026-11",
            "en",
        )
        assert subject not in browser.cookies["consentkit"]
        assert subject not in browser.cookies["consentkit_id"]
        assert len(config_hash) == 64


async def test_a_decision_the_store_cannot_take_is_not_acknowledged(make_site, store_url):
    async with visit(make_site()) as browser:
        with sqlite3.connect(store_url.removeprefix("sqlite:///")) as db:
            db.execute("DROP TABLE ck_decisions")
        response = await browser.post("/consentkit/consent", json={"action": "accept_all"})
        assert response.status_code == 503
        assert "retry" in response.json()["error"]
        assert "set-cookie" not in response.headers
        assert (await browser.get("/")).status_code == 200  # the site keeps serving


async def test_crawlers_are_told_not_to_show_a_banner(make_site):
    from support import UA

    async with visit(make_site()) as browser:
        state = await browser.get("/consentkit/state", headers={"User-Agent": UA["googlebot"]})
        assert state.json()["bot"] is True
        human = await browser.get("/consentkit/state", headers={"User-Agent": UA["iphone"]})
        assert human.json()["bot"] is False


@pytest.mark.parametrize(
    ("next_path", "location"),
    [
        ("/account?tab=privacy", "/account?tab=privacy"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
    ],
)
async def test_a_form_post_returns_to_its_next_field_when_it_is_on_this_site(
    make_site, next_path, location
):
    from urllib.parse import urlencode

    async with visit(make_site()) as browser:
        response = await browser.post(
            "/consentkit/consent",
            content=urlencode({"action": "reject_all", "next": next_path}).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 303
        assert response.headers["location"] == location
