"""The cookie disclosure: generated from the configuration the middleware enforces."""

from __future__ import annotations

import json
import re
import sys
import textwrap
import uuid
from html.parser import HTMLParser

import pytest
from support import visit

from consentkit import Category, ConfigurationError, ConsentMiddleware, Cookie
from consentkit.cli.main import main
from consentkit.disclosure import (
    Disclosure,
    describe_lifetime,
)

DAY = 24 * 3600
HOSTILE = "Ads <script>alert(1)</script> | more | columns"
SITE_CATEGORIES = [
    Category(
        "analytics",
        title="Analytics",
        description="Counts visits.",
        cookies=[
            Cookie(
                "_ga",
                purpose="Tells visitors apart.",
                lifetime="2 years",
                provider="Google",
                domains=[".example.com"],
                paths=["/", "/shop"],
            ),
            "_ga_*",
            Cookie("_hj?d", purpose="Heatmap sample.", lifetime="1 year", provider="Hotjar"),
        ],
    ),
    Category(
        "marketing",
        title="Marketing",
        description="Ads.",
        cookies=[
            Cookie("_fbp", purpose=HOSTILE, lifetime="3 months", provider="Meta"),
        ],
    ),
]
OWN = {"consentkit", "consentkit_id"}


def middleware(store_url: str, **options: object) -> ConsentMiddleware:
    settings: dict[str, object] = {"categories": SITE_CATEGORIES, "policy_version": "2026-11"}
    settings.update(options)
    return ConsentMiddleware(None, secret_key="s" * 32, store=store_url, **settings)


def cookies_by_category(document: dict) -> dict[str, list[str]]:
    return {c["name"]: [k["name"] for k in c["cookies"]] for c in document["categories"]}


def cookie(document: dict, name: str) -> dict:
    return next(k for c in document["categories"] for k in c["cookies"] if k["name"] == name)


# --- what the disclosure lists ----------------------------------------------------------------


def test_json_lists_exactly_the_configured_categories_and_cookies(store_url):
    document = Disclosure.of(middleware(store_url)).to_json()

    assert document["policy_version"] == "2026-11"
    assert cookies_by_category(document) == {
        "necessary": ["consentkit"],
        "analytics": ["consentkit_id", "_ga", "_ga_*", "_hj?d"],
        "marketing": ["_fbp"],
    }
    assert [c["required"] for c in document["categories"]] == [True, False, False]
    assert cookie(document, "_ga") == {
        "name": "_ga",
        "pattern": False,
        "purpose": "Tells visitors apart.",
        "lifetime": "2 years",
        "provider": "Google",
        "domains": [".example.com"],
        "paths": ["/", "/shop"],
    }
    assert cookie(document, "_ga_*")["pattern"] is True
    assert cookie(document, "_hj?d")["pattern"] is True
    json.dumps(document)  # plain data, ready to serve


def test_own_cookies_have_the_default_lifetimes(store_url):
    document = Disclosure.of(middleware(store_url)).to_json()

    assert cookie(document, "consentkit")["lifetime"] == "182 days"
    assert cookie(document, "consentkit_id")["lifetime"] == "13 months"
    assert cookie(document, "consentkit")["provider"] == "this site"
    assert cookie(document, "consentkit_id")["domains"] == []


def test_own_cookie_lifetimes_and_domain_follow_the_configuration(store_url):
    options = {
        "decision_max_age": 30 * DAY,
        "id_max_age": 90 * DAY,
        "cookie_domain": "example.com",
        "policy_version": "7",
    }
    running = Disclosure.of(middleware(store_url, **options))

    document = running.to_json()
    assert cookie(document, "consentkit")["lifetime"] == "30 days"
    assert cookie(document, "consentkit_id")["lifetime"] == "90 days"
    for name in OWN:
        assert cookie(document, name)["provider"] == "example.com"
        assert cookie(document, name)["domains"] == ["example.com"]
    assert running == Disclosure.build(categories=SITE_CATEGORIES, **options)


def test_no_analytics_category_means_no_visitor_id_cookie():
    document = Disclosure.build(categories=[Category("marketing", cookies=["_fbp"])]).to_json()

    assert cookies_by_category(document) == {"necessary": ["consentkit"], "marketing": ["_fbp"]}


def test_a_site_description_of_our_cookie_gives_way_to_the_real_one():
    mine = Category("necessary", cookies=[Cookie("consentkit", lifetime="forever"), "session"])
    document = Disclosure.build(categories=[mine], decision_max_age=10 * DAY).to_json()

    assert cookies_by_category(document)["necessary"] == ["consentkit", "session"]
    assert cookie(document, "consentkit")["lifetime"] == "10 days"


def test_a_category_without_a_title_is_named_after_itself():
    document = Disclosure.build(categories=[Category("social_media")]).to_json()

    assert document["categories"][1]["title"] == "Social media"


@pytest.mark.parametrize(
    "options",
    [
        {"id_max_age": 400 * DAY},
        {"decision_max_age": 0},
        {"policy_version": "a b"},
    ],
)
def test_options_the_middleware_would_refuse_are_refused(options):
    with pytest.raises(ConfigurationError):
        Disclosure.build(**options)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "session"),
        (182 * DAY, "182 days"),
        (396 * DAY, "13 months"),
        (DAY, "1 day"),
        (365 * DAY, "1 year"),
        (730 * DAY, "2 years"),
        (400 * DAY, "400 days"),
        (36 * 3600, "36 hours"),
        (90 * 60, "90 minutes"),
        (90, "90 seconds"),
    ],
)
def test_lifetimes_read_for_people(seconds, text):
    assert describe_lifetime(seconds) == text


def test_disclosure_and_enforcement_agree(store_url):
    """Each cookie the disclosure lists under a category is one the middleware gates by it."""
    site = middleware(store_url)
    document = Disclosure.of(site).to_json()

    listed = [
        (c["name"], k) for c in document["categories"] for k in c["cookies"] if k["name"] not in OWN
    ]
    assert len(listed) == 4
    for category, entry in listed:
        example = entry["name"].replace("*", "x").replace("?", "x")
        assert site.categories.category_of_cookie(example) == category, entry["name"]


# --- rendering --------------------------------------------------------------------------------


class Page(HTMLParser):
    """The tags, attributes and text of an HTML fragment, as a browser would parse them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_markdown_and_html_name_every_cookie_and_purpose(store_url):
    disclosure = Disclosure.of(middleware(store_url))
    markdown, page = disclosure.to_markdown(), Page(disclosure.to_html())
    entries = [k for c in disclosure.to_json()["categories"] for k in c["cookies"]]

    assert len(entries) == 6
    for entry in entries:
        assert f"`{entry['name']}`" in markdown
        assert entry["name"] in page.text
        if entry["purpose"]:
            assert entry["purpose"] in page.text
        if entry["purpose"] and "<" not in entry["purpose"]:
            assert entry["purpose"] in markdown
    for title in ("Necessary", "Analytics", "Marketing"):
        assert f"## {title}" in markdown
        assert title in page.text


def test_html_escapes_site_text_and_is_safe_under_a_strict_csp():
    categories = [
        Category(
            "marketing",
            title='<b>"Ads"</b>',
            description="<i>x</i> & y",
            cookies=[Cookie("_fbp", purpose=HOSTILE)],
        )
    ]
    html = Disclosure.build(categories=categories).to_html()
    page = Page(html)

    assert "<script>" not in html and "<b>" not in html and "<i>" not in html
    assert HOSTILE in page.text and '<b>"Ads"</b>' in page.text and "<i>x</i> & y" in page.text
    assert [tag for tag, _ in page.tags if tag == "section"] == ["section", "section"]
    for tag, attrs in page.tags:
        assert tag not in ("script", "style", "b", "i")
        assert not any(name == "style" or name.startswith("on") for name in attrs)
        assert all(c.startswith("ck-") for c in (attrs.get("class") or "").split())


def test_markdown_keeps_the_table_intact_around_hostile_text():
    categories = [
        Category(
            "marketing",
            title="Ads | [x](javascript:alert(1))",
            cookies=[Cookie("_fbp", purpose=HOSTILE + "\n| injected |")],
        )
    ]
    markdown = Disclosure.build(categories=categories).to_markdown()

    table = [line for line in markdown.splitlines() if line.startswith("|")]
    assert len(table) == 2 * 3  # header, rule and one cookie, in each of two categories
    for line in table:
        assert len(re.split(r"(?<!\\)\|", line)) == 6 + 2
    assert "<script>" not in markdown  # raw HTML would run wherever the Markdown is rendered
    assert r"## Ads \| \[x\](javascript:alert(1))" in markdown  # a literal, not a link
    assert r"\<script\>alert(1)\</script\> \| more \| columns \| injected \|" in markdown


# --- the HTTP answer --------------------------------------------------------------------------


@pytest.fixture
async def client(make_site):
    """The real middleware's endpoint, GET /consentkit/cookies."""
    async with visit(make_site(categories=SITE_CATEGORIES, policy_version="2026-11")) as client:
        yield client


@pytest.mark.parametrize(
    ("query", "content_type", "needle"),
    [
        ("", "text/html; charset=utf-8", '<section class="ck-category"'),
        ("?format=html", "text/html; charset=utf-8", "<code>_fbp</code>"),
        ("?format=md", "text/markdown; charset=utf-8", "| `_fbp` |"),
        ("?format=json", "application/json", '"policy_version": "2026-11"'),
    ],
)
@pytest.mark.anyio
async def test_the_endpoint_answers_each_format(client, query, content_type, needle):
    response = await client.get("/consentkit/cookies" + query)

    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["cache-control"] == "public, max-age=300"
    assert needle in response.text


@pytest.mark.anyio
async def test_the_endpoint_json_is_the_documented_shape(client):
    body = (await client.get("/consentkit/cookies?format=json")).json()

    assert cookies_by_category(body)["marketing"] == ["_fbp"]
    assert cookie(body, "_fbp")["purpose"] == HOSTILE


@pytest.mark.parametrize("form", ["xml", "HTML", "markdown"])
@pytest.mark.anyio
async def test_the_endpoint_refuses_an_unknown_format(client, form):
    response = await client.get(f"/consentkit/cookies?format={form}")

    assert response.status_code == 400
    assert response.json()["field"] == "format"
    assert "html, md, json" in response.json()["error"]
    assert response.headers["cache-control"] == "no-store"


# --- the command line -------------------------------------------------------------------------


def disclose(capsys, *argv: str) -> tuple[int, str, str]:
    """``consentkit disclose ...`` through the command line's entry point."""
    code = main(["disclose", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def site_module(tmp_path, monkeypatch, store_url):
    """Write a site's module into tmp_path and give its importable name."""
    monkeypatch.syspath_prepend(str(tmp_path))
    written: list[str] = []

    def write(body: str) -> str:
        name = f"ck_site_{uuid.uuid4().hex[:12]}"
        header = f"""
            from starlette.applications import Starlette
            from starlette.middleware import Middleware
            from consentkit import Category, ConsentMiddleware, Cookie
            STORE = {store_url!r}
            CATEGORIES = [
                Category("analytics", title="Analytics", cookies=["_ga", "_ga_*"]),
                Category("marketing", cookies=[Cookie("_fbp", purpose="Ads.", lifetime="90 days")]),
            ]
        """
        source = textwrap.dedent(header) + textwrap.dedent(body)
        (tmp_path / f"{name}.py").write_text(source)
        written.append(name)
        return name

    yield write
    for name in written:
        sys.modules.pop(name, None)


EXPECTED = {
    "necessary": ["consentkit"],
    "analytics": ["consentkit_id", "_ga", "_ga_*"],
    "marketing": ["_fbp"],
}


def test_cli_reads_a_starlette_app_declaring_the_middleware(capsys, site_module):
    module = site_module("""
        app = Starlette(middleware=[Middleware(
            ConsentMiddleware, secret_key="s" * 32, store=STORE, categories=CATEGORIES,
            policy_version="2026-11", decision_max_age=86400 * 30)])
    """)
    code, out, _ = disclose(capsys, f"{module}:app", "--format", "json")

    assert code == 0
    document = json.loads(out)
    assert cookies_by_category(document) == EXPECTED
    assert document["policy_version"] == "2026-11"
    assert cookie(document, "consentkit")["lifetime"] == "30 days"
    assert cookie(document, "consentkit_id")["lifetime"] == "13 months"


def test_cli_reads_a_built_middleware_stack(capsys, site_module):
    module = site_module("""
        app = Starlette()
        app.add_middleware(ConsentMiddleware, secret_key="s" * 32, store=STORE,
                           categories=CATEGORIES, id_max_age=86400 * 60)
        app.middleware_stack = app.build_middleware_stack()
    """)
    code, out, _ = disclose(capsys, f"{module}:app", "--format", "json")

    assert code == 0
    assert cookies_by_category(json.loads(out)) == EXPECTED
    assert cookie(json.loads(out), "consentkit_id")["lifetime"] == "60 days"


def test_cli_reads_a_bare_middleware_into_a_file(capsys, site_module, tmp_path):
    module = site_module("""
        site = ConsentMiddleware(None, secret_key="s" * 32, store=STORE, categories=CATEGORIES)
    """)
    output = tmp_path / "cookies.md"
    code, out, _ = disclose(capsys, f"{module}:site", "--format", "md", "--output", str(output))

    assert code == 0 and out == ""
    markdown = output.read_text(encoding="utf-8")
    for name in ("consentkit", "consentkit_id", "_ga", "_ga_*", "_fbp"):
        assert f"| `{name}`" in markdown


def test_cli_reads_a_list_of_categories_as_html_by_default(capsys, site_module):
    module = site_module("")
    code, out, _ = disclose(capsys, f"{module}:CATEGORIES")

    assert code == 0
    assert out.startswith('<div class="ck-disclosure">')
    assert "<code>_fbp</code>" in out and "<code>consentkit_id</code>" in out


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("ck_no_such_module:app", "cannot import 'ck_no_such_module'"),
        ("{module}:nothing", "has no attribute 'nothing'"),
        ("{module}", "APP must be 'module:attribute'"),
        ("{module}:STORE", "holds no consent configuration"),
        ("{module}:plain", "holds no consent configuration"),
    ],
)
def test_cli_says_what_is_wrong_with_app(capsys, site_module, target, message):
    module = site_module("plain = Starlette()\n")
    code, out, err = disclose(capsys, target.format(module=module))

    assert code == 2
    assert out == ""
    assert err.startswith("consentkit: error: ") and message in err
