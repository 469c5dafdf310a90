"""The realistic site of DESIGN section 8, which every data benchmark runs on.

10,000,000 page views over 90 days from a population of 1,250,000 visitors: most come on
one or two days (a mean of 1.67), so an average day has about 23,000 distinct visitors;
5,000 route templates and 200 countries, both with Zipf-like popularity; real user agents
drawn from uap-core's test corpora (``../shared/testdata/uap-core``) in the device and
browser shares real traffic has (StatCounter, 2025), or from a built-in list of real
headers when the corpora are absent; about 3% of page views from crawlers; a source (a
referring site, or a ``utm_source``) for the first page view of a fifth of the visits.

Everything is generated with NumPy from one seed, in a few seconds, as flat arrays with
one element per page view (sorted by hour), so that each benchmark can feed it through
the real buffer and store, into DuckDB, or over HTTP::

    site = realistic_site()                    # 10,000,000 page views
    site = realistic_site(pageviews=1_000_000)  # the same shape, smaller
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

PAGEVIEWS = 10_000_000
POPULATION_PER_PAGEVIEW = 0.125  # 1,250,000 visitors for 10,000,000 page views
DAYS = 90
TEMPLATES = 5_000
BOT_SHARE = 0.03
SOURCED_VISITS = 0.2
FIRST_HOUR = 1_787_000_000 // 3600  # 2026-08-17 (a Monday), 90 days before "now"
NOW = (FIRST_HOUR + DAYS * 24) * 3600 + 1800  # the clock queries see: the next day, 00:30

UAP_CORE = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "uap-core"

# 200 ISO 3166-1 alpha-2 codes, roughly by web traffic (the Zipf ranks follow this order).
COUNTRIES = (  # noqa: SIM905 (a list of 200 quoted codes would read worse)
    "US IN CN BR GB DE JP FR RU ID CA IT ES MX KR TR AU PL NL VN PH TH AR IR EG PK UA NG SA "
    "CO MY BD ZA SE BE CH TW AT CL PE IL RO CZ PT DZ GR HU AE IE DK NO FI MA KZ NZ SG HK VE "
    "KE IQ EC UZ SK BG RS HR BY LT TN GT DO SI LV LK ET CR BO PY UY JO LB KW OM QA BH AZ GE "
    "AM MD EE CY LU MT IS AL MK BA ME XK PA SV HN NI CU JM TT BS BB HT PR GH CI SN CM UG TZ "
    "RW ZM ZW MZ AO NA BW MW MG MU SD LY SY YE AF NP MM KH LA MN BT MV BN PG FJ SB VU WS TO "
    "KI NR TV MH FM PW NC PF GU AS MP KY BM VG VI AW CW SX BQ AI MS KN LC VC GD DM AG GY SR "
    "GF BZ FK GL FO AX AD MC SM VA LI GI JE GG IM ML NE BF TD MR GM GN GW SL LR TG BJ CF CG "
    "CD GA GQ ST CV KM SC DJ ER SO SS BI LS SZ"
).split()[:200]
# Referring sites of a sourced visit, by share (Zipf over this order).
SOURCES = (  # noqa: SIM905
    "Google Bing DuckDuckGo Facebook Newsletter Reddit LinkedIn X Yahoo Ecosia YouTube "
    "Instagram Hacker-News GitHub Baidu Yandex Pinterest Mastodon Wikipedia Qwant"
).split() + [f"site{n}.example" for n in range(280)]
# Share of page views per device type, and per browser family within it.
DEVICE_SHARES = {"mobile": 0.57, "desktop": 0.40, "tablet": 0.03}
BROWSER_SHARES = {
    "mobile": {
        "Chrome Mobile": 0.64,
        "Mobile Safari": 0.25,
        "Samsung Internet": 0.05,
        "Opera Mobile": 0.02,
        "Firefox Mobile": 0.01,
        "UC Browser": 0.01,
        "*": 0.02,
    },
    "desktop": {
        "Chrome": 0.66,
        "Edge": 0.13,
        "Safari": 0.09,
        "Firefox": 0.07,
        "Opera": 0.03,
        "*": 0.02,
    },
    "tablet": {"Mobile Safari": 0.5, "Chrome": 0.3, "Chrome Mobile": 0.1, "*": 0.1},
}
# Real headers for when uap-core's corpora are not beside the repository.
FALLBACK_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{v}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_{m} like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.{m} Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-S9{m}1B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{v}.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_{m}) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.{m} Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{v}.0.0.0 Safari/537.36 Edg/{v}.0.0.0",
    "Mozilla/5.0 (iPad; CPU OS 17_{m} like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.{m} Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
)
# Visits per hour of the day (UTC), a working-day curve.
DIURNAL = np.array(
    [2, 1.5, 1, 1, 1, 1.5, 3, 5, 7, 8, 8, 8, 7.5, 7.5, 7.5, 7, 7, 7, 7.5, 8, 7.5, 6, 4.5, 3],
    dtype=np.float64,
)
_QUOTED = re.compile(r"""^\s*- user_agent_string: (?:'((?:[^']|'')*)'|"((?:[^"\\]|\\.)*)")""")


@dataclass(frozen=True, slots=True)
class RealisticSite:
    """One page view per element of the arrays, sorted by hour."""

    hours: NDArray[np.int64]  # hours since the epoch
    visitor: NDArray[np.int64]  # visitor number; -1 for crawlers
    country: NDArray[np.int64]  # index into COUNTRIES
    agent: NDArray[np.int64]  # index into ``agents``
    page: NDArray[np.int64]  # index into ``pages``
    source: NDArray[np.int64]  # index into SOURCES, -1 when none
    landing: NDArray[np.int64]  # 1 for the first page view of a visit (its way in), else 0
    agents: tuple[str, ...]
    pages: tuple[str, ...]
    population: int

    def __len__(self) -> int:
        return len(self.hours)

    @property
    def is_bot(self) -> NDArray[np.bool_]:
        return self.visitor < 0

    def summary(self) -> str:
        days = (self.hours - self.hours.min()) // 24
        humans = ~self.is_bot
        per_day = np.unique(days[humans] * self.population + self.visitor[humans]).size / (
            int(days.max()) + 1
        )
        return (
            f"{len(self):,} page views, {np.unique(self.visitor[humans]).size:,} visitors "
            f"({per_day:,.0f} a day), {np.unique(self.agent).size:,} distinct user agents,"
            f" {np.unique(self.page).size:,} pages, {np.unique(self.country).size} "
            f"countries, {self.is_bot.mean():.1%} crawler page views, "
            f"{(self.source >= 0).mean():.1%} with a source"
        )

    def chunks(self, size: int) -> Iterator[slice]:
        for start in range(0, len(self), size):
            yield slice(start, min(start + size, len(self)))


def _zipf(rng: np.random.Generator, n: int, size: int, exponent: float = 1.0) -> NDArray[np.int64]:
    weights = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** exponent
    return rng.choice(n, size=size, p=weights / weights.sum())


def corpus_agents() -> list[str]:
    """Every distinct user-agent string of uap-core's three test corpora (empty if absent)."""
    found: dict[str, None] = {}
    for name in ("test_ua.yaml", "test_os.yaml", "test_device.yaml"):
        path = UAP_CORE / name
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            match = _QUOTED.match(line)
            if match:
                single, double = match.groups()
                text = (
                    single.replace("''", "'")
                    if single is not None
                    else (double.encode().decode("unicode_escape"))
                )
                found[text] = None
    return list(found)


@functools.cache
def classified_agents() -> tuple[tuple[str, ...], tuple[tuple[str, str, bool], ...]]:
    """The corpus (or the fallback list) with each string's (device, browser, is_bot)."""
    from consentkit.visit.useragent import UserAgentClassifier

    agents = corpus_agents() or [
        template.format(v=118 + n, m=n) for n in range(6) for template in FALLBACK_AGENTS
    ]
    classify = UserAgentClassifier(cache_size=0)
    traits = []
    for agent in agents:
        answer = classify(agent)
        traits.append((answer.device, answer.browser, answer.is_bot))
    return tuple(agents), tuple(traits)


def _agent_mix(
    rng: np.random.Generator, population: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """A user agent per visitor in real traffic's device and browser shares, and the pool of
    crawler agents."""
    _, traits = classified_agents()
    buckets: dict[tuple[str, str], list[int]] = {}
    bots = []
    for index, (device, browser, is_bot) in enumerate(traits):
        if is_bot:
            bots.append(index)
        elif device in DEVICE_SHARES:
            buckets.setdefault((device, browser), []).append(index)
    plan: list[tuple[float, list[int]]] = []
    for device, share in DEVICE_SHARES.items():
        named = BROWSER_SHARES[device]
        rest = [i for (d, b), ids in buckets.items() if d == device and b not in named for i in ids]
        for browser, browser_share in named.items():
            pool = rest if browser == "*" else buckets.get((device, browser), [])
            if pool:
                plan.append((share * browser_share, pool))
    weights = np.array([w for w, _ in plan])
    bucket = rng.choice(len(plan), size=population, p=weights / weights.sum())
    chosen = np.empty(population, dtype=np.int64)
    for b, (_, pool) in enumerate(plan):
        members = np.flatnonzero(bucket == b)
        # A few popular strings per bucket and a long tail, as real traffic has.
        chosen[members] = np.asarray(pool)[_zipf(rng, len(pool), len(members), 0.8)]
    return chosen, np.asarray(bots or [0], dtype=np.int64)


def _templates() -> tuple[str, ...]:
    sections = (
        "blog",
        "docs",
        "shop",
        "help",
        "news",
        "products",
        "guides",
        "api",
        "community",
        "about",
    )
    shapes = (
        "/{s}/topic-{n}",
        "/{s}/topic-{n}/{{slug}}",
        "/{s}/{{id}}/part-{n}",
        "/{s}/category-{n}/{{item_id}}",
    )
    pages = ["/", "/pricing", "/about", "/contact", "/login", "/signup"]
    n = 0
    while len(pages) < TEMPLATES:
        pages.append(shapes[n % 4].format(s=sections[(n // 4) % 10], n=n))
        n += 1
    return tuple(pages)


@functools.cache
def realistic_site(pageviews: int = PAGEVIEWS, seed: int = 8) -> RealisticSite:
    """The realistic site with ``pageviews`` page views (crawlers included)."""
    rng = np.random.default_rng(seed)
    population = max(int(pageviews * POPULATION_PER_PAGEVIEW), 1000)
    country = _zipf(rng, len(COUNTRIES), population, 1.1)
    agent, bot_agents = _agent_mix(rng, population)
    # Days per visitor: most come once or twice (mean 1.67), a few come back often.
    visit_days = np.minimum(rng.geometric(0.6, population), 30)
    owner = np.repeat(np.arange(population), visit_days)
    day = rng.integers(0, DAYS, owner.size)
    start = rng.choice(24, size=owner.size, p=DIURNAL / DIURNAL.sum())
    humans = int(pageviews * (1 - BOT_SHARE))
    mean_views = humans / owner.size
    views = rng.geometric(1 / mean_views, owner.size)
    # Trim or extend the last visits so that the total is exact.
    total = np.cumsum(views)
    keep = min(int(np.searchsorted(total, humans)) + 1, owner.size)
    owner, day, start, views = owner[:keep], day[:keep], start[:keep], views[:keep]
    views[-1] += humans - int(views.sum())
    visit = np.repeat(np.arange(keep), views)
    first = np.zeros(humans, dtype=bool)
    first[np.concatenate(([0], np.cumsum(views)[:-1]))] = True
    # A visit's page views span its first hour and the next ones, a few per hour.
    position = np.arange(humans) - np.repeat(np.cumsum(views) - views, views)
    hours = FIRST_HOUR + day[visit] * 24 + np.minimum(start[visit] + position // 6, 23)
    sourced = first & (rng.random(humans) < SOURCED_VISITS)
    source = np.full(humans, -1, dtype=np.int64)
    source[sourced] = _zipf(rng, len(SOURCES), int(sourced.sum()), 1.2)
    pages = _templates()
    page = _zipf(rng, len(pages), humans, 1.0)
    bots = pageviews - humans
    columns = {
        "hours": np.concatenate((hours, FIRST_HOUR + rng.integers(0, DAYS * 24, bots))),
        "visitor": np.concatenate((owner[visit], np.full(bots, -1))),
        "country": np.concatenate((country[owner[visit]], _zipf(rng, 30, bots))),
        "agent": np.concatenate((agent[owner[visit]], rng.choice(bot_agents, bots))),
        "page": np.concatenate((page, rng.integers(0, len(pages), bots))),
        "source": np.concatenate((source, np.full(bots, -1))),
        "landing": np.concatenate((first, np.zeros(bots, dtype=bool))),
    }
    order = np.argsort(columns["hours"], kind="stable")
    agents, _ = classified_agents()
    return RealisticSite(
        **{name: values[order].astype(np.int64) for name, values in columns.items()},
        agents=agents,
        pages=pages,
        population=population,
    )


if __name__ == "__main__":
    import time

    started = time.perf_counter()
    site = realistic_site()
    print(f"generated in {time.perf_counter() - started:.1f} s: {site.summary()}")
