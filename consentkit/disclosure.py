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
from .disclosure_html import COLUMNS, cells_of, disclosure_html, lifetime_parts, listed_cookies
from .locales.pages import FALLBACK, PageTexts
from .settings import ConsentSettings, check_option, default_of

DECISION_PURPOSE = (
    "Remembers your cookie choices: which categories you allowed, the version of this policy "
    "you saw and when you decided. Signed, so it cannot be altered."
)
ID_PURPOSE = (
    "A random number that lets us count returning visitors without knowing who you are. "
    "Set only while you allow analytics; removed when you withdraw."
)


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
                    services=category.services,
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
                    "services": [
                        {
                            "name": service.name,
                            "title": service.title,
                            "description": service.description,
                            "cookies": [_cookie_json(cookie) for cookie in service.declared],
                        }
                        for service in category.services
                    ],
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
            if not listed_cookies(category):
                lines.append("This category sets no cookies.")
                continue
            lines.append("| " + " | ".join(COLUMNS) + " |")
            lines.append("|" + "---|" * len(COLUMNS))
            for cookie in listed_cookies(category):
                name = _md_code(cookie.name) + (" (name pattern)" if cookie.is_pattern else "")
                cells = [name, *(_md(text) for text in cells_of(cookie))]
                lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def to_html(self, texts: PageTexts | None = None, language: str = FALLBACK) -> str:
        """A fragment to embed in a page: no script, no style; ``ck-`` classes to style it.

        In English, or in ``language`` of the site's ``texts`` (``PageTexts``): headings,
        notes, consentkit's own cookies and the categories the site translated.
        """
        own = dict(self.own_lifetimes)
        return disclosure_html(self.policy_version, self.categories, own, texts, language)


def describe_lifetime(seconds: int | None) -> str:
    """A lifetime for people: ``"182 days"``, ``"13 months"``, ``"session"`` for no Max-Age.

    Exact units are used below a year. From a year on, whole years, or whole months when
    within a day of one (the 13-month cap on ``consentkit_id`` is 396 days).
    """
    if seconds is None:
        return "session"
    count, unit = lifetime_parts(seconds)
    return _plural(count, unit)


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


# Markdown: backslash-escape what could start markup inside a table cell, '<' and '&' included,
# so text from the configuration never becomes a link, raw HTML or an extra column.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")


def _md(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _md_code(name: str) -> str:
    # GitHub's tables split on '|' even in code spans, unless it is escaped.
    return _md(name) if "`" in name else "`" + name.replace("|", "\\|") + "`"
