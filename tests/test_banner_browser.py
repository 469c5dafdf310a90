"""The banner in real Chromium, against the real app served by uvicorn."""

from __future__ import annotations


def cookies_of(context):
    return {c["name"]: c for c in context.cookies()}


def test_first_visit_shows_the_banner_and_reject_all_runs_nothing(chromium, live_site):
    url = live_site()
    context = chromium.new_context()
    page = context.new_page()
    page.goto(url + "/")
    region = page.get_by_role("region")
    accept = page.get_by_role("button", name="Accept all")
    accept.wait_for()
    page.get_by_role("button", name="Reject all").click()
    page.wait_for_function("window.consentkit.state.decided === true")
    assert not region.is_visible()
    cookies = cookies_of(context)
    assert "consentkit" in cookies and "consentkit_id" not in cookies
    assert page.evaluate("window.analyticsRuns") is None
    page.reload()
    page.wait_for_load_state("networkidle")
    assert not accept.is_visible()
    assert page.evaluate("window.analyticsRuns") is None
    context.close()
