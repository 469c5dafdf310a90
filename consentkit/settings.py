"""Every option of ``ConsentMiddleware``: its default, and its check at start-up.

``ConsentSettings`` is the one home of the options. The middleware, the cookie disclosure
and the command line read them here, never from the middleware's signature. A wrong value
raises ``ConfigurationError`` when the settings are built, saying what to change;
what the checks derive (the category set, the key list, the proxy networks, the time zone,
the retention days) is kept beside the option so that nothing is checked twice.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Literal
from zoneinfo import ZoneInfo

from .consent.categories import DEFAULT_CATEGORIES, Category, CategorySet
from .consent.consent_mode import ConsentMode
from .consent.cookies import POLICY_VERSION, check_cookie_fits, secret_keys
from .consent.enforcement import UNDECLARED_MODES, Undeclared
from .errors import ConfigurationError
from .locales.texts import BannerTexts
from .query.run import site_zone
from .store.base import Store
from .store.retention import check_retention
from .visit.client_ip import Network, parse_networks
from .visit.pages import PageOption

DAY = 24 * 3600
MAX_ID_AGE = 396 * DAY  # 13 months: the longest a consent-based identifier may live
MAX_BODY_SIZE = 1 << 20
_SITE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_PREFIX = re.compile(r"(/[A-Za-z0-9._~-]+)+")
_STYLESHEET = re.compile(r"/(?![/\\])[!#-;=?-~]{0,2047}")  # a path on this site, no '<' or '>'
_DOMAIN = re.compile(
    r"\.?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]"
    r"([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsentSettings:
    """The options of ``ConsentMiddleware`` (docs/configuration.md says what each does)."""

    secret_key: str | Sequence[str]
    store: str | Store = "sqlite:///consentkit.sqlite3"
    categories: Sequence[Category | str] = DEFAULT_CATEGORIES
    policy_version: str = "1"
    geoip_database: str | os.PathLike[str] | None = None
    country_header: str | None = None
    trusted_proxies: Sequence[str] = ()
    admin_token: str | None = None
    k_anonymity: int | None = None
    time_zone: str = "UTC"
    retention: Mapping[str, int] | None = None
    prefix: str = "/consentkit"
    site_id: str = "default"
    decision_max_age: int = 182 * DAY
    id_max_age: int = MAX_ID_AGE
    cookie_domain: str | None = None
    vary_cookie: bool = True
    count_refused: bool = False
    honour_dnt: bool = False
    undeclared_cookies: Undeclared = "allow"
    decision_spool: str | None = "auto"
    languages: Sequence[str] | None = None
    default_language: str = "en"
    texts: Mapping[str, Mapping[str, str]] | None = None
    banner_position: Literal["bar", "box"] = "bar"
    privacy_stylesheet: str | None = None
    privacy_template: Callable[[Any], str] | None = None
    consent_mode: ConsentMode | Mapping[str, Any] = field(default_factory=ConsentMode)
    max_body_size: int = 4096
    flush_interval: float = 1.0
    page: PageOption | None = None
    clock: Callable[[], float] = time.time

    # What the checks derive, kept so that nothing is checked or parsed twice.
    keys: tuple[str, ...] = field(init=False, repr=False)
    category_set: CategorySet = field(init=False, repr=False)
    networks: tuple[Network, ...] = field(init=False, repr=False)
    zone: ZoneInfo | None = field(init=False, repr=False)
    retention_days: dict[str, int] = field(init=False, repr=False)
    banner_texts: BannerTexts = field(init=False, repr=False)

    def __post_init__(self) -> None:
        derived = {
            "keys": tuple(secret_keys(self.secret_key)),
            "category_set": CategorySet.build(self.categories),
            "networks": parse_networks(self.trusted_proxies),
            "zone": site_zone(self.time_zone),
            "retention_days": check_retention(self.retention),
        }
        for name, value in derived.items():
            object.__setattr__(self, name, value)
        consent_mode = ConsentMode.of(self.consent_mode)
        consent_mode.check_categories(self.category_set.optional)
        object.__setattr__(self, "consent_mode", consent_mode)
        for option, check in _CHECKS.items():
            message = check(getattr(self, option))
            if message:
                raise ConfigurationError(f"{option} {message}")
        check_cookie_fits(
            self.policy_version, [*self.category_set.optional, *self.category_set.services]
        )
        if self.country_header and not self.networks:
            raise ConfigurationError(
                f"country_header={self.country_header!r} needs trusted_proxies: the header is "
                "believed only from the proxy that sets it (e.g. Cloudflare's address ranges)"
            )
        languages = None if self.languages is None else list(self.languages)
        object.__setattr__(
            self,
            "banner_texts",
            BannerTexts(
                languages=languages, default_language=self.default_language, overrides=self.texts
            ),
        )

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> ConsentSettings:
        """Settings from keyword options, an unknown option named with the known ones."""
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise ConfigurationError(
                f"{unknown[0]!r} is not an option of ConsentMiddleware; the options are: "
                f"{', '.join(OPTIONS)}"
            )
        if "secret_key" not in options:
            secret_keys(None)  # the error that says how to give one
        return cls(**options)


def _is_bool(value: object) -> str | None:
    return None if type(value) is bool else "must be True or False"


def _positive_int(
    unit: str,
    most: int | None = None,
    note: str = "",
) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        if type(value) is not int or value <= 0 or (most is not None and value > most):
            limit = f", at most {most:,}{note}" if most is not None else ""
            return f"must be a positive whole number of {unit}{limit}"
        return None

    return check


def _matches(
    pattern: re.Pattern[str], example: str, *, optional: bool = False
) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        if optional and value is None:
            return None
        if isinstance(value, str) and pattern.fullmatch(value):
            return None
        return f"must look like {example!r}, not {value!r}"

    return check


def _one_of(*choices: object) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        return None if value in choices else f"must be one of {', '.join(map(repr, choices))}"

    return check


def _store(value: object) -> str | None:
    if isinstance(value, Store):
        return None
    if isinstance(value, str) and value.startswith(("sqlite:", "postgresql:", "postgres:")):
        return None
    return (
        f"{value!r}: unsupported; use sqlite:///path/to/file.sqlite3 or "
        "postgresql://user@host/dbname"
    )


def _flush_interval(value: object) -> str | None:
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and (math.isfinite(value) and 0 < value <= 3600)
    ):
        return None
    return "must be a number of seconds above 0 and at most 3600"


def _optional_positive_int(value: object) -> str | None:
    if value is None or (type(value) is int and value > 0):
        return None
    return "must be a positive whole number, or None"


def _admin_token(value: object) -> str | None:
    if value is None or (isinstance(value, str) and len(value) >= 16):
        return None
    return "must be a string of at least 16 characters"


def _optional_text(value: object) -> str | None:
    return (
        None
        if value is None or (isinstance(value, str) and value)
        else ("must be a non-empty string or None")
    )


def _callable(optional: bool) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        if (optional and value is None) or callable(value):
            return None
        return "must be a callable" + (" or None" if optional else "")

    return check


def _geoip(value: object) -> str | None:
    if value is None or isinstance(value, str | os.PathLike):
        return None
    return "must be the path of a .mmdb file, or None"


def _spool(value: object) -> str | None:
    if value is None or (isinstance(value, str) and value):
        return None
    return "must be 'auto', a file path, or None"


# Each option's check: None when the value is right, else what is wrong with it.
_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "store": _store,
    "policy_version": _matches(POLICY_VERSION, "2026-11"),
    "geoip_database": _geoip,
    "country_header": _optional_text,
    "admin_token": _admin_token,
    "k_anonymity": _optional_positive_int,
    "prefix": _matches(_PREFIX, "/consentkit"),
    "site_id": _matches(_SITE_ID, "default"),
    "decision_max_age": _positive_int("seconds"),
    "id_max_age": _positive_int("seconds", MAX_ID_AGE, " (13 months)"),
    "cookie_domain": _matches(_DOMAIN, "example.com", optional=True),
    "vary_cookie": _is_bool,
    "count_refused": _is_bool,
    "honour_dnt": _is_bool,
    "undeclared_cookies": _one_of(*UNDECLARED_MODES),
    "decision_spool": _spool,
    "banner_position": _one_of("bar", "box"),
    "privacy_stylesheet": _matches(_STYLESHEET, "/static/privacy-theme.css", optional=True),
    "privacy_template": _callable(optional=True),
    "max_body_size": _positive_int("bytes", MAX_BODY_SIZE),
    "flush_interval": _flush_interval,
    "page": _callable(optional=True),
    "clock": _callable(optional=False),
}

OPTIONS: tuple[str, ...] = tuple(f.name for f in fields(ConsentSettings) if f.init)


def default_of(option: str) -> Any:
    """The default of one option (the one place defaults are written is the class above)."""
    for item in fields(ConsentSettings):
        if item.name == option and item.default is not MISSING:
            return item.default
    raise KeyError(option)


def check_option(option: str, value: object) -> None:
    """The start-up check of one option alone, for tools that take a few of them."""
    check = _CHECKS.get(option)
    message = check(value) if check else None
    if message:
        raise ConfigurationError(f"{option} {message}")
