"""The dashboard in real Chromium, against the live test site with real traffic in its store.

A week of consented visitors (known user agents and countries, spread over days and hours
with the middleware's clock) is sent first; the expected numbers are counted from that plan.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from browser_support import axe_problems, horizontal_overflow
from dashboard_support import (
    PER_DAY,
    TOKEN,
    MovableClock,
    bars,
    log_in,
    plan,
    send_traffic,
    total,
    wait_updated,
)

# The dashboard shows dates, so its screenshots differ from day to day: they are written into
# docs/ only when asked (CONSENTKIT_SCREENSHOTS=1), else into a temporary folder.
SCREENSHOTS = (
    Path(__file__).resolve().parents[1] / "docs" / "screenshots"
    if os.environ.get("CONSENTKIT_SCREENSHOTS") == "1"
    else Path(tempfile.mkdtemp())
)
RECORD_CSP = """
window.__violations = [];
addEventListener('securitypolicyviolation',
                 e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI), true);
"""


@pytest.fixture
def site(live_site):
    clock = MovableClock()
    url = live_site(
        admin_token=TOKEN, country_header="CF-IPCountry", trusted_proxies=["127.0.0.1"], clock=clock
    )
    visits = plan(time.time())
    send_traffic(url, clock, visits)
    return url, visits


def test_the_dashboard_draws_the_traffic(chromium, site):
    url, visits = site
    context = chromium.new_context(
        viewport={"width": 1280, "height": 800}, color_scheme="light", locale="en-US"
    )
    context.add_init_script(RECORD_CSP)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        # ---- log in through the form
        page.goto(url + "/consentkit/dashboard")
        page.get_by_label("Admin token").fill("not-the-token")
        page.get_by_role("button", name="Log in").click()
        assert page.get_by_role("alert").inner_text().startswith("That token is not right")
        errors.clear()  # the 401 of the wrong try is logged by Chromium as a console error
        page.get_by_label("Admin token").fill(TOKEN)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(url + "/consentkit/dashboard")
        wait_updated(page)
        assert page.get_by_role("heading", name="Analytics", level=1).is_visible()
        assert page.locator('.ranges [data-range="7d"]').get_attribute("aria-pressed") == "true"

        # ---- totals, the time chart and the bar lists match the traffic sent
        assert total(page, "visitors") == len(visits)
        assert total(page, "pageviews") == sum(len(v.pages) for v in visits)
        line = page.locator("#timechart svg path.line.visitors")
        assert line.count() == 1 and line.get_attribute("d").count("L") == 6  # 7 days
        assert page.locator("#timetable tbody tr").count() == 7
        per_day = [
            int(c.text_content()) for c in page.locator("#timetable tbody td:nth-child(2)").all()
        ]
        assert per_day == PER_DAY
        assert page.locator("#timechart svg").get_attribute("aria-label")
        assert bars(page, "visit:country") == Counter(v.country for v in visits)
        assert bars(page, "visit:device") == Counter(v.device for v in visits)
        assert bars(page, "visit:browser") == Counter(v.browser for v in visits)
        assert bars(page, "event:page") == {
            "/": len(visits),
            "/strict": sum("/strict" in v.pages for v in visits),
        }
        # 40 decisions: the 39 visitors' accept_all and one reject_all (while the store
        # cannot answer consent queries, the panel says so instead).
        consent = page.locator("#consent")
        analytics = consent.locator("li[data-value=analytics]")
        if analytics.count():
            assert analytics.locator(".num").inner_text() == "98%"
            assert analytics.locator(".pct").inner_text() == "of 40"
        else:
            assert consent.locator(".body").inner_text() == "No consent data."

        # ---- a tooltip follows the pointer over the chart
        box = page.locator("#timechart svg").bounding_box()
        page.mouse.move(box["x"] + box["width"] - 20, box["y"] + box["height"] / 2)
        assert f"{PER_DAY[-1]} visitors" in page.locator(".tooltip").inner_text()
        page.mouse.move(0, 0)

        # ---- clicking "mobile" filters every panel; the chip removes the filter
        mobile = [v for v in visits if v.device == "mobile"]
        page.locator('[data-dimension="visit:device"] li[data-value="mobile"] button').click()
        chip = page.locator("#filters .chip")
        chip.wait_for()
        assert chip.inner_text().startswith("Device is mobile")
        wait_updated(page)
        assert total(page, "visitors") == len(mobile)
        assert bars(page, "visit:device") == {"mobile": len(mobile)}
        assert bars(page, "visit:country") == Counter(v.country for v in mobile)
        assert bars(page, "visit:browser") == Counter(v.browser for v in mobile)
        chip.get_by_role("button", name="Remove filter Device is mobile").press("Enter")
        wait_updated(page)
        assert chip.count() == 0
        assert total(page, "visitors") == len(visits)

        # ---- the date-range picker
        today = datetime.now(UTC).date()
        todays = [v for v in visits if datetime.fromtimestamp(v.at, UTC).date() == today]
        page.get_by_role("button", name="Today").click()
        wait_updated(page)
        assert total(page, "visitors") == len(todays)
        assert page.locator("#timetable tbody tr").count() == datetime.now(UTC).hour + 1
        page.get_by_role("button", name="12 months").click()
        wait_updated(page)
        assert total(page, "visitors") == len(visits)
        months = page.locator("#timetable tbody tr").count()
        assert months == 12
        page.get_by_role("button", name="Custom").click()
        page.locator("#from").fill("2020-01-01")
        page.locator("#to").fill("2020-01-31")
        page.get_by_role("button", name="Apply").click()
        wait_updated(page)
        assert total(page, "visitors") == 0
        assert page.locator("#timetable tbody tr").count() == 31
        assert "No data" in page.locator('[data-dimension="visit:country"]').inner_text()
        page.locator("#from").fill((today - timedelta(days=2)).isoformat())
        page.locator("#to").fill(today.isoformat())
        page.get_by_role("button", name="Apply").click()
        wait_updated(page)
        assert total(page, "visitors") == sum(PER_DAY[-3:])

        # ---- no errors, no CSP violations
        assert errors == []
        assert page.evaluate("window.__violations") == []

        # ---- screenshots for the docs: a week, light and dark
        page.get_by_role("button", name="7 days").click()
        wait_updated(page)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(
            path=str(SCREENSHOTS / "dashboard.png"), animations="disabled", caret="hide"
        )
        page.emulate_media(color_scheme="dark")
        page.screenshot(
            path=str(SCREENSHOTS / "dashboard-dark.png"), animations="disabled", caret="hide"
        )
        assert errors == [] and page.evaluate("window.__violations") == []

        # ---- a store that cannot answer the consent query leaves the rest of the page working
        def refuse_consent(route):  # the consent query's place in the batch answers an error
            response = route.fetch()
            asked = json.loads(route.request.post_data or "[]")
            answers = [
                {"error": "unknown dimension", "field": "dimensions[0]"}
                if "consent:category" in json.dumps(query)
                else answer
                for query, answer in zip(asked, response.json(), strict=True)
            ]
            route.fulfill(response=response, json=answers)

        page.route("**/consentkit/api/query", refuse_consent)
        page.reload()
        wait_updated(page)
        assert page.locator("#consent .body").inner_text() == "No consent data."
        assert total(page, "visitors") == len(visits)
    finally:
        context.close()


def test_the_dashboard_is_accessible_and_fits_a_phone(chromium, site, axe_source):
    url, _ = site
    for scheme, viewport in (("light", (1280, 800)), ("dark", (390, 844))):
        context = chromium.new_context(
            viewport={"width": viewport[0], "height": viewport[1]}, color_scheme=scheme
        )
        page = context.new_page()
        try:
            log_in(page, url)
            problems = axe_problems(page, axe_source)
            assert problems == [], (scheme, problems)
            overflow = horizontal_overflow(page)
            assert overflow <= 0, f"{scheme} {viewport}: {overflow}px wider than the screen"
        finally:
            context.close()
