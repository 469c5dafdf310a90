"""Consent categories: what a visitor can grant, and the cookies each one covers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from fnmatch import translate

from .errors import ConfigurationError

NECESSARY = "necessary"
ANALYTICS = "analytics"  # the category that gates the consentkit_id cookie and counting
_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")
# Cookie names are RFC 6265 tokens; glob characters are allowed on top.
_COOKIE_PATTERN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z?\[\]]{1,128}")


@dataclass(frozen=True, slots=True)
class Category:
    """A purpose the visitor can grant or refuse.

    ``cookies`` lists the cookie names (glob patterns allowed, e.g. ``"_ga_*"``) that the
    category covers; the middleware removes them from responses while it is not granted.
    """

    name: str
    title: str = ""
    description: str = ""
    cookies: Sequence[str] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise ConfigurationError(
                f"category name {self.name!r} must be 1-32 lowercase letters, digits, '_' or '-',"
                " starting with a letter"
            )
        if isinstance(self.cookies, str):
            raise ConfigurationError(
                f"category {self.name!r}: cookies must be a list of names, not one string"
            )
        for pattern in self.cookies:
            if not isinstance(pattern, str) or not _COOKIE_PATTERN.fullmatch(pattern):
                raise ConfigurationError(
                    f"category {self.name!r}: {pattern!r} is not a cookie name or glob pattern"
                )
        object.__setattr__(self, "cookies", tuple(self.cookies))
        if not self.title:
            object.__setattr__(self, "title", self.name.replace("_", " ").capitalize())


DEFAULT_NECESSARY = Category(
    NECESSARY,
    title="Necessary",
    description="Needed for the site to work and to remember your choice. Always on.",
)
DEFAULT_CATEGORIES = (
    Category(
        "analytics",
        title="Analytics",
        description="Counts visits without identifying you, so we can improve the site.",
    ),
)


@dataclass(frozen=True, slots=True)
class CategorySet:
    """The site's categories, validated once at start-up; ``necessary`` always first."""

    all: tuple[Category, ...]
    optional: frozenset[str]
    cookie_pattern: dict[str, re.Pattern[str]]

    @classmethod
    def build(cls, categories: Sequence[Category | str]) -> CategorySet:
        resolved: list[Category] = []
        seen: set[str] = set()
        for item in categories:
            category = Category(item) if isinstance(item, str) else item
            if not isinstance(category, Category):
                raise ConfigurationError(f"categories must be Category objects, got {item!r}")
            if category.name in seen:
                raise ConfigurationError(f"category {category.name!r} is listed twice")
            seen.add(category.name)
            resolved.append(category)
        necessary = next((c for c in resolved if c.name == NECESSARY), DEFAULT_NECESSARY)
        ordered = (necessary, *(c for c in resolved if c.name != NECESSARY))
        patterns = {
            c.name: re.compile("|".join(translate(p) for p in c.cookies))
            for c in ordered
            if c.cookies
        }
        return cls(
            all=ordered,
            optional=frozenset(c.name for c in ordered if c.name != NECESSARY),
            cookie_pattern=patterns,
        )

    def names(self) -> list[str]:
        return [c.name for c in self.all]

    def unknown(self, names: Sequence[str]) -> list[str]:
        """The names that are not categories of this site."""
        known = self.optional | {NECESSARY}
        return [n for n in names if n not in known]

    def category_of_cookie(self, cookie_name: str) -> str | None:
        """The category that declares ``cookie_name``, or None for an undeclared cookie."""
        for name, pattern in self.cookie_pattern.items():
            if pattern.match(cookie_name):
                return name
        return None
