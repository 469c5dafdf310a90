"""The decision cookie and the visitor ID cookie, as a visitor's browser sees them."""

from __future__ import annotations

import itsdangerous
import pytest
from support import SECRET, Clock, put_cookie, set_cookies, visit

from consentkit.consent.keys import DECISION_SALT

pytestmark = pytest.mark.anyio


async def test_no_cookie_at_all_before_a_decision(make_site):
    async with visit(make_site()) as browser:
        for path in ("/", "/items/1", "/api/data", "/consentkit/state", "/consentkit/banner.js"):
            response = await browser.get(path)
            assert response.status_code == 200
            assert "set-cookie" not in response.headers, path


async def test_reject_sets_only_the_decision_cookie(make_site):
    async with visit(make_site()) as browser:
        response = await browser.post("/consentkit/consent", json={"action": "reject_all"})
        assert response.status_code == 200
        assert response.json()["categories"] == ["necessary"]
        assert set(set_cookies(response)) == {"consentkit"}
        for path in ("/", "/items/7"):
            page = await browser.get(path)
            assert "set-cookie" not in page.headers
        echo = (await browser.get("/consent-echo")).json()
        assert echo["decided"] is True and echo["analytics"] is False


async def test_accept_sets_both_cookies_with_their_attributes(make_site):
    async with visit(make_site()) as browser:
        response = await browser.post("/consentkit/consent", json={"action": "accept_all"})
        cookies = set_cookies(response)
        decision, visitor = cookies["consentkit"], cookies["consentkit_id"]
        assert "Path=/" in decision and "SameSite=Lax" in decision
        assert "HttpOnly" not in decision  # the banner reads it
        assert "Max-Age=15724800" in decision  # 182 days
        assert "Secure" not in decision  # plain http here
        assert "HttpOnly" in visitor and "Path=/" in visitor and "SameSite=Lax" in visitor
        max_age = int(visitor.split("Max-Age=")[1].split(";")[0])
        assert 0 < max_age <= 396 * 86400
        value = visitor.split("=", 1)[1].split(";")[0]
        assert len(value) >= 22  # 128 random bits, URL-safe
        assert len(decision.split(";")[0]) < 120  # a few dozen bytes
        echo = (await browser.get("/consent-echo")).json()
        assert echo["categories"] == ["analytics", "marketing", "necessary"]


async def test_secure_attribute_on_https(make_site):
    async with visit(make_site(), base_url="https://testserver") as browser:
        response = await browser.post("/consentkit/consent", json={"action": "accept_all"})
        for value in set_cookies(response).values():
            assert "Secure" in value


async def test_custom_choice_grants_only_what_was_chosen(make_site):
    async with visit(make_site()) as browser:
        response = await browser.post(
            "/consentkit/consent", json={"action": "custom", "categories": ["marketing"]}
        )
        assert response.json()["categories"] == ["marketing", "necessary"]
        assert "consentkit_id" not in set_cookies(response)
        echo = (await browser.get("/consent-echo")).json()
        assert echo["categories"] == ["marketing", "necessary"]


async def test_withdrawing_analytics_expires_the_visitor_id(make_site):
    async with visit(make_site()) as browser:
        await browser.post("/consentkit/consent", json={"action": "accept_all"})
        assert "consentkit_id" in browser.cookies
        response = await browser.post("/consentkit/consent", json={"action": "reject_all"})
        assert "Max-Age=0" in set_cookies(response)["consentkit_id"]
        assert "consentkit_id" not in browser.cookies


async def test_vary_cookie_is_appended_to_html_and_can_be_turned_off(make_site):
    async with visit(make_site()) as browser:
        page = await browser.get("/sets-cookies")
        assert page.headers["vary"] == "Accept-Encoding, Cookie"
        assert "vary" not in (await browser.get("/api/data")).headers
    async with visit(make_site(vary_cookie=False)) as browser:
        assert (await browser.get("/sets-cookies")).headers["vary"] == "Accept-Encoding"


def _forged(value: str) -> list[str]:
    payload, stamp, signature = value.rsplit(".", 2)
    middle = len(signature) // 2
    other = "A" if signature[middle] != "A" else "B"
    return [
        f"{payload}.{stamp}.{signature[:middle]}{other}{signature[middle + 1 :]}",
        f"{payload[:-1]}{'x' if payload[-1] != 'x' else 'y'}.{stamp}.{signature}",
        value[: len(value) // 2],
        payload.replace("|", "|analytics+", 1) + "." + stamp + "." + signature,
        "x" * 5000,
        "",
        "not-even-signed",
        "1|analytics|abc",
    ]


async def test_tampered_truncated_or_oversized_cookie_means_no_decision(make_site):
    async with visit(make_site()) as browser:
        response = await browser.post("/consentkit/consent", json={"action": "reject_all"})
        genuine = browser.cookies["consentkit"]
    for forged in _forged(genuine):
        async with visit(make_site()) as browser:
            put_cookie(browser, "consentkit", forged)
            state = await browser.get("/consentkit/state")
            assert state.json()["decided"] is False
            echo = await browser.get("/consent-echo")
            assert echo.status_code == 200
            assert echo.json()["decided"] is False, forged
            if forged:  # the stale cookie is removed from the browser
                assert "Max-Age=0" in set_cookies(echo)["consentkit"]
    assert response.status_code == 200


async def test_expired_and_outdated_decisions_ask_again(make_site):
    clock = Clock()
    app = make_site(clock=clock, decision_max_age=3600)
    async with visit(app) as browser:
        await browser.post("/consentkit/consent", json={"action": "accept_all"})
        assert (await browser.get("/consent-echo")).json()["decided"] is True
        clock.advance(3601)
        assert (await browser.get("/consent-echo")).json()["decided"] is False
    async with visit(make_site(policy_version="2026-10")) as browser:
        await browser.post("/consentkit/consent", json={"action": "accept_all"})
        cookie = browser.cookies["consentkit"]
    async with visit(make_site(policy_version="2026-12")) as browser:
        put_cookie(browser, "consentkit", cookie)
        echo = (await browser.get("/consent-echo")).json()
        assert echo["decided"] is False


async def test_key_rotation_keeps_old_decisions_and_signs_with_the_newest(make_site):
    async with visit(make_site(secret_key="old-key" * 8)) as browser:
        await browser.post("/consentkit/consent", json={"action": "accept_all"})
        old_cookie = browser.cookies["consentkit"]
    rotated = make_site(secret_key=["old-key" * 8, "new-key" * 8])
    async with visit(rotated) as browser:
        put_cookie(browser, "consentkit", old_cookie)
        assert (await browser.get("/consent-echo")).json()["decided"] is True
        await browser.post("/consentkit/consent", json={"action": "reject_all"})
        new_cookie = browser.cookies["consentkit"]
    newest = itsdangerous.TimestampSigner("new-key" * 8, salt=DECISION_SALT)
    assert newest.validate(new_cookie)
    async with visit(make_site(secret_key="new-key" * 8)) as browser:
        put_cookie(browser, "consentkit", old_cookie)
        assert (await browser.get("/consent-echo")).json()["decided"] is False


async def test_a_cookie_signed_for_another_purpose_is_not_a_decision(make_site):
    other = itsdangerous.TimestampSigner(SECRET, salt="some.other.purpose")
    forged = other.sign("2026-11|analytics+marketing|AAAAAAAAAAAAAAAAAAAAAA").decode()
    async with visit(make_site()) as browser:
        put_cookie(browser, "consentkit", forged)
        assert (await browser.get("/consent-echo")).json()["decided"] is False


async def test_declared_cookies_are_dropped_until_their_category_is_granted(make_site):
    async with visit(make_site()) as browser:
        before = set_cookies(await browser.get("/sets-cookies"))
        assert set(before) == {"session"}  # undeclared cookies pass
        await browser.post(
            "/consentkit/consent", json={"action": "custom", "categories": ["analytics"]}
        )
        after = set_cookies(await browser.get("/sets-cookies"))
        assert {"_ga", "_ga_XYZ", "session"} <= set(after) and "_fbp" not in after


async def test_a_malformed_visitor_id_is_replaced(make_site):
    async with visit(make_site()) as browser:
        await browser.post("/consentkit/consent", json={"action": "accept_all"})
        put_cookie(browser, "consentkit_id", "<script>")
        page = await browser.get("/")
        new_id = set_cookies(page)["consentkit_id"].split("=", 1)[1].split(";")[0]
        assert new_id != "<script>" and len(new_id) >= 22
