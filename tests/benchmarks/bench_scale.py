"""Scale-out on one PostgreSQL server: page-view writers and decision appenders (DESIGN
section 7 and the PostgreSQL row of section 8).

    CONSENTKIT_BENCH_STORE=postgresql://postgres@127.0.0.1/test \\
        python tests/benchmarks/bench_scale.py            # both parts
    ... bench_scale.py pageviews | decisions               # one of them
    CONSENTKIT_BENCH_WRITERS=1,2,4,8 CONSENTKIT_BENCH_SECONDS=10 ...
    pytest tests/benchmarks/bench_scale.py -s               # asserts the budgets

**Page views.** N writer processes (each one app instance: its own store, pool and
``PageViewBuffer``) count the realistic site's page views (``realistic_site.py``, fed as
``bench_data.py`` does) at an offered 2,000 a second each, flushing every second, for a
fixed time, on one site and on N sites. Reported: page views stored a second (counted back
from the database afterwards), flush latency p50/p99, and database CPU per stored page
view: the CPU time (``/proc/<pid>/stat``) of the server backends serving the writers
(found by ``application_name``), over the run and the shutdown's drain, and apart
(``+writers``) that of the server's WAL writer, background writer and checkpointer, which
serve whatever else uses the server too. The drain's time is reported too.
N=1 is the baseline each row's ratio is taken against.

**Decisions.** N appender threads spread over ``CONSENTKIT_BENCH_PROCESSES`` processes
(default 2: the workers of one 2-core app server, each with its own store and pool),
appending decisions as fast as they are answered for a fixed time, on one site and on N
sites: decisions a second and latency p50/p99, and the ratio to N=1.

On SQLite (no ``CONSENTKIT_BENCH_STORE``) the decisions part runs against one file (its
writers take turns by nature) and the page-view part is skipped. The machine these figures
come from has 2 cores shared by the writers, the server and the load: a writer process
count past the cores measures contention as much as the design.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import multiprocessing
import os
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from stores import BENCH_STORE, POSTGRES, backend_name, fresh_store_url, rows

from consentkit.store import open_store

SECONDS = float(os.environ.get("CONSENTKIT_BENCH_SECONDS", "8"))
WRITERS = [int(n) for n in os.environ.get("CONSENTKIT_BENCH_WRITERS", "1,2,4,8").split(",")]
APPENDERS = [int(n) for n in os.environ.get("CONSENTKIT_BENCH_APPENDERS", "1,4,16,64").split(",")]
OFFERED = 2_000  # page views a second per writer process, as in issue 19
PROCESSES = int(os.environ.get("CONSENTKIT_BENCH_PROCESSES", "2"))  # app workers appending
TICKS = os.sysconf("SC_CLK_TCK")
BUDGETS = {
    "database CPU per stored page view (us)": 15.0,
    "decisions per second, 16 appenders": 2_000.0,
    "decision p99, 16 appenders (ms)": 100.0,
    "shutdown drain (s)": 10.0,
}


# --- database CPU -----------------------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def _server_pids(application: str) -> list[tuple[int, bool]]:
    """The backends serving ``application``, and the server's own writers (True)."""
    found = rows(
        BENCH_STORE,
        "SELECT pid, application_name <> %s FROM pg_stat_activity WHERE application_name = %s"
        " OR backend_type IN ('walwriter', 'background writer', 'checkpointer')".replace(
            "%s", f"'{application}'"
        ),
    )
    return [(int(pid), bool(shared)) for pid, shared in found]


class ServerCpu:
    """CPU time of the backends named ``application`` (``seconds``) and of the server's
    WAL writer, background writer and checkpointer (``shared_seconds``: on a server that
    other work uses too, part of theirs is not the benchmark's), summed over every process
    seen (a backend that exits keeps its last reading)."""

    def __init__(self, application: str) -> None:
        self.application = application
        self.start: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.shared: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _read(self) -> None:
        for pid, shared in _server_pids(self.application):
            if shared:
                self.shared.add(pid)
            now = _cpu_seconds(pid)
            self.start.setdefault(pid, now)
            self.last[pid] = max(now, self.last.get(pid, 0.0))

    def _watch(self) -> None:
        while not self._stop.wait(0.25):
            self._read()

    def __enter__(self) -> ServerCpu:
        self._read()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._read()

    @property
    def seconds(self) -> float:
        return sum(self.last[pid] - self.start[pid] for pid in self.last if pid not in self.shared)

    @property
    def shared_seconds(self) -> float:
        return sum(self.last[pid] - self.start[pid] for pid in self.shared)


# --- page views ---------------------------------------------------------------------------------


def _writer(url: str, site: str, index: int, seconds: float, start: Any, out: Any) -> None:
    """One app instance: counts ``OFFERED`` realistic page views a second, flushes every
    second, then shuts down (the lifespan's drain) and reports its figures.

    The realistic site's page views keep their pages, visitors and segments but all fall in
    the current hour, as a live site's do (its 90 days would make each flush write a block
    for each of the twenty hours a second of it spans)."""
    from realistic_site import realistic_site
    from site_data import counted, feed

    from consentkit.analytics.buffer import PageViewBuffer

    data = counted(realistic_site(pageviews=max(200_000, int(OFFERED * seconds * 2))))
    data = dataclasses.replace(data, hours=np.full_like(data.hours, int(time.time() // 3600)))
    store = open_store(url)
    buffer = PageViewBuffer(store, site=site, interval=1.0)
    flushes: list[float] = []
    real_flush = buffer.flush

    async def timed_flush() -> None:
        started = time.perf_counter()
        await real_flush()
        flushes.append(time.perf_counter() - started)

    buffer.flush = timed_flush  # type: ignore[method-assign]  # timing the real flush

    async def run() -> tuple[int, float]:
        buffer._repeating.job = timed_flush
        buffer.start()
        offset = (index * 7919) % (len(data.hours) // 2)
        began = time.perf_counter()
        sent = 0
        while (elapsed := time.perf_counter() - began) < seconds:
            due = int(elapsed * OFFERED) + OFFERED // 20
            if due > sent:
                window = slice(offset + sent, offset + due)
                sent += sum(feed(buffer, data, window))
            await asyncio.sleep(0.05)
        stopping = time.perf_counter()
        await buffer.stop()
        return sent, time.perf_counter() - stopping

    start.wait()
    cpu = time.process_time()
    sent, drain = asyncio.run(run())
    cpu = time.process_time() - cpu
    store.close()
    out.put(
        {"sent": sent, "flushes": flushes, "drain": drain, "dropped": buffer.dropped, "cpu": cpu}
    )


def _numbered(url: str) -> None:
    """Give every page and segment of the realistic site its value number first, as a
    site that has run for a while has them: the benchmark measures the steady state, not
    a new site's first seconds, when every value is new to the database."""
    from realistic_site import realistic_site
    from site_data import counted, feed

    from consentkit.analytics.buffer import PageViewBuffer

    data = counted(realistic_site(pageviews=max(200_000, int(OFFERED * SECONDS * 2))))
    store = open_store(url)
    buffer = PageViewBuffer(store, site="warm-up", max_pending=len(data.hours) + 1)

    async def run() -> None:
        for _ in feed(buffer, data, slice(0, len(data.hours))):
            pass
        await buffer.flush()

    asyncio.run(run())
    store.close()


def pageviews(writers: int, *, sites: int) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    start = context.Barrier(writers)
    application = f"ckbench{os.getpid()}"
    with fresh_store_url(f"scale{writers}x{sites}") as base:
        url = f"{base}&application_name={application}"
        _numbered(url)  # migrated and numbered once, before the clock starts
        processes = [
            context.Process(
                target=_writer, args=(url, f"site{n % sites}", n, SECONDS, start, results)
            )
            for n in range(writers)
        ]
        with ServerCpu(application) as cpu:
            for process in processes:
                process.start()
            figures = [results.get(timeout=SECONDS * 20 + 120) for _ in processes]
            for process in processes:
                process.join()
        stored, bots = _stored_pageviews(url)
    flushes = sorted(f for each in figures for f in each["flushes"])
    sent = sum(each["sent"] for each in figures)
    return {
        "writers": writers,
        "sites": sites,
        "offered/s": writers * OFFERED,
        "sent": sent,
        "stored": stored,
        "stored/s": stored / SECONDS,
        "flush p50 (ms)": 1000 * statistics.median(flushes),
        "flush p99 (ms)": 1000 * flushes[int(0.99 * (len(flushes) - 1))],
        "db cpu (s)": cpu.seconds,
        "db cpu per page view (us)": 1e6 * cpu.seconds / max(stored, 1),
        "server writers per page view (us)": 1e6 * cpu.shared_seconds / max(stored, 1),
        "db cores": cpu.seconds / (SECONDS + max(each["drain"] for each in figures)),
        "lost": sent - stored - bots,  # dropped ones were not sent; any other is a bug
        "app cpu per page view (us)": 1e6 * sum(each["cpu"] for each in figures) / max(sent, 1),
        "drain max (s)": max(each["drain"] for each in figures),
        "load": os.getloadavg()[0],
        "dropped": sum(each["dropped"] for each in figures),
    }


def _stored_pageviews(url: str) -> tuple[int, int]:
    """Page views and crawler page views stored, over every site but the warm-up's."""
    store = open_store(url)
    try:
        total = bots = 0
        for (site,) in rows(url, "SELECT DISTINCT site FROM ck_blocks WHERE site <> 'warm-up'"):
            answer = store.query({"site_id": site, "metrics": ["pageviews"], "date_range": "all"})
            total += answer["results"][0]["metrics"][0] if answer["results"] else 0
            bots += answer["meta"]["bots_filtered"]
        return total, bots
    finally:
        store.close()


# --- decisions ----------------------------------------------------------------------------------


def _appender(url: str, threads: int, first: int, sites: int, seconds: float, out: Any) -> None:
    from consentkit.ledger.chain import config_fingerprint, decision_record
    from consentkit.ledger.records import ConsentTally

    store = open_store(url + ("&pool_max_size=8" if url.startswith("postgresql") else ""))
    canonical, config_hash = config_fingerprint({"categories": ["necessary", "analytics"]})
    latencies: list[list[float]] = [[] for _ in range(threads)]
    start = threading.Barrier(threads)

    def append(n: int) -> None:
        site = f"site{(first + n) % sites}"
        start.wait()
        stop = time.perf_counter() + seconds
        i = 0
        while (began := time.perf_counter()) < stop:
            i += 1
            record = decision_record(
                site=site,
                subject=f"{first + n:08x}{i:024x}",
                decided_at=int(time.time()),
                policy_version="1",
                action="accept_all",
                granted=frozenset({"necessary", "analytics"}),
                language="en",
                config_hash=config_hash,
            )
            tally = ConsentTally(
                int(time.time()) // 3600,
                "DE",
                "desktop",
                "Chrome",
                "accept_all",
                ("analytics",),
                ("analytics",),
            )
            store.append_decision(record, tally, canonical)
            latencies[n].append(time.perf_counter() - began)

    pool = [threading.Thread(target=append, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    store.close()
    out.put([x for each in latencies for x in each])


def decisions(url: str, appenders: int, *, sites: int) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    processes_n = min(appenders, PROCESSES)
    share = [appenders // processes_n + (p < appenders % processes_n) for p in range(processes_n)]
    firsts = [sum(share[:p]) for p in range(processes_n)]
    processes = [
        context.Process(target=_appender, args=(url, share[p], firsts[p], sites, SECONDS, results))
        for p in range(processes_n)
    ]
    with ServerCpu(f"ckdecide{os.getpid()}") if POSTGRES else contextlib.nullcontext() as cpu:
        for process in processes:
            process.start()
        latencies = sorted(x for _ in processes for x in results.get(timeout=SECONDS * 10 + 120))
        for process in processes:
            process.join()
    store = open_store(url)
    report = store.verify_ledger()
    store.close()
    assert report.ok, report.problems[:5]
    return {
        "appenders": appenders,
        "sites": sites,
        "decisions/s": len(latencies) / SECONDS,
        "p50 (ms)": 1000 * statistics.median(latencies),
        "p99 (ms)": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
        "db cpu per decision (us)": 1e6 * cpu.seconds / len(latencies) if cpu else float("nan"),
        "load": os.getloadavg()[0],
    }


@contextmanager
def _decision_store(name: str) -> Iterator[str]:
    with fresh_store_url(name) as url:
        if POSTGRES:
            url += f"&application_name=ckdecide{os.getpid()}"
        open_store(url).close()
        yield url


# --- report -------------------------------------------------------------------------------------


def run_pageviews() -> list[dict[str, Any]]:
    table = []
    for sites_of in ("one", "many"):
        for n in WRITERS:
            row = pageviews(n, sites=1 if sites_of == "one" else n)
            table.append({**row, "sites_of": sites_of})
            _print_pageviews(table)
    return table


def _print_pageviews(table: list[dict[str, Any]]) -> None:
    print(f"\npage views into {backend_name()}, {SECONDS:g} s at {OFFERED:,}/s per writer")
    print(
        f"{'writers':>7} {'sites':>5} {'offered/s':>9} {'stored/s':>9} {'x N=1':>6}"
        f" {'flush p50':>9} {'p99 ms':>7} {'us/pv':>6} {'+writers':>8} {'db cores':>8}"
        f" {'drain s':>7}"
        f" {'dropped':>7} {'lost':>4} {'app us/pv':>9} {'load':>5}"
    )
    base: dict[str, float] = {}
    for row in table:
        base.setdefault(row["sites_of"], row["stored/s"])
        print(
            f"{row['writers']:>7} {row['sites']:>5} {row['offered/s']:>9,} "
            f"{row['stored/s']:>9,.0f} {row['stored/s'] / base[row['sites_of']]:>6.2f} "
            f"{row['flush p50 (ms)']:>9.0f} {row['flush p99 (ms)']:>7.0f} "
            f"{row['db cpu per page view (us)']:>6.1f}"
            f" {row['server writers per page view (us)']:>8.1f} {row['db cores']:>8.2f} "
            f"{row['drain max (s)']:>7.2f} {row['dropped']:>7,} {row['lost']:>4,}"
            f" {row['app cpu per page view (us)']:>9.0f} {row['load']:>5.1f}"
        )


def run_decisions() -> list[dict[str, Any]]:
    table = []
    for sites_of in ("one", "many"):
        for n in APPENDERS:
            with _decision_store(f"decisions{n}") as url:
                row = decisions(url, n, sites=1 if sites_of == "one" else n)
            table.append({**row, "sites_of": sites_of})
            _print_decisions(table)
    return table


def _print_decisions(table: list[dict[str, Any]]) -> None:
    print(f"\ndecisions into {backend_name()}, {SECONDS:g} s")
    print(
        f"{'appenders':>9} {'sites':>5} {'decisions/s':>11} {'x N=1':>6}"
        f" {'p50 ms':>7} {'p99 ms':>7} {'db us/decision':>14} {'load':>5}"
    )
    base: dict[str, float] = {}
    for row in table:
        base.setdefault(row["sites_of"], row["decisions/s"])
        print(
            f"{row['appenders']:>9} {row['sites']:>5} {row['decisions/s']:>11,.0f} "
            f"{row['decisions/s'] / base[row['sites_of']]:>6.2f} "
            f"{row['p50 (ms)']:>7.1f} {row['p99 (ms)']:>7.1f}"
            f" {row['db cpu per decision (us)']:>14.0f} {row['load']:>5.1f}"
        )


def test_scale_budgets() -> None:
    if not POSTGRES:
        import pytest

        pytest.skip("set CONSENTKIT_BENCH_STORE to a PostgreSQL URL")
    for row in run_decisions():
        if row["appenders"] == 16:
            assert row["decisions/s"] >= BUDGETS["decisions per second, 16 appenders"]
            assert row["p99 (ms)"] < BUDGETS["decision p99, 16 appenders (ms)"]
    for row in run_pageviews():
        assert row["db cpu per page view (us)"] <= BUDGETS["database CPU per stored page view (us)"]
        assert row["drain max (s)"] < BUDGETS["shutdown drain (s)"]


if __name__ == "__main__":
    parts = sys.argv[1:] or ["decisions", "pageviews"]
    if "decisions" in parts:
        run_decisions()
    if "pageviews" in parts and POSTGRES:
        run_pageviews()
