"""The privacy center and the cookie policy page in real Chromium, against the real app served
by uvicorn (the test site of browser_support.py): each page read, checked by axe-core and
used as a visitor would, with and without JavaScript, on a desktop and on a 320 px phone.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from browser_support import LiveServer, axe_problems
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from consentkit.locales.pages import shipped_page_texts
from consentkit.locales.texts import shipped_languages

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "docs" / "screenshots"
EN = {**shipped_languages()["en"], **shipped_page_texts()["en"]}
AR = {**shipped_languages()["ar"], **shipped_page_texts()["ar"]}
JSON = {"accept": "application/json"}

RECORD_CSP = """
window.__violations = [];
addEventListener('securitypolicyviolation', e => window.__violations.push(
    e.violatedDirective + ' ' + e.blockedURI), true);
"""
# Every element the Tab key can reach, in document order (no positive tabindex is used).
TABBABLE = """() => [...document.querySelectorAll('a[href], button, input, summary, [tabindex]')]
    .filter(e => !e.disabled && e.tabIndex >= 0 && e.getClientRects().length
                 && !e.closest('details:not([open]) > :not(summary)'))
    .map(e => e.outerHTML.slice(0, 60))"""


def accept_all_in_banner(page, base_url):
    page.goto(base_url + "/")
    page.get_by_role("button", name=EN["accept_all"], exact=True).click()
    page.wait_for_function("window.consentkit.state.decided")


def records(page, base_url):
    response = page.request.get(base_url + "/consentkit/me", headers=JSON)
    assert response.ok
    return response.json()["records"]


def open_center(new_page, site, **options):
    page = new_page(**options)
    page.add_init_script(RECORD_CSP)
    accept_all_in_banner(page, site)
    page.goto(site + "/consentkit/me")
    return page


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_privacy_center_reads_well_and_passes_axe(new_page, site, axe_source, scheme):
    page = open_center(new_page, site, color_scheme=scheme)
    assert page.title() == f"{EN['me_title']} · {site.removeprefix('http://')}"
    headings = page.locator("h1, h2").evaluate_all(
        "hs => hs.map(h => h.tagName + ' ' + h.textContent)"
    )
    assert headings == [
        f"H1 {EN['me_title']}",
        *(
            f"H2 {EN[key]}"
            for key in (
                "choice_heading",
                "change_heading",
                "history_heading",
                "not_held_heading",
                "download_heading",
                "erase_heading",
            )
        ),
    ]
    choice = page.get_by_role("region", name=EN["choice_heading"])
    assert "You allow: Necessary, Analytics, Marketing." in choice.inner_text()
    history = page.get_by_role("region", name=EN["history_heading"]).get_by_role("listitem")
    assert history.count() == 1 and EN["how_accept_all"] in history.inner_text()
    background = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
    assert background == ("rgb(24, 24, 27)" if scheme == "dark" else "rgb(255, 255, 255)")
    # the JavaScript-only button is shown, since JavaScript runs
    assert page.get_by_role("button", name=EN["change_open"]).is_visible()
    assert axe_problems(page, axe_source) == []
    page.get_by_text(EN["erase_open"]).click()  # the confirmation step, open
    assert page.get_by_role("button", name=EN["erase_confirm"]).is_visible()
    problems = axe_problems(page, axe_source)
    assert problems == [], json.dumps(problems, indent=1)
    assert page.evaluate("window.__violations") == []


def test_tab_goes_through_the_page_in_reading_order(new_page, site):
    page = open_center(new_page, site)
    expected = page.evaluate(TABBABLE)
    reached = []
    for _ in expected:
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.outerHTML.slice(0, 60)"))
    assert reached == expected
    assert reached[0].startswith('<a href="/consentkit/me" aria-current="page"')
    page.keyboard.press("Tab")  # and then out of the page, no trap
    assert page.evaluate("document.activeElement === document.body")


def test_a_visitor_erases_from_the_page_and_nothing_is_left(new_page, site):
    page = open_center(new_page, site)
    assert {c["name"] for c in page.context.cookies()} == {"consentkit", "consentkit_id"}
    assert len(records(page, site)) == 1
    page.get_by_text(EN["erase_open"]).click()
    with page.expect_navigation():
        page.get_by_role("button", name=EN["erase_confirm"]).click()
    assert page.get_by_role("heading", level=1).text_content() == EN["erased_title"]
    status = page.get_by_role("status").inner_text()
    assert "Records erased: 1." in status
    assert "Cookies removed from this browser: consentkit, consentkit_id." in status
    assert page.context.cookies() == []
    page.get_by_role("link", name=EN["back_to_me"]).click()
    page.wait_for_url("**/consentkit/me")
    assert EN["history_empty"] in page.inner_text("main")
    assert EN["choice_none"] in page.inner_text("main")
    assert records(page, site) == []
    assert page.evaluate("window.__violations") == []


def test_the_download_buttons_give_the_files(new_page, site):
    page = open_center(new_page, site)
    with page.expect_download() as as_csv:
        page.get_by_role("link", name=EN["download_csv"]).click()
    with page.expect_download() as as_json:
        page.get_by_role("link", name=EN["download_json"]).click()
    assert as_csv.value.suggested_filename == "consent-records.csv"
    assert as_json.value.suggested_filename == "consent-records.json"
    rows = list(csv.DictReader(io.StringIO(Path(as_csv.value.path()).read_text("utf-8"))))
    assert [(r["action"], r["categories"]) for r in rows] == [
        ("accept_all", "analytics marketing necessary")
    ]
    exported = json.loads(Path(as_json.value.path()).read_text("utf-8"))["records"]
    assert exported == records(page, site)
    assert exported[0]["decided_at"] == rows[0]["decided_at"]


def test_without_javascript_the_form_changes_the_choice(new_page, site):
    page = new_page(java_script_enabled=False)
    page.goto(site + "/consentkit/me")
    assert EN["choice_none"] in page.inner_text("main")
    assert page.get_by_role("button", name=EN["change_open"]).count() == 0  # hidden, no JS
    page.get_by_label("Analytics").check()
    with page.expect_navigation():
        page.get_by_role("button", name=EN["save"], exact=True).click()
    assert page.url == site + "/consentkit/me"
    assert "You allow: Necessary, Analytics." in page.inner_text("main")
    assert page.get_by_label("Analytics").is_checked()
    assert not page.get_by_label("Marketing").is_checked()
    assert [r["action"] for r in records(page, site)] == ["custom"]
    # and erasing works without JavaScript too
    page.get_by_text(EN["erase_open"]).click()
    with page.expect_navigation():
        page.get_by_role("button", name=EN["erase_confirm"]).click()
    assert "Records erased: 1." in page.inner_text("main")
    assert page.context.cookies() == []


def test_change_my_choice_opens_the_banners_preferences(new_page, site):
    page = open_center(new_page, site)
    page.get_by_role("button", name=EN["change_open"]).click()
    dialog = page.get_by_role("dialog", name=EN["preferences"])
    dialog.wait_for()
    dialog.locator("#ck-c-marketing").uncheck()
    with page.expect_event("load"):  # the page is loaded again, to show the new choice
        dialog.get_by_role("button", name=EN["save"], exact=True).click()
    history = page.get_by_role("region", name=EN["history_heading"])
    assert "Withdrawn: Marketing." in history.get_by_role("listitem").first.inner_text()
    assert "You allow: Necessary, Analytics." in page.inner_text("main")
    # the focus lands where the new choice is said, and the address stays the page's own
    page.wait_for_function("document.activeElement.id === 'ck-choice'")
    assert page.evaluate("document.activeElement.textContent") == EN["choice_heading"]
    assert page.url == site + "/consentkit/me"


@pytest.fixture
def other_site():
    """A site on another origin (another port) whose page posts to the test site's erasure."""

    def build(target: str) -> LiveServer:
        async def lure(request):
            return HTMLResponse(
                f"""<!doctype html><title>Win a prize</title>
<form method="post" action="{target}/consentkit/me/erase">
<input type="hidden" name="confirm" value="yes"><button>Claim your prize</button></form>"""
            )

        return LiveServer(Starlette(routes=[Route("/", lure)]))

    servers: list[LiveServer] = []

    def start(target: str) -> str:
        server = build(target).__enter__()
        servers.append(server)
        return server.url

    yield start
    for server in servers:
        server.__exit__()


def test_the_page_refuses_a_cross_site_form_post(new_page, site, other_site):
    page = open_center(new_page, site)
    held = page.context.cookies()
    page.goto(other_site(site) + "/")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Claim your prize").click()
    assert navigation.value.status == 403
    assert page.get_by_role("heading", level=1).text_content() == EN["refused_title"]
    assert EN["refused_cross_site"] in page.inner_text("main")
    assert page.context.cookies() == held
    assert len(records(page, site)) == 1


def test_the_pages_cannot_be_framed_by_another_site(new_page, site):
    page = new_page()
    response = page.goto(site + "/consentkit/me")
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert response.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_cookie_policy_page_reads_well_and_passes_axe(new_page, site, axe_source, scheme):
    page = new_page(color_scheme=scheme)
    page.add_init_script(RECORD_CSP)
    page.goto(site + "/")
    page.get_by_role("button", name=EN["reject_all"], exact=True).click()
    page.wait_for_function("window.consentkit.state.decided")
    page.goto(site + "/consentkit/cookies")
    assert page.title().startswith(EN["cookies_title"] + " · ")
    assert page.locator("h1, h2").all_text_contents() == [
        EN["cookies_title"],
        "Necessary",
        "Analytics",
        "Marketing",
    ]
    table = page.get_by_role("table").first
    assert table.get_by_role("columnheader").all_text_contents()[:3] == [
        "Cookie",
        "Purpose",
        "Lifetime",
    ]
    assert table.get_by_role("rowheader").first.text_content() == "consentkit"
    font = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert "serif" not in font.replace("sans-serif", "")
    problems = axe_problems(page, axe_source)
    assert problems == [], json.dumps(problems, indent=1)
    assert page.evaluate("window.__violations") == []
    page.get_by_role("button", name=EN["change_open"]).click()
    page.get_by_role("dialog", name=EN["preferences"]).wait_for()


@pytest.mark.parametrize("path", ["/consentkit/me", "/consentkit/cookies"])
def test_the_pages_fit_a_320px_phone(new_page, site, axe_source, path):
    page = new_page(viewport={"width": 320, "height": 640}, is_mobile=True, has_touch=True)
    accept_all_in_banner(page, site)
    page.goto(site + path)
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    heights = page.locator(".ck-button").evaluate_all(
        "bs => bs.filter(b => b.getClientRects().length).map(b => b.getBoundingClientRect().height)"
    )
    assert heights and min(heights) >= 44
    sizes = page.locator("main p").evaluate_all(
        "ps => ps.map(p => parseFloat(getComputedStyle(p).fontSize))"
    )
    assert min(sizes) >= 14
    problems = axe_problems(page, axe_source)
    assert problems == [], json.dumps(problems, indent=1)


def test_the_pages_in_arabic_are_right_to_left(new_page, site, axe_source):
    page = new_page(locale="ar")
    page.add_init_script(RECORD_CSP)
    page.goto(site + "/")
    page.get_by_role("button", name=AR["accept_all"], exact=True).click()
    page.wait_for_function("window.consentkit.state.decided")
    for path, title in (("/consentkit/me", "me_title"), ("/consentkit/cookies", "cookies_title")):
        page.goto(site + path)
        assert page.evaluate("[document.documentElement.lang, document.documentElement.dir]") == [
            "ar",
            "rtl",
        ]
        assert page.get_by_role("heading", level=1).text_content() == AR[title]
        heading = page.get_by_role("heading", level=1).bounding_box()
        width = page.viewport_size["width"]
        assert heading["x"] + heading["width"] > width / 2  # starts on the right
        problems = axe_problems(page, axe_source)
        assert problems == [], json.dumps(problems, indent=1)
    assert page.evaluate("window.__violations") == []


def test_screenshots_for_the_docs(new_page, live_site):
    # A fixed clock: the decision's time is on the page, and the pictures stay the same.
    site = live_site(clock=lambda: 1_793_613_600.0)  # 2026-11-02 10:00 UTC
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shots = {
        "privacy-center.png": ("/consentkit/me", {}),
        "privacy-center-dark.png": ("/consentkit/me", {"color_scheme": "dark"}),
        "privacy-center-mobile.png": (
            "/consentkit/me",
            {"viewport": {"width": 320, "height": 640}, "is_mobile": True, "has_touch": True},
        ),
        "cookie-policy.png": ("/consentkit/cookies", {}),
    }
    for name, (path, options) in shots.items():
        page = new_page(**{"color_scheme": "light", "device_scale_factor": 1, **options})
        accept_all_in_banner(page, site)
        page.goto(site + path)
        page.evaluate("document.fonts.ready.then(() => true)")
        target = SCREENSHOTS / name
        full = name == "privacy-center.png"  # the whole page: choice, history, actions
        page.screenshot(path=str(target), animations="disabled", caret="hide", full_page=full)
        assert target.stat().st_size < 200_000, f"{name} is {target.stat().st_size} bytes"
