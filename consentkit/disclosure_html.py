"""The cookie disclosure as an HTML fragment (what ``Disclosure.to_html`` returns), in
English or in one of the site's languages (``PageTexts``): no script, no style, ``ck-``
classes to style it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from html import escape

from .consent.categories import NECESSARY, Category, Cookie
from .locales.pages import FALLBACK, PageTexts, shipped_page_texts

DAY = 24 * 3600
MONTH_DAYS = 365.25 / 12
COLUMNS = ("Cookie", "Purpose", "Lifetime", "Provider", "Domains", "Paths")


def disclosure_html(
    policy_version: str,
    categories: tuple[Category, ...],
    own_lifetimes: Mapping[str, int | None],
    texts: PageTexts | None = None,
    language: str = FALLBACK,
) -> str:
    """A ``<section>`` per category, each with a table of its cookies; consentkit's own
    cookies (``own_lifetimes``: name to seconds) described in ``language``."""
    words = _Words(own_lifetimes, texts, language)
    if texts is not None and texts.direction(language) == "rtl":
        policy_version = f"\u2068{policy_version}\u2069"  # keeps "2026-11" in its order
    version = words.text("policy_version").replace("{version}", policy_version)
    parts = ['<div class="ck-disclosure">', f'<p class="ck-policy-version">{escape(version)}</p>']
    parts += [_html_category(category, words) for category in categories]
    parts.append("</div>")
    return "\n".join(parts) + "\n"


def listed_cookies(category: Category) -> list[Cookie]:
    """A category's cookies and its services', each service's named as its provider
    where the cookie names none."""
    return [*category.declared] + [
        replace(cookie, provider=cookie.provider or service.title)
        for service in category.services
        for cookie in service.declared
    ]


def lifetime_parts(seconds: int) -> tuple[int, str]:
    """A lifetime as a count of one unit (year, month, day, hour, minute or second)."""
    if seconds >= 365 * DAY and seconds % DAY == 0:
        days = seconds // DAY
        if days % 365 == 0:
            return days // 365, "year"
        months = round(days / MONTH_DAYS)
        if abs(days - months * MONTH_DAYS) <= 1:
            return months, "month"
    for unit, size in (("day", DAY), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            return seconds // size, unit
    return seconds, "second"


def cells_of(cookie: Cookie) -> list[str]:
    """Purpose, lifetime, provider, domains and paths as text; a dash where nothing is said."""
    domains = ", ".join(cookie.domains) or "this site"
    texts = [cookie.purpose, cookie.lifetime, cookie.provider, domains, ", ".join(cookie.paths)]
    return [" ".join(text.split()) or "—" for text in texts]


class _Words:
    """The disclosure's words in one language (English without the site's ``PageTexts``)."""

    def __init__(
        self, own: Mapping[str, int | None], texts: PageTexts | None, language: str
    ) -> None:
        self.texts, self.language = texts, language
        self.strings = texts.texts[language] if texts else shipped_page_texts()[FALLBACK]
        self.own = own

    def text(self, key: str) -> str:
        return str(self.strings[key])

    def category(self, category: Category) -> tuple[str, str]:
        if self.texts is None:
            return category.title, category.description
        return self.texts.category(
            self.language, category.name, category.title, category.description
        )

    def cells(self, cookie: Cookie) -> list[str]:
        """Purpose, lifetime, provider, domains and paths, consentkit's own in this language."""
        cells = cells_of(cookie)
        if self.texts is None or cookie.name not in self.own:
            return cells
        seconds = self.own[cookie.name]
        if seconds is None:
            lifetime = self.text("session")
        else:
            count, unit = lifetime_parts(seconds)
            lifetime = self.texts.quantity(self.language, unit, count)
        this_site = self.text("this_site")
        provider, domains = (
            (this_site, this_site) if cells[2] == "this site" else (cells[2], cells[3])
        )
        return [self.text(f"purpose_{cookie.name}"), lifetime, provider, domains, cells[4]]


def _html_category(category: Category, words: _Words) -> str:
    name = escape(category.name)
    title, description = words.category(category)
    parts = [
        f'<section class="ck-category" id="ck-category-{name}">',
        f'<h2 class="ck-category-title" id="ck-category-{name}-title">{escape(title)}</h2>',
    ]
    if description:
        parts.append(f'<p class="ck-category-description">{escape(description)}</p>')
    if category.name == NECESSARY:
        parts.append(f'<p class="ck-required">{escape(words.text("required_note"))}</p>')
    if listed_cookies(category):
        header = "".join(
            f'<th scope="col">{escape(words.text("col_" + column.lower()))}</th>'
            for column in COLUMNS
        )
        # Scrolls sideways on a narrow screen: reachable by keyboard, named by its heading.
        parts.append(
            f'<div class="ck-table" tabindex="0" role="region"'
            f' aria-labelledby="ck-category-{name}-title">'
        )
        parts.append('<table class="ck-cookies">')
        parts += [f"<thead><tr>{header}</tr></thead>", "<tbody>"]
        parts += [_html_row(cookie, words) for cookie in listed_cookies(category)]
        parts += ["</tbody>", "</table>", "</div>"]
    else:
        parts.append(f'<p class="ck-no-cookies">{escape(words.text("no_cookies"))}</p>')
    parts.append("</section>")
    return "\n".join(parts)


def _html_row(cookie: Cookie, words: _Words) -> str:
    pattern = (
        f' <span class="ck-pattern">{escape(words.text("name_pattern"))}</span>'
        if cookie.is_pattern
        else ""
    )
    fields = ("purpose", "lifetime", "provider", "domains", "paths")
    cells = "".join(
        f'<td class="ck-{field}">{escape(text)}</td>'
        for field, text in zip(fields, words.cells(cookie), strict=True)
    )
    return (
        f'<tr><th scope="row" class="ck-cookie-name"><code>{escape(cookie.name)}</code>'
        f"{pattern}</th>{cells}</tr>"
    )
