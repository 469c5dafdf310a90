"""Services inside categories, on the server: a visitor may grant YouTube alone, and the
decision cookie, ``allows()``, cookie enforcement, withdrawal, the ledger and the consent
analytics all know it. Expired or outdated decisions clear what they granted."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from support import SECRET, Clock, put_cookie, set_cookies, visit

from consentkit import (
    Category,
    ConfigurationError,
    ConsentMiddleware,
    ConsentSettings,
    Service,
    open_store,
)

pytestmark = pytest.mark.anyio

NAMES = ("analytics", "marketing", "youtube", "vimeo")
CATEGORIES = [
    Category("analytics", title="Analytics", description="Counts visits.", cookies=["_ga"]),
    Category(
        "marketing",
        title="Marketing",
        description="Ads and videos.",
        cookies=["_fbp"],
        services=[
            Service("youtube", title="YouTube", cookies=["YSC", "VISITOR_*"]),
            Service("vimeo", title="Vimeo", description="Videos.", cookies=["vuid"]),
        ],
    ),
]


async def allows(request: Request) -> Response:
    consent = request.state.consent
    return JSONResponse({name: consent.allows(name) for name in NAMES})


async def sets_cookies(request: Request) -> Response:
    response = HTMLResponse("<p>videos</p>")
    for name in ("_fbp", "YSC", "VISITOR_INFO1_LIVE", "vuid", "session"):
        response.set_cookie(name, "1")
    return response


def build(store_url: str, **options: object) -> Starlette:
    app = Starlette(routes=[Route("/allows", allows), Route("/videos", sets_cookies)])
    settings = {
        "secret_key": SECRET,
        "store": store_url,
        "categories": CATEGORIES,
        "policy_version": "2026-11",
        "flush_interval": 0.05,
        **options,
    }
    app.add_middleware(ConsentMiddleware, **settings)
    return app


async def choose(browser, categories=(), services=(), action="custom"):
    response = await browser.post(
        "/consentkit/consent",
        json={"action": action, "categories": list(categories), "services": list(services)},
    )
    assert response.status_code == 200, response.text
    return response


async def test_a_service_granted_alone_is_allowed_without_its_category(store_url):
    async with visit(build(store_url)) as browser:
        state = (await choose(browser, services=["youtube"])).json()
        assert state["categories"] == ["necessary"]
        assert state["services"] == ["youtube"]
        cookie = browser.cookies["consentkit"]
        assert cookie.startswith("2026-11|youtube|")
        assert (await browser.get("/allows")).json() == {
            "analytics": False,
            "marketing": False,
            "youtube": True,
            "vimeo": False,
        }
        # The next page reads the same from the cookie alone.
        again = (await browser.get("/consentkit/state")).json()
        assert again["services"] == ["youtube"] and again["categories"] == ["necessary"]


async def test_a_granted_category_grants_its_services_and_the_cookie_stays_small(store_url):
    async with visit(build(store_url)) as browser:
        state = (await choose(browser, ["marketing"], ["youtube"])).json()
        assert state["services"] == ["vimeo", "youtube"]
        cookie = browser.cookies["consentkit"]
        assert cookie.startswith("2026-11|marketing|")  # the services are implied
        assert len(cookie) < 100
        assert (await browser.get("/allows")).json() == {
            "analytics": False,
            "marketing": True,
            "youtube": True,
            "vimeo": True,
        }
        everything = (await choose(browser, action="accept_all")).json()
        assert everything["services"] == ["vimeo", "youtube"]
        assert browser.cookies["consentkit"].startswith("2026-11|analytics+marketing|")


async def test_the_server_drops_the_cookies_of_services_not_allowed(store_url):
    async with visit(build(store_url)) as browser:
        before = set_cookies(await browser.get("/videos"))
        assert set(before) == {"session"}  # undecided: every declared cookie dropped
        await choose(browser, services=["youtube"])
        after = set_cookies(await browser.get("/videos"))
        assert set(after) == {"YSC", "VISITOR_INFO1_LIVE", "session"}
        await choose(browser, ["marketing"])
        everything = set_cookies(await browser.get("/videos"))
        assert set(everything) == {"_fbp", "YSC", "VISITOR_INFO1_LIVE", "vuid", "session"}


async def test_withdrawing_a_service_expires_its_cookies_and_is_recorded(store_url):
    async with visit(build(store_url)) as browser:
        await choose(browser, services=["youtube", "vimeo"])
        await browser.get("/videos")
        assert {"YSC", "vuid"} <= set(browser.cookies.keys())
        response = await choose(browser, services=["vimeo"])
        expired = set_cookies(response)
        assert "Max-Age=0" in expired["YSC"] and "Max-Age=0" in expired["VISITOR_INFO1_LIVE"]
        assert "vuid" not in expired and "_fbp" not in expired
        records = (await browser.get("/consentkit/me")).json()["records"]
    assert [(r["action"], r["categories"]) for r in records] == [
        ("custom", ["necessary", "vimeo", "youtube"]),
        ("withdraw", ["necessary", "vimeo"]),
    ]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"action": "custom", "services": ["tiktok"]}, "services", "unknown services: 'tiktok'"),
        ({"action": "custom", "services": "youtube"}, "services", "list of service names"),
        ({"action": "custom", "services": [1]}, "services", "list of service names"),
        ({"action": "custom", "categories": ["youtube"]}, "categories", "unknown categories"),
    ],
)
async def test_unknown_or_malformed_services_are_a_400(store_url, body, field, message):
    async with visit(build(store_url)) as browser:
        response = await browser.post("/consentkit/consent", json=body)
        assert response.status_code == 400
        assert response.json()["field"] == field
        assert message in response.json()["error"]
        assert "consentkit" not in browser.cookies


async def test_the_no_script_form_can_grant_a_service(store_url):
    async with visit(build(store_url)) as browser:
        response = await browser.post(
            "/consentkit/consent",
            content=b"action=custom&services=vimeo",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 303
        assert (await browser.get("/allows")).json()["vimeo"] is True


async def test_state_lists_each_categorys_services_for_the_banner(store_url):
    async with visit(build(store_url)) as browser:
        config = (await browser.get("/consentkit/state")).json()["config"]
    marketing = config["categories"][2]
    assert marketing["services"] == [
        {"name": "youtube", "title": "YouTube", "description": ""},
        {"name": "vimeo", "title": "Vimeo", "description": "Videos."},
    ]
    assert config["categories"][1]["services"] == []


@pytest.mark.every_store
async def test_grant_rate_per_service(store_url):
    app = build(store_url)
    for choice in (
        {"action": "accept_all"},
        {"action": "reject_all"},
        {"action": "custom", "services": ["youtube"]},
        {"action": "custom", "categories": ["analytics"], "services": ["vimeo"]},
    ):
        async with visit(app) as browser:
            assert (await browser.post("/consentkit/consent", json=choice)).status_code == 200
    answer = open_store(store_url).query(
        {
            "metrics": ["grant_rate", "decisions"],
            "dimensions": ["consent:category"],
            "date_range": "day",
            "order_by": [["consent:category", "asc"]],
        }
    )
    assert [(r["dimensions"][0], r["metrics"]) for r in answer["results"]] == [
        ("analytics", [50.0, 4]),
        ("marketing", [25.0, 4]),
        ("vimeo", [50.0, 4]),
        ("youtube", [50.0, 4]),
    ]


async def test_an_expired_decision_clears_the_cookies_it_allowed(store_url):
    clock = Clock()
    async with visit(build(store_url, clock=clock, decision_max_age=3600)) as browser:
        await choose(browser, ["analytics"], ["youtube"])
        await browser.get("/videos")
        for name in ("_ga", "_fbp"):
            put_cookie(browser, name, "1")
        kept = set_cookies(await browser.get("/allows"))
        assert not any("Max-Age=0" in value for value in kept.values())  # still valid
        clock.advance(3601)
        response = await browser.get("/allows")
        assert response.json()["youtube"] is False
        expired = {name for name, value in set_cookies(response).items() if "Max-Age=0" in value}
        # What it granted and the browser sent; _fbp (marketing, never granted) untouched.
        assert expired == {"_ga", "YSC", "VISITOR_INFO1_LIVE", "consentkit_id"}


async def test_an_outdated_decision_clears_the_cookies_it_allowed(store_url, tmp_path):
    async with visit(build(store_url)) as browser:
        await choose(browser, ["marketing"])
        await browser.get("/videos")
        cookie = browser.cookies["consentkit"]
    async with visit(build(store_url, policy_version="2026-12")) as browser:
        put_cookie(browser, "consentkit", cookie)
        for name in ("_fbp", "vuid", "YSC", "session"):
            put_cookie(browser, name, "1")
        response = await browser.get("/allows")
        assert response.json()["marketing"] is False
        expired = {name for name, value in set_cookies(response).items() if "Max-Age=0" in value}
        assert expired == {"_fbp", "vuid", "YSC"}


@pytest.mark.parametrize(
    ("categories", "message"),
    [
        (
            [Category("marketing", services=[Service("marketing")])],
            "'marketing' is listed twice",
        ),
        (
            [
                Category("ads", services=[Service("youtube")]),
                Category("video", services=[Service("youtube")]),
            ],
            "'youtube' is listed twice",
        ),
        ([Category("necessary", services=[Service("cdn")])], "cannot have services"),
        (
            [
                Category(
                    "marketing", cookies=["YSC"], services=[Service("youtube", cookies=["YSC"])]
                )
            ],
            "a cookie belongs to one category or service",
        ),
    ],
)
def test_bad_services_fail_at_start_up(categories, message):
    with pytest.raises(ConfigurationError, match=message):
        ConsentSettings(secret_key=SECRET, categories=categories)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Service("YouTube"), "service name 'YouTube'"),
        (lambda: Service("youtube", cookies="YSC"), "cookies must be a list"),
        (lambda: Category("marketing", services=Service("youtube")), "list of Service"),
        (lambda: Category("marketing", services=["youtube"]), "list of Service"),
    ],
)
def test_malformed_services_are_refused(make, message):
    with pytest.raises(ConfigurationError, match=message):
        make()


async def test_the_cookie_policy_lists_each_services_cookies(store_url):
    async with visit(build(store_url)) as browser:
        policy = (await browser.get("/consentkit/cookies?format=json")).json()
        html = (await browser.get("/consentkit/cookies?format=html")).text
        markdown = (await browser.get("/consentkit/cookies?format=md")).text
    marketing = policy["categories"][2]
    assert [c["name"] for c in marketing["cookies"]] == ["_fbp"]
    youtube, vimeo = marketing["services"]
    assert (youtube["name"], youtube["title"]) == ("youtube", "YouTube")
    assert [c["name"] for c in youtube["cookies"]] == ["YSC", "VISITOR_*"]
    assert (vimeo["description"], [c["name"] for c in vimeo["cookies"]]) == ("Videos.", ["vuid"])
    # In the tables, in their category's, the service named as the provider.
    assert "| `YSC` | — | — | YouTube |" in markdown
    assert '<code>vuid</code></th><td class="ck-purpose">—</td>' in html
    assert '<td class="ck-provider">Vimeo</td>' in html


async def test_erasure_expires_the_cookies_of_every_service(store_url):
    async with visit(build(store_url)) as browser:
        await choose(browser, action="accept_all")
        await browser.get("/videos")
        response = await browser.post("/consentkit/me/erase")
        assert response.status_code == 200
        expired = {name for name, value in set_cookies(response).items() if "Max-Age=0" in value}
    assert {"_fbp", "YSC", "VISITOR_INFO1_LIVE", "vuid"} <= expired


async def test_a_service_kept_alone_keeps_its_cookies_when_its_category_is_withdrawn(store_url):
    async with visit(build(store_url)) as browser:
        await choose(browser, ["marketing"])
        await browser.get("/videos")
        response = await choose(browser, services=["youtube"])
        expired = {name for name, value in set_cookies(response).items() if "Max-Age=0" in value}
        assert expired == {"_fbp", "vuid"}
        assert set(set_cookies(await browser.get("/videos"))) == {
            "YSC",
            "VISITOR_INFO1_LIVE",
            "session",
        }


def long_services(count):
    return [Service(f"service-with-a-long-long-name-{i:02}") for i in range(count)]  # 32


def test_names_too_long_for_the_decision_cookie_fail_at_start_up():
    with pytest.raises(ConfigurationError, match="decision cookie holds at most 512"):
        ConsentSettings(
            secret_key=SECRET, categories=[Category("marketing", services=long_services(14))]
        )


async def test_the_longest_decision_that_fits_is_read_back(store_url):
    services = long_services(12)
    names = sorted(s.name for s in services)
    app = build(
        store_url, categories=[Category("analytics"), Category("marketing", services=services)]
    )
    async with visit(app) as browser:
        await choose(browser, services=names)
        assert len(browser.cookies["consentkit"]) > 400
        assert (await browser.get("/consentkit/state")).json()["services"] == names


async def test_gpc_keeps_marketings_services_off_unless_one_is_chosen(store_url):
    async with visit(build(store_url)) as browser:
        browser.headers["Sec-GPC"] = "1"
        everything = (await choose(browser, action="accept_all")).json()
        assert everything["categories"] == ["analytics", "necessary"]
        assert everything["services"] == []
        chosen = (await choose(browser, services=["vimeo"])).json()
        assert chosen["services"] == ["vimeo"]
        assert (await browser.get("/allows")).json()["vimeo"] is True
