"""POST /consentkit/api/query: the analytics over HTTP, behind the admin token."""

from __future__ import annotations

import pytest
from support import UA, visit

pytestmark = pytest.mark.anyio

TOKEN = "admin-token-for-tests-0123456789"
QUERY = {"metrics": ["visitors", "pageviews"], "dimensions": ["visit:device"], "date_range": "day"}


async def traffic(app, agents):
    """One consented visitor per user agent, two page views each."""
    for agent in agents:
        async with visit(app) as browser:
            browser.headers["user-agent"] = agent
            await browser.post("/consentkit/consent", json={"action": "accept_all"})
            await browser.get("/")
            await browser.get("/items/1")


async def test_no_admin_token_means_no_api(make_site):
    async with visit(make_site()) as client:
        response = await client.post(
            "/consentkit/api/query", json=QUERY, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert response.status_code == 404


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer"]
)
async def test_without_the_token_the_answer_is_401(make_site, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    async with visit(make_site(admin_token=TOKEN)) as client:
        response = await client.post("/consentkit/api/query", json=QUERY, headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert "results" not in response.json()


async def test_the_api_answers_what_store_query_answers(make_site, store_url):
    from consentkit import open_store

    app = make_site(admin_token=TOKEN, flush_interval=3600)
    await traffic(app, [UA["iphone"], UA["iphone"].replace("17_1", "17_2"), UA["windows_chrome"]])
    async with visit(app) as client:
        response = await client.post(
            "/consentkit/api/query", json=QUERY, headers={"Authorization": f"Bearer {TOKEN}"}
        )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    answer = response.json()
    assert answer["results"] == [
        {"dimensions": ["mobile"], "metrics": [2, 4]},
        {"dimensions": ["desktop"], "metrics": [1, 2]},
    ]
    assert answer == open_store(store_url).query(QUERY)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            b'{"metrics": ["visitors"], "date_range": "7d", "dimensions": ["visit:ip"]}',
            "dimensions[0]",
        ),
        (b'{"metrics": ["visitors"], "date_range": "yesterday-ish"}', "date_range"),
        (
            b'{"metrics": ["grant_rate"], "date_range": "7d", "filters": [["is",'
            b' "consent:category", ["analytics", "marketting"]]]}',
            "filters[0][2]",
        ),
        (
            b'{"metrics": ["decisions"], "date_range": "7d", "filters": [["or", [["is",'
            b' "consent:action", ["custom"]], ["not", ["is", "consent:category", ["ads"]]]]]]}',
            "filters[0][1][1][1][2]",
        ),
        (b"not json", None),
    ],
)
async def test_a_bad_query_is_a_400_naming_the_field(make_site, body, field):
    async with visit(make_site(admin_token=TOKEN)) as client:
        response = await client.post(
            "/consentkit/api/query",
            content=body,
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
        assert response.status_code == 400
        assert response.json().get("field") == field


async def test_wrong_method_and_unknown_admin_paths(make_site):
    async with visit(make_site(admin_token=TOKEN)) as client:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert (await client.get("/consentkit/api/query", headers=auth)).status_code == 405
        assert (await client.post("/consentkit/api/nothing", headers=auth)).status_code == 404


async def test_k_anonymity_folds_small_rows_into_other(make_site):
    app = make_site(admin_token=TOKEN, k_anonymity=2, flush_interval=3600)
    await traffic(
        app, [UA["iphone"], UA["iphone"].replace("17_1", "17_2"), UA["windows_chrome"], UA["ipad"]]
    )
    async with visit(app) as client:
        response = await client.post(
            "/consentkit/api/query", json=QUERY, headers={"Authorization": f"Bearer {TOKEN}"}
        )
    answer = response.json()
    assert answer["results"] == [
        {"dimensions": ["(other)"], "metrics": [2, 4]},
        {"dimensions": ["mobile"], "metrics": [2, 4]},
    ]
    assert answer["meta"]["folded_rows"] == 2


def test_short_admin_tokens_are_refused_at_start_up(store_url):
    from consentkit import ConfigurationError, ConsentMiddleware

    with pytest.raises(ConfigurationError, match="admin_token"):
        ConsentMiddleware(None, secret_key="s" * 32, store=store_url, admin_token="1234")
