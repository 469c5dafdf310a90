"""The cookie disclosure: the site's cookie policy, generated from the middleware's configuration.

The same ``categories`` that the middleware enforces, plus the two cookies consentkit sets
itself with their real lifetimes, rendered as JSON, Markdown or an HTML fragment. Served at
``GET /consentkit/cookies`` (a page for people in their language, or the fragment) and
printed by ``consentkit disclose``, so the published policy and what the site does cannot
drift apart.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any, Protocol

from .consent.categories import (
    ANALYTICS,
    DEFAULT_CATEGORIES,
    NECESSARY,
    Category,
    CategorySet,
    Cookie,
)
from .consent.cookies import DECISION_COOKIE, ID_COOKIE
from .locales.pages import FALLBACK, PageTexts, shipped_page_texts
from .settings import ConsentSettings, check_option, default_of

DAY = 24 * 3600
MONTH_DAYS = 365.25 / 12
DECISION_PURPOSE = (
    "Remembers your cookie choices: which categories you allowed, the version of this policy "
    "you saw and when you decided. Signed, so it cannot be altered."
)
ID_PURPOSE = (
    "A random number that lets us count returning visitors without knowing who you are. "
    "Set only while you allow analytics; removed when you withdraw."
)
COLUMNS = ("Cookie", "Purpose", "Lifetime", "Provider", "Domains", "Paths")


class HasSettings(Protocol):
    """Anything that holds a site's settings, such as a built ``ConsentMiddleware``."""

    @property
    def settings(self) -> ConsentSettings: ...


@dataclass(frozen=True, slots=True)
class Disclosure:
    """Every category and cookie of the site, as its cookie policy must list them.

    ``categories`` come in the middleware's order (``necessary`` first), each with
    consentkit's own cookie first: ``consentkit`` under necessary, ``consentkit_id`` under
    analytics (only when the site has that category, since otherwise it is never set).
    """

    policy_version: str
    categories: tuple[Category, ...]
    # consentkit's own cookies' lifetimes in seconds (None: session), to say them in words
    # in any language.
    own_lifetimes: tuple[tuple[str, int | None], ...] = field(default=(), compare=False)

    @classmethod
    def of(cls, site: ConsentSettings | HasSettings) -> Disclosure:
        """The disclosure of a site: its ``ConsentSettings``, or a built ``ConsentMiddleware``
        (which holds them): the very options the middleware enforces."""
        settings = site if isinstance(site, ConsentSettings) else site.settings
        return cls._assemble(
            settings.category_set,
            policy_version=settings.policy_version,
            decision_max_age=settings.decision_max_age,
            id_max_age=settings.id_max_age,
            cookie_domain=settings.cookie_domain,
        )

    @classmethod
    def build(
        cls,
        *,
        categories: Sequence[Category | str] = DEFAULT_CATEGORIES,
        decision_max_age: int | None = None,
        id_max_age: int | None = None,
        cookie_domain: str | None = None,
        policy_version: str | None = None,
    ) -> Disclosure:
        """The disclosure these options would give a site (no secret or store needed);
        None means the middleware's default."""
        chosen = {
            "decision_max_age": decision_max_age,
            "id_max_age": id_max_age,
            "cookie_domain": cookie_domain,
            "policy_version": policy_version,
        }
        for option, value in chosen.items():
            if value is None:
                chosen[option] = default_of(option)
            check_option(option, chosen[option])
        return cls._assemble(CategorySet.build(categories), **chosen)  # type: ignore[arg-type]

    @classmethod
    def _assemble(
        cls,
        categories: CategorySet,
        *,
        policy_version: str,
        decision_max_age: int | None,
        id_max_age: int | None,
        cookie_domain: str | None,
    ) -> Disclosure:
        def own(name: str, purpose: str, seconds: int | None) -> Cookie:
            return Cookie(
                name,
                purpose=purpose,
                lifetime=describe_lifetime(seconds),
                provider=cookie_domain or "this site",
                domains=(cookie_domain,) if cookie_domain else (),
            )

        ours = {
            NECESSARY: own(DECISION_COOKIE, DECISION_PURPOSE, decision_max_age),
            ANALYTICS: own(ID_COOKIE, ID_PURPOSE, id_max_age),
        }
        listed = []
        for category in categories.all:
            mine = [ours[category.name]] if category.name in ours else []
            # A site that already described our cookie gets ours, with its real lifetime.
            taken = {cookie.name for cookie in mine}
            theirs = [c for c in category.declared if c.name not in taken]
            listed.append(
                Category(
                    category.name,
                    title=category.title,
                    description=category.description,
                    cookies=[*mine, *theirs],
                )
            )
        lifetimes = ((DECISION_COOKIE, decision_max_age), (ID_COOKIE, id_max_age))
        return cls(policy_version=policy_version, categories=tuple(listed), own_lifetimes=lifetimes)

    def to_json(self) -> dict[str, Any]:
        """The documented JSON shape (see docs/disclosure.md); keys and order are stable."""
        return {
            "policy_version": self.policy_version,
            "categories": [
                {
                    "name": category.name,
                    "title": category.title,
                    "description": category.description,
                    "required": category.name == NECESSARY,
                    "cookies": [_cookie_json(cookie) for cookie in category.declared],
                }
                for category in self.categories
            ],
        }

    def to_markdown(self) -> str:
        """A ``##`` heading per category and a table of its cookies, safe in any renderer."""
        lines = [f"Cookie policy version {_md(self.policy_version)}."]
        for category in self.categories:
            lines += ["", f"## {_md(category.title)}", ""]
            if category.description:
                lines += [_md(category.description), ""]
            if category.name == NECESSARY:
                lines += ["Always active: these cookies cannot be switched off.", ""]
            if not category.declared:
                lines.append("This category sets no cookies.")
                continue
            lines.append("| " + " | ".join(COLUMNS) + " |")
            lines.append("|" + "---|" * len(COLUMNS))
            for cookie in category.declared:
                name = _md_code(cookie.name) + (" (name pattern)" if cookie.is_pattern else "")
                cells = [name, *(_md(text) for text in _cells(cookie))]
                lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def to_html(self, texts: PageTexts | None = None, language: str = FALLBACK) -> str:
        """A fragment to embed in a page: no script, no style; ``ck-`` classes to style it.

        In English, or in ``language`` of the site's ``texts`` (``PageTexts``): headings,
        notes, consentkit's own cookies and the categories the site translated.
        """
        words = _Words(self, texts, language)
        version = words.text("policy_version").replace("{version}", self.policy_version)
        parts = [
            '<div class="ck-disclosure">',
            f'<p class="ck-policy-version">{escape(version)}</p>',
        ]
        parts += [_html_category(category, words) for category in self.categories]
        parts.append("</div>")
        return "\n".join(parts) + "\n"

    def titled(self, texts: PageTexts, language: str) -> list[tuple[Category, str, str]]:
        """Each category with its title and description in ``language``."""
        return [
            (c, *texts.category(language, c.name, c.title, c.description)) for c in self.categories
        ]


def describe_lifetime(seconds: int | None) -> str:
    """A lifetime for people: ``"182 days"``, ``"13 months"``, ``"session"`` for no Max-Age.

    Exact units are used below a year. From a year on, whole years, or whole months when
    within a day of one (the 13-month cap on ``consentkit_id`` is 396 days).
    """
    if seconds is None:
        return "session"
    count, unit = lifetime_parts(seconds)
    return _plural(count, unit)


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


FORMATS: dict[str, tuple[str, Callable[[Disclosure], str]]] = {
    "html": ("text/html; charset=utf-8", Disclosure.to_html),
    "md": ("text/markdown; charset=utf-8", Disclosure.to_markdown),
    "json": ("application/json", lambda d: json.dumps(d.to_json(), ensure_ascii=False, indent=2)),
}


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}{'' if count == 1 else 's'}"


def _cookie_json(cookie: Cookie) -> dict[str, Any]:
    return {
        "name": cookie.name,
        "pattern": cookie.is_pattern,
        "purpose": cookie.purpose,
        "lifetime": cookie.lifetime,
        "provider": cookie.provider,
        "domains": list(cookie.domains),
        "paths": list(cookie.paths),
    }


def _cells(cookie: Cookie) -> list[str]:
    """Purpose, lifetime, provider, domains and paths as text; a dash where nothing is said."""
    domains = ", ".join(cookie.domains) or "this site"
    texts = [cookie.purpose, cookie.lifetime, cookie.provider, domains, ", ".join(cookie.paths)]
    return [" ".join(text.split()) or "—" for text in texts]


# Markdown: backslash-escape what could start markup inside a table cell, '<' and '&' included,
# so text from the configuration never becomes a link, raw HTML or an extra column.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")


def _md(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _md_code(name: str) -> str:
    # GitHub's tables split on '|' even in code spans, unless it is escaped.
    return _md(name) if "`" in name else "`" + name.replace("|", "\\|") + "`"


class _Words:
    """The disclosure's words in one language (English without the site's ``PageTexts``)."""

    def __init__(self, disclosure: Disclosure, texts: PageTexts | None, language: str) -> None:
        self.texts, self.language = texts, language
        self.strings = texts.texts[language] if texts else shipped_page_texts()[FALLBACK]
        self.own = dict(disclosure.own_lifetimes)

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
        cells = _cells(cookie)
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
    if category.declared:
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
        parts += [_html_row(cookie, words) for cookie in category.declared]
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
