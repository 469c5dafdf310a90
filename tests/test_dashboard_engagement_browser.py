"""The dashboard's time on page and scroll depth, site-wide and per page, in real Chromium.

Three readers today: two read the home page for a minute and a half and half of it, one
glances at the strict page; the site owner sees it in the totals and the pages panel.
"""

from __future__ import annotations

import csv

import httpx
import pytest
from browser_support import axe_problems, horizontal_overflow
from dashboard_support import AGENTS, TOKEN, log_in
from support import poll

READS = [("/", 80_000, 40), ("/", 100_000, 60), ("/strict", 5_000, 100)]


def send_reads(base_url: str) -> None:
    for page, ms, scroll in READS:
        with httpx.Client(base_url=base_url, headers={"User-Agent": AGENTS[2][0]}) as client:
            client.post("/consentkit/consent", json={"action": "accept_all"})
            assert client.get(page).is_success
            sent = client.post(
                "/consentkit/event",
                json={"engagement": {"page": page, "ms": ms, "scroll": scroll}},
                headers={"Origin": base_url},
            )
            assert sent.json() == {"counted": True}

    def stored() -> bool:
        answer = httpx.post(
            base_url + "/consentkit/api/query",
            headers={"Authorization": f"Bearer {TOKEN}"},
            json={"metrics": ["pageviews", "time_on_page"], "date_range": "day"},
        )
        return answer.json()["results"][0]["metrics"] == [3, 61.7]

    poll(stored, what="the flush of today's reads")


@pytest.fixture
def site(live_site):
    url = live_site(admin_token=TOKEN)
    send_reads(url)
    return url


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}]
)
def test_time_on_page_and_scroll_depth_are_shown(chromium, site, axe_source, viewport):
    context = chromium.new_context(locale="en-US", viewport=viewport)
    page = context.new_page()
    try:
        log_in(page, site)
        # Site-wide: (80 + 100 + 5) / 3 seconds, (40 + 60 + 100) / 3 percent.
        assert page.locator("#total-time").inner_text() == "1m 02s"
        assert page.locator("#total-scroll").inner_text() == "67%"
        assert (
            page.locator("#total-time").is_visible() and page.locator("#total-scroll").is_visible()
        )
        pages = page.locator('.panel[data-dimension="event:page"]')
        home = pages.locator('li[data-value="/"] .engaged').all_inner_texts()
        strict = pages.locator('li[data-value="/strict"] .engaged').all_inner_texts()
        assert (home, strict) == (["1m 30s", "50%"], ["5s", "100%"])
        # A screen reader hears what each number is.
        name = pages.locator('li[data-value="/"] button').text_content() or ""
        assert "time on page 1m 30s" in name and "scroll depth 50%" in name

        with page.expect_download() as download:
            page.get_by_role("button", name="Download CSV").click()
        with open(download.value.path(), newline="") as file:
            rows = list(csv.reader(file))
        assert rows[0][-2:] == ["time_on_page", "scroll_depth"]
        assert rows[1][-2:] == ["61.7", "66.7"]
        assert ["Pages", "/", "2", "", "66.7", "", "", "90", "50"] in rows

        problems = axe_problems(page, axe_source)
        assert problems == []
        overflow = horizontal_overflow(page)
        assert overflow <= 0
    finally:
        context.close()
