"""Google Consent Mode v2: the options that ``consent-defaults.js`` and the banner follow.

consentkit maps its categories to Google's signals (``analytics`` to ``analytics_storage``,
``marketing`` to ``ad_storage``, ``ad_user_data`` and ``ad_personalization``); these options
say what is sent before a decision.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigurationError

# ISO 3166-1 alpha-2, optionally with an ISO 3166-2 subdivision: "ES", "US-CA".
_REGION = re.compile(r"[A-Z]{2}(-[A-Z0-9]{1,3})?")
MAX_WAIT_FOR_UPDATE = 10_000  # ms; Google's tags wait no longer than this is useful


@dataclass(frozen=True, slots=True)
class ConsentMode:
    """What Google's tags are told before the visitor decides.

    - ``regions``: per-region defaults, ``{"US-CA": ["analytics"], "US": ["analytics",
      "marketing"]}``: the categories granted by default in those regions (ISO 3166-1
      alpha-2 codes, or ISO 3166-2 subdivisions). Everywhere else, and for what a region
      does not list, the default is ``denied``.
    - ``wait_for_update``: milliseconds Google's tags wait for the banner's ``update``
      before they fire (0: they do not wait).
    - ``ads_data_redaction``: redact ad click identifiers while ``ad_storage`` is denied.
    - ``url_passthrough``: pass ad click information through URLs while cookies are denied.
    """

    regions: Mapping[str, Sequence[str]] = field(default_factory=dict)
    wait_for_update: int = 0
    ads_data_redaction: bool = False
    url_passthrough: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.regions, Mapping):
            raise ConfigurationError("consent_mode regions must be a mapping region -> categories")
        regions = {}
        for region, granted in self.regions.items():
            if not isinstance(region, str) or not _REGION.fullmatch(region):
                raise ConfigurationError(
                    f"consent_mode region {region!r} must be an ISO 3166 code like 'ES' or "
                    "'US-CA' (upper case)"
                )
            if isinstance(granted, str) or not all(isinstance(c, str) for c in granted):
                raise ConfigurationError(
                    f"consent_mode region {region!r}: give a list of category names"
                )
            regions[region] = tuple(granted)
        object.__setattr__(self, "regions", regions)
        wait = self.wait_for_update
        if type(wait) is not int or not 0 <= wait <= MAX_WAIT_FOR_UPDATE:
            raise ConfigurationError(
                f"consent_mode wait_for_update must be whole milliseconds from 0 to "
                f"{MAX_WAIT_FOR_UPDATE}, not {wait!r}"
            )
        for name in ("ads_data_redaction", "url_passthrough"):
            if type(getattr(self, name)) is not bool:
                raise ConfigurationError(f"consent_mode {name} must be True or False")

    @classmethod
    def of(cls, value: object) -> ConsentMode:
        """The option as given: a ``ConsentMode``, or a dict of its fields."""
        if isinstance(value, ConsentMode):
            return value
        if isinstance(value, Mapping):
            unknown = sorted(
                set(value) - {"regions", "wait_for_update", "ads_data_redaction", "url_passthrough"}
            )
            if unknown:
                raise ConfigurationError(
                    f"consent_mode has no option {unknown[0]!r}; it has regions, "
                    "wait_for_update, ads_data_redaction and url_passthrough"
                )
            return cls(**value)
        raise ConfigurationError("consent_mode must be a ConsentMode(...) or a dict of its options")

    def check_categories(self, optional: frozenset[str]) -> None:
        for region, granted in self.regions.items():
            unknown = [c for c in granted if c not in optional]
            if unknown:
                raise ConfigurationError(
                    f"consent_mode region {region!r}: {unknown[0]!r} is not an optional "
                    f"category of this site ({', '.join(sorted(optional))})"
                )

    def script_options(self) -> dict[str, Any]:
        """What ``consent-defaults.js`` and ``banner.js`` read."""
        return {
            "regions": {region: list(granted) for region, granted in self.regions.items()},
            "wait_for_update": self.wait_for_update,
            "ads_data_redaction": self.ads_data_redaction,
            "url_passthrough": self.url_passthrough,
        }
