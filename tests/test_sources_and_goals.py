"""Where visitors come from and the goals they reach, through the real ASGI stack.

A visitor arrives from a search engine, a newsletter or nowhere, clicks around, signs up;
the site owner asks which sources brought visitors and how many reached each goal.
"""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from support import CATEGORIES, ROUTES, SECRET, UA, eventually, raw_database, visit

import consentkit
from consentkit import ConfigurationError, ConsentMiddleware, open_store

pytestmark = pytest.mark.anyio

SOURCES = {
    "metrics": ["visitors", "pageviews"],
    "date_range": "day",
    "dimensions": ["visit:source"],
}
GOALS = {"metrics": ["visitors", "events"], "date_range": "day", "dimensions": ["event:goal"]}


async def signup(request: Request) -> HTMLResponse:
    counted = consentkit.track(request, "signup")
    return HTMLResponse(f"<p>welcome ({'counted' if counted else 'not counted'})</p>")


def site(store_url, **options):
    app = Starlette(routes=[*ROUTES, Route("/signup", signup, methods=["POST"])])
    app.add_middleware(
        ConsentMiddleware,
        secret_key=SECRET,
        store=store_url,
        categories=CATEGORIES,
        flush_interval=0.05,
        **options,
    )
    return app


async def consenting(browser, action="accept_all"):
    browser.headers["user-agent"] = UA["windows_chrome"]
    await browser.post("/consentkit/consent", json={"action": action})


def rows(answer):
    return [(r["dimensions"], r["metrics"]) for r in answer["results"]]


async def answered(store_url, query, total):
    """The answer once ``total`` page views or events (the second metric) have landed."""
    store = open_store(store_url)
    try:
        await eventually(
            lambda: sum(r["metrics"][1] for r in store.query(query)["results"]) >= total,
            what="the flush",
        )
        return rows(store.query(query))
    finally:
        store.close()


async def test_sources_are_the_way_in_never_the_referring_page(store_url):
    app = site(store_url)
    async with visit(app) as searcher, visit(app) as reader, visit(app) as typist:
        for browser in (searcher, reader, typist):
            await consenting(browser)
        secret_search = "https://www.google.co.uk/search?q=alice%40example.com+private+matter"
        await searcher.get("/", headers={"referer": secret_search})
        # a click within the site is no way in
        await searcher.get("/items/1", headers={"referer": "http://testserver/"})
        await reader.get(
            "/?utm_source=newsletter&utm_medium=email&utm_campaign=alice@example.com",
            headers={"referer": "https://mail.example.net/inbox/8f14e45fceea167a"},
        )
        await reader.get("/items/2", headers={"referer": "https://news.ycombinator.com/item?id=1"})
        await typist.get("/")
        await typist.get("/", headers={"referer": "http://192.168.1.20/secret-admin"})
        assert await answered(store_url, SOURCES, 5) == [
            (["Direct / None"], [1, 2]),  # typed, and from an address (not kept)
            (["Google"], [1, 1]),
            (["Hacker News"], [1, 1]),
            (["Newsletter"], [1, 1]),
        ]
        campaigns = {**SOURCES, "dimensions": ["visit:utm_medium", "visit:utm_campaign"]}
        assert await answered(store_url, campaigns, 1) == [(["email", "{id}"], [1, 1])]
    with raw_database(store_url) as sql:
        kept = " ".join(value for (value,) in sql("SELECT value FROM ck_values"))
    for never in ("alice", "private", "search", "inbox", "8f14e4", "item?id", "192.168", "secret"):
        assert never not in kept


async def test_sources_off_keeps_none(store_url):
    app = site(store_url, sources=False)
    async with visit(app) as browser:
        await consenting(browser)
        await browser.get("/?utm_source=newsletter", headers={"referer": "https://bing.com/"})
        store = open_store(store_url)
        totals = {"metrics": ["visitors", "pageviews"], "date_range": "day"}
        await eventually(lambda: store.query(totals)["results"][0]["metrics"][1] == 1)
        assert store.query(SOURCES)["results"] == []
        store.close()


async def test_goals_from_the_server_and_the_page(store_url):
    app = site(store_url)
    async with visit(app) as visitor, visit(app) as refuser:
        await consenting(visitor)
        await consenting(refuser, "reject_all")
        await visitor.get("/")
        assert "(counted)" in (await visitor.post("/signup")).text
        assert "(not counted)" in (await refuser.post("/signup")).text
        sent = await visitor.post(
            "/consentkit/event",
            json={"name": "Purchase"},
            headers={"origin": "http://testserver", "referer": "http://testserver/shop/8842113"},
        )
        assert sent.status_code == 202 and sent.json() == {"counted": True}
        refused = await refuser.post("/consentkit/event", json={"name": "Purchase"})
        assert refused.status_code == 202 and refused.json() == {"counted": False}
        assert await answered(store_url, GOALS, 2) == [
            (["Purchase"], [1, 1]),
            (["signup"], [1, 1]),
        ]
        pages = {**GOALS, "dimensions": ["event:goal", "event:page"]}
        assert await answered(store_url, pages, 2) == [
            (["Purchase", "/shop/{id}"], [1, 1]),
            (["signup", "/signup"], [1, 1]),
        ]
        views = {"metrics": ["visitors", "pageviews"], "date_range": "day"}
        assert await answered(store_url, views, 1) == [([], [1, 1])]  # goals are no views


async def test_single_page_app_views_are_paths_without_their_query(store_url):
    app = site(store_url)
    async with visit(app) as browser:
        await consenting(browser)
        await browser.get("/")
        for path in ("/app/settings?tab=billing", "/app/users/alice@example.com#top"):
            sent = await browser.post("/consentkit/event", json={"pageview": path})
            assert sent.json() == {"counted": True}
        query = {"metrics": ["visitors", "pageviews"], "date_range": "day"}
        pages = {**query, "dimensions": ["event:page"], "order_by": [["event:page", "asc"]]}
        assert await answered(store_url, pages, 3) == [
            (["/"], [1, 1]),
            (["/app/settings"], [1, 1]),
            (["/app/users/{id}"], [1, 1]),
        ]


@pytest.mark.parametrize(
    ("body", "headers", "status", "field"),
    [
        ({"name": "signup"}, {"origin": "https://evil.example"}, 403, None),
        ({"name": ""}, {}, 400, "name"),
        ({"name": "x" * 65}, {}, 400, "name"),
        ({"name": "alice@example.com"}, {}, 400, "name"),
        ({"name": "a\nb"}, {}, 400, "name"),
        ({"name": ["signup"]}, {}, 400, "name"),
        ({"pageview": "https://evil.example/"}, {}, 400, "pageview"),
        ({"pageview": "//evil.example/"}, {}, 400, "pageview"),
        ({"name": "signup", "page": "nope"}, {}, 400, "page"),
        ({"name": "signup", "pageview": "/"}, {}, 400, None),
        ({"engagement": {"page": "/", "ms": 1}}, {}, 400, "body"),
        ({"name": "signup", "visitor": "me"}, {}, 400, "body"),
        ({}, {}, 400, None),
        ("[1, 2]", {"content-type": "application/json"}, 400, None),
        ("{", {"content-type": "application/json"}, 400, None),
        ("name=signup", {"content-type": "application/x-www-form-urlencoded"}, 415, None),
        ({"name": "x" * 4000}, {}, 413, None),
    ],
)
async def test_hostile_events_are_refused_with_a_reason(store_url, body, headers, status, field):
    app = site(store_url)
    async with visit(app) as browser:
        await consenting(browser)
        if isinstance(body, str):
            sent = await browser.post("/consentkit/event", content=body, headers=headers)
        else:
            sent = await browser.post("/consentkit/event", json=body, headers=headers)
        assert sent.status_code == status
        assert sent.json()["error"]
        assert sent.json().get("field") == field


async def test_track_outside_the_middleware_says_so():
    with pytest.raises(ConfigurationError, match="ConsentMiddleware"):
        consentkit.track({"type": "http", "headers": []}, "signup")


async def test_the_cookie_policy_says_whether_sources_are_kept(store_url):
    for sources, said in ((True, True), (False, False)):
        async with visit(site(store_url, sources=sources)) as browser:
            policy = (await browser.get("/consentkit/cookies?format=md")).text
            page = await browser.get(
                "/consentkit/cookies", headers={"accept": "text/html", "accept-language": "de"}
            )
        assert ("never the address of the page you came from" in policy) is said
        assert page.headers["content-type"].startswith("text/html")
        assert ("nie die Adresse der Seite, von der Sie kamen" in page.text) is said
