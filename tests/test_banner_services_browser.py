"""The banner's services, embed placeholders, phone layout, hooks and focus, in Chromium.

The test site has marketing with two services (YouTube, Vimeo); ``/`` embeds a YouTube
frame and a Vimeo frame (``data-service``), a frame gated on the marketing category, a frame
of a service the site does not configure, and a script gated on YouTube
(``window.youtubeRuns``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from browser_support import axe_problems, live_servers
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from consentkit import Category, ConsentMiddleware, Service

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Videos</title>
<link rel="stylesheet" href="/site.css">
<script src="/consentkit/banner.js" defer></script>
</head><body>
<h1>Videos</h1>
<a href="#top" id="top-link">Top of the page</a>
<p>A talk:</p>
<iframe id="youtube" title="A talk on YouTube" data-service="youtube"
        data-src="/frame?from=youtube" width="320" height="180"></iframe>
<iframe id="vimeo" title="A film on Vimeo" data-service="vimeo"
        data-src="/frame?from=vimeo" width="320" height="180"></iframe>
<iframe id="ads" title="An advert" data-category="marketing"
        data-src="/frame?from=ads" width="320" height="180"></iframe>
<iframe id="unknown" title="Not configured" data-service="tiktok"
        data-src="/frame?from=tiktok" width="320" height="180"></iframe>
<script type="text/plain" data-service="youtube">
window.youtubeRuns = (window.youtubeRuns || 0) + 1;</script>
<button type="button" id="reopen" data-consentkit-open>Cookie settings</button>
</body></html>"""

RECORD_EVENTS = """
window.__events = [];
for (const name of ['consentkit:change', 'consentkit:first']) {
  addEventListener(name, e => window.__events.push(
      [name, JSON.parse(JSON.stringify(e.detail))]));
}
"""


def video_site(store_url: str, **options: Any) -> Starlette:
    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(PAGE)

    async def frame(request: Request) -> HTMLResponse:
        source = request.query_params.get("from", "")
        return HTMLResponse(f"<!doctype html><title>frame</title><p>from {source}</p>")

    async def site_css(request: Request) -> Response:
        return Response(
            "body{font:16px/1.5 sans-serif;margin:1rem} iframe{max-width:100%}"
            " .ck-embed{--ck-accent:#0f766e;--ck-accent-fg:#fff}",
            media_type="text/css",
        )

    app = Starlette(routes=[Route("/", page), Route("/frame", frame), Route("/site.css", site_css)])
    settings: dict[str, Any] = {
        "secret_key": "browser-secret-of-at-least-32-characters",
        "store": store_url,
        "categories": [
            Category("analytics", title="Analytics", description="Counts visits."),
            Category(
                "marketing",
                title="Marketing",
                description="Ads and videos.",
                services=[
                    Service("youtube", title="YouTube", cookies=["YSC"]),
                    Service("vimeo", title="Vimeo", description="Films."),
                ],
            ),
        ],
        "policy_version": "2026-11",
        **options,
    }
    app.add_middleware(ConsentMiddleware, **settings)
    return app


@pytest.fixture
def videos(tmp_path):
    with live_servers(tmp_path, video_site, "videos") as start:
        yield start


def open_videos(new_page, base_url, **options):
    page = new_page(**options)
    page.add_init_script(RECORD_EVENTS)
    page.goto(base_url + "/")
    page.get_by_role("region", name="Your privacy").wait_for()
    return page


def frame_sources(page):
    return page.evaluate(
        "['youtube', 'vimeo', 'ads'].map(id => document.getElementById(id).getAttribute('src'))"
    )


def state_of(page, base_url):
    return page.request.get(base_url + "/consentkit/state").json()


# ---- services in the preferences ------------------------------------------------------


def test_a_service_alone_is_granted_from_the_preferences(new_page, videos):
    base = videos()
    page = open_videos(new_page, base)
    page.get_by_role("button", name="Preferences", exact=True).click()
    dialog = page.get_by_role("dialog", name="Preferences")
    dialog.wait_for()
    marketing = dialog.get_by_role("switch", name="Marketing")
    youtube = dialog.get_by_role("switch", name="YouTube")
    vimeo = dialog.get_by_role("switch", name="Vimeo")
    # The services sit under their category, indented, and start off.
    assert not youtube.is_checked() and not vimeo.is_checked()
    assert youtube.bounding_box()["y"] > marketing.bounding_box()["y"]
    assert youtube.evaluate("e => !!e.closest('.ck-cat').querySelector('#ck-c-marketing')")
    indent = youtube.evaluate("e => e.closest('.ck-svc').getBoundingClientRect().left")
    assert indent > marketing.evaluate("e => e.closest('.ck-cat').getBoundingClientRect().left")
    # The category's switch turns its services on and off; a service alone leaves it off.
    marketing.check()
    assert youtube.is_checked() and vimeo.is_checked()
    vimeo.uncheck()
    assert not marketing.is_checked() and youtube.is_checked()

    dialog.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_function("window.youtubeRuns === 1")
    page.frame_locator("#youtube").get_by_text("from youtube").wait_for()
    assert frame_sources(page) == ["/frame?from=youtube", None, None]
    assert page.evaluate("['youtube', 'vimeo', 'marketing'].map(consentkit.allows)") == [
        True,
        False,
        False,
    ]
    state = state_of(page, base)
    assert (state["categories"], state["services"]) == (["necessary"], ["youtube"])

    # The next page reads the service from the decision cookie, with no request.
    page.reload()
    page.wait_for_function("window.youtubeRuns === 1")
    assert frame_sources(page)[0] == "/frame?from=youtube"
    assert page.evaluate("consentkit.state.services") == ["youtube"]
    page.evaluate("consentkit.show()")
    dialog.wait_for()
    assert youtube.is_checked() and not vimeo.is_checked() and not marketing.is_checked()


def test_granting_the_category_loads_all_its_services(new_page, videos):
    base = videos()
    page = open_videos(new_page, base)
    page.get_by_role("button", name="Accept all", exact=True).click()
    page.frame_locator("#vimeo").get_by_text("from vimeo").wait_for()
    assert frame_sources(page) == [
        "/frame?from=youtube",
        "/frame?from=vimeo",
        "/frame?from=ads",
    ]
    assert page.locator(".ck-embed").count() == 0
    page.reload()
    page.frame_locator("#ads").get_by_text("from ads").wait_for()
    assert page.evaluate("consentkit.allows('vimeo')") is True


# ---- placeholders ---------------------------------------------------------------------


def test_a_gated_frame_shows_what_it_would_load_and_loads_on_request(new_page, videos):
    base = videos()
    page = open_videos(new_page, base)
    youtube = page.get_by_role("group", name="YouTube")
    youtube.wait_for()
    assert youtube.get_by_text("YouTube (Marketing) is not loaded until you allow it.").count()
    ads = page.get_by_role("group", name="An advert")  # no service: the frame's title
    assert ads.get_by_text("An advert (Marketing) is not loaded").count() == 1
    # In the frame's place and of its size; the frame itself is hidden meanwhile.
    frame_box = page.evaluate(
        "(() => { const f = document.getElementById('youtube');"
        " return f.previousElementSibling.getBoundingClientRect().width; })()"
    )
    assert frame_box == pytest.approx(324, abs=1)  # 320 + the frame's 2px borders
    assert page.locator("#youtube").is_hidden()

    youtube.get_by_role("button", name="Allow and load: YouTube").click()
    page.frame_locator("#youtube").get_by_text("from youtube").wait_for()
    # Focus moves from the button (gone) to the frame that took its place.
    page.wait_for_function("document.activeElement.id === 'youtube'")
    assert page.locator("#youtube").is_visible()
    assert youtube.count() == 0  # the placeholder is gone
    assert frame_sources(page) == ["/frame?from=youtube", None, None]
    assert page.get_by_role("group", name="Vimeo").is_visible()  # others still wait
    # It was a decision like any other: recorded, and the banner is done.
    assert page.get_by_role("region", name="Your privacy").is_hidden()
    state = state_of(page, base)
    assert (state["categories"], state["services"]) == (["necessary"], ["youtube"])

    # Allowing the category from its placeholder keeps the service allowed before.
    ads.get_by_role("button", name="Allow and load: An advert").click()
    page.frame_locator("#ads").get_by_text("from ads").wait_for()
    page.frame_locator("#vimeo").get_by_text("from vimeo").wait_for()
    assert page.locator(".ck-embed").count() == 0
    assert state_of(page, base)["categories"] == ["marketing", "necessary"]


def test_placeholders_are_themed_translated_and_accessible(new_page, videos, axe_source):
    base = videos()
    page = open_videos(new_page, base)
    button = page.get_by_role("button", name="Allow and load: YouTube")
    button.wait_for()
    # The site's --ck-accent on .ck-embed reaches the button.
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(15, 118, 110)"
    assert button.bounding_box()["height"] >= 44
    problems = axe_problems(page, axe_source, {"include": [[".ck-embed"]]})
    assert problems == [], json.dumps(problems, indent=1)

    german = new_page(locale="de-DE")
    german.goto(base + "/")
    group = german.get_by_role("group", name="YouTube")
    group.wait_for()
    assert group.get_by_text("wird erst geladen, wenn Sie es erlauben").count() == 1
    assert group.get_by_role("button", name="Erlauben und laden: YouTube").is_visible()


def test_a_returning_visitor_who_refused_sees_placeholders(new_page, videos):
    base = videos()
    page = open_videos(new_page, base)
    page.get_by_role("button", name="Reject all", exact=True).click()
    page.get_by_role("region", name="Your privacy").wait_for(state="hidden")
    page.reload()
    page.get_by_role("group", name="Vimeo").wait_for()
    assert page.locator(".ck-root").count() == 0  # no banner built, only placeholders
    assert page.locator(".ck-embed").count() == 3
    assert frame_sources(page) == [None, None, None]
    # A service the site does not configure can never be allowed: no placeholder offers it.
    assert page.locator("#unknown").get_attribute("src") is None
    assert page.get_by_role("group", name="Not configured").count() == 0


# ---- phones ---------------------------------------------------------------------------


@pytest.mark.parametrize(("width", "height", "share"), [(375, 740, 0.30), (320, 568, 0.33)])
def test_on_a_phone_the_banner_leaves_the_page_visible(new_page, videos, width, height, share):
    base = videos()
    page = open_videos(
        new_page,
        base,
        viewport={"width": width, "height": height},
        is_mobile=True,
        has_touch=True,
    )
    region = page.get_by_role("region", name="Your privacy")
    box = region.bounding_box()
    covered = box["height"] / height
    print(f"banner covers {covered:.1%} of {width}x{height}")
    assert covered <= share, f"{covered:.1%} of the screen"
    buttons = [
        region.get_by_role("button", name=name, exact=True)
        for name in ("Accept all", "Reject all", "Preferences")
    ]
    boxes = [button.bounding_box() for button in buttons]
    # One row of equal buttons, each a comfortable touch target, none off the screen.
    assert len({round(b["y"]) for b in boxes}) == 1
    assert len({round(b["width"]) for b in boxes}) == 1
    assert len({round(b["height"]) for b in boxes}) == 1
    assert all(b["height"] >= 44 and b["x"] + b["width"] <= width for b in boxes)
    styles = [b.evaluate("e => getComputedStyle(e).backgroundColor") for b in buttons]
    assert len(set(styles)) == 1
    # The text is not cut off: the banner does not scroll.
    assert region.evaluate("e => e.scrollHeight <= e.clientHeight")


# ---- hooks ----------------------------------------------------------------------------


def test_events_on_the_first_decision_and_on_every_change(new_page, videos):
    base = videos()
    page = open_videos(new_page, base)
    page.get_by_role("button", name="Accept all", exact=True).click()
    page.wait_for_function("window.__events.length === 2")
    (first_name, first), (change_name, change) = page.evaluate("window.__events")
    assert (first_name, change_name) == ("consentkit:first", "consentkit:change")
    assert first == change
    assert change["first"] is True
    assert change["granted"] == ["analytics", "marketing", "vimeo", "youtube"]
    assert change["revoked"] == []

    page.evaluate("consentkit.show()")
    dialog = page.get_by_role("dialog", name="Preferences")
    dialog.get_by_role("switch", name="Vimeo").uncheck()
    dialog.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_function("window.__events.length === 3")
    name, detail = page.evaluate("window.__events[2]")
    assert name == "consentkit:change"  # no second "first"
    assert detail["first"] is False
    assert detail["granted"] == []
    assert detail["revoked"] == ["marketing", "vimeo"]
    assert detail["categories"] == ["analytics", "necessary"]
    assert detail["services"] == ["youtube"]


# ---- focus after a decision -----------------------------------------------------------


def focused(page):
    return page.evaluate("document.activeElement.id || document.activeElement.tagName")


def test_focus_returns_to_what_opened_the_preferences(new_page, videos):
    base = videos()
    page = open_videos(new_page, base)
    page.get_by_role("button", name="Reject all", exact=True).click()
    page.get_by_role("region", name="Your privacy").wait_for(state="hidden")
    page.locator("#reopen").focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Preferences")
    dialog.wait_for()
    dialog.get_by_role("switch", name="Analytics").check()
    dialog.get_by_role("button", name="Save", exact=True).press("Enter")
    dialog.wait_for(state="hidden")
    page.wait_for_function("document.activeElement.id === 'reopen'")
    assert focused(page) == "reopen"


def test_focus_returns_to_the_page_after_a_choice_in_the_banner(new_page, videos):
    base = videos()
    page = open_videos(new_page, base)
    page.locator("#top-link").focus()
    accept = page.get_by_role("button", name="Accept all", exact=True)
    accept.focus()
    accept.press("Enter")
    page.get_by_role("region", name="Your privacy").wait_for(state="hidden")
    page.wait_for_function("document.activeElement.id === 'top-link'")

    # From the dialog opened by the banner's own Preferences button (gone after the choice).
    second = open_videos(new_page, base)
    second.locator("#top-link").focus()
    second.get_by_role("button", name="Preferences", exact=True).click()
    second.get_by_role("dialog").get_by_role("button", name="Reject all", exact=True).click()
    second.get_by_role("dialog").wait_for(state="hidden")
    second.wait_for_function("document.activeElement.id === 'top-link'")


# ---- screenshots for the docs ---------------------------------------------------------


def test_screenshots_of_services_and_placeholders_for_the_docs(new_page, videos):
    screenshots = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
    base = videos()
    page = open_videos(new_page, base, viewport={"width": 800, "height": 640}, color_scheme="light")
    page.evaluate("document.fonts.ready.then(() => true)")
    path = screenshots / "placeholders.png"
    placeholder = page.get_by_role("group", name="YouTube")
    placeholder.screenshot(path=str(path), animations="disabled", caret="hide")
    page.get_by_role("button", name="Preferences", exact=True).dispatch_event("click")
    dialog = page.get_by_role("dialog", name="Preferences")
    dialog.wait_for()
    dialog.get_by_role("switch", name="YouTube").dispatch_event("click")
    page.evaluate("document.activeElement.blur()")
    dialog_path = screenshots / "services.png"
    dialog.screenshot(path=str(dialog_path), animations="disabled", caret="hide")
    for shot in (path, dialog_path):
        assert shot.stat().st_size < 200_000, f"{shot.name} is {shot.stat().st_size} bytes"
