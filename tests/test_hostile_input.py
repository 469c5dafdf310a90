"""Hostile headers never break the site: every request is answered, nothing is counted wrong."""

from __future__ import annotations

import pytest
from conftest import visit

from consentkit import open_store

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
        for method, path in (("GET", "/"), ("GET", "/consentkit/state"),
                             ("GET", "/consentkit/banner.js"), ("GET", "/consentkit/me"),
                             ("GET", "/consentkit/me/export")):
            response = await browser.request(method, path, headers=raw)
            assert response.status_code == 200, (method, path)
        post = await browser.post("/consentkit/consent", json={"action": "accept_all"},
                                  headers=raw)
        assert post.status_code in (200, 403)


ENDPOINTS = {  # path -> the one method it answers
    "/consentkit/state": "GET", "/consentkit/consent": "POST", "/consentkit/me": "GET",
    "/consentkit/me/export": "GET", "/consentkit/me/erase": "POST",
    "/consentkit/banner.js": "GET", "/consentkit/api/query": "POST",
    "/consentkit/api/cookies": "GET", "/consentkit/cookies": "GET",
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
        for body, paths in ((b'{"action": 3}', ["consent"]),
                            *((b, ["consent", "me/erase"]) for b in malformed)):
            for path in paths:
                response = await browser.post(f"/consentkit/{path}", content=body,
                                              headers={"content-type": "application/json"})
                assert 400 <= response.status_code < 500, (path, body[:10])
        for path in ("consent", "me/erase"):
            response = await browser.post(f"/consentkit/{path}", content=b"<a/>",
                                          headers={"content-type": "text/xml"})
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
    answer = open_store(store_url).query({"metrics": ["pageviews"], "date_range": "day",
                                          "dimensions": ["visit:device"]})
    assert answer["results"] == [{"dimensions": ["desktop"], "metrics": [1]}]
