"""Consent analytics from the same query API: decisions and opt-in rates."""

from __future__ import annotations

import pytest
from support import UA, visit

from consentkit import QueryError, open_store

pytestmark = [pytest.mark.anyio, pytest.mark.every_store]

CHOICES = [
    (UA["iphone"], {"action": "accept_all"}),
    (UA["iphone"], {"action": "reject_all"}),
    (UA["windows_chrome"], {"action": "custom", "categories": ["analytics"]}),
    (UA["windows_chrome"], {"action": "accept_all"}),
    (UA["ipad"], {"action": "reject_all"}),
]


@pytest.fixture
async def decided(make_site, store_url):
    app = make_site()
    for agent, choice in CHOICES:
        async with visit(app) as browser:
            browser.headers["user-agent"] = agent
            assert (await browser.post("/consentkit/consent", json=choice)).status_code == 200
    return open_store(store_url)


def rows(answer):
    return [(r["dimensions"], r["metrics"]) for r in answer["results"]]


async def test_grant_rate_per_category(decided):
    answer = decided.query(
        {
            "metrics": ["grant_rate", "decisions"],
            "dimensions": ["consent:category"],
            "date_range": "day",
            "order_by": [["consent:category", "asc"]],
        }
    )
    # analytics granted by 3 of 5 decisions, marketing by 2 of 5
    assert rows(answer) == [(["analytics"], [60.0, 5]), (["marketing"], [40.0, 5])]


async def test_decisions_by_action_and_device(decided):
    by_action = decided.query(
        {
            "metrics": ["decisions"],
            "dimensions": ["consent:action"],
            "date_range": "day",
            "order_by": [["consent:action", "asc"]],
        }
    )
    assert rows(by_action) == [(["accept_all"], [2]), (["custom"], [1]), (["reject_all"], [2])]
    by_device = decided.query(
        {
            "metrics": ["grant_rate"],
            "date_range": "day",
            "dimensions": ["visit:device", "consent:category"],
            "filters": [["is", "consent:category", ["analytics"]]],
            "order_by": [["visit:device", "asc"]],
        }
    )
    assert rows(by_device) == [
        (["desktop", "analytics"], [100.0]),
        (["mobile", "analytics"], [50.0]),
        (["tablet", "analytics"], [0.0]),
    ]
    total = decided.query(
        {"metrics": ["decisions"], "date_range": "day", "dimensions": ["time:day"]}
    )
    assert [r["metrics"] for r in total["results"]] == [[5]]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"metrics": ["visitors", "grant_rate"], "date_range": "day"}, "metrics"),
        (
            {"metrics": ["grant_rate"], "dimensions": ["event:page"], "date_range": "day"},
            "dimensions[0]",
        ),
        (
            {"metrics": ["visitors"], "dimensions": ["consent:action"], "date_range": "day"},
            "dimensions[0]",
        ),
        (
            {
                "metrics": ["decisions"],
                "date_range": "day",
                "filters": [["is", "visit:os", ["iOS"]]],
            },
            "filters",
        ),
    ],
)
async def test_page_view_and_consent_questions_are_not_mixed(decided, query, field):
    with pytest.raises(QueryError) as caught:
        decided.query(query)
    assert caught.value.field == field
