"""Property test: every query over the aggregated cube equals brute force over raw events."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from contextlib import nullcontext
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import STORES, Clock, postgres_schema

from consentkit import open_store
from consentkit.analytics.buffer import PageViewBuffer
from consentkit.analytics.hll import visitor_hash

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
FIRST_HOUR = int(NOW.timestamp() // 3600) - 24 * 40
KEY = b"p" * 32
VALUES = {
    "visit:country": ["DE", "FR", "US"],
    "visit:device": ["desktop", "mobile", "tablet"],
    "visit:browser": ["Chrome", "Firefox"],
    "visit:os": ["Windows", "iOS", "Android"],
    "event:page": ["/", "/blog/{slug}", "/pricing"],
}
FIELDS = list(VALUES)
EPOCH = date(1970, 1, 1)

event = st.tuples(
    st.integers(0, 40 * 24 + 11),  # hour offset
    *(st.sampled_from(VALUES[f]) for f in FIELDS),
    st.integers(0, 25),  # visitor
)
condition = st.one_of(
    *(
        st.tuples(
            st.sampled_from(["is", "is_not"]),
            st.just(f),
            st.lists(st.sampled_from(VALUES[f]), min_size=1, max_size=2, unique=True),
        )
        for f in FIELDS
    ),
    st.tuples(
        st.just("contains"),
        st.just("event:page"),
        st.lists(st.sampled_from(["blog", "pri", "/"]), min_size=1, max_size=2),
    ),
)
filters = st.recursive(
    condition.map(list),
    lambda inner: st.one_of(
        st.tuples(st.sampled_from(["and", "or"]), st.lists(inner, min_size=1, max_size=3)).map(
            list
        ),
        st.tuples(st.just("not"), inner).map(list),
    ),
    max_leaves=4,
)
query = st.fixed_dictionaries(
    {
        "metrics": st.just(["visitors", "pageviews"]),
        "dimensions": st.lists(
            st.sampled_from([*FIELDS, "time:day", "time:week", "time:month"]),
            max_size=2,
            unique=True,
        ),
        "date_range": st.sampled_from(["day", "7d", "30d", "month", "all"]),
    },
    optional={"filters": st.lists(filters, max_size=2)},
)


def matches(spec, row) -> bool:
    op = spec[0]
    if op == "and":
        return all(matches(s, row) for s in spec[1])
    if op == "or":
        return any(matches(s, row) for s in spec[1])
    if op == "not":
        return not matches(spec[1], row)
    value = row[spec[1]]
    if op == "is":
        return value in spec[2]
    if op == "is_not":
        return value not in spec[2]
    return any(part in value for part in spec[2])


def day_range(name: str) -> tuple[date, date]:
    today = NOW.date()
    return {
        "day": (today, today),
        "7d": (today - timedelta(days=6), today),
        "30d": (today - timedelta(days=29), today),
        "month": (today.replace(day=1), today),
        "all": (EPOCH, today),
    }[name]


def label(dimension: str, row: dict) -> str:
    day = row["day"]
    if dimension == "time:day":
        return day.isoformat()
    if dimension == "time:week":
        return (day - timedelta(days=day.weekday())).isoformat()
    if dimension == "time:month":
        return day.replace(day=1).isoformat()
    return row[dimension]


def brute_force(events, spec) -> dict[tuple, list[int]]:
    first, last = day_range(spec["date_range"])
    groups: dict[tuple, tuple[set, list]] = defaultdict(lambda: (set(), [0]))
    for offset, *values, visitor in events:
        hour = FIRST_HOUR + offset
        row = dict(zip(FIELDS, values, strict=True))
        row["day"] = EPOCH + timedelta(days=hour // 24)
        if not first <= row["day"] <= last:
            continue
        if not all(matches(f, row) for f in spec.get("filters", [])):
            continue
        key = tuple(label(d, row) for d in spec["dimensions"])
        seen, views = groups[key]
        seen.add(visitor)
        views[0] += 1
    if not spec["dimensions"] and not groups:
        return {(): [0, 0]}
    return {key: [len(seen), views[0]] for key, (seen, views) in groups.items()}


@pytest.fixture(params=STORES)
def new_store_url(request, tmp_path_factory):
    """Fresh, empty stores of one backend, one per example (a factory of URLs)."""
    if request.param == "postgresql":
        admin = request.getfixturevalue("postgres_admin")
        return lambda: postgres_schema(admin)
    return lambda: nullcontext(f"sqlite:///{tmp_path_factory.mktemp('p') / 'p.sqlite3'}")


# The one function-scoped fixture is a factory: every example opens a store of its own.
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(events=st.lists(event, max_size=120), queries=st.lists(query, min_size=1, max_size=4))
def test_queries_equal_brute_force_over_raw_events(new_store_url, events, queries):
    with new_store_url() as url:
        check_queries(url, events, queries)


def check_queries(url, events, queries):
    store = open_store(url, clock=Clock(NOW.timestamp()))
    buffer = PageViewBuffer(store, site="default")

    async def ingest() -> None:
        for index, (offset, *values, visitor) in enumerate(events):
            buffer.count(
                FIRST_HOUR + offset, tuple(values[:4]), values[4], visitor_hash(KEY, str(visitor))
            )
            if index % 37 == 36:  # several flushes: cells merge in the store as in real life
                await buffer.flush()
        await buffer.flush()

    asyncio.run(ingest())
    for spec in queries:
        answer = store.query(spec)
        got = {tuple(r["dimensions"]): r["metrics"] for r in answer["results"]}
        assert got == brute_force(events, spec), spec
    store.close()
