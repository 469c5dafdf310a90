"""Coarse, non-identifying classification of a ``User-Agent`` header.

The answers are exactly those of the ``user-agents`` package (``user_agents.parse``), whose
pure-Python regex matching costs about 1 ms per header; here the matching runs on
ua-parser's native (Rust) regex engine, and results are cached.
"""

from __future__ import annotations

import itertools
import re
import threading
from dataclasses import dataclass
from functools import _CacheInfo, lru_cache
from typing import Any, Literal

from ua_parser import user_agent_parser as legacy
from ua_parser_rs import DeviceExtractor, OSExtractor, UserAgentExtractor
from user_agents.parsers import Browser, Device, OperatingSystem, UserAgent, parse_operating_system

__all__ = ["MAX_UA_LENGTH", "UNKNOWN", "Agent", "UserAgentClassifier"]

#: Only this many leading characters of a header are classified (and cached): real
#: user agents are far shorter, and a bounded key keeps hostile headers cheap.
MAX_UA_LENGTH = 512


@dataclass(frozen=True, slots=True)
class Agent:
    """What a request's user agent is, with nothing that could identify a visitor.

    ``device`` is ``"desktop"``, ``"mobile"``, ``"tablet"`` or ``"other"``; ``browser``
    and ``os`` are family names such as ``"Chrome"`` or ``"iOS"``, ``"Other"`` when
    unknown; ``is_bot`` is true for crawlers (as ``user_agents`` defines them).
    """

    device: str
    browser: str
    os: str
    is_bot: bool


#: The answer for an empty or unclassifiable header.
UNKNOWN = Agent("other", "Other", "Other", False)

# ua-parser-rs turns bounded repeats of 100+ into unbounded ones (".{0,100}" -> ".*") and
# \d \w into ASCII: on printable ASCII its regexes then match a superset of the originals.
_LOOSENED = re.compile(r"\{[01],\d{3,}\}")
# A "$" that Rust's template expansion reads unlike ua_parser's MultiReplace ("$1" only).
_ODD_REF = re.compile(r"\$(?![1-9](?!\w))")


def _trusted(p: Any, replacement: str | None, templates: bool) -> bool:
    # Whether Rust's family for this parser is the reference's: regex not loosened, and a
    # replacement that both resolve alike (ua_parser strips it, and re.sub()s browsers').
    if _LOOSENED.search(p.user_agent_re.pattern):
        return False
    if replacement is None:
        return True
    return replacement == replacement.strip() != "" and (
        not _ODD_REF.search(replacement) if templates else "$" not in replacement
    )


def _os_versions(p: Any) -> tuple[str | None, str | None, str | None]:
    return p.os_v1_replacement, p.os_v2_replacement, p.os_v3_replacement


def _flag(p: Any) -> Literal["i"] | None:
    return "i" if p.user_agent_re.flags & re.IGNORECASE else None


class _Engine:
    """The reference's three parser loops, run natively: browser, OS and device families.

    Each parser's index rides in a field the rules never read, so that the reference's own
    Python parser can take over wherever Rust's answer could differ: a loosened regex (e.g.
    Applebot's "bot" past the 100th character; Rust's first match is then a lower bound of
    the reference's), a replacement the two resolve differently, or an empty family.
    """

    def __init__(self) -> None:
        # The very parser lists (and order) that the reference's Parse() walks.
        uas, oss, des = legacy.USER_AGENT_PARSERS, legacy.OS_PARSERS, legacy.DEVICE_PARSERS
        self.uas, self.oss, self.des = uas, oss, des
        self.ua = UserAgentExtractor(
            (p.user_agent_re.pattern, p.family_replacement, None, None, None, str(i))
            for i, p in enumerate(uas)
        )
        self.os = OSExtractor(
            (p.user_agent_re.pattern, p.os_replacement, *_os_versions(p), str(i))
            for i, p in enumerate(oss)
        )
        self.de = DeviceExtractor(
            (p.user_agent_re.pattern, _flag(p), p.device_replacement, None, str(i))
            for i, p in enumerate(des)
        )
        self.ua_ok = [_trusted(p, p.family_replacement, False) for p in uas]
        self.os_ok = [_trusted(p, p.os_replacement, True) for p in oss]
        self.os_versions_ok = [  # only read for Windows
            all(
                _trusted(p, v, True) if v is not None else p.user_agent_re.groups < k
                for k, v in enumerate(_os_versions(p), start=2)
            )
            for p in oss
        ]
        self.de_ok = [_trusted(p, p.device_replacement, True) for p in des]

    def browser(self, ua: str) -> str | None:
        m = self.ua.extract(ua)
        if m is None:  # no original regex can match either
            return None
        i = int(m.patch_minor or 0)
        return m.family if m.family and self.ua_ok[i] else _first(self.uas, i, ua)[0]

    def os_(self, ua: str) -> tuple[str | None, ...]:
        m = self.os.extract(ua)
        if m is None:
            return (None,)
        i = int(m.patch_minor or 0)
        if m.family and self.os_ok[i]:
            if m.family != "Windows":
                return (m.family,)
            if self.os_versions_ok[i]:
                return m.family, m.major, m.minor, m.patch
        return _first(self.oss, i, ua)

    def device(self, ua: str) -> str | None:
        m = self.de.extract(ua)
        if m is None:
            return None
        i = int(m.model or 0)
        return m.family if m.family and self.de_ok[i] else _first(self.des, i, ua)[0]


def _first(parsers: list[Any], i: int, ua: str) -> tuple[str | None, ...]:
    # What the reference's loop ends with (its own Parse() results), knowing that no
    # parser before ``i`` matches.
    found: tuple[str | None, ...] = parsers[i].Parse(ua)
    if not found[0]:
        # Rust matched only loosely, or the family came out empty: carry on down the list
        # as the reference does (rare, and never slower than the reference).
        for parser in itertools.islice(parsers, i + 1, None):
            found = parser.Parse(ua)
            if found[0]:
                break
    return found


# Compiling ~1300 regexes natively takes ~0.2 s and ~25 MB, so it happens once per process,
# on first use, and the engine is shared by every classifier.
_engine: _Engine | None = None
_engine_lock = threading.Lock()


def _shared_engine() -> _Engine:
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = _Engine()
        return _engine


# Every substring of the header that the reference's rules (is_tablet, is_mobile, is_pc,
# is_bot) test; tests/test_useragent.py checks this list against user_agents' source.
_UA_TOKENS = (
    "Mobile Safari", "Windows NT", "Silk", "Maemo", "Linux", "X11",
    "J2ME", "MIDP", "iPhone;", "Googlebot-Mobile", "NokiaBrowser", "Mobile",
)  # fmt: skip
# The rules' verdicts by everything they read: there are few distinct ones, and running
# them costs more than the native matching. Cleared when full (hostile headers can make
# families up); dict operations are atomic, so threads at worst decide twice.
_verdicts: dict[tuple[str | bool, ...], Agent] = {}


def _classify(engine: _Engine, ua: str) -> Agent:
    if not (ua.isascii() and ua.isprintable()):
        # Unicode \d \w \s \b, and "$" before a final "\n", differ between the two regex
        # engines: the reference parses these rare headers itself (~1 ms).
        return _decide(UserAgent(ua))
    browser, os_, device = engine.browser(ua) or "Other", engine.os_(ua), engine.device(ua)
    # The reference's __init__ would parse more; the rules read no more than the three
    # families and, for Windows only, the OS version.
    system = (
        parse_operating_system(os_[0] or "Other", *os_[1:])
        if len(os_) > 1
        else OperatingSystem(os_[0] or "Other", (), "")  # = parse_operating_system(os_[0])
    )
    device = "Other" if device is None else device
    key: tuple[str | bool, ...] = (browser, system.family, system.version_string, device)
    key += tuple(map(ua.__contains__, _UA_TOKENS))
    if (agent := _verdicts.get(key)) is None:
        # A reference UserAgent filled in as its __init__ would, minus the slow parse, so
        # that its own properties (rules, order and all) decide.
        ref = object.__new__(UserAgent)
        ref.ua_string, ref.browser, ref.os = ua, Browser(browser, (), ""), system
        ref.device = Device(device, None, None)
        if len(_verdicts) >= 4096:
            _verdicts.clear()
        agent = _verdicts[key] = _decide(ref)
    return agent


def _decide(ref: Any) -> Agent:
    if ref.is_tablet:
        kind = "tablet"
    elif ref.is_mobile:
        kind = "mobile"
    elif ref.is_pc:
        kind = "desktop"
    else:
        kind = "other"
    return Agent(kind, str(ref.browser.family), str(ref.os.family), bool(ref.is_bot))


class UserAgentClassifier:
    """Classify ``User-Agent`` headers into :class:`Agent` values, behind an LRU cache.

    Thread-safe and never raises. An unseen header costs ~25 us (a crawler's up to ~100),
    a cached one well under 1 us; only the first :data:`MAX_UA_LENGTH` characters count.
    Headers with non-ASCII or control characters (rare) take the reference's path (~1 ms).
    """

    def __init__(self, *, cache_size: int = 4096) -> None:
        """Create a classifier remembering up to ``cache_size`` distinct headers."""
        engine = _shared_engine()

        # Per-instance cache (not a decorated method) so that its size is configurable
        # and it goes away with the classifier.
        @lru_cache(maxsize=max(cache_size, 0))
        def classify(ua: str) -> Agent:
            try:
                return _classify(engine, ua)
            except Exception:  # a header must never break the request it came with
                return UNKNOWN

        self._classify = classify

    def __call__(self, user_agent: str) -> Agent:
        """Return the :class:`Agent` for a ``User-Agent`` value (``""`` when absent)."""
        if not isinstance(user_agent, str) or not user_agent:
            return UNKNOWN
        # Truncated before the cache lookup, so that hashing and storage stay bounded too.
        return self._classify(user_agent[:MAX_UA_LENGTH])

    def cache_info(self) -> _CacheInfo:
        """Hits, misses, maximum and current size of the cache, as ``functools`` counts."""
        return self._classify.cache_info()

    def cache_clear(self) -> None:
        """Forget every cached classification."""
        self._classify.cache_clear()
