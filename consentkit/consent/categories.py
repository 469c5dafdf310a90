"""Consent categories: what a visitor can grant, and the cookies each one covers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from fnmatch import translate

from ..errors import ConfigurationError

NECESSARY = "necessary"
ANALYTICS = "analytics"  # the category that gates the consentkit_id cookie and counting
_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")
# Cookie names are RFC 6265 tokens; glob characters are allowed on top.
_COOKIE_PATTERN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z?\[\]]{1,128}")


_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"\.?{_LABEL}(\.{_LABEL})*")
_PATH = re.compile(r"/[!#-:<-~]{0,255}")  # a cookie Path: printable, no ';' or space


@dataclass(frozen=True, slots=True)
class Cookie:
    """A cookie that a category covers, as the site's cookie policy describes it.

    ``name`` may be a glob pattern (``"_ga_*"``). ``purpose``, ``lifetime`` (as you would
    write it for people: ``"13 months"``, ``"session"``) and ``provider`` are what the
    disclosure lists. ``domains`` and ``paths`` are the Domain and Path attributes it may be
    set with: on withdrawal each variant is expired, since a browser keeps one cookie per
    (name, domain, path). No ``domains`` means the host-only cookie.
    """

    name: str
    purpose: str = ""
    lifetime: str = ""
    provider: str = ""
    domains: Sequence[str] = ()
    paths: Sequence[str] = ("/",)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _COOKIE_PATTERN.fullmatch(self.name):
            raise ConfigurationError(f"{self.name!r} is not a cookie name or glob pattern")
        for field_name in ("purpose", "lifetime", "provider"):
            if not isinstance(getattr(self, field_name), str):
                raise ConfigurationError(f"cookie {self.name!r}: {field_name} must be text")
        for field_name, pattern in (("domains", _DOMAIN), ("paths", _PATH)):
            values = getattr(self, field_name)
            if isinstance(values, str) or not all(
                isinstance(v, str) and pattern.fullmatch(v) for v in values
            ):
                raise ConfigurationError(
                    f"cookie {self.name!r}: {field_name} must be a list of cookie "
                    f"{'domains' if field_name == 'domains' else 'paths starting with /'}"
                )
            object.__setattr__(self, field_name, tuple(values))
        if not self.paths:
            object.__setattr__(self, "paths", ("/",))

    @property
    def is_pattern(self) -> bool:
        return any(ch in self.name for ch in "*?[")


@dataclass(frozen=True, slots=True)
class Category:
    """A purpose the visitor can grant or refuse.

    ``cookies`` lists the cookies the category covers: names (glob patterns allowed, e.g.
    ``"_ga_*"``) or ``Cookie`` declarations with purpose, lifetime and the domains and paths
    they are set with. The middleware removes them from responses while the category is not
    granted, expires them on withdrawal, and the disclosure lists them.
    """

    name: str
    title: str = ""
    description: str = ""
    cookies: Sequence[str | Cookie] = field(default_factory=tuple)

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
        declared = []
        for item in self.cookies:
            if isinstance(item, Cookie):
                declared.append(item)
            elif isinstance(item, str) and _COOKIE_PATTERN.fullmatch(item):
                declared.append(Cookie(item))
            else:
                raise ConfigurationError(
                    f"category {self.name!r}: {item!r} is not a cookie name, glob pattern "
                    "or Cookie(...)"
                )
        object.__setattr__(self, "cookies", tuple(declared))
        if not self.title:
            object.__setattr__(self, "title", self.name.replace("_", " ").capitalize())

    @property
    def declared(self) -> tuple[Cookie, ...]:
        """The cookies this category covers, each as a ``Cookie``."""
        return self.cookies  # type: ignore[return-value]  # normalised in __post_init__


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
            c.name: re.compile("|".join(translate(cookie.name) for cookie in c.declared))
            for c in ordered
            if c.cookies
        }
        _check_no_overlap(ordered, patterns)
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


def _check_no_overlap(categories: Sequence[Category], patterns: dict[str, re.Pattern[str]]) -> None:
    """A cookie belongs to one category: enforcement and the disclosure must agree on which.

    Catches a name declared twice and a name that another category's pattern matches (two
    patterns that could both match some name are not detected).
    """
    for category in categories:
        for cookie in category.declared:
            others = [
                name
                for name, pattern in patterns.items()
                if name != category.name and pattern.match(cookie.name)
            ]
            if others:
                raise ConfigurationError(
                    f"cookie {cookie.name!r} of category {category.name!r} is also declared "
                    f"by {others[0]!r}: a cookie belongs to one category"
                )
