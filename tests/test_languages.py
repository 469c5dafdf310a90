"""Banner languages: the shipped translations, Accept-Language negotiation, site options."""

from __future__ import annotations

import json
import sqlite3
from importlib import resources

import pytest
from support import visit

from consentkit import ConfigurationError
from consentkit.locales.texts import TEXT_KEYS, shipped_languages

pytestmark = pytest.mark.anyio

SHIPPED = {"en", "de", "fr", "es", "it", "nl", "pt", "pl", "ar"}


def locale_file(language: str) -> dict[str, str]:
    path = resources.files("consentkit.locales") / f"{language}.json"
    texts: dict[str, str] = json.loads(path.read_text("utf-8"))
    return texts


async def state(browser, accept_language: str | bytes | None = None) -> dict:
    headers = {} if accept_language is None else {"Accept-Language": accept_language}
    response = await browser.get("/consentkit/state", headers=headers)
    assert response.status_code == 200
    return response.json()


def test_every_shipped_language_has_exactly_the_english_keys_none_empty():
    languages = shipped_languages()
    assert set(languages) == SHIPPED
    english = locale_file("en")
    assert list(english) == list(TEXT_KEYS)
    for language, texts in languages.items():
        assert set(texts) == set(english), language
        for key, text in texts.items():
            assert isinstance(text, str) and text.strip() == text and text, (language, key)


def test_translations_keep_the_two_main_buttons_alike_and_name_gpc():
    for language, texts in shipped_languages().items():
        accept, reject = len(texts["accept_all"]), len(texts["reject_all"])
        assert max(accept, reject) <= 1.5 * min(accept, reject), language
        assert texts["accept_all"] != texts["reject_all"], language
        assert "Global" in texts["gpc_notice"] and "Privacy" in texts["gpc_notice"], language


async def test_every_shipped_language_is_served(make_site):
    async with visit(make_site()) as browser:
        for language in sorted(SHIPPED):
            answer = await state(browser, language)
            assert answer["language"] == language
            assert answer["config"]["texts"] == locale_file(language)
            assert answer["dir"] == ("rtl" if language == "ar" else "ltr")


async def test_german_browser_gets_german_texts(make_site):
    async with visit(make_site()) as browser:
        answer = await state(browser, "de-DE,de;q=0.9,en;q=0.8")
    assert answer["language"] == "de"
    assert answer["dir"] == "ltr"
    texts = answer["config"]["texts"]
    assert texts["accept_all"] == "Alle akzeptieren"
    assert texts["reject_all"] == "Alle ablehnen"
    assert texts["preferences"] == "Einstellungen"


@pytest.mark.parametrize(
    ("accept_language", "expected"),
    [
        ("fr;q=0.2, nl;q=0.9", "nl"),
        ("nl;q=0.9, fr;q=0.2", "nl"),
        ("es;q=0.5, it;q=0.5", "es"),  # a tie goes to the first listed
        ("xx, it;q=0.1", "it"),
        ("pt-BR", "pt"),
        ("FR-ca", "fr"),
        ("de;q=0, pl;q=0.3", "pl"),  # q=0 means "not acceptable"
        ("en;q=0.4, ar", "ar"),
    ],
)
async def test_quality_values_are_honoured(make_site, accept_language, expected):
    async with visit(make_site()) as browser:
        assert (await state(browser, accept_language))["language"] == expected


@pytest.mark.parametrize("accept_language", [None, "", "xx-YY, zz;q=0.5", "*", "tlh"])
async def test_unknown_languages_fall_back_to_the_default(make_site, accept_language):
    async with visit(make_site()) as browser:
        answer = await state(browser, accept_language)
    assert answer["language"] == "en"
    assert answer["config"]["texts"]["accept_all"] == "Accept all"


async def test_languages_option_restricts_the_choice(make_site):
    async with visit(make_site(languages=["en", "fr"])) as browser:
        assert (await state(browser, "de, fr;q=0.5"))["language"] == "fr"
        assert (await state(browser, "de-DE,de;q=0.9"))["language"] == "en"
        assert (await state(browser, "nl, ar"))["language"] == "en"


async def test_default_language_option(make_site):
    async with visit(make_site(default_language="de")) as browser:
        for accept_language in (None, "xx", "tlh;q=0.9"):
            answer = await state(browser, accept_language)
            assert answer["language"] == "de"
            assert answer["config"]["texts"]["reject_all"] == "Alle ablehnen"
        assert (await state(browser, "fr"))["language"] == "fr"


async def test_site_overrides_replace_single_texts(make_site):
    texts = {"de": {"title": "Cookies bei Beispiel GmbH"}, "en": {"save": "Save my choice"}}
    async with visit(make_site(texts=texts)) as browser:
        german = (await state(browser, "de"))["config"]["texts"]
        english = (await state(browser, "en"))["config"]["texts"]
    assert german["title"] == "Cookies bei Beispiel GmbH"
    assert german["accept_all"] == "Alle akzeptieren"  # the rest stays shipped German
    assert english["save"] == "Save my choice"
    assert english["title"] == "Your privacy"


async def test_a_language_added_by_the_site_is_offered(make_site):
    swedish = {key: f"sv {key}" for key in TEXT_KEYS}
    async with visit(make_site(texts={"sv": swedish})) as browser:
        answer = await state(browser, "sv-SE, en;q=0.5")
    assert answer["language"] == "sv"
    assert answer["config"]["texts"] == swedish


def test_a_language_added_without_every_text_is_refused_at_start_up(make_site):
    with pytest.raises(ConfigurationError, match="'sv'"):
        make_site(texts={"sv": {"title": "Din integritet"}}).build_middleware_stack()
    with pytest.raises(ConfigurationError, match="default_language"):
        make_site(languages=["en", "fr"], default_language="de").build_middleware_stack()


async def test_arabic_is_right_to_left(make_site):
    async with visit(make_site()) as browser:
        answer = await state(browser, "ar-EG,ar;q=0.9,en;q=0.5")
    assert answer["language"] == "ar"
    assert answer["dir"] == "rtl"
    assert answer["config"]["texts"] == locale_file("ar")


@pytest.mark.parametrize(
    "accept_language",
    [
        "de," * 5000,  # huge: ignored as a whole
        "xx;q=abc, " * 1000,
        ";;;,,,q=,",
        "de;q=abc",
        "de;q=nan",
        "de;q=-1",
        ",,,,",
        "q=0.9",
        ";q=1",
        "-",
        "q=de, en-;q=x",
        b"\xff\xfe\x80;q=\xff",
        "\u00e9".encode("latin-1"),
    ],
)
async def test_hostile_accept_language_answers_the_default(make_site, accept_language):
    async with visit(make_site()) as browser:
        answer = await state(browser, accept_language)
        assert answer["language"] == "en"
        assert answer["dir"] == "ltr"
        # and the site keeps answering
        assert (await state(browser, "fr"))["language"] == "fr"


@pytest.mark.parametrize(
    ("accept_language", "expected"), [("de-DE,de;q=0.9", "de"), ("ar", "ar"), ("xx", "en")]
)
async def test_the_ledger_records_the_banner_language(
    make_site, store_url, accept_language, expected
):
    async with visit(make_site()) as browser:
        response = await browser.post(
            "/consentkit/consent",
            json={"action": "reject_all"},
            headers={"Accept-Language": accept_language},
        )
        assert response.status_code == 200
        with sqlite3.connect(store_url.removeprefix("sqlite:///")) as db:
            rows = db.execute("SELECT language FROM ck_decisions").fetchall()
    assert rows == [(expected,)]


async def test_the_ledger_records_the_language_of_a_form_post(make_site, store_url):
    async with visit(make_site()) as browser:
        response = await browser.post(
            "/consentkit/consent",
            content=b"action=custom&categories=analytics",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept-Language": "pl-PL,pl;q=0.9,en;q=0.5",
                "Origin": "http://testserver",
                "Referer": "http://testserver/items/1",
            },
        )
        assert response.status_code == 303
        with sqlite3.connect(store_url.removeprefix("sqlite:///")) as db:
            rows = db.execute("SELECT language, action FROM ck_decisions").fetchall()
    assert rows == [("pl", "custom")]


@pytest.mark.parametrize(
    ("accept_language", "language"),
    [
        ("de;q=inf, fr;q=0.5", "fr"),
        ("de;q=5, fr;q=0.5", "fr"),
        ("de;q=1.0001, nl", "nl"),
        ("de;q=1.000, fr", "de"),
        ("fr;q=0.25, de;q=0.251", "de"),
    ],
)
async def test_out_of_range_q_values_do_not_win(make_site, accept_language, language):
    async with visit(make_site()) as browser:
        assert (await state(browser, accept_language))["language"] == language
