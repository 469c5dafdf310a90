"""The realistic site as the middleware would count it, and as raw events for DuckDB.

``counted(site)`` gives, per page view, what ``PageViewBuffer.count`` receives: the hour, the
segment (country, device, browser, OS: the classifier's answers for the page view's real
user agent), the page's route template and the visitor's keyed hash (crawlers are counted
apart). ``raw_events(site)`` gives the same page views as plain columns, what a site that
kept every event would store, for DuckDB to scan.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from realistic_site import COUNTRIES, SOURCES, RealisticSite, classified_agents

from consentkit.analytics.buffer import PageViewBuffer
from consentkit.analytics.hll import visitor_hash

KEY = b"bench-visitor-key-of-32-bytes-xx"


@dataclass(frozen=True, slots=True)
class Counted:
    """Per page view, what the buffer counts (crawlers have no visitor and no segment)."""

    hours: NDArray[np.int64]
    segments: list[tuple[str, str, str, str]]  # distinct segments
    segment: NDArray[np.int64]  # index into segments, per page view
    pages: tuple[str, ...]
    page: NDArray[np.int64]
    visitor: NDArray[np.uint64]  # keyed hash, per page view
    bot: NDArray[np.bool_]
    origin: NDArray[np.int64]  # index into ORIGINS, per page view


# Where a page view came from, as the middleware's SourceReader answers: nothing (a page
# reached within the site), a direct way in, or a referring site's name.
ORIGINS = [("", "", ""), ("Direct / None", "", ""), *((name, "", "") for name in SOURCES)]


@functools.cache
def _agent_traits() -> tuple[NDArray[np.int64], list[tuple[str, str, str]]]:
    """Per corpus agent, the index of its (device, browser, os)."""
    from consentkit.visit.useragent import UserAgentClassifier

    agents, _ = classified_agents()
    classify = UserAgentClassifier(cache_size=0)
    index: dict[tuple[str, str, str], int] = {}
    codes = []
    for agent in agents:
        answer = classify(agent)
        codes.append(index.setdefault((answer.device, answer.browser, answer.os), len(index)))
    return np.array(codes, dtype=np.int64), list(index)


def counted(site: RealisticSite) -> Counted:
    agent_code, traits = _agent_traits()
    trait = agent_code[site.agent]
    combined = site.country * len(traits) + trait
    distinct, segment = np.unique(combined, return_inverse=True)
    segments = [
        (COUNTRIES[int(c) // len(traits)], *traits[int(c) % len(traits)]) for c in distinct.tolist()
    ]
    hashes = np.array(
        [visitor_hash(KEY, f"visitor-{v}") for v in range(site.population)], dtype=np.uint64
    )
    visitor = np.where(site.visitor >= 0, hashes[np.maximum(site.visitor, 0)], 0)
    origin = np.where(site.source >= 0, site.source + 2, site.landing)
    return Counted(
        site.hours, segments, segment, site.pages, site.page, visitor.astype(np.uint64),
        site.is_bot, origin,
    )  # fmt: skip


def feed(buffer: PageViewBuffer, data: Counted, window: slice) -> Iterator[int]:
    """Count the page views of ``window`` into the buffer, as the middleware would; yields
    after every 100,000 (where a busy site's buffer would have flushed about once). Each
    chunk is turned into Python values just before it is counted, so that the time
    measured between two yields is the counting's."""
    first, end, _ = window.indices(len(data.hours))
    count, count_bot = buffer.count, buffer.count_bot
    for start in range(first, end, 100_000):
        chunk = slice(start, min(start + 100_000, end))
        hours = data.hours[chunk].tolist()
        segments = [data.segments[s] for s in data.segment[chunk].tolist()]
        pages = [data.pages[p] for p in data.page[chunk].tolist()]
        visitors = data.visitor[chunk].tolist()
        origins = [ORIGINS[o] for o in data.origin[chunk].tolist()]
        for hour, bot, segment, page, visitor, origin in zip(
            hours, data.bot[chunk].tolist(), segments, pages, visitors, origins, strict=True
        ):
            if bot:
                count_bot(hour)
            else:
                count(hour, segment, page, visitor, origin)
        yield chunk.stop - first


def raw_events(site: RealisticSite) -> dict[str, NDArray[np.generic]]:
    """The human page views as columns: what a site keeping raw events stores (the visitor
    as a 64-bit hash, as privacy-minded analytics keep it, never the cookie)."""
    data = counted(site)
    humans = ~data.bot
    agent_code, traits = _agent_traits()
    trait = agent_code[site.agent][humans]
    return {
        "ts": data.hours[humans] * 3600,
        "visitor": data.visitor[humans].astype(np.int64),
        "country": np.array(COUNTRIES, dtype=object)[site.country[humans]],
        "device": np.array([t[0] for t in traits], dtype=object)[trait],
        "browser": np.array([t[1] for t in traits], dtype=object)[trait],
        "os": np.array([t[2] for t in traits], dtype=object)[trait],
        "page": np.array(site.pages, dtype=object)[site.page[humans]],
    }
