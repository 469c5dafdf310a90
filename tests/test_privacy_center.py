"""The visitor's pages through the real ASGI stack: the privacy center at /consentkit/me and
the cookie policy at /consentkit/cookies for a browser that asks for HTML, their forms, and
JSON and the fragment unchanged for everyone else. In Chromium: test_privacy_center_browser.py.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest
from support import put_cookie, set_cookies, visit

from consentkit import ConfigurationError, ConsentMiddleware
from consentkit.locales.pages import page_keys, plural_form, shipped_page_texts
from consentkit.locales.texts import shipped_languages

pytestmark = pytest.mark.anyio

BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
FORM_POST = {**BROWSER, "origin": "http://testserver"}
EN = shipped_page_texts()["en"]


class Outline(HTMLParser):
    """The headings, the texts and the forms of a page, as a screen reader would list them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.headings: list[tuple[str, str]] = []
        self.text: list[str] = []
        self.forms: list[dict[str, str]] = []
        self.scripts: list[str] = []
        self.inline: list[str] = []  # inline script or style: a strict CSP would block them
        self._heading: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag in ("h1", "h2", "h3"):
            self._heading = tag
            self.headings.append((tag, ""))
        if tag == "form":
            self.forms.append(attributes)
        if tag == "script":
            self.scripts.append(attributes.get("src", ""))
            if "src" not in attributes:
                self.inline.append("script")
        if tag == "style" or "style" in attributes or any(k.startswith("on") for k in attributes):
            self.inline.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == self._heading:
            self._heading = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._heading:
            level, text = self.headings[-1]
            self.headings[-1] = (level, text + data)

    @property
    def all_text(self) -> str:
        return " ".join(" ".join(self.text).split())


async def decide(browser, action: str, categories: list[str] | None = None) -> None:
    answer = await browser.post(
        "/consentkit/consent", json={"action": action, "categories": categories or []}
    )
    assert answer.status_code == 200


@pytest.mark.every_store
async def test_a_browser_gets_the_privacy_center_and_a_client_the_json(make_site):
    async with visit(make_site()) as browser:
        await decide(browser, "accept_all")
        await decide(browser, "custom", ["analytics"])
        as_json = await browser.get("/consentkit/me")
        asked_json = await browser.get("/consentkit/me", headers={"accept": "application/json"})
        both = await browser.get(
            "/consentkit/me", headers={"accept": "application/json, text/html"}
        )
        page = await browser.get("/consentkit/me", headers=BROWSER)
    for answer in (as_json, asked_json, both):
        assert answer.headers["content-type"] == "application/json"
        assert [r["action"] for r in answer.json()["records"]] == ["accept_all", "withdraw"]
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == "no-store"
    assert "Accept" in page.headers["vary"]
    outline = Outline(page.text)
    assert outline.headings == [
        ("h1", EN["me_title"]),
        ("h2", EN["choice_heading"]),
        ("h2", EN["change_heading"]),
        ("h2", EN["history_heading"]),
        ("h2", EN["not_held_heading"]),
        ("h2", EN["download_heading"]),
        ("h2", EN["erase_heading"]),
    ]
    text = outline.all_text
    assert "You allow: Necessary, Analytics." in text
    assert "under version 2026-11 of the cookie policy" in text
    # the history, newest first, in plain words
    withdrawn = text.index("Withdrawn: Marketing.")
    accepted = text.index("Allowed: Analytics, Marketing.")
    assert withdrawn < accepted
    assert EN["how_withdraw"] in text and EN["how_accept_all"] in text
    assert EN["not_held_ip"] in text.replace("&#x27;", "'")
    # forms that work without JavaScript, and no inline script or style
    assert [(f["method"], f["action"]) for f in outline.forms] == [
        ("post", "/consentkit/consent"),
        ("post", "/consentkit/me/erase"),
    ]
    assert outline.inline == []
    assert [s.split("?")[0] for s in outline.scripts] == [
        "/consentkit/banner.js",
        "/consentkit/privacy.js",
    ]
    assert 'href="/consentkit/me/export?format=csv" download' in page.text
    assert 'href="/consentkit/me/export?format=json" download' in page.text


async def test_a_visitor_without_records_is_told_so(make_site):
    async with visit(make_site()) as browser:
        page = await browser.get("/consentkit/me", headers=BROWSER)
    text = Outline(page.text).all_text
    assert EN["choice_none"] in text and EN["history_empty"] in text
    assert 'name="categories" value="analytics" aria-describedby' in page.text  # not ticked


async def test_the_change_form_records_the_choice_and_returns_to_the_page(make_site):
    async with visit(make_site()) as browser:
        await decide(browser, "accept_all")
        answer = await browser.post(
            "/consentkit/consent",
            data={"action": "custom", "categories": "analytics", "next": "/consentkit/me"},
            headers=FORM_POST,
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == "/consentkit/me"
        page = await browser.get("/consentkit/me", headers=BROWSER)
    assert 'value="analytics" checked' in page.text
    assert 'value="marketing" checked' not in page.text
    assert "Withdrawn: Marketing." in Outline(page.text).all_text


@pytest.mark.every_store
async def test_erasing_from_the_form_answers_a_page_saying_what_was_erased(make_site):
    async with visit(make_site()) as browser:
        await decide(browser, "accept_all")
        await browser.get("/sets-cookies")  # the categories' cookies (_ga, _fbp) and its own
        held = sorted(set(browser.cookies.keys()) - {"session"})  # undeclared: the site's
        assert {"consentkit", "consentkit_id", "_ga", "_fbp"} <= set(held)
        answer = await browser.post(
            "/consentkit/me/erase", data={"confirm": "yes"}, headers=FORM_POST
        )
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "text/html; charset=utf-8"
        text = Outline(answer.text).all_text
        assert "Records erased: 1." in text
        removed = text.split("Cookies removed from this browser: ")[1].split(".")[0]
        assert sorted(removed.split(", ")) == held
        expired = {n for n, v in set_cookies(answer).items() if "Max-Age=0" in v}
        assert set(held) <= expired
        assert list(browser.cookies.keys()) == ["session"]
        after = await browser.get("/consentkit/me")
    assert after.json()["records"] == []


async def test_json_erasure_is_unchanged(make_site):
    async with visit(make_site()) as browser:
        await decide(browser, "reject_all")
        answer = await browser.post("/consentkit/me/erase")
    assert answer.json() == {"erased": 1}


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "http://testserver", "sec-fetch-site": "same-site"},
        {"referer": "http://testserver:8080/consentkit/me"},
    ],
)
async def test_a_cross_site_form_post_is_refused_with_a_page_and_changes_nothing(
    make_site, headers
):
    async with visit(make_site()) as browser:
        await decide(browser, "accept_all")
        answer = await browser.post(
            "/consentkit/me/erase", data={"confirm": "yes"}, headers={**BROWSER, **headers}
        )
        assert answer.status_code == 403
        assert answer.headers["content-type"] == "text/html; charset=utf-8"
        assert EN["refused_cross_site"] in Outline(answer.text).all_text.replace("&#x27;", "'")
        assert "set-cookie" not in answer.headers
        assert len((await browser.get("/consentkit/me")).json()["records"]) == 1
        api = await browser.post("/consentkit/me/erase", headers=headers)
    assert api.status_code == 403 and "cross-origin" in api.json()["error"]


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"a=1&" * 100, "application/x-www-form-urlencoded", 400),
        (b"x" * 10_000, "application/x-www-form-urlencoded", 413),
        (b"<erase/>", "application/xml", 415),
    ],
)
async def test_a_malformed_erasure_form_gets_a_page_with_the_reason(
    make_site, body, content_type, status
):
    async with visit(make_site()) as browser:
        await decide(browser, "accept_all")
        answer = await browser.post(
            "/consentkit/me/erase",
            content=body,
            headers={**FORM_POST, "content-type": content_type},
        )
        assert answer.status_code == status
        if content_type.startswith("application/x-www"):
            assert answer.headers["content-type"] == "text/html; charset=utf-8"
            assert EN["failed_title"] in answer.text
        assert len((await browser.get("/consentkit/me")).json()["records"]) == 1


@pytest.mark.parametrize(
    "accept",
    ["text/html;q=abc", "text/html;q=2", "text/html;" * 500, "\x00text/html", ",,,;;;"],
)
async def test_a_hostile_accept_header_gets_a_page_or_json_never_an_error(make_site, accept):
    async with visit(make_site()) as browser:
        for path in ("/consentkit/me", "/consentkit/cookies"):
            answer = await browser.get(path, headers={"accept": accept})
            assert answer.status_code == 200, (path, answer.text)


async def test_the_cookie_policy_is_a_page_for_browsers_and_a_fragment_to_embed(make_site):
    async with visit(make_site()) as browser:
        page = await browser.get("/consentkit/cookies", headers=BROWSER)
        fragment = await browser.get("/consentkit/cookies")
        asked = await browser.get("/consentkit/cookies?format=html", headers=BROWSER)
        explicit = await browser.get("/consentkit/cookies?format=page")
    outline = Outline(page.text)
    assert page.text.startswith("<!doctype html>") and "<title>" in page.text
    assert outline.headings[:4] == [
        ("h1", EN["cookies_title"]),
        ("h2", "Necessary"),
        ("h2", "Analytics"),
        ("h2", "Marketing"),
    ]
    assert page.headers["cache-control"] == "public, max-age=300"
    assert "Accept-Language" in page.headers["vary"] and "Accept" in page.headers["vary"]
    assert outline.inline == []
    for embeddable in (fragment, asked):
        assert embeddable.text.startswith('<div class="ck-disclosure">')
        assert "Accept" in embeddable.headers["vary"]
    assert explicit.text.startswith("<!doctype html>")


async def test_the_pages_speak_the_visitors_language_right_to_left_in_arabic(make_site):
    async with visit(make_site()) as browser:
        await decide(browser, "reject_all")
        german = await browser.get("/consentkit/me", headers={**BROWSER, "accept-language": "de"})
        arabic = await browser.get(
            "/consentkit/cookies", headers={**BROWSER, "accept-language": "ar"}
        )
        fragment = await browser.get("/consentkit/cookies", headers={"accept-language": "ar"})
    de, ar = shipped_page_texts()["de"], shipped_page_texts()["ar"]
    assert '<html lang="de" dir="ltr"' in german.text
    assert Outline(german.text).headings[0] == ("h1", de["me_title"])
    assert de["how_reject_all"] in german.text
    assert '<html lang="ar" dir="rtl"' in arabic.text
    assert Outline(arabic.text).headings[0] == ("h1", ar["cookies_title"])
    assert ar["col_cookie"] in arabic.text and ar["required_note"] in arabic.text
    assert "\u20682026-11\u2069" in arabic.text  # the version keeps its order in Arabic text
    assert ar["purpose_consentkit"] in fragment.text  # consentkit's own cookies, translated
    assert "6 أشهر" in fragment.text or "182 يومًا" in fragment.text


async def test_category_titles_and_descriptions_are_translated_per_language(make_site):
    app = make_site(
        texts={
            "de": {
                "category.marketing.title": "Werbung",
                "category.marketing.description": "Anzeigen.",
            }
        }
    )
    async with visit(app) as browser:
        state = await browser.get("/consentkit/state", headers={"accept-language": "de"})
        english = await browser.get("/consentkit/state", headers={"accept-language": "en"})
        page = await browser.get(
            "/consentkit/cookies", headers={**BROWSER, "accept-language": "de"}
        )
    titles = {
        c["name"]: (c["title"], c["description"]) for c in state.json()["config"]["categories"]
    }
    assert titles["marketing"] == ("Werbung", "Anzeigen.")
    # consentkit's default "necessary" is translated; the site's own English text stays
    assert titles["necessary"][0] == shipped_page_texts()["de"]["category.necessary.title"]
    assert titles["analytics"] == ("Analytics", "Counts visits.")
    assert english.json()["config"]["categories"][2]["title"] == "Marketing"
    assert "Werbung" in page.text and "Anzeigen." in page.text
    # the banner's configuration carries the banner's texts only
    assert set(state.json()["config"]["texts"]) == set(shipped_languages()["de"])


async def test_the_site_replaces_the_template_and_adds_its_stylesheet(make_site):
    seen = []

    def template(page) -> str:
        seen.append(page)
        return f"<!doctype html><title>{page.title}</title><main>{page.content}</main>"

    app = make_site(privacy_template=template, privacy_stylesheet="/static/theme.css")
    async with visit(app) as browser:
        await decide(browser, "accept_all")
        me = await browser.get("/consentkit/me", headers=BROWSER)
        own = await browser.get("/consentkit/cookies", headers=BROWSER)
    assert me.text.startswith("<!doctype html><title>What this site holds about you</title>")
    assert [p.kind for p in seen] == ["me", "cookies"]
    assert [d.action for d in seen[0].decisions] == ["accept_all"]
    assert seen[0].links.site_stylesheet == "/static/theme.css"
    assert "ck-disclosure" in own.text


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("privacy_stylesheet", "https://cdn.example/theme.css"),
        ("privacy_stylesheet", '/x.css"><script>'),
        ("privacy_template", "privacy.html"),
    ],
)
def test_page_options_are_checked_at_start_up(option, value):
    with pytest.raises(ConfigurationError, match=option):
        ConsentMiddleware(lambda *a: None, secret_key="k" * 32, **{option: value})


def test_every_shipped_language_has_every_page_text_and_plural_form():
    shipped = shipped_page_texts()
    assert set(shipped) == set(shipped_languages())
    forms = {"one", "other", "few", "many", "zero", "two"}
    for language, texts in shipped.items():
        assert set(texts) - {"units"} == page_keys(), language
        for unit, variants in texts["units"].items():
            assert set(variants) <= forms and "other" in variants, (language, unit)
            for count in (0, 1, 2, 3, 5, 11, 22, 100, 182):
                assert plural_form(language, count) in variants, (language, unit, count)
            for count in (3, 5, 11, 22, 100, 182):  # Arabic writes one and two in words
                assert "{n}" in variants[plural_form(language, count)], (language, unit)
        placeholders = json.dumps(texts)
        assert placeholders.count("{categories}") == 3, language
        assert placeholders.count("{version}") == 4, language


def test_plural_rules_follow_cldr():
    assert [plural_form("pl", n) for n in (1, 2, 5, 12, 22, 25)] == [
        "one",
        "few",
        "many",
        "many",
        "few",
        "many",
    ]
    assert [plural_form("ar", n) for n in (0, 1, 2, 3, 11, 100, 182)] == [
        "zero",
        "one",
        "two",
        "few",
        "many",
        "other",
        "many",
    ]
    assert [plural_form("fr", n) for n in (0, 1, 2)] == ["one", "one", "other"]


async def test_the_pages_assets_are_served_with_a_content_hash(make_site):
    async with visit(make_site()) as browser:
        page = await browser.get("/consentkit/me", headers=BROWSER)
        for name in ("privacy.css", "privacy.js"):
            url = page.text.split(f'"/consentkit/{name}?v=')[1].split('"')[0]
            answer = await browser.get(f"/consentkit/{name}?v={url}")
            assert answer.status_code == 200
            assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert answer.headers["x-content-type-options"] == "nosniff"


LAYOUT = """<!doctype html><html lang="{{ page.language }}" dir="{{ page.direction }}">
<head><title>{{ page.title }} | Example Shop</title>
<link rel="stylesheet" href="{{ page.links.stylesheet }}"></head>
<body><header>Example Shop</header><main>{{ content }}</main>
<footer>{% for c in page.categories %}{{ c.title }}{% if c.granted %} (on){% endif %};{% endfor %}
{{ page.decisions | length }} decisions</footer></body></html>"""


async def test_a_jinja_template_puts_the_pages_in_the_sites_layout(make_site):
    import jinja2

    from consentkit.jinja import privacy_template

    env = jinja2.Environment(loader=jinja2.DictLoader({"privacy.html": LAYOUT}), autoescape=True)
    app = make_site(
        privacy_template=privacy_template(env, "privacy.html"),
        texts={"en": {"me_title": "Your data <here>"}},
    )
    async with visit(app) as browser:
        await decide(browser, "custom", ["analytics"])
        page = await browser.get("/consentkit/me", headers=BROWSER)
        cookies = await browser.get("/consentkit/cookies", headers=BROWSER)
    assert "<title>Your data &lt;here&gt; | Example Shop</title>" in page.text
    assert "<h1>Your data &lt;here&gt;</h1>" in page.text  # consentkit's content, escaped once
    assert "Necessary (on);Analytics (on);Marketing;" in page.text
    assert "1 decisions" in page.text
    assert 'action="/consentkit/me/erase"' in page.text
    assert "Example Shop" in cookies.text and "ck-disclosure" in cookies.text
    # the site's template may load what it likes: consentkit's strict policy is not imposed
    assert "content-security-policy" not in page.headers
    assert page.headers["x-frame-options"] == "DENY"


def test_a_jinja_template_must_exist_and_be_autoescaped():
    import jinja2

    from consentkit.jinja import privacy_template

    loader = jinja2.DictLoader({"privacy.html": LAYOUT})
    with pytest.raises(jinja2.TemplateNotFound):
        privacy_template(jinja2.Environment(loader=loader, autoescape=True), "missing.html")
    with pytest.raises(ConfigurationError, match="autoescape"):
        privacy_template(jinja2.Environment(loader=loader), "privacy.html")


async def test_the_demo_links_to_both_pages(tmp_path):
    from consentkit.cli.demo import build_app

    app = build_app(
        store=f"sqlite:///{tmp_path / 'demo.sqlite3'}", secret_key="d" * 32, admin_token=None
    )
    async with visit(app) as browser:
        home = await browser.get("/", headers=BROWSER)
        for link, heading in (
            ("/consentkit/me", "me_title"),
            ("/consentkit/cookies", "cookies_title"),
        ):
            assert f'href="{link}"' in home.text
            page = await browser.get(link, headers=BROWSER)
            assert Outline(page.text).headings[0] == ("h1", EN[heading])


async def test_a_language_the_site_adds_gets_english_page_texts(make_site):
    swedish = {key: f"sv {key}" for key in shipped_languages()["en"]}
    app = make_site(texts={"sv": {**swedish, "me_title": "Vad vi har om dig"}})
    async with visit(app) as browser:
        page = await browser.get("/consentkit/me", headers={**BROWSER, "accept-language": "sv"})
    outline = Outline(page.text)
    assert outline.headings[:2] == [("h1", "Vad vi har om dig"), ("h2", EN["choice_heading"])]
    assert 'aria-label="sv title"' in page.text  # the banner's texts are the site's


async def test_the_page_says_when_the_policy_changed_and_honours_gpc(make_site):
    async with visit(make_site(policy_version="2026-10")) as browser:
        await decide(browser, "accept_all")
        cookie = browser.cookies["consentkit"]
    async with visit(make_site(policy_version="2026-12")) as browser:
        put_cookie(browser, "consentkit", cookie)
        page = await browser.get("/consentkit/me", headers={**BROWSER, "sec-gpc": "1"})
    text = Outline(page.text).all_text.replace("&#x27;", "'")
    assert EN["choice_none"] in text
    assert EN["choice_outdated"].replace("{version}", "2026-10") in text
    assert shipped_languages()["en"]["gpc_notice"] in text
    assert "Cookie policy version 2026-10." in text  # the history keeps the old decision
