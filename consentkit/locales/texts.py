"""Banner texts per language, and choosing one from ``Accept-Language``."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources

from ..errors import ConfigurationError

TEXT_KEYS = (
    "title",
    "description",
    "accept_all",
    "reject_all",
    "preferences",
    "save",
    "close",
    "gpc_notice",
    "error",
    "retry",
    "embed_notice",
    "embed_allow",
)
# Added later: a language given in full before they existed gets the English ones.
LATER_KEYS = ("embed_notice", "embed_allow")
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur"})
MAX_ACCEPT_LANGUAGE = 512
_Q_VALUE = re.compile(r"0(\.\d{0,3})?|1(\.0{0,3})?")


def shipped_languages() -> dict[str, dict[str, str]]:
    """Every language shipped in ``consentkit/locales/*.json``."""
    folder = resources.files("consentkit.locales")
    result = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".json"):
            result[entry.name[:-5]] = json.loads(entry.read_text("utf-8"))
    return result


class BannerTexts:
    """The texts of each enabled language, with the site's overrides applied."""

    def __init__(
        self,
        *,
        languages: list[str] | None = None,
        default_language: str = "en",
        overrides: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        shipped = shipped_languages()
        overrides = overrides or {}
        self.overrides = {language: dict(texts) for language, texts in overrides.items()}
        enabled = languages or sorted(set(shipped) | set(overrides))
        self.texts: dict[str, dict[str, str]] = {}
        for language in enabled:
            base = dict(shipped.get(language, {}))
            base.update(overrides.get(language, {}))
            for key in LATER_KEYS:
                base.setdefault(key, shipped["en"][key])
            missing = [k for k in TEXT_KEYS if not base.get(k)]
            if missing:
                raise ConfigurationError(
                    f"texts for language {language!r} lack {', '.join(missing)}; "
                    f"pass them in texts={{{language!r}: {{...}}}}"
                )
            self.texts[language] = base
        if default_language not in self.texts:
            raise ConfigurationError(
                f"default_language {default_language!r} is not among {sorted(self.texts)}"
            )
        self.default = default_language
        self.negotiate = lru_cache(maxsize=512)(self._negotiate)

    def _negotiate(self, accept_language: str | None) -> str:
        if not accept_language or len(accept_language) > MAX_ACCEPT_LANGUAGE:
            return self.default
        choices: list[tuple[float, int, str]] = []
        for position, part in enumerate(accept_language.split(",")):
            tag, _, params = part.strip().partition(";")
            weight = 1.0
            if params.strip().startswith("q="):
                # RFC 9110: a q-value is 0 to 1 with at most three decimals; anything else
                # (inf, nan, 5, -1, "abc") makes the entry unusable rather than preferred.
                if not _Q_VALUE.fullmatch(params.strip()[2:]):
                    continue
                weight = float(params.strip()[2:])
            tag = tag.strip().lower()
            for candidate in (tag, tag.split("-")[0]):
                if candidate in self.texts and weight > 0:
                    choices.append((-weight, position, candidate))
                    break
        return min(choices)[2] if choices else self.default

    def direction(self, language: str) -> str:
        return "rtl" if language.split("-")[0] in RTL_LANGUAGES else "ltr"
