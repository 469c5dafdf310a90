"""The texts of the visitor's pages (the privacy center and the cookie policy) per language,
and the category titles and descriptions in each language.

The pages speak the banner's languages. Their texts ship in ``locales/pages/<language>.json``;
a site overrides any of them, and adds category translations, through the same ``texts``
option as the banner's (``{"de": {"me_title": "...", "category.marketing.title": "..."}}``).
A language the site adds without page texts falls back to English for them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from .texts import BannerTexts

FALLBACK = "en"
CATEGORY_PREFIX = "category."


@cache
def shipped_page_texts() -> dict[str, dict[str, Any]]:
    """Every language's page texts shipped in ``consentkit/locales/pages/*.json``."""
    folder = resources.files("consentkit.locales") / "pages"
    return {
        entry.name[:-5]: json.loads(entry.read_text("utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".json")
    }


def page_keys() -> frozenset[str]:
    """The names of the pages' texts (what the site may override through ``texts``)."""
    return frozenset(k for k in shipped_page_texts()[FALLBACK] if k != "units")


def banner_only(strings: Mapping[str, str]) -> dict[str, str]:
    """A language's texts without the pages' and the categories': what the banner needs."""
    pages = page_keys()
    return {k: v for k, v in strings.items() if k not in pages and "." not in k}


def plural_form(language: str, count: int) -> str:
    """The CLDR plural category of a whole number in a language (the shipped ones; others
    as English)."""
    base = language.split("-")[0]
    if base == "fr":
        return "one" if count in (0, 1) else "other"
    if base == "pl":
        if count == 1:
            return "one"
        if count % 10 in (2, 3, 4) and count % 100 not in (12, 13, 14):
            return "few"
        return "many"
    if base == "ar":
        hundreds = count % 100
        return {0: "zero", 1: "one", 2: "two"}.get(count) or (
            "few" if 3 <= hundreds <= 10 else "many" if hundreds >= 11 else "other"
        )
    return "one" if count == 1 else "other"


class PageTexts:
    """The pages' texts in each of the banner's languages, the site's overrides applied."""

    def __init__(self, banner: BannerTexts) -> None:
        shipped = shipped_page_texts()
        keys = page_keys()
        self.default = banner.default
        self.direction = banner.direction
        self.texts: dict[str, dict[str, str]] = {}
        self.units: dict[str, dict[str, dict[str, str]]] = {}
        self.site: dict[str, dict[str, str]] = {}
        for language in banner.texts:
            own = shipped.get(language, {})
            strings = {**shipped[FALLBACK], **own}
            self.units[language] = strings.pop("units")
            # The site's own texts for this language: page texts and category translations.
            site = banner.overrides.get(language, {})
            self.site[language] = {k: v for k, v in site.items() if k.startswith(CATEGORY_PREFIX)}
            strings.update((k, v) for k, v in site.items() if k in keys)
            self.texts[language] = {k: v for k, v in strings.items() if isinstance(v, str)}

    def quantity(self, language: str, unit: str, count: int) -> str:
        """``count`` of a time ``unit`` (year, month, day, hour, minute, second) in words."""
        forms = self.units[language][unit]
        form = forms.get(plural_form(language, count)) or forms["other"]
        return form.replace("{n}", str(count))

    def category(self, language: str, name: str, title: str, description: str) -> tuple[str, str]:
        """A category's title and description in a language: the site's translation
        (``texts={"de": {"category.<name>.title": ...}}``), else the shipped one when the
        site kept consentkit's default English title and description, else the text as the
        site gave it (never half translated)."""
        site, shipped = self.site[language], self.texts[language]
        english = shipped_page_texts()[FALLBACK]
        keys = {f: f"{CATEGORY_PREFIX}{name}.{f}" for f in ("title", "description")}
        default = title == english.get(keys["title"]) and description == english.get(
            keys["description"]
        )
        given = {"title": title, "description": description}
        translated = {
            field: site.get(key) or (shipped.get(key, "") if default else "") or given[field]
            for field, key in keys.items()
        }
        return translated["title"], translated["description"]
