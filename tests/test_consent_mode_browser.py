"""Google Consent Mode with Google's standard tag snippet, in real Chromium.

The page has ``consent-defaults.js`` first in ``<head>``, then Google's snippet exactly as
Google tells every site to paste it (only the host of gtag.js is this test app's), then the
banner. ``/gtag/js`` is a stand-in for Google's gtag.js: like the real one, it works
through the ``dataLayer`` queue in order and then takes every later push at once, and it
"fires" the tag on ``config`` with the consent state it knows at that moment.
"""

from __future__ import annotations

from typing import Any

import pytest
from browser_support import live_servers
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from consentkit import Category, ConsentMiddleware

SIGNALS = ("ad_storage", "ad_user_data", "ad_personalization", "analytics_storage")
DENIED = dict.fromkeys(SIGNALS, "denied")
GRANTED = dict.fromkeys(SIGNALS, "granted")

# Google's snippet, verbatim but for the host (no internet here).
GOOGLE_SNIPPET = """<!-- Google tag (gtag.js) -->
<script async src="/gtag/js?id=G-TEST123"></script>
<script>
  window.dataLayer = window.dataLayer || [];
  function gtag(){dataLayer.push(arguments);}
  gtag('js', new Date());

  gtag('config', 'G-TEST123');
</script>"""

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tags</title>
{defaults}
{snippet}
<script src="/consentkit/banner.js" defer></script>
</head><body><h1>Tags</h1></body></html>"""

# The stand-in for gtag.js: Google's tag reads the queue in order, keeps the consent state
# (region defaults apply only in their region, so they are noted, not applied) and fires
# on config with the state of that moment.
GTAG_JS = """
(function () {
  const consent = {};
  window.__processed = [];
  window.__fired = [];
  function handle(args) {
    const command = Array.from(args);
    if (command[0] === 'consent') {
      const values = Object.assign({}, command[2]);
      if (command[1] === 'update' || !values.region) {
        for (const key of Object.keys(values)) if (key.endsWith('_storage')
            || key.startsWith('ad_')) consent[key] = values[key];
      }
    }
    if (command[0] === 'config') window.__fired.push(Object.assign({}, consent));
    window.__processed.push(command[0] === 'js' ? ['js'] : command);
  }
  window.dataLayer.forEach(handle);
  const push = window.dataLayer.push;
  window.dataLayer.push = function (args) {
    handle(args);
    return push.call(window.dataLayer, args);
  };
  window.__gtagLoaded = true;
})();
"""


def tag_site(store_url: str, *, defaults: bool = True, **options: Any) -> Starlette:
    async def page(request: Request) -> HTMLResponse:
        tag = '<script src="/consentkit/consent-defaults.js"></script>' if defaults else ""
        return HTMLResponse(PAGE.format(defaults=tag, snippet=GOOGLE_SNIPPET))

    async def gtag_js(request: Request) -> Response:
        return Response(GTAG_JS, media_type="text/javascript")

    app = Starlette(routes=[Route("/", page), Route("/gtag/js", gtag_js)])
    app.add_middleware(
        ConsentMiddleware,
        secret_key="browser-secret-of-at-least-32-characters",
        store=store_url,
        categories=[Category("analytics"), Category("marketing")],
        policy_version="2026-11",
        **options,
    )
    return app


@pytest.fixture
def tag_server(tmp_path):
    with live_servers(tmp_path, tag_site, "tags") as start:
        yield start


def processed(page):
    page.wait_for_function("window.__gtagLoaded === true")
    return page.evaluate("window.__processed")


def kinds(commands):
    """("consent default"), ("js"), ("config"), ... in the order the tag saw them."""
    return [" ".join(str(part) for part in command[:2]) for command in commands]


def first_visit(new_page, base_url):
    page = new_page()
    page.goto(base_url + "/")
    page.get_by_role("button", name="Accept all", exact=True).wait_for()
    return page


def test_defaults_come_before_googles_snippet_and_nothing_fires_granted(new_page, tag_server):
    base = tag_server()
    page = first_visit(new_page, base)
    commands = processed(page)
    assert kinds(commands) == ["consent default", "js", "config G-TEST123"]
    assert commands[0][2] == DENIED
    # banner.js saw the defaults already sent and did not send a second one.
    assert page.evaluate("window.__fired") == [DENIED]

    page.get_by_role("button", name="Reject all", exact=True).click()
    page.wait_for_function("window.__processed.length === 4")
    commands = processed(page)
    assert kinds(commands)[-1] == "consent update"
    assert commands[-1][2] == DENIED
    assert all("granted" not in str(command) for command in commands)


def test_accepting_sends_the_update_after_the_tags(new_page, tag_server):
    base = tag_server()
    page = first_visit(new_page, base)
    page.get_by_role("button", name="Accept all", exact=True).click()
    page.wait_for_function("window.__processed.length === 4")
    commands = processed(page)
    assert kinds(commands) == ["consent default", "js", "config G-TEST123", "consent update"]
    assert commands[-1][2] == GRANTED


def test_a_returning_visitors_update_comes_before_the_pages_scripts(new_page, tag_server):
    base = tag_server()
    page = first_visit(new_page, base)
    page.get_by_role("button", name="Preferences", exact=True).click()
    page.get_by_role("switch", name="Analytics").check()
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_function("window.__processed.length === 4")

    page.reload()
    commands = processed(page)
    assert kinds(commands) == ["consent default", "consent update", "js", "config G-TEST123"]
    assert commands[1][2] == {**DENIED, "analytics_storage": "granted"}
    # The tag fired once, already knowing the visitor's choice; banner.js sent no more.
    assert page.evaluate("window.__fired") == [{**DENIED, "analytics_storage": "granted"}]
    assert page.evaluate("window.consentkit.allows('analytics')") is True
    consent_commands = page.evaluate(
        "window.dataLayer.filter(a => a[0] === 'consent').map(a => a[1])"
    )
    assert consent_commands == ["default", "update"]


def test_region_defaults_and_the_other_options(new_page, tag_server):
    base = tag_server(
        consent_mode={
            "regions": {"US": ["analytics", "marketing"], "US-CA": ["analytics"]},
            "wait_for_update": 500,
            "ads_data_redaction": True,
            "url_passthrough": True,
        }
    )
    page = first_visit(new_page, base)
    commands = processed(page)
    assert kinds(commands) == [
        "consent default",
        "consent default",
        "consent default",
        "set ads_data_redaction",
        "set url_passthrough",
        "js",
        "config G-TEST123",
    ]
    assert commands[0][2] == {**DENIED, "wait_for_update": 500}
    assert commands[1][2] == {**GRANTED, "region": ["US"], "wait_for_update": 500}
    assert commands[2][2] == {
        **DENIED,
        "analytics_storage": "granted",
        "region": ["US-CA"],
        "wait_for_update": 500,
    }
    assert commands[3] == ["set", "ads_data_redaction", True]
    assert commands[4] == ["set", "url_passthrough", True]


def test_without_consent_defaults_the_snippet_runs_first(new_page, tag_server):
    """Why consent-defaults.js exists: banner.js is deferred, so its default comes late."""
    base = tag_server(defaults=False)
    page = first_visit(new_page, base)
    page.wait_for_function("window.__processed.length === 3")
    assert kinds(processed(page)) == ["js", "config G-TEST123", "consent default"]
