"""The Jinja2 helpers: banner tag, and a consent form submitted as a browser without JS would."""

from __future__ import annotations

import subprocess
import sys
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin

import jinja2
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates
from support import CATEGORIES, visit

from consentkit import Category, ConfigurationError
from consentkit.jinja import install

pytestmark = pytest.mark.anyio

PAGE = """<!doctype html>
<html><head>{{ consentkit_banner() }}</head>
<body><p>page</p>{{ consentkit_form(request) }}</body></html>"""
NOSCRIPT_PAGE = """<!doctype html>
<html><head>{{ consentkit_banner(nonce="abc123") }}</head>
<body>{{ consentkit_noscript(next="/account?tab=1&x=2") }}</body></html>"""


class Form:
    """One parsed <form>: its attributes, checkboxes and submit buttons."""

    def __init__(self, attrs: dict[str, str | None]) -> None:
        self.attrs = attrs
        self.checkboxes: list[dict[str, str | None]] = []
        self.hidden: list[dict[str, str | None]] = []
        self.buttons: list[dict[str, str | None]] = []
        self.button_labels: list[str] = []
        self.labels: dict[str, str] = {}


class FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.scripts: list[dict[str, str | None]] = []
        self.in_noscript = False
        self.noscript_forms = 0
        self._text: list[str] | None = None
        self._label_for: str | None = None

    def handle_starttag(self, tag: str, attr_list: list[tuple[str, str | None]]) -> None:
        attrs = dict(attr_list)
        if tag == "script":
            self.scripts.append(attrs)
        elif tag == "noscript":
            self.in_noscript = True
        elif tag == "form":
            self.forms.append(Form(attrs))
            self.noscript_forms += self.in_noscript
        elif tag == "input" and attrs.get("type") == "checkbox":
            self.forms[-1].checkboxes.append(attrs)
        elif tag == "input" and attrs.get("type") == "hidden":
            self.forms[-1].hidden.append(attrs)
        elif tag == "button":
            self.forms[-1].buttons.append(attrs)
            self._text = []
        elif tag == "label":
            self._label_for = attrs.get("for")
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "noscript":
            self.in_noscript = False
        elif tag == "button" and self._text is not None:
            self.forms[-1].button_labels.append("".join(self._text))
            self._text = None
        elif tag == "label" and self._text is not None:
            self.forms[-1].labels[self._label_for or ""] = "".join(self._text)
            self._text = None


def parse(html: str) -> FormParser:
    parser = FormParser()
    parser.feed(html)
    parser.close()
    return parser


def site_with_page(make_site, template: str = PAGE, site_options=None, **install_options):
    """The test app, plus /page rendered from ``template`` with the helpers installed."""
    env = jinja2.Environment(loader=jinja2.DictLoader({"page.html": template}), autoescape=True)
    install_options.setdefault("categories", CATEGORIES)
    install(env, **install_options)
    templates = Jinja2Templates(env=env)

    async def page(request: Request) -> Response:
        return templates.TemplateResponse(request, "page.html")

    app = make_site(**(site_options or {}))
    app.router.routes.append(Route("/page", page))
    return app


async def submit(
    browser,
    form: Form,
    *,
    button: str,
    tick: set[str] | None = None,
    page: str = "http://testserver/page",
):
    """Post the form as a browser without JavaScript: checked boxes, then the button."""
    assert (form.attrs.get("method") or "").lower() == "post"
    fields: list[tuple[str, str]] = [(h["name"] or "", h["value"] or "") for h in form.hidden]
    for box in form.checkboxes:
        checked = "checked" in box if tick is None else box["value"] in tick
        if "disabled" not in box and checked:
            fields.append((box["name"] or "", box["value"] or ""))
    chosen = next(b for b in form.buttons if b["value"] == button)
    assert chosen.get("type") == "submit"
    fields.append((chosen["name"] or "", chosen["value"] or ""))
    return await browser.post(
        urljoin(page, form.attrs["action"] or ""),
        content=urlencode(fields).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": "http://testserver",
            "Referer": page,
        },
    )


async def test_form_without_javascript_round_trip(make_site):
    async with visit(site_with_page(make_site)) as browser:
        response = await browser.get("/page")
        assert response.status_code == 200
        parsed = parse(response.text)
        assert parsed.scripts == [{"src": "/consentkit/banner.js", "defer": None}]
        assert '<script src="/consentkit/banner.js" defer></script>' in response.text
        (form,) = parsed.forms
        assert form.attrs["action"] == "/consentkit/consent"
        assert form.attrs["lang"] == "en" and form.attrs["dir"] == "ltr"
        boxes = {b["value"]: b for b in form.checkboxes}
        assert list(boxes) == ["necessary", "analytics", "marketing"]
        assert all(b["name"] == "categories" for b in form.checkboxes)
        assert "checked" in boxes["necessary"] and "disabled" in boxes["necessary"]
        assert "checked" not in boxes["analytics"] and "checked" not in boxes["marketing"]
        assert [b["value"] for b in form.buttons] == ["accept_all", "reject_all", "custom"]
        assert {b["name"] for b in form.buttons} == {"action"}
        assert form.button_labels == ["Accept all", "Reject all", "Save"]
        assert form.labels["consentkit-form-analytics"] == "Analytics"

        # Tick analytics only and save.
        answer = await submit(browser, form, button="custom", tick={"analytics"})
        assert answer.status_code == 303
        assert answer.headers["location"] == "/page"
        echo = (await browser.get("/consent-echo")).json()
        assert echo["decided"] is True
        assert echo["categories"] == ["analytics", "necessary"]

        # The form now shows the decision; reject everything from it.
        (form,) = parse((await browser.get("/page")).text).forms
        boxes = {b["value"]: b for b in form.checkboxes}
        assert "checked" in boxes["analytics"] and "checked" not in boxes["marketing"]
        answer = await submit(browser, form, button="reject_all")
        assert answer.status_code == 303 and answer.headers["location"] == "/page"
        assert (await browser.get("/consent-echo")).json()["categories"] == ["necessary"]

        # And accept all.
        (form,) = parse((await browser.get("/page")).text).forms
        assert not any("checked" in b for b in form.checkboxes if b["value"] != "necessary")
        answer = await submit(browser, form, button="accept_all", tick=set())
        assert answer.status_code == 303
        assert (await browser.get("/consent-echo")).json()["categories"] == [
            "analytics",
            "marketing",
            "necessary",
        ]


async def test_form_speaks_the_visitors_language(make_site):
    async with visit(site_with_page(make_site)) as browser:
        html = (await browser.get("/page", headers={"Accept-Language": "de-DE,de;q=0.9"})).text
        (form,) = parse(html).forms
        assert form.attrs["lang"] == "de" and form.attrs["dir"] == "ltr"
        assert form.button_labels == ["Alle akzeptieren", "Alle ablehnen", "Speichern"]
        html = (await browser.get("/page", headers={"Accept-Language": "ar"})).text
        (form,) = parse(html).forms
        assert form.attrs["lang"] == "ar" and form.attrs["dir"] == "rtl"
        assert form.button_labels == ["قبول الكل", "رفض الكل", "حفظ"]


async def test_form_follows_the_language_options(make_site):
    options = {
        "languages": ["en", "fr"],
        "default_language": "fr",
        "texts": {"fr": {"save": "Enregistrer mes choix"}},
    }
    app = site_with_page(make_site, site_options=options, **options)
    async with visit(app) as browser:
        html = (await browser.get("/page", headers={"Accept-Language": "de"})).text
    (form,) = parse(html).forms
    assert form.attrs["lang"] == "fr"
    assert form.button_labels == ["Tout accepter", "Tout refuser", "Enregistrer mes choix"]


async def test_gpc_visitor_sees_the_notice(make_site):
    async with visit(site_with_page(make_site)) as browser:
        html = (await browser.get("/page", headers={"Sec-GPC": "1"})).text
    assert "Global Privacy Control signal is honoured" in html


async def test_noscript_form_posts_and_returns(make_site):
    async with visit(site_with_page(make_site, NOSCRIPT_PAGE)) as browser:
        html = (await browser.get("/page")).text
        parsed = parse(html)
        assert parsed.scripts == [
            {"src": "/consentkit/banner.js", "defer": None, "nonce": "abc123"}
        ]
        (form,) = parsed.forms
        assert parsed.noscript_forms == 1
        assert html.count("<noscript>") == 1
        assert form.hidden == [{"type": "hidden", "name": "next", "value": "/account?tab=1&x=2"}]
        answer = await submit(browser, form, button="custom", tick={"marketing"})
        assert answer.status_code == 303
        assert answer.headers["location"] == "/account?tab=1&x=2"  # next wins over Referer
        echo = (await browser.get("/consent-echo")).json()
        assert echo["categories"] == ["marketing", "necessary"]


async def test_titles_and_texts_are_escaped(make_site):
    hostile = [
        Category(
            "analytics",
            title="<script>alert(1)</script>",
            description='"><img src=x onerror=alert(2)>',
        ),
    ]
    texts = {"en": {"title": "<b>Cookies</b> & more"}}
    app = site_with_page(
        make_site,
        categories=hostile,
        texts=texts,
        prefix="/ck",
        site_options={"categories": hostile, "texts": texts, "prefix": "/ck"},
    )
    async with visit(app) as browser:
        html = (await browser.get("/page")).text
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<img" not in html
        assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in html
        assert "&lt;b&gt;Cookies&lt;/b&gt; &amp; more" in html
        assert '<script src="/ck/banner.js" defer></script>' in html
        (form,) = parse(html).forms
        assert form.attrs["action"] == "/ck/consent"
        assert [b["value"] for b in form.checkboxes] == ["necessary", "analytics"]
        assert form.labels["consentkit-form-analytics"] == "<script>alert(1)</script>"
        # and it still works against the middleware configured the same way
        answer = await submit(browser, form, button="accept_all")
        assert answer.status_code == 303
        assert (await browser.get("/consent-echo")).json()["categories"] == [
            "analytics",
            "necessary",
        ]


def test_the_form_needs_a_request_and_refuses_foreign_next():
    env = jinja2.Environment(autoescape=True)
    install(env)
    with pytest.raises(TypeError, match="request"):
        env.from_string("{{ consentkit_form() }}").render()
    request = Request({"type": "http", "method": "GET", "path": "/", "headers": []})
    for bad in ("https://evil.example/", "//evil.example/", "/\\evil", "relative"):
        with pytest.raises(ValueError, match="next"):
            env.from_string("{{ consentkit_form(request, next=n) }}").render(request=request, n=bad)
    # Without the middleware nothing is granted: only necessary is ticked.
    (form,) = parse(env.from_string("{{ consentkit_form(request) }}").render(request=request)).forms
    assert [("checked" in b) for b in form.checkboxes] == [True, False]


def test_install_checks_its_options():
    env = jinja2.Environment(autoescape=True)
    with pytest.raises(ConfigurationError):
        install(env, prefix="consentkit/")
    with pytest.raises(ConfigurationError):
        install(env, default_language="tlh")
    with pytest.raises(ConfigurationError):
        install(env, texts={"sv": {"title": "Din integritet"}})


def test_consentkit_does_not_import_jinja2():
    code = (
        "import sys, consentkit; "
        "assert 'jinja2' not in sys.modules, 'jinja2 imported'; "
        "assert 'consentkit.jinja' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


async def test_form_offers_each_service_under_its_category(make_site):
    from consentkit import Service

    categories = [
        Category("analytics"),
        Category("marketing", services=[Service("youtube", title="YouTube <video>")]),
    ]
    app = site_with_page(make_site, site_options={"categories": categories}, categories=categories)
    async with visit(app) as browser:
        html = (await browser.get("/page")).text
        form = parse(html).forms[0]
        boxes = [(b["name"], b["value"], "checked" in b) for b in form.checkboxes]
        assert boxes[-1] == ("services", "youtube", False)
        assert form.labels["consentkit-form-youtube"] == "YouTube <video>"  # escaped
        assert "YouTube &lt;video&gt;" in html
        response = await submit(browser, form, button="custom", tick={"youtube"})
        assert response.status_code == 303
        again = parse((await browser.get("/page")).text).forms[0]
        assert [("checked" in b) for b in again.checkboxes if b["value"] == "youtube"] == [True]
        state = (await browser.get("/consentkit/state")).json()
        assert (state["categories"], state["services"]) == (["necessary"], ["youtube"])
