"""Withdrawal, Do Not Track and undeclared cookies, through the real ASGI stack."""

from __future__ import annotations

import logging

import pytest
from support import set_cookies, visit

from consentkit import Category, ConfigurationError, Cookie, open_store

pytestmark = pytest.mark.anyio

TOKEN = "t" * 24


def actions(store_url: str) -> dict[str, int]:
    answer = open_store(store_url).query(
        {"metrics": ["decisions"], "date_range": "day", "dimensions": ["consent:action"]}
    )
    return {r["dimensions"][0]: r["metrics"][0] for r in answer["results"]}


def expired(response) -> list[str]:
    return sorted(v for v in response.headers.get_list("set-cookie") if "Max-Age=0" in v)


async def test_a_narrower_choice_is_a_withdrawal_that_expires_the_cookies_it_covered(
    make_site, store_url
):
    async with visit(make_site()) as browser:
        await browser.post("/consentkit/consent", json={"action": "accept_all"})
        await browser.get("/sets-cookies")  # the app sets _ga, _ga_XYZ and _fbp
        await browser.get("/")
        assert {"_ga", "_ga_XYZ", "_fbp", "consentkit_id"} <= set(browser.cookies.keys())
        answer = await browser.post(
            "/consentkit/consent", json={"action": "custom", "categories": ["marketing"]}
        )
        assert answer.json()["categories"] == ["marketing", "necessary"]
        gone = set_cookies(answer)
        # analytics was withdrawn: its ID and both declared cookies, the pattern's match too
        assert {"consentkit_id", "_ga", "_ga_XYZ"} <= {
            n for n, v in gone.items() if "Max-Age=0" in v
        }
        assert "_fbp" not in gone  # marketing is still granted
        assert {"_ga", "_ga_XYZ", "consentkit_id"}.isdisjoint(browser.cookies.keys())
        assert "_fbp" in browser.cookies
        # a wider choice later is not a withdrawal
        await browser.post("/consentkit/consent", json={"action": "accept_all"})
        await browser.post("/consentkit/consent", json={"action": "reject_all"})
    assert actions(store_url) == {"accept_all": 2, "withdraw": 2}


async def test_a_first_refusal_or_the_same_choice_again_is_no_withdrawal(make_site, store_url):
    async with visit(make_site()) as browser:
        for _ in range(2):
            answer = await browser.post("/consentkit/consent", json={"action": "reject_all"})
            assert expired(answer) == []
    assert actions(store_url) == {"reject_all": 2}


async def test_withdrawal_expires_every_declared_domain_and_path_variant(make_site):
    categories = [
        Category(
            "analytics",
            cookies=[Cookie("_ga", domains=[".testserver", "testserver"], paths=["/", "/shop"])],
        ),
        Category("marketing", cookies=[Cookie("_fbp", paths=["/", "/blog"])]),
    ]
    async with visit(make_site(categories=categories)) as browser:
        await browser.post("/consentkit/consent", json={"action": "accept_all"})
        answer = await browser.post("/consentkit/consent", json={"action": "reject_all"})
    variants = [v for v in expired(answer) if not v.startswith("consentkit_id=")]
    assert variants == sorted(
        [
            f"_ga=; Path={path}; Domain={domain}; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
            for domain in (".testserver", "testserver")
            for path in ("/", "/shop")
        ]
        + [
            f"_fbp=; Path={path}; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
            for path in ("/", "/blog")  # no domains declared: the host-only cookie
        ]
    )


async def test_do_not_track_is_honoured_only_when_the_site_says_so(make_site, store_url):
    async with visit(make_site(honour_dnt=True)) as browser:
        browser.headers["dnt"] = "1"
        answer = await browser.post("/consentkit/consent", json={"action": "accept_all"})
        assert answer.json()["categories"] == ["necessary"]
        assert "consentkit_id" not in set_cookies(answer)
        # an explicit grant by the visitor overrides the browser's signal, and says so
        answer = await browser.post(
            "/consentkit/consent", json={"action": "custom", "categories": ["analytics"]}
        )
        assert answer.json()["categories"] == ["analytics", "necessary"]
    assert actions(store_url) == {"accept_all": 1, "custom": 1}
    async with visit(make_site()) as browser:  # not enabled: DNT changes nothing
        browser.headers["dnt"] = "1"
        answer = await browser.post("/consentkit/consent", json={"action": "accept_all"})
        assert answer.json()["categories"] == ["analytics", "marketing", "necessary"]


async def test_undeclared_cookies_are_reported_and_counted(make_site, caplog):
    app = make_site(undeclared_cookies="report", admin_token=TOKEN)
    async with visit(app) as browser:
        with caplog.at_level(logging.WARNING, logger="consentkit"):
            for _ in range(3):
                assert "session" in set_cookies(await browser.get("/sets-cookies"))
        assert caplog.text.count("'session', which no category declares") == 1
        auth = {"authorization": f"Bearer {TOKEN}"}
        report = (await browser.get("/consentkit/api/cookies", headers=auth)).json()
        assert report["undeclared"] == [{"name": "session", "count": 3, "blocked": False}]
        assert (await browser.get("/consentkit/api/cookies")).status_code == 401
        assert (await browser.post("/consentkit/api/cookies", headers=auth)).status_code == 405


async def test_undeclared_cookies_can_be_blocked_while_declared_ones_follow_consent(make_site):
    async with visit(make_site(undeclared_cookies="block")) as browser:
        assert set_cookies(await browser.get("/sets-cookies")) == {}
        await browser.post("/consentkit/consent", json={"action": "accept_all"})
        assert set(set_cookies(await browser.get("/sets-cookies"))) == {"_ga", "_ga_XYZ", "_fbp"}


async def test_the_default_lets_undeclared_cookies_pass_uncounted(make_site):
    async with visit(make_site(admin_token=TOKEN)) as browser:
        assert "session" in set_cookies(await browser.get("/sets-cookies"))
        report = await browser.get(
            "/consentkit/api/cookies", headers={"authorization": f"Bearer {TOKEN}"}
        )
        assert report.json()["undeclared"] == []


def test_an_unknown_undeclared_cookies_setting_fails_at_start_up(make_site):
    with pytest.raises(ConfigurationError, match="undeclared_cookies"):
        make_site(undeclared_cookies="warn").build_middleware_stack()
