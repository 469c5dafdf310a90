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


def _declared_cookies(owner: str, cookies: object) -> tuple[Cookie, ...]:
    """``cookies=[...]`` of a category or service, each item as a ``Cookie``."""
    if isinstance(cookies, str) or not isinstance(cookies, Sequence):
        raise ConfigurationError(f"{owner}: cookies must be a list of names, not one string")
    declared = []
    for item in cookies:
        if isinstance(item, Cookie):
            declared.append(item)
        elif isinstance(item, str) and _COOKIE_PATTERN.fullmatch(item):
            declared.append(Cookie(item))
        else:
            raise ConfigurationError(
                f"{owner}: {item!r} is not a cookie name, glob pattern or Cookie(...)"
            )
    return tuple(declared)


def _check_name(kind: str, name: object) -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigurationError(
            f"{kind} name {name!r} must be 1-32 lowercase letters, digits, '_' or '-',"
            " starting with a letter"
        )


@dataclass(frozen=True, slots=True)
class Service:
    """A third party inside a category that the visitor may grant on its own: YouTube
    inside marketing. Granting the category grants all its services.

    ``name`` is what ``data-service="..."`` and ``consent.allows(...)`` use; it must differ
    from every category's and every other service's name. ``cookies`` as for a category.
    """

    name: str
    title: str = ""
    description: str = ""
    cookies: Sequence[str | Cookie] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        _check_name("service", self.name)
        object.__setattr__(
            self, "cookies", _declared_cookies(f"service {self.name!r}", self.cookies)
        )
        if not self.title:
            object.__setattr__(self, "title", self.name.replace("_", " ").capitalize())

    @property
    def declared(self) -> tuple[Cookie, ...]:
        """The cookies this service covers, each as a ``Cookie``."""
        return self.cookies  # type: ignore[return-value]  # normalised in __post_init__


@dataclass(frozen=True, slots=True)
class Category:
    """A purpose the visitor can grant or refuse.

    ``cookies`` lists the cookies the category covers: names (glob patterns allowed, e.g.
    ``"_ga_*"``) or ``Cookie`` declarations with purpose, lifetime and the domains and paths
    they are set with. The middleware removes them from responses while the category is not
    granted, expires them on withdrawal, and the disclosure lists them. ``services`` are
    the third parties inside it (``Service``), each of which the visitor may grant alone.
    """

    name: str
    title: str = ""
    description: str = ""
    cookies: Sequence[str | Cookie] = field(default_factory=tuple)
    services: Sequence[Service] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        _check_name("category", self.name)
        object.__setattr__(
            self, "cookies", _declared_cookies(f"category {self.name!r}", self.cookies)
        )
        if isinstance(self.services, str | Service) or not all(
            isinstance(s, Service) for s in self.services
        ):
            raise ConfigurationError(
                f"category {self.name!r}: services must be a list of Service(...)"
            )
        object.__setattr__(self, "services", tuple(self.services))
        if not self.title:
            object.__setattr__(self, "title", self.name.replace("_", " ").capitalize())

    @property
    def declared(self) -> tuple[Cookie, ...]:
        """The cookies this category covers itself (its services' are theirs)."""
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
    """The site's categories, validated once at start-up; ``necessary`` always first.

    ``services`` maps each service to its category. ``cookie_pattern`` is keyed by the
    owner of the cookies: a category, or a service (allowed with its category, or alone).
    """

    all: tuple[Category, ...]
    optional: frozenset[str]
    cookie_pattern: dict[str, re.Pattern[str]]
    services: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, categories: Sequence[Category | str]) -> CategorySet:
        resolved: list[Category] = []
        seen: set[str] = set()
        for item in categories:
            category = Category(item) if isinstance(item, str) else item
            if not isinstance(category, Category):
                raise ConfigurationError(f"categories must be Category objects, got {item!r}")
            for name in (category.name, *(s.name for s in category.services)):
                if name in seen:
                    raise ConfigurationError(
                        f"{name!r} is listed twice among the categories and their services: "
                        "consent.allows() and data-service need one meaning per name"
                    )
                seen.add(name)
            resolved.append(category)
        necessary = next((c for c in resolved if c.name == NECESSARY), DEFAULT_NECESSARY)
        if necessary.services:
            raise ConfigurationError("the necessary category cannot have services to refuse")
        ordered = (necessary, *(c for c in resolved if c.name != NECESSARY))
        owners = [(c.name, c.declared) for c in ordered] + [
            (s.name, s.declared) for c in ordered for s in c.services
        ]
        patterns = {
            name: re.compile("|".join(translate(cookie.name) for cookie in cookies))
            for name, cookies in owners
            if cookies
        }
        _check_no_overlap(owners, patterns)
        return cls(
            all=ordered,
            optional=frozenset(c.name for c in ordered if c.name != NECESSARY),
            cookie_pattern=patterns,
            services={s.name: c.name for c in ordered for s in c.services},
        )

    def names(self) -> list[str]:
        return [c.name for c in self.all]

    def unknown(self, names: Sequence[str]) -> list[str]:
        """The names that are not categories of this site."""
        known = self.optional | {NECESSARY}
        return [n for n in names if n not in known]

    def allowed_services(self, categories: frozenset[str], alone: frozenset[str]) -> frozenset[str]:
        """The services allowed: those of the granted ``categories``, and those granted
        ``alone``."""
        return frozenset(
            service
            for service, category in self.services.items()
            if category in categories or service in alone
        )

    def category_of_cookie(self, cookie_name: str) -> str | None:
        """The category or service that declares ``cookie_name``, or None for an
        undeclared cookie."""
        for name, pattern in self.cookie_pattern.items():
            if pattern.match(cookie_name):
                return name
        return None


def _check_no_overlap(
    owners: Sequence[tuple[str, tuple[Cookie, ...]]], patterns: dict[str, re.Pattern[str]]
) -> None:
    """A cookie belongs to one category or service: enforcement and the disclosure must
    agree on which.

    Catches a name declared twice and a name that another owner's pattern matches (two
    patterns that could both match some name are not detected).
    """
    for owner, cookies in owners:
        for cookie in cookies:
            others = [
                name
                for name, pattern in patterns.items()
                if name != owner and pattern.match(cookie.name)
            ]
            if others:
                raise ConfigurationError(
                    f"cookie {cookie.name!r} of {owner!r} is also declared by {others[0]!r}: "
                    "a cookie belongs to one category or service"
                )
