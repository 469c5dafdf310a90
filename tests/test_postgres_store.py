"""The PostgreSQL store on its own: its URL, many writers flushing the same cells at once,
and a database that goes away and comes back."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime

import pytest
from support import SKETCH_KEY, Clock, raw_database
from tcp_proxy import TcpProxy

from consentkit import ConfigurationError, open_store
from consentkit.analytics.buffer import PageViewBuffer
from consentkit.analytics.hll import visitor_hash
from consentkit.errors import StoreError
from consentkit.ledger.chain import config_fingerprint, decision_record
from consentkit.ledger.records import ConsentTally, DecisionRecord
from consentkit.ledger.spool import DecisionSpool
from consentkit.store.postgres_pool import parse_url

NOW = datetime(2026, 11, 24, 15, 30, tzinfo=UTC).timestamp()
HOUR = int(NOW // 3600)


def test_postgres_urls_open_with_their_pool_options(postgres_url):
    url = postgres_url.replace("postgresql://", "postgres://") + "&pool_max_size=2&pool_timeout=3"
    store = open_store(url, clock=Clock(NOW))
    answer = store.query({"metrics": ["visitors", "pageviews"], "date_range": "day"})
    assert answer["results"] == [{"dimensions": [], "metrics": [0, 0]}]
    store.close()


def test_consentkit_options_are_taken_out_of_the_url_and_libpq_ones_kept():
    libpq, pool, connection = parse_url(
        "postgres://app@db.internal/site?sslmode=require&pool_max_size=8&prepare_threshold=none"
        "&options=-csearch_path%3Dtenant"
    )
    assert (
        libpq == "postgresql://app@db.internal/site?sslmode=require&options=-csearch_path%3Dtenant"
    )
    assert pool == {
        "pool_min_size": 1,
        "pool_max_size": 8,
        "pool_timeout": 5,
        "decision_timeout": 1,
    }
    assert connection == {"prepare_threshold": None, "connect_timeout": 5}
    _, _, connection = parse_url("postgresql:///site?connect_timeout=30&prepare_threshold=0")
    assert connection == {"prepare_threshold": 0}  # the URL's own timeout stands


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("pool_max_size=0", "pool_max_size"),
        ("pool_timeout=soon", "pool_timeout"),
        ("decision_timeout=0", "decision_timeout"),
        ("decision_timeout=nan", "decision_timeout"),
        ("pool_min_size=5&pool_max_size=2", "pool_min_size"),
        ("colour=blue", "colour"),
    ],
)
def test_a_bad_url_option_fails_at_start_up_naming_it(option, message):
    with pytest.raises(ConfigurationError, match=message):
        open_store(f"postgresql://127.0.0.1/test?{option}")


def test_an_unreachable_server_is_a_store_error_that_keeps_the_password_out():
    with socket.socket() as unused:  # a port that nothing listens on
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    url = f"postgresql://consentkit:hunter2@127.0.0.1:{port}/test?pool_timeout=1"
    with pytest.raises(StoreError) as caught:
        open_store(url)
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_writers_flushing_the_same_cells_at_once_lose_nothing(postgres_url):
    """Four processes' worth of stores (a pool each) flush at the same moment, round after
    round, into the same cells and roll-ups, with visitors they share; a fifth purges an
    old hour meanwhile. Page views add up exactly, and every visitor counts once."""
    writers, rounds = 4, 12
    stores = [open_store(postgres_url, clock=Clock(NOW)) for _ in range(writers + 1)]
    expected_views: dict[tuple[int, str, str], int] = defaultdict(int)
    expected_visitors: dict[tuple[int, str, str], set[int]] = defaultdict(set)
    plan: list[list[tuple[int, str, str, int]]] = [[] for _ in range(writers)]
    for writer in range(writers):
        for turn in range(rounds):
            for n in range(30):
                visitor = (writer * 7 + turn * 13 + n * 5) % 160
                # a country new to every writer in the same round: numbered once, race-free
                country = ("DE", "FR", f"C{turn}")[n % 3]
                view = (HOUR - n % 3, country, f"/p{n % 4}", visitor)
                plan[writer].append(view)
                expected_views[view[:3]] += 1
                expected_visitors[view[:3]].add(visitor)
    start = threading.Barrier(writers + 1)
    failures: list[BaseException] = []

    def write(store, views) -> None:
        buffer = PageViewBuffer(store, site="default")
        try:
            for turn in range(rounds):
                for hour, country, page, visitor in views[turn * 30 : (turn + 1) * 30]:
                    buffer.count(
                        hour,
                        (country, "desktop", "Chrome", "Linux"),
                        page,
                        visitor_hash(SKETCH_KEY, str(visitor)),
                    )
                start.wait()
                asyncio.run(buffer.flush())
        except BaseException as error:
            failures.append(error)
            start.abort()

    def purge(store) -> None:
        try:
            for _ in range(rounds):
                start.wait()
                store.purge({"pageviews": HOUR - 48, "bots": HOUR - 48})
        except BaseException as error:
            failures.append(error)
            start.abort()

    threads = [threading.Thread(target=write, args=(stores[i], plan[i])) for i in range(writers)]
    threads.append(threading.Thread(target=purge, args=(stores[-1],)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []

    store = stores[0]
    cube = store.query(
        {
            "metrics": ["visitors", "pageviews"],
            "date_range": "day",
            "dimensions": ["time:hour", "visit:country", "event:page"],
        }
    )
    got = {tuple(row["dimensions"]): row["metrics"] for row in cube["results"]}
    assert got == {
        (datetime.fromtimestamp(hour * 3600, UTC).strftime("%Y-%m-%d %H:00:00"), country, page): [
            len(expected_visitors[hour, country, page]),
            views,
        ]
        for (hour, country, page), views in expected_views.items()
    }
    by_country: dict[str, set[int]] = defaultdict(set)
    for (_, country, _), seen in expected_visitors.items():
        by_country[country] |= seen
    rollup = store.query(
        {"metrics": ["visitors"], "date_range": "day", "dimensions": ["visit:country"]}
    )  # answered by the daily roll-ups
    assert {r["dimensions"][0]: r["metrics"][0] for r in rollup["results"]} == {
        country: len(seen) for country, seen in by_country.items()
    }
    with raw_database(postgres_url) as sql:  # each new country numbered once, race or not
        assert sql("SELECT COUNT(*) FROM ck_values WHERE kind = 'country'") == [(2 + rounds,)]
    for each in stores:
        each.close()


@pytest.mark.every_store
def test_a_flush_that_failed_after_numbering_new_values_leaves_no_void_numbers(store_url):
    """Numbers handed out in a rolled-back transaction do not exist: the retried flush must
    number its values again, or its cells would point at nothing."""
    store = open_store(store_url, clock=Clock(NOW))
    buffer = PageViewBuffer(store, site="default")
    with raw_database(store_url) as sql:
        sql("ALTER TABLE ck_blocks RENAME TO ck_blocks_away")  # numbering works, blocks fail
    buffer.count(HOUR, ("DE", "desktop", "Chrome", "Linux"), "/new", 1)
    with pytest.raises(StoreError):
        asyncio.run(buffer.flush())
    with raw_database(store_url) as sql:
        sql("ALTER TABLE ck_blocks_away RENAME TO ck_blocks")
    asyncio.run(buffer.flush())
    answer = store.query(
        {
            "metrics": ["visitors", "pageviews"],
            "date_range": "day",
            "dimensions": ["visit:country", "event:page"],
        }
    )  # from the cells
    assert [(r["dimensions"], r["metrics"]) for r in answer["results"]] == [
        (["DE", "/new"], [1, 1])
    ]
    store.close()


def decide(store, subject: str, at: float) -> None:
    store.append_decision(*decision(subject, at))


def decision(subject: str, at: float) -> tuple[DecisionRecord, ConsentTally, str]:
    """A visitor's decision as the middleware hands it to a store: its ledger record, its
    line in the statistics, the banner configuration shown."""
    canonical, config_hash = config_fingerprint({"language": "en"})
    record = decision_record(
        site="default",
        subject=subject,
        decided_at=int(at),
        policy_version="2026-11",
        action="accept_all",
        granted=frozenset({"necessary", "analytics"}),
        language="en",
        config_hash=config_hash,
    )
    tally = ConsentTally(
        hour=int(at) // 3600,
        country="DE",
        device="desktop",
        browser="Chrome",
        action="accept_all",
        offered=("analytics",),
        granted=("analytics",),
    )
    return record, tally, canonical


def test_a_database_that_goes_away_is_a_store_error_until_it_is_back(postgres_url):
    """What the decision spool relies on: a failed write raises StoreError (within the
    pool timeout), and the store works again once the database answers."""
    relay = TcpProxy(("127.0.0.1", 5432))
    url = postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{relay.port}") + "&pool_timeout=1"
    store = open_store(url, clock=Clock(NOW))
    buffer = PageViewBuffer(store, site="default")
    decide(store, "a" * 32, NOW)
    relay.cut()
    with pytest.raises(StoreError):
        decide(store, "b" * 32, NOW + 1)
    buffer.count(HOUR, ("DE", "desktop", "Chrome", "Linux"), "/", 1)
    with pytest.raises(StoreError):
        asyncio.run(buffer.flush())
    assert buffer.pending == 1  # kept for the next flush
    relay.restore()
    deadline = time.monotonic() + 20  # the pool retries with a growing delay, then afresh
    while True:
        try:
            decide(store, "c" * 32, NOW + 2)
            break
        except StoreError:
            assert time.monotonic() < deadline, "the store did not recover"
    asyncio.run(buffer.flush())
    report = store.verify_ledger()
    assert report.ok and report.records == 2
    answer = store.query({"metrics": ["visitors", "pageviews"], "date_range": "day"})
    assert answer["results"][0]["metrics"] == [1, 1]
    store.close()
    relay.close()


def test_a_flush_whose_commit_went_unanswered_is_stored_once(postgres_url):
    """The database commits a flush and the connection breaks before it says so: the
    buffer cannot tell stored from lost, tries again, and the store recognises the flush
    (its number) instead of counting it twice. A second unanswered commit (a flush and the
    one in doubt before it) and a try that fails in its middle lose and double nothing."""
    relay = TcpProxy(("127.0.0.1", 5432))
    url = postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{relay.port}") + "&pool_timeout=2"
    store = open_store(url, clock=Clock(NOW))
    buffer = PageViewBuffer(store, site="default")
    counted = 0

    def view(page: str) -> None:
        nonlocal counted
        counted += 1
        buffer.count(HOUR, ("DE", "desktop", "Chrome", "Linux"), page, counted)

    def flush(fails: bool) -> None:
        if fails:
            with pytest.raises(StoreError):
                asyncio.run(buffer.flush())
        else:
            asyncio.run(buffer.flush())

    for _ in range(3):
        view("/")
    relay.lose_answer_to(b"COMMIT")
    flush(fails=True)  # stored, and the buffer cannot know
    assert buffer.pending == 3
    view("/x")
    with raw_database(postgres_url) as sql:
        sql("ALTER TABLE ck_flushes RENAME TO ck_flushes_away")  # fails before its claims
    flush(fails=True)  # "/" still in doubt, "/x" not stored
    with raw_database(postgres_url) as sql:
        sql("ALTER TABLE ck_flushes_away RENAME TO ck_flushes")
    assert buffer.pending == 4
    view("/a")
    relay.lose_answer_to(b"COMMIT")
    flush(fails=True)  # the first found stored; the new ones committed, unanswered
    assert buffer.pending == 2
    view("/b")
    with raw_database(postgres_url) as sql:
        sql("ALTER TABLE ck_blocks RENAME TO ck_blocks_away")  # fails after its claims
    flush(fails=True)
    with raw_database(postgres_url) as sql:
        sql("ALTER TABLE ck_blocks_away RENAME TO ck_blocks")
    assert buffer.pending == 1  # /x and /a were found stored; /b rolled back
    view("/c")
    flush(fails=False)
    assert buffer.pending == 0
    answer = store.query(
        {"metrics": ["pageviews"], "date_range": "day", "dimensions": ["event:page"]}
    )
    pages = {row["dimensions"][0]: row["metrics"][0] for row in answer["results"]}
    assert pages == {"/": 3, "/x": 1, "/a": 1, "/b": 1, "/c": 1}
    assert sum(pages.values()) == counted
    store.close()
    relay.close()


def test_a_decision_whose_commit_went_unanswered_is_in_the_ledger_once(postgres_url, tmp_path):
    """The database commits a decision and the connection breaks before it says so: the
    visitor is answered from the spool (nothing lost), and the spool's drain finds the
    record in the ledger instead of appending it a second time."""
    relay = TcpProxy(("127.0.0.1", 5432))
    url = postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{relay.port}") + "&pool_timeout=2"
    store = open_store(url, clock=Clock(NOW))
    spool = DecisionSpool(str(tmp_path / "spool.sqlite3"), store)
    spool.append_decision(*decision("a" * 32, NOW))  # the site's chain started
    relay.lose_answer_to(b"COMMIT")
    spool.append_decision(*decision("b" * 32, NOW + 1))  # stored, and the store cannot know
    assert spool.pending == 1
    spool.append_decision(*decision("c" * 32, NOW + 2))  # behind it, in order
    assert spool.drain_once() == 2
    assert spool.pending == 0
    report = store.verify_ledger()
    assert report.ok and report.records == 3, report.problems
    for subject in ("a", "b", "c"):
        assert len(store.subject_records("default", subject * 32)) == 1
    answer = store.query({"metrics": ["decisions"], "date_range": "day"})
    assert answer["results"][0]["metrics"] == [3]
    store.close()
    relay.close()


def test_processes_numbering_the_same_new_values_do_not_deadlock(postgres_url):
    """Two flushes (two processes) meeting the same new pages in opposite orders: each
    waits for the other at most once, in one order, and both get the same numbers."""
    import psycopg

    from consentkit.store.cube import CubeTables
    from consentkit.store.values import Sql

    open_store(postgres_url).close()  # the schema
    pages = [f"/new/{n:03d}" for n in range(300)]
    start = threading.Barrier(2)
    numbers: list[dict[str, int]] = []
    errors: list[BaseException] = []

    def flush(order: list[str]) -> None:
        cube = CubeTables(Sql(placeholder="%s", skip_locked=" FOR UPDATE SKIP LOCKED"))
        try:
            with psycopg.connect(postgres_url) as db:
                start.wait()
                found = cube.numbers(db, "page", order)
                db.commit()
            numbers.append(dict(zip(order, found.tolist(), strict=True)))
        except BaseException as error:  # a deadlock is detected by PostgreSQL and raised
            errors.append(error)

    threads = [threading.Thread(target=flush, args=(o,)) for o in (pages, pages[::-1])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert numbers[0] == numbers[1]
