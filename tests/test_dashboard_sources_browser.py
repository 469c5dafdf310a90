"""The dashboard's sources, goals, comparisons, address and download, in real Chromium.

On top of test_dashboard_browser.py's week of traffic, today brings visitors from a search
engine and from a newsletter, and two of them sign up.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from browser_support import axe_problems, horizontal_overflow
from dashboard_support import (
    AGENTS,
    TOKEN,
    MovableClock,
    bars,
    log_in,
    plan,
    send_traffic,
    total,
    wait_updated,
)
from support import poll

GOOGLE = 3  # visitors from a Google search today
NEWSLETTER = 2  # from the newsletter's link (utm_source)
SIGNUPS = 2


def send_sources(base_url: str) -> None:
    """Today's visitors from elsewhere: each lands, clicks on, and the first ones sign up."""
    arrivals = [("/", {"Referer": "https://www.google.com/search?q=private"})] * GOOGLE
    arrivals += [("/?utm_source=newsletter&utm_medium=email", {})] * NEWSLETTER
    for index, (landing, headers) in enumerate(arrivals):
        with httpx.Client(base_url=base_url, headers={"User-Agent": AGENTS[2][0]}) as client:
            client.post("/consentkit/consent", json={"action": "accept_all"})
            assert client.get(landing, headers=headers).is_success
            assert client.get("/strict", headers={"Referer": base_url + "/"}).is_success
            if index < SIGNUPS:
                sent = client.post(
                    "/consentkit/event", json={"name": "signup"}, headers={"Origin": base_url}
                )
                assert sent.json() == {"counted": True}

    def stored() -> bool:
        answer = httpx.post(
            base_url + "/consentkit/api/query",
            headers={"Authorization": f"Bearer {TOKEN}"},
            json={"metrics": ["events"], "date_range": "day", "dimensions": ["event:goal"]},
        )
        return answer.json()["results"] == [{"dimensions": ["signup"], "metrics": [SIGNUPS]}]

    poll(stored, what="the flush of today's sources and goals")


@pytest.fixture
def site(live_site):
    clock = MovableClock()
    url = live_site(
        admin_token=TOKEN, country_header="CF-IPCountry", trusted_proxies=["127.0.0.1"], clock=clock
    )
    visits = plan(datetime.now(UTC).timestamp())
    send_traffic(url, clock, visits)
    send_sources(url)
    return url, visits


def logged_in(chromium, url, **options):
    context = chromium.new_context(locale="en-US", **options)
    page = context.new_page()
    log_in(page, url)
    return context, page


def test_sources_goals_and_the_previous_period(chromium, site):
    url, visits = site
    context, page = logged_in(chromium, url, viewport={"width": 1280, "height": 900})
    try:
        sources = bars(page, "visit:source")
        # (visitors are estimated: two of 39 may share a sketch register, one time in 50)
        assert abs(sources.pop("Direct / None") - len(visits)) <= 1
        assert sources == {"Google": GOOGLE, "Newsletter": NEWSLETTER}
        assert bars(page, "event:goal") == {"signup": SIGNUPS}
        goal = page.locator('.panel[data-dimension="event:goal"] li[data-value="signup"]')
        assert goal.locator(".pct").inner_text() == f"{SIGNUPS} times"
        # The week before had nothing: every number is new, and the chart has a flat line.
        assert page.locator("#change-visitors").inner_text() == "new in this period"
        assert page.locator("#timechart path.line.previous").count() == 1

        # Today against yesterday, in numbers.
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url) if "/api/query" in r.url else None)
        page.get_by_role("button", name="Today").click()
        wait_updated(page)
        assert len(requests) == 1  # one batch for everything the page shows
        today = datetime.now(UTC).date()
        on = lambda day: {v for v in visits if datetime.fromtimestamp(v.at, UTC).date() == day}  # noqa: E731
        now, before = len(on(today)) + GOOGLE + NEWSLETTER, len(on(today - timedelta(days=1)))
        # (estimated like the sources above: either count may be one off, one time in 50)
        shown = total(page, "visitors")
        assert abs(shown - now) <= 1

        def said(now: int, before: int) -> str:
            change = round(100 * (now - before) / before)
            return f"{'+' if change > 0 else ''}{change}% on the previous period"

        near = {said(shown, before + off) for off in (-1, 0, 1)}
        assert page.locator("#change-visitors").inner_text() in near
        # Hour by hour, yesterday's visitors, up to this hour of the day.
        previous = page.locator("#timetable tbody td:nth-child(4)").all_text_contents()
        hour = datetime.now(UTC).hour
        earlier = on(today - timedelta(days=1))
        assert sum(int(n) for n in previous) == sum(
            datetime.fromtimestamp(v.at, UTC).hour <= hour for v in earlier
        )

        # The download holds what is shown.
        with page.expect_download() as download:
            page.get_by_role("button", name="Download CSV").click()
        assert download.value.suggested_filename == "analytics-day.csv"
        with open(download.value.path(), newline="") as file:
            rows = list(csv.reader(file))
        assert rows[0][:4] == ["section", "value", "visitors", "pageviews"]
        assert rows[1][:3] == ["Totals", "", str(now)]
        assert ["Sources", "Google", str(GOOGLE)] in [row[:3] for row in rows]
        assert ["Goals", "signup", str(SIGNUPS), "", "", str(SIGNUPS), ""] in [r[:7] for r in rows]

        # The opt-in rate says which filter it cannot follow.
        page.locator('[data-dimension="event:page"] li[data-value="/strict"] button').click()
        wait_updated(page)
        assert "Not filtered by page" in page.locator("#consent").inner_text()
    finally:
        context.close()


def test_the_view_lives_in_the_address(chromium, site):
    url, _ = site
    context, page = logged_in(chromium, url, viewport={"width": 1280, "height": 900})
    try:
        page.get_by_role("button", name="30 days").click()
        wait_updated(page)
        everyone = total(page, "visitors")
        page.locator('[data-dimension="visit:device"] li[data-value="mobile"] button').click()
        wait_updated(page)
        mobile = total(page, "visitors")
        assert 0 < mobile < everyone
        assert bars(page, "visit:device") == {"mobile": mobile}
        assert "range=30d" in page.url and "filter=visit%3Adevice%7Cmobile" in page.url

        page.reload()  # the view survives a reload
        wait_updated(page)
        assert page.locator('.ranges [data-range="30d"]').get_attribute("aria-pressed") == "true"
        assert page.locator("#filters .chip").inner_text().startswith("Device is mobile")
        assert total(page, "visitors") == mobile

        shared = context.new_page()  # and can be shared: the same address, the same view
        shared.goto(page.url)
        wait_updated(shared)
        assert total(shared, "visitors") == mobile
        shared.close()

        page.go_back()  # the back button undoes the filter, then the range
        wait_updated(page)
        assert page.locator("#filters .chip").count() == 0
        assert total(page, "visitors") == everyone
        page.go_back()
        wait_updated(page)
        assert page.locator('.ranges [data-range="7d"]').get_attribute("aria-pressed") == "true"

        page.goto(url + "/consentkit/dashboard?range=custom&from=2026-13-01&to=x&filter=no|pe")
        wait_updated(page)  # a hand-edited address falls back to the default view
        assert page.locator('.ranges [data-range="7d"]').get_attribute("aria-pressed") == "true"
        assert page.locator("#filters .chip").count() == 0
    finally:
        context.close()


def test_a_bad_range_is_explained_and_the_phone_sees_every_number(chromium, site, axe_source):
    url, _ = site
    context, page = logged_in(chromium, url, viewport={"width": 390, "height": 844})
    try:
        assert page.locator("#total-ratio").is_visible()  # "Views per visitor" on a phone
        page.get_by_role("button", name="Custom").click()
        page.locator("#from").fill("2026-01-10")
        page.locator("#to").fill("2026-01-01")
        page.get_by_role("button", name="Apply").click()
        error = page.locator("#range-error")
        assert (
            "is not a range" in error.inner_text() and "Still showing 7 days" in error.inner_text()
        )
        assert page.locator("#from").get_attribute("aria-invalid") == "true"
        page.locator("#from").fill("2026-01-01")
        page.locator("#to").fill("2026-01-10")
        page.get_by_role("button", name="Apply").click()
        wait_updated(page)
        assert error.inner_text() == ""
        page.locator("#from").fill("2026-02-10")  # bad again, while a custom range is shown:
        page.get_by_role("button", name="Apply").click()  # the inputs go back to that range
        assert page.locator("#from").input_value() == "2026-01-01"
        assert page.locator("#to").input_value() == "2026-01-10"
        problems = axe_problems(page, axe_source)
        assert problems == []
        overflow = horizontal_overflow(page)
        assert overflow <= 0
    finally:
        context.close()
