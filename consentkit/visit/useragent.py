"""Coarse, non-identifying classification of a ``User-Agent`` header.

The answers are exactly those of the ``user-agents`` package (``user_agents.parse``): the
device type from its ``is_tablet``, ``is_mobile`` and ``is_pc``, the browser and OS
families, and ``is_bot``; ``tests/test_useragent.py`` compares the two on every string of
uap-core's test corpora (18,213).

How, and why (profiled on uap-core's test_ua.yaml, each header new to the classifier):

- ``user_agents.parse`` walks ua-parser's ~1,270 regexes with Python's ``re``: ~0.6-1 ms.
- ua-parser's native engine (``ua_parser_rs``, Rust's ``regex``) runs the same lists in
  a few tens of µs, but loosens every repeat bounded at 100 or more (``.{0,100}`` to
  ``.*``), so its answers can differ (a crawler's "bot" past the 100th character). The
  previous version had Python's regexes take over wherever that could matter: 958 of the
  1,600 headers, 36% of its time.
- Writing those repeats so that the engine keeps them bounded made every answer native and
  exact, but twice as slow: Rust builds its automata lazily, as headers come, and bounded
  repeats multiply their states (one crawler regex alone cost ~50 µs). So long repeats are
  loosened instead and checked after the match (:mod:`consentkit.useragent_patterns`),
  unused groups dropped, and every parser answered natively
  (:mod:`consentkit.useragent_native`); Python's regexes decide only where a check fails
  (7 of uap-core's 17,816 strings: a crawler's name past the 100th character, say), and
  from the next parser on when the failed check proves that this one cannot match.
- The engine is only given printable ASCII, so its regexes are rewritten to ASCII classes
  (``[[^;]&&[ -~]]`` for ``[^;]``): smaller automata, built faster at first sight.
- ``user_agents``' rules are spelled out here, on the three families: ~1 µs. They read
  the device family only to test it against a dozen names ("iPad", "Spider", ...): the
  device parsers that can name none of them (545 of 633) are run only when the first
  pass over the others finds a name and the rules would read it otherwise than "Other"
  (an iPad, a crawler: a fifth of uap-core's strings; see
  :mod:`consentkit.visit.useragent_names`).

Per header that costs about what ua-parser-rs alone does: 0.8-1.1x (docs/performance.md).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import user_agents
from user_agents.parsers import (
    MOBILE_BROWSER_FAMILIES,
    MOBILE_DEVICE_FAMILIES,
    MOBILE_OS_FAMILIES,
    PC_OS_FAMILIES,
    TABLET_DEVICE_FAMILIES,
)

from .useragent_native import NativeParsers

__all__ = ["MAX_UA_LENGTH", "UNKNOWN", "Agent", "CacheInfo", "UserAgentClassifier"]

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


class CacheInfo(NamedTuple):
    """A classifier's cache: hits, misses, maximum size and current size."""

    hits: int
    misses: int
    maxsize: int
    currsize: int


# The device family of a crawler, and the sets user_agents' rules test (as frozensets).
SPIDER = "Spider"
_TABLET_DEVICES = frozenset(TABLET_DEVICE_FAMILIES)
_MOBILE_DEVICES = frozenset(MOBILE_DEVICE_FAMILIES)
_MOBILE_BROWSERS = frozenset(MOBILE_BROWSER_FAMILIES)
_MOBILE_SYSTEMS = frozenset(MOBILE_OS_FAMILIES)
_PC_SYSTEMS = frozenset(PC_OS_FAMILIES)
# Every device family the rules read: any other is read as "Other" is.
_DEVICES_READ = _TABLET_DEVICES | _MOBILE_DEVICES | {SPIDER}


def _device_type(header: str, browser: str, system: str, version: str, device: str) -> str:
    """``user_agents``' device type from its own inputs, in its own order.

    ``"tablet"`` if ``is_tablet``, else ``"mobile"`` if ``is_mobile``, else ``"desktop"``
    if ``is_pc``, else ``"other"``, with the rules of ``user_agents.parsers.UserAgent``
    spelled out (``version`` is the OS version string; it is only read for Windows).
    """
    # is_tablet
    if (
        device in _TABLET_DEVICES
        or (system == "Android" and "Mobile Safari" not in header and browser != "Firefox Mobile")
        or (system == "Windows" and version.startswith("RT"))
        or (system == "Firefox OS" and "Mobile" not in browser)
    ):
        return "tablet"
    # is_mobile, knowing it is no tablet (and so no "Blackberry Playbook" either)
    if (
        device in _MOBILE_DEVICES
        or browser in _MOBILE_BROWSERS
        or system in ("Android", "Firefox OS", "BlackBerry OS")
        or system in _MOBILE_SYSTEMS
        or "J2ME" in header
        or "MIDP" in header
        or "iPhone;" in header
        or "Googlebot-Mobile" in header
        or (device == SPIDER and "Mobile" in browser)
        or ("NokiaBrowser" in header and "Mobile" in header)
    ):
        return "mobile"
    # is_pc
    if (
        "Windows NT" in header
        or system in _PC_SYSTEMS
        or (system == "Windows" and version == "ME")
        or (system == "Mac OS X" and "Silk" not in header)
    ):
        return "desktop"
    if "Maemo" in header:
        return "other"
    if "Chrome OS" in system or ("Linux" in header and "X11" in header):
        return "desktop"
    return "other"


def _by_the_reference(header: str) -> Agent:
    # user_agents.parse itself, for the rare headers the native engine cannot be trusted on.
    parsed = user_agents.parse(header)
    if parsed.is_tablet:
        kind = "tablet"
    elif parsed.is_mobile:
        kind = "mobile"
    elif parsed.is_pc:
        kind = "desktop"
    else:
        kind = "other"
    return Agent(kind, str(parsed.browser.family), str(parsed.os.family), bool(parsed.is_bot))


def _classify(parsers: NativeParsers, header: str) -> Agent:
    if not (header.isascii() and header.isprintable()):
        # Unicode \d \w \s \b, and "$" before a final "\n", differ between the two regex
        # engines: the reference classifies these rare headers itself (~1 ms).
        return _by_the_reference(header)
    browser = parsers.browser(header)
    system, version = parsers.system(header)
    lowered = header.lower()
    if "bot" in lowered or "crawl" in lowered or "spider" in lowered:
        # Most likely a crawler, for which the first pass would end in a "Spider" to
        # check against every parser: all of them at once (the same answer, sooner).
        device, sure = parsers.device(header), True
    else:
        device, sure = parsers.device_read(header)
    kind = _device_type(header, browser, system, version, device)
    if not sure and (kind, device == SPIDER) != (
        _device_type(header, browser, system, version, "Other"),
        False,
    ):
        # The family is this name or one the rules read as they read "Other", and here
        # the two differ (an iPad, a crawler): every device parser decides.
        device = parsers.device(header)
        kind = _device_type(header, browser, system, version, device)
    key = (kind, browser, system, device == SPIDER)
    if (agent := _agents.get(key)) is None:
        if len(_agents) >= 4096:  # hostile headers can make families up
            _agents.clear()
        agent = _agents[key] = Agent(*key)
    return agent


# The few distinct answers, shared (an Agent costs more to build than to look up). Dict
# operations are atomic: threads at worst build one twice.
_agents: dict[tuple[str, str, str, bool], Agent] = {}


# Compiling the native regexes takes a few tenths of a second (and ~20 MB), so it happens
# once per process, on first use, and the parsers are shared by every classifier.
_shared: NativeParsers | None = None
_shared_lock = threading.Lock()


def _shared_parsers() -> NativeParsers:
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = NativeParsers(_DEVICES_READ)
        return _shared


class UserAgentClassifier:
    """Classify ``User-Agent`` headers into :class:`Agent` values, behind an LRU cache.

    Thread-safe and never raises. An unseen header costs about what ua-parser's native
    engine alone does (a median of ~13 µs over uap-core's test user agents on a busy
    2-core machine), a cached one ~0.2 µs; only the first :data:`MAX_UA_LENGTH` characters
    count. Headers with non-ASCII or control characters (rare) are classified by
    ``user_agents`` itself (~1 ms).
    """

    def __init__(self, *, cache_size: int = 4096) -> None:
        """Create a classifier remembering up to ``cache_size`` distinct headers."""
        parsers = _shared_parsers()

        # Per-instance cache (not a decorated method) so that its size is configurable
        # and it goes away with the classifier.
        @lru_cache(maxsize=max(cache_size, 0))
        def classify(header: str) -> Agent:
            try:
                return _classify(parsers, header)
            except Exception:  # a header must never break the request it came with
                return UNKNOWN

        self._classify = classify

    def __call__(self, user_agent: str) -> Agent:
        """Return the :class:`Agent` for a ``User-Agent`` value (``""`` when absent)."""
        if not isinstance(user_agent, str) or not user_agent:
            return UNKNOWN
        # Truncated before the cache lookup, so that hashing and storage stay bounded too.
        return self._classify(user_agent[:MAX_UA_LENGTH])

    def cache_info(self) -> CacheInfo:
        """Hits, misses, maximum and current size of the cache."""
        hits, misses, maxsize, currsize = self._classify.cache_info()
        return CacheInfo(hits, misses, maxsize or 0, currsize)

    def cache_clear(self) -> None:
        """Forget every cached classification."""
        self._classify.cache_clear()
