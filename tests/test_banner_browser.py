"""The banner in real Chromium, against the real app served by uvicorn.

Each test opens a fresh browser context (no cookies) on the test site of browser_support.py:
``/`` holds a gated inline script (``window.analyticsRuns``), a gated external script
(``/gated.js``, ``window.externalRuns``), a marketing ``img#pixel`` and ``iframe#frame``, and a
``button#reopen`` with ``data-consentkit-open``; ``/strict`` is the same without the inline
script, under ``Content-Security-Policy: default-src 'self'``.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from browser_support import axe_problems as shared_axe_problems

ROOT = Path(__file__).resolve().parents[1]
BANNER = ROOT / "static" / "banner"
LOCALES = ROOT / "consentkit" / "locales"
SCREENSHOTS = ROOT / "docs" / "screenshots"
BUDGET = 6 * 1024  # DESIGN section 8: JS + CSS under 6 KB gzipped
EN = json.loads((LOCALES / "en.json").read_text("utf-8"))
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
SIGNALS = ("analytics_storage", "ad_storage", "ad_user_data", "ad_personalization")

# Init scripts run before any of the page's own scripts, in every document of the context.
RECORD_EVENTS = """
window.__events = [];
addEventListener('consentkit:change',
                 e => window.__events.push(JSON.parse(JSON.stringify(e.detail))));
"""
RECORD_CSP = """
window.__violations = [];
addEventListener('securitypolicyviolation', e => window.__violations.push(
    e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber), true);
"""
RECORD_CLS = """
window.__cls = 0;
window.__shifts = [];
new PerformanceObserver(list => {
  for (const entry of list.getEntries()) {
    if (entry.hadRecentInput) continue;
    window.__cls += entry.value;
    window.__shifts.push(entry.sources.map(s => s.node && s.node.nodeName));
  }
}).observe({type: 'layout-shift', buffered: true});
"""
GPC_SIGNAL = """
Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true});
"""
CONSENT_COMMANDS = """
() => (window.dataLayer || []).map(a => Array.from(a)).filter(a => a[0] === 'consent')
"""
# The equal-weight comparison: what makes a button look more or less prominent.
WEIGHT = """
b => {
  const s = getComputedStyle(b), r = b.getBoundingClientRect();
  return {height: Math.round(r.height), fontSize: s.fontSize, fontWeight: s.fontWeight,
          fontFamily: s.fontFamily, color: s.color, background: s.backgroundColor,
          backgroundImage: s.backgroundImage, border: s.borderTopWidth + ' ' + s.borderTopStyle
          + ' ' + s.borderTopColor, padding: s.padding, radius: s.borderRadius,
          decoration: s.textDecorationLine};
}
"""


def cookies_of(page):
    return {c["name"]: c for c in page.context.cookies()}


def server_state(page, base_url):
    """What the server holds for this browser (its cookies go along)."""
    response = page.request.get(base_url + "/consentkit/state")
    assert response.ok
    return response.json()


def banner_buttons(page):
    region = page.get_by_role("region", name=EN["title"])
    return region, [
        region.get_by_role("button", name=EN[key], exact=True)
        for key in ("accept_all", "reject_all", "preferences")
    ]


def open_site(new_page, base_url):
    """A first visit to ``/``, recording ``consentkit:change`` events in ``window.__events``."""
    page = new_page()
    page.add_init_script(RECORD_EVENTS)
    page.goto(base_url + "/")
    return page


def gated_runs(page):
    return page.evaluate("[window.analyticsRuns, window.externalRuns]")


def assert_nothing_gated_ran(page):
    """No gated script was activated or fetched, no gated image or frame got its source.

    Activation is synchronous (banner.js, deferred, has run once the page has loaded), so
    this holds without waiting for the network to go quiet.
    """
    assert gated_runs(page) == [None, None]
    assert page.evaluate("""[
        document.querySelectorAll('script[data-category]:not([type])').length,
        document.querySelectorAll('script[type="text/plain"][data-category]').length,
        performance.getEntriesByType('resource').filter(r => /gated|pixel|frame/.test(r.name))
            .length]""") == [0, 2 if page.url.endswith("/") else 1, 0]
    assert page.locator("#pixel").get_attribute("src") is None
    assert page.locator("#frame").get_attribute("src") is None


def assert_gated_ran_once(page):
    page.wait_for_function("window.externalRuns === 1")
    assert gated_runs(page) == [1, 1]
    assert (
        page.evaluate(
            "performance.getEntriesByType('resource').filter(r => r.name.endsWith('/gated.js'))"
            ".length"
        )
        == 1
    )


def switches(page):
    dialog = page.get_by_role("dialog", name=EN["preferences"])
    return dialog, {
        name: dialog.locator(f"#ck-c-{name}") for name in ("necessary", "analytics", "marketing")
    }


def focused(page, script):
    """``script`` applied to the focused element."""
    return page.evaluate(f"(({script}))(document.activeElement)")


# ---- first visit ---------------------------------------------------------------------


def test_first_visit_shows_three_equal_buttons_and_sets_no_cookie(new_page, site):
    page = open_site(new_page, site)
    region, buttons = banner_buttons(page)
    for button in buttons:
        button.wait_for()
    assert region.is_visible()
    weights = [button.evaluate(WEIGHT) for button in buttons]
    assert weights[0]["height"] >= 44  # a comfortable touch target
    assert weights[1] == weights[0], weights
    assert weights[2] == weights[0], weights
    # Side by side on a desktop, none wider or narrower than the others.
    widths = {round(button.bounding_box()["width"]) for button in buttons}
    assert len(widths) == 1, widths
    assert page.locator("#status").text_content() == "undecided"
    # The page and /state (which the banner waits for) are both answered: no cookie.
    assert page.context.cookies() == []
    assert_nothing_gated_ran(page)
    assert page.evaluate("window.consentkit.state.decided") is False
    assert page.evaluate("window.consentkit.allows('analytics')") is False
    assert page.evaluate("window.consentkit.allows('necessary')") is True


# ---- reject all ----------------------------------------------------------------------


def test_reject_all_runs_nothing_and_is_remembered(new_page, site):
    page = open_site(new_page, site)
    region, (accept, reject, _) = banner_buttons(page)
    reject.click()
    page.wait_for_function("window.__events.length === 1")
    assert page.evaluate("window.__events") == [
        {
            "decided": True,
            "categories": ["necessary"],
            "services": [],
            "policy_version": "2026-11",
            "gpc": False,
            "first": True,
            "granted": [],
            "revoked": [],
        }
    ]
    assert region.is_hidden()
    cookies = cookies_of(page)
    assert "consentkit" in cookies and "consentkit_id" not in cookies
    assert cookies["consentkit"]["httpOnly"] is False  # the banner reads it
    assert cookies["consentkit"]["sameSite"] == "Lax"
    assert_nothing_gated_ran(page)
    assert page.evaluate("window.consentkit.allows('analytics')") is False
    update = page.evaluate(CONSENT_COMMANDS)[-1]
    assert update[:2] == ["consent", "update"]
    assert set(update[2].values()) == {"denied"}

    page.reload()
    assert page.locator("#status").text_content() == "decided"
    assert page.evaluate("window.consentkit.state.decided") is True
    assert page.locator(".ck-root").count() == 0  # not even built: no /state request
    assert not accept.is_visible()
    assert_nothing_gated_ran(page)
    assert "consentkit_id" not in cookies_of(page)
    assert server_state(page, site)["categories"] == ["necessary"]


# ---- accept all ----------------------------------------------------------------------


def test_accept_all_runs_gated_content_once_without_a_reload(new_page, site):
    page = open_site(new_page, site)
    _, (accept, _, _) = banner_buttons(page)
    accept.wait_for()
    before = page.evaluate(CONSENT_COMMANDS)
    assert before == [["consent", "default", dict.fromkeys(SIGNALS, "denied")]]
    page.evaluate("window.__sameDocument = true")

    accept.click()
    assert_gated_ran_once(page)
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    assert page.get_by_role("region").is_hidden()
    pixel = page.locator("#pixel")
    page.wait_for_function("document.querySelector('#pixel').naturalWidth === 1")
    assert pixel.get_attribute("src").endswith("/pixel.png")
    frame = page.frame_locator("#frame")
    assert frame.get_by_text("embedded").text_content() == "embedded"
    # The inline script ran with the original's nonce (a CSP with nonces lets it run).
    assert (
        page.evaluate("document.querySelector('script[data-category=analytics]:not([type])').nonce")
        == "n0nce"
    )

    events = page.evaluate("window.__events")
    assert events == [
        {
            "decided": True,
            "categories": ["analytics", "marketing", "necessary"],
            "services": [],
            "policy_version": "2026-11",
            "gpc": False,
            "first": True,
            "granted": ["analytics", "marketing"],
            "revoked": [],
        }
    ]
    assert page.evaluate("window.consentkit.allows('analytics')") is True
    assert page.evaluate("window.consentkit.allows('marketing')") is True
    commands = page.evaluate(CONSENT_COMMANDS)
    assert commands[0][1] == "default"
    assert commands[-1] == ["consent", "update", dict.fromkeys(SIGNALS, "granted")]

    cookies = cookies_of(page)
    assert cookies["consentkit_id"]["httpOnly"] is True
    assert "consentkit_id" not in page.evaluate("document.cookie")

    # A second decision grants nothing new: nothing runs twice.
    page.evaluate("window.consentkit.accept()")
    page.wait_for_function("window.__events.length === 2")
    assert_gated_ran_once(page)
    assert page.evaluate("document.querySelectorAll('script[data-category]').length") == 2

    # The next page load runs them straight from the decision cookie, once.
    page.reload()
    assert_gated_ran_once(page)
    assert page.evaluate(CONSENT_COMMANDS)[-1][2] == dict.fromkeys(SIGNALS, "granted")


# ---- custom choice -------------------------------------------------------------------


def test_preferences_grant_only_the_ticked_category(new_page, site):
    page = open_site(new_page, site)
    region, (_, _, preferences) = banner_buttons(page)
    preferences.click()
    dialog, switch = switches(page)
    dialog.wait_for()
    assert dialog.get_attribute("aria-modal") == "true"
    assert dialog.get_by_role("switch").count() == 3
    assert dialog.get_by_role("switch", name="Necessary").is_checked()
    assert switch["necessary"].is_checked() and switch["necessary"].is_disabled()
    for name in ("analytics", "marketing"):
        assert not switch[name].is_checked(), f"{name} is pre-ticked"
        assert switch[name].is_enabled()

    dialog.get_by_role("switch", name="Analytics").check()
    dialog.get_by_role("button", name=EN["save"], exact=True).click()
    page.wait_for_function("window.analyticsRuns === 1 && window.externalRuns === 1")
    assert dialog.is_hidden() and region.is_hidden()
    assert page.evaluate("window.__events[0].categories") == ["analytics", "necessary"]
    assert_gated_ran_once(page)
    assert page.locator("#pixel").get_attribute("src") is None
    assert page.locator("#frame").get_attribute("src") is None
    state = server_state(page, site)
    assert state["decided"] is True
    assert state["categories"] == ["analytics", "necessary"]
    assert page.evaluate(CONSENT_COMMANDS)[-1][2] == {
        "analytics_storage": "granted",
        "ad_storage": "denied",
        "ad_user_data": "denied",
        "ad_personalization": "denied",
    }
    assert "consentkit_id" in cookies_of(page)


# ---- re-open and change --------------------------------------------------------------


def test_reopening_shows_the_choice_and_withdrawal_stops_analytics(new_page, site):
    page = open_site(new_page, site)
    banner_buttons(page)[1][0].click()
    page.wait_for_function("window.analyticsRuns === 1")
    assert "consentkit_id" in cookies_of(page)

    # On the next page the banner is not built until asked for.
    page.reload()
    page.wait_for_function("window.analyticsRuns === 1")
    dialog, switch = switches(page)
    page.evaluate("window.consentkit.show()")
    dialog.wait_for()
    assert [switch[n].is_checked() for n in switch] == [True, True, True]
    assert page.get_by_role("region").is_hidden()  # decided: only the dialog
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")

    page.locator("#reopen").click()
    dialog.wait_for()
    assert [switch[n].is_checked() for n in switch] == [True, True, True]
    switch["analytics"].uncheck()
    dialog.get_by_role("button", name=EN["save"], exact=True).click()
    page.wait_for_function("window.__events.length === 1")
    assert page.evaluate("window.__events[0].categories") == ["marketing", "necessary"]
    assert page.evaluate("window.consentkit.allows('analytics')") is False
    assert "consentkit_id" not in cookies_of(page)
    assert dialog.is_hidden()
    assert server_state(page, site)["categories"] == ["marketing", "necessary"]

    page.reload()
    assert page.locator("#pixel").get_attribute("src").endswith("/pixel.png")
    assert gated_runs(page) == [None, None]
    assert page.evaluate("document.querySelectorAll('script[type=\"text/plain\"]').length") == 2
    assert "consentkit_id" not in cookies_of(page)


# ---- keyboard only -------------------------------------------------------------------


def tab_to(page, name, limit=30, key="Tab"):
    """Press Tab until the focused element's accessible text (or id) is ``name``."""
    for _ in range(limit):
        page.keyboard.press(key)
        if focused(page, "e => e.id || e.getAttribute('aria-label') || e.textContent") == name:
            return
    raise AssertionError(f"{key} never reached {name!r}")


def test_keyboard_only_visitor_can_choose(new_page, site):
    page = open_site(new_page, site)
    region, (accept, _, _) = banner_buttons(page)
    accept.wait_for()
    tab_to(page, EN["accept_all"])
    ring = focused(
        page,
        "e => [e.matches(':focus-visible'), getComputedStyle(e).outlineStyle,"
        " getComputedStyle(e).outlineWidth]",
    )
    assert ring[0] is True and ring[1] != "none" and ring[2] != "0px", ring
    page.keyboard.press("Tab")
    assert focused(page, "e => e.textContent") == EN["reject_all"]
    page.keyboard.press("Tab")
    assert focused(page, "e => e.textContent") == EN["preferences"]

    page.keyboard.press("Enter")
    dialog, switch = switches(page)
    dialog.wait_for()
    inside = "e => !!e.closest('[role=dialog]')"
    assert focused(page, inside)
    stops = dialog.evaluate(
        "d => [...d.querySelectorAll('button, input')]"
        ".filter(e => !e.disabled && e.getClientRects().length).length"
    )
    assert stops >= 5  # close, analytics, marketing, the three buttons
    seen = set()
    for key in ["Tab"] * (stops + 2) + ["Shift+Tab"] * (stops + 2):
        page.keyboard.press(key)
        assert focused(page, inside), f"{key} left the dialog"
        seen.add(focused(page, "e => e.id || e.textContent"))
    assert len(seen) == stops  # the cycle visits every stop, in both directions
    ring = focused(page, "e => [e.matches(':focus-visible'), getComputedStyle(e).outlineStyle]")
    assert ring == [True, "solid"], ring

    tab_to(page, "ck-c-analytics")
    page.keyboard.press("Space")
    assert switch["analytics"].is_checked()
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert focused(page, "e => e.textContent") == EN["preferences"]  # back to the opener
    assert page.context.cookies() == []  # Esc decides nothing

    page.keyboard.press("Enter")
    dialog.wait_for()
    assert not switch["analytics"].is_checked()  # unsaved toggles were discarded
    tab_to(page, "ck-c-analytics")
    page.keyboard.press("Space")
    tab_to(page, EN["save"])
    page.keyboard.press("Enter")
    page.wait_for_function("window.analyticsRuns === 1")
    assert region.is_hidden() and dialog.is_hidden()
    assert server_state(page, site)["categories"] == ["analytics", "necessary"]


# ---- Global Privacy Control ----------------------------------------------------------


def open_with_gpc(new_page, base_url):
    page = new_page(extra_http_headers={"Sec-GPC": "1"})
    page.add_init_script(GPC_SIGNAL)
    page.add_init_script(RECORD_EVENTS)
    page.goto(base_url + "/")
    return page


def test_gpc_shows_the_notice_and_keeps_marketing_off(new_page, site):
    page = open_with_gpc(new_page, site)
    assert page.evaluate("navigator.globalPrivacyControl") is True
    region, (accept, _, preferences) = banner_buttons(page)
    region.get_by_text(EN["gpc_notice"]).wait_for()
    preferences.click()
    dialog, switch = switches(page)
    dialog.wait_for()
    assert not switch["marketing"].is_checked()
    page.keyboard.press("Escape")

    accept.click()
    page.wait_for_function("window.analyticsRuns === 1")
    state = server_state(page, site)
    assert state["gpc"] is True
    assert state["categories"] == ["analytics", "necessary"]
    assert page.evaluate("window.__events[0].categories") == ["analytics", "necessary"]
    assert page.evaluate("window.consentkit.allows('marketing')") is False
    assert page.locator("#pixel").get_attribute("src") is None
    assert page.locator("#frame").get_attribute("src") is None
    assert page.evaluate(CONSENT_COMMANDS)[-1][2]["ad_storage"] == "denied"


def test_gpc_yields_to_an_explicit_marketing_grant_as_the_server_does(new_page, site):
    page = open_with_gpc(new_page, site)
    _, (_, _, preferences) = banner_buttons(page)
    preferences.click()
    dialog, switch = switches(page)
    switch["marketing"].check()
    dialog.get_by_role("button", name=EN["save"], exact=True).click()
    page.wait_for_function("document.querySelector('#pixel').naturalWidth === 1")
    assert server_state(page, site)["categories"] == ["marketing", "necessary"]

    # The banner reads the same decision the server does, on the next page and when re-opened.
    page.reload()
    page.wait_for_function("document.querySelector('#pixel').naturalWidth === 1")
    assert page.evaluate("window.consentkit.allows('marketing')") is True
    page.evaluate("window.consentkit.show()")
    dialog.wait_for()
    assert switch["marketing"].is_checked()
    assert not switch["analytics"].is_checked()


# ---- policy version bump -------------------------------------------------------------


def test_a_new_policy_version_asks_again(new_page, live_site, tmp_path):
    store = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    old = live_site(store=store, policy_version="2026-11")
    page = open_site(new_page, old)
    banner_buttons(page)[1][0].click()
    page.wait_for_function("window.analyticsRuns === 1")
    assert server_state(page, old)["policy_version"] == "2026-11"

    new = live_site(store=store, policy_version="2026-12")
    # Cookies are per host, not per port: the same context already holds them for the new
    # site (copied if a browser ever scoped them by port), and the request must carry them.
    if "consentkit" not in {c["name"] for c in page.context.cookies(new)}:
        page.context.add_cookies(
            [
                {"name": c["name"], "value": c["value"], "url": new}
                for c in page.context.cookies(old)
            ]
        )
    response = page.goto(new + "/")
    assert "consentkit=2026-11|" in response.request.all_headers().get("cookie", "")
    region, (_, reject, _) = banner_buttons(page)
    region.wait_for()
    assert page.locator("#status").text_content() == "undecided"
    assert page.evaluate("window.consentkit.state.decided") is False
    assert_nothing_gated_ran(page)
    assert "consentkit_id" not in cookies_of(page)  # withdrawn with the stale decision

    reject.click()
    page.wait_for_function("window.__events.length === 1")
    assert page.evaluate("window.__events[0].policy_version") == "2026-12"
    assert cookies_of(page)["consentkit"]["value"].startswith("2026-12|")


def test_a_new_policy_version_asks_again_on_a_cached_page(new_page, live_site, tmp_path):
    """A CDN serves the page from cache: the stale cookie is not expired by the server."""
    store = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    old = live_site(store=store, policy_version="2026-11")
    page = open_site(new_page, old)
    banner_buttons(page)[1][0].click()
    page.wait_for_function("window.analyticsRuns === 1")

    new = live_site(store=store, policy_version="2026-12", vary_cookie=False)

    def cached(route):
        # The CDN's copy was fetched without cookies, so it never expires the visitor's
        # (route.fetch would share the browser's cookie jar, hence urllib).
        with urllib.request.urlopen(route.request.url) as response:
            headers = {k: v for k, v in response.headers.items() if k.lower() != "set-cookie"}
            route.fulfill(status=response.status, headers=headers, body=response.read())

    page.route(lambda url: url.startswith(new) and "/consentkit/" not in url, cached)
    if "consentkit" not in {c["name"] for c in page.context.cookies(new)}:
        page.context.add_cookies(
            [
                {"name": c["name"], "value": c["value"], "url": new}
                for c in page.context.cookies(old)
            ]
        )
    page.goto(new + "/")
    assert cookies_of(page)["consentkit"]["value"].startswith("2026-11|")  # still there
    region, _ = banner_buttons(page)
    region.wait_for()
    assert page.evaluate("window.consentkit.state.decided") is False
    assert_nothing_gated_ran(page)


# ---- strict Content-Security-Policy --------------------------------------------------


def test_banner_works_under_a_strict_csp_without_errors(new_page, site):
    page = new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script(RECORD_CSP)
    response = page.goto(site + "/strict")
    assert response.headers["content-security-policy"] == "default-src 'self'"
    region, (accept, _, preferences) = banner_buttons(page)
    preferences.click()
    dialog, _ = switches(page)
    dialog.wait_for()
    page.keyboard.press("Escape")
    accept.click()
    page.frame_locator("#frame").get_by_text("embedded").wait_for()
    page.wait_for_function("window.externalRuns === 1")
    page.wait_for_function("document.querySelector('#pixel').naturalWidth === 1")
    page.wait_for_load_state("networkidle", timeout=30_000)  # (a loaded machine)
    assert region.is_hidden()
    assert page.evaluate("window.__violations") == []
    assert errors == []
    # The stylesheet was applied (not blocked): the banner is laid out as designed.
    page.reload()
    page.evaluate("window.consentkit.show()")
    dialog.wait_for()
    assert dialog.evaluate("d => getComputedStyle(d.parentNode).position") == "fixed"
    assert page.evaluate("window.__violations") == []
    assert errors == []


# ---- languages ----------------------------------------------------------------------


def locale_texts(language):
    path = LOCALES / f"{language}.json"
    if not path.exists():
        pytest.skip(f"consentkit/locales/{language}.json is not there yet")
    return json.loads(path.read_text("utf-8"))


def test_german_visitor_sees_german_texts(new_page, live_site):
    texts = locale_texts("de")
    base = live_site()  # started after the locale check: it loads the locales present now
    page = new_page(locale="de-DE")
    page.goto(base + "/")
    region = page.get_by_role("region", name=texts["title"])
    region.wait_for()
    assert page.locator(".ck-root").get_attribute("lang") == "de"
    assert page.locator(".ck-root").get_attribute("dir") == "ltr"
    for key in ("accept_all", "reject_all", "preferences"):
        assert region.get_by_role("button", name=texts[key], exact=True).is_visible()
    region.get_by_text(texts["description"]).wait_for()
    region.get_by_role("button", name=texts["preferences"], exact=True).click()
    dialog = page.get_by_role("dialog", name=texts["preferences"])
    dialog.wait_for()
    assert dialog.get_by_role("button", name=texts["save"], exact=True).is_visible()
    assert dialog.get_by_role("button", name=texts["close"], exact=True).is_visible()
    dialog.get_by_role("button", name=texts["reject_all"], exact=True).click()
    dialog.wait_for(state="hidden")
    assert "consentkit" in cookies_of(page)


def test_arabic_banner_is_right_to_left(new_page, live_site):
    texts = locale_texts("ar")
    base = live_site()
    page = new_page(locale="ar")
    page.goto(base + "/")
    region = page.get_by_role("region", name=texts["title"])
    region.wait_for()
    root = page.locator(".ck-root")
    assert root.get_attribute("dir") == "rtl" and root.get_attribute("lang") == "ar"
    buttons = [
        region.get_by_role("button", name=texts[key], exact=True)
        for key in ("accept_all", "reject_all", "preferences")
    ]
    xs = [button.bounding_box()["x"] for button in buttons]
    assert xs[0] > xs[1] > xs[2], xs
    # The text starts on the right too.
    title, banner = page.locator(".ck-banner .ck-title"), page.locator(".ck-banner")
    assert title.evaluate("e => getComputedStyle(e).direction") == "rtl"
    title_box, banner_box = title.bounding_box(), banner.bounding_box()
    assert (banner_box["x"] + banner_box["width"]) - (title_box["x"] + title_box["width"]) < 60


# ---- accessibility (axe-core) -------------------------------------------------------


def axe_problems(page, axe_source):
    return shared_axe_problems(page, axe_source, ".ck-root")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_serious_problem(new_page, site, axe_source, scheme):
    page = new_page(color_scheme=scheme)
    page.goto(site + "/")
    region, (_, _, preferences) = banner_buttons(page)
    region.wait_for()
    background = region.evaluate("e => getComputedStyle(e).backgroundColor")
    assert background == ("rgb(24, 24, 27)" if scheme == "dark" else "rgb(255, 255, 255)")
    problems = axe_problems(page, axe_source)
    assert problems == [], json.dumps(problems, indent=1)

    preferences.click()
    dialog, _ = switches(page)
    dialog.wait_for()
    problems = axe_problems(page, axe_source)
    assert problems == [], json.dumps(problems, indent=1)


# ---- no layout shift ----------------------------------------------------------------


@pytest.mark.parametrize("viewport", [(1280, 720), (390, 844)])
def test_banner_causes_no_layout_shift(new_page, site, viewport):
    page = new_page(viewport={"width": viewport[0], "height": viewport[1]})
    page.add_init_script(RECORD_CLS)
    page.goto(site + "/")
    region, _ = banner_buttons(page)
    region.wait_for()
    page.wait_for_timeout(500)  # layout shifts are reported after the frame that moved
    assert page.evaluate("PerformanceObserver.supportedEntryTypes.includes('layout-shift')")
    assert page.evaluate("window.__cls") == 0, page.evaluate("window.__shifts")
    assert region.evaluate("e => getComputedStyle(e).position") == "fixed"
    assert page.locator(".ck-root").evaluate("e => getComputedStyle(e).position") == "fixed"


# ---- bots ---------------------------------------------------------------------------


def test_crawlers_see_no_banner(new_page, site):
    page = new_page(user_agent=GOOGLEBOT)
    with page.expect_response("**/consentkit/state") as state:
        page.goto(site + "/")
    assert state.value.json()["bot"] is True
    page.locator(".ck-root").wait_for(state="attached")  # built, then left hidden
    assert page.locator(".ck-banner").is_hidden()
    assert page.get_by_role("button", name=EN["accept_all"]).count() == 0
    assert page.context.cookies() == []
    assert_nothing_gated_ran(page)


# ---- network or server error --------------------------------------------------------


@pytest.mark.parametrize("failure", ["network", "server"])
def test_a_failed_post_changes_nothing_and_can_be_retried(new_page, site, failure):
    page = open_site(new_page, site)
    region, (accept, _, _) = banner_buttons(page)
    accept.wait_for()
    error_text = server_state(page, site)["config"]["texts"]["error"]
    assert error_text == EN["error"]

    def fail(route):
        if failure == "network":
            route.abort()
        else:
            route.fulfill(status=503, json={"error": "the decision could not be recorded"})

    page.route("**/consentkit/consent", fail)
    accept.click()
    alert = region.get_by_role("alert")
    alert.wait_for()
    assert alert.text_content() == error_text
    assert region.is_visible()
    assert page.context.cookies() == []
    assert_nothing_gated_ran(page)
    assert page.evaluate("window.__events") == []
    assert page.evaluate("window.consentkit.state.decided") is False
    assert page.evaluate(CONSENT_COMMANDS)[-1][1] == "default"  # no update was sent

    page.unroute("**/consentkit/consent")
    region.get_by_role("button", name=EN["retry"], exact=True).click()
    assert_gated_ran_once(page)
    assert region.is_hidden()
    alerts = page.locator(".ck-err [role=alert]")
    assert alerts.evaluate_all("es => es.map(e => e.textContent)") == ["", ""]
    assert page.evaluate("window.__events.length") == 1
    assert server_state(page, site)["categories"] == ["analytics", "marketing", "necessary"]


# ---- screenshots for the docs -------------------------------------------------------


def test_screenshots_for_the_docs(new_page, site):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shots = {
        "banner-light.png": ({}, False),
        "banner-dark.png": ({"color_scheme": "dark"}, False),
        "preferences.png": ({}, True),
        "mobile.png": (
            {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
            False,
        ),
    }
    for name, (options, dialog_open) in shots.items():
        page = new_page(**{"color_scheme": "light", "device_scale_factor": 1, **options})
        page.goto(site + "/")
        region, (_, _, preferences) = banner_buttons(page)
        region.wait_for()
        if dialog_open:
            # Without the mouse: a hovered or pressed button behind the overlay repaints
            # differently from run to run. Without the focus ring too.
            preferences.dispatch_event("click")
            switches(page)[0].wait_for()
            page.evaluate("document.activeElement.blur()")
        page.evaluate("document.fonts.ready.then(() => true)")
        path = SCREENSHOTS / name
        page.screenshot(path=str(path), animations="disabled", caret="hide")
        assert path.stat().st_size < 200_000, f"{name} is {path.stat().st_size} bytes"
