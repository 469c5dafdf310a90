"""Instructions per request under real servers, with and without the middleware.

    python tests/benchmarks/bench_instructions.py [server ...]
    python tests/benchmarks/bench_instructions.py --cycles [server ...]
    python tests/benchmarks/bench_instructions.py --in-process [--cold]

Needs valgrind (Debian: ``apt-get install valgrind``) and the ``bench`` extra. Time on
a shared machine drifts by 10-30% from one second to the next (``bench_throughput.py``
pairs its runs against that); the count of instructions a server executes for a request
does not drift. Each app of ``throughput_apps.py`` is served by one process of the server
under callgrind; a client sends the returning visitor's request of bench_throughput.py
(both cookies, a Chrome user agent, an address of the country database, GeoIP on) over
one kept-alive connection: a warm-up (300 requests, and three seconds at least), then
``REQUESTS`` counted ones. The flood of bench_throughput.py (every request a new user
agent of uap-core's corpora, a new address and a new visitor ID) is counted on servers
of its own, with and without the middleware, after ``FLOOD_WARM_UP`` such requests.
Printed: the instructions per request of the request thread (the flusher's thread runs
apart: DESIGN section 8 counts the request thread) and of the whole process, bare, with
the middleware and flooded, and the ratios; beside them the floor of bench_throughput.py
(``throughput_apps.vary_only``, a minimal middleware adding ``Vary: Cookie``): what any
middleware that must add that header pays, of which the server's own work on one more
response header is a part (uvicorn checks each header with two regular expressions).
Instructions weigh the flood lighter than time does (2.4x a bare request by
instructions, 2.6-3.2x by CPU time): a new header makes the native regex engine build
automaton states and reach memory the returning visitor never touches;
bench_throughput.py's CPU time is the figure the flood's budget is held to. It takes a
few minutes (callgrind runs the server about 50 times slower).
The returning visitor's server flushes its page views once an hour instead of once a
second (``CONSENTKIT_BENCH_FLUSH_INTERVAL``), so that no flush falls among the counted
requests: a flush costs the event loop about 400,000 instructions (the task, anyio's
hand-off to the worker thread), once every 25,000 requests at full speed (16 instructions
a request), but once every 130 to 300 under callgrind, which runs the server 50-100 times
slower (up to 3,000 instructions a request: counted so, the middleware read 0.919 of a
bare request under httptools + uvloop, 0.927 without). The flood keeps a flush each
second: its user agents are classified there, and its figure counts all threads.
``--cycles`` runs the returning visitor's request under callgrind's cache and branch
simulation instead (bare, a minimal middleware adding ``Vary: Cookie``, consentkit), and
prints KCachegrind's estimate of cycles: first-level cache misses and mispredicted branches
weigh 10 instructions each. ``--in-process`` does the same for the request served
in-process, with no server (``in_process.py``), and times the same requests by CPU time
beside it: on a quiet hour the two ratios agree within about 0.01 (docs/performance.md);
on a busy one the time scatters by several hundredths from one run to the next. With
``--cold``, each request comes after the second-level cache has been emptied, as under a
server, and the simulation counts the lines of code and data it fetches from beyond.
Hypercorn is counted serving from the process it was started as (``--workers 0``), for
callgrind to follow: the same serving code as the worker process that bench_throughput.py
measures.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from bench_throughput import (
    CHROME,
    RETURNING_COOKIE,
    SERVERS,
    decision_cookie,
    flood_agents,
    free_port,
    server_command,
)
from geo_data import country_database

from consentkit.compiled import is_compiled
from consentkit.consent.cookies import new_token

HERE = Path(__file__).resolve().parent
REQUESTS = int(os.environ.get("CONSENTKIT_BENCH_REQUESTS", "2000"))
WARM_UP = 300
FLOOD_WARM_UP = 4000  # user agents seen before counting: the regex engines' states built
WARM_UP_SECONDS = 3.0  # the flood's first three flushes (flush_interval = 1 s)


def request_bytes(port: int) -> bytes:
    """bench_throughput.py's returning visitor, as one HTTP/1.1 request."""
    return (
        f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: {CHROME}\r\n"
        f"Accept: text/html\r\nX-Forwarded-For: 81.2.69.142\r\nCookie: {RETURNING_COOKIE}\r\n"
        "\r\n"
    ).encode()


class Flood:
    """bench_throughput.py's flood, one request at a time: each with a user agent of
    uap-core's corpora in turn (17,000 and more: new to the classifier's cache of 4,096
    when it comes round), a random address and a new visitor ID, the decision cookie."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.agents = flood_agents()
        self.random = random.Random(1)
        self.decision = decision_cookie()
        self.n = 0

    def __call__(self) -> bytes:
        self.n += 1
        agent = self.agents[self.n % len(self.agents)]
        pick = self.random.randrange
        address = f"{pick(1, 224)}.{pick(256)}.{pick(256)}.{pick(1, 255)}"
        visitor = new_token()
        return (
            f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nUser-Agent: {agent}\r\n"
            f"Accept: text/html\r\nX-Forwarded-For: {address}\r\n"
            f"Cookie: {self.decision}; consentkit_id={visitor}\r\n\r\n"
        ).encode()


def send(port: int, n: int, requests: Callable[[], bytes] | None = None) -> None:
    """``n`` requests, one after the other, on one kept-alive connection (the returning
    visitor's, or each made by ``requests``); a new one where the server closes it after
    a response (``Connection: close``: hypercorn does after 1,000 requests on one)."""
    same = request_bytes(port)
    connection = socket.create_connection(("127.0.0.1", port))
    try:
        pending = b""
        for _ in range(n):
            connection.sendall(requests() if requests else same)
            while True:
                end = pending.find(b"\r\n\r\n")
                if end >= 0:
                    head = pending[:end]
                    length = re.search(rb"(?i)content-length: *(\d+)", head)
                    assert length, head
                    size = end + 4 + int(length.group(1))
                    if len(pending) >= size:
                        assert pending.startswith(b"HTTP/1.1 200"), head
                        pending = pending[size:]
                        if re.search(rb"(?i)\r\nconnection: *close", head):
                            connection.close()
                            connection = socket.create_connection(("127.0.0.1", port))
                        break
                chunk = connection.recv(65536)
                assert chunk, "the server closed the connection"
                pending += chunk
    finally:
        connection.close()


@dataclass
class Count:
    thread: float  # instructions per request, request thread
    process: float  # all threads
    events: dict[str, float]  # per request, request thread: every event callgrind counted


def count(server: str, app: str, *, flood: bool = False, simulate: bool = False) -> Count:
    port = free_port()
    folder = Path(tempfile.mkdtemp())
    output = folder / "callgrind.out"
    env = {**os.environ, "CONSENTKIT_BENCH_GEOIP": str(country_database()),
           "PYTHONHASHSEED": "0"}  # fmt: skip
    if not flood:  # no flush among the counted requests (the module's docstring)
        env["CONSENTKIT_BENCH_FLUSH_INTERVAL"] = "3600"
    simulation = ["--cache-sim=yes", "--branch-sim=yes"] if simulate else []
    command = ["valgrind", "--tool=callgrind", "--separate-threads=yes", *simulation,
               f"--callgrind-out-file={output}", sys.executable,
               *server_command(server, app, port, in_process=True)]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=HERE, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_for(port)
        requests = Flood(port) if flood else None
        warm_up(port, requests)
        if requests:
            send(port, FLOOD_WARM_UP, requests)
        _control("-z", process.pid)
        send(port, REQUESTS, requests)
        _control("-d", process.pid)
    finally:
        process.terminate()
        process.wait()
    return read_dumps(folder, REQUESTS)


def read_dumps(folder: Path, requests: int) -> Count:
    """The counts per request of callgrind's dump (part 1, after the zeroing) in
    ``folder``, one file per thread; the folder is removed."""
    totals = {}  # thread number -> instructions
    events: dict[str, float] = {}
    for dump in folder.glob("callgrind.out.1-*"):
        text = dump.read_text(errors="replace")
        match = re.search(r"^summary: *([\d ]+)$", text, re.M)
        if match:
            thread = int(dump.name.rsplit("-", 1)[1])
            totals[thread] = int(match.group(1).split()[0])
            names = re.search(r"^events: *(.+)$", text, re.M)
            if thread == 1 and names:
                values = (int(v) / requests for v in match.group(1).split())
                events = dict(zip(names.group(1).split(), values, strict=False))
    shutil.rmtree(folder)
    assert 1 in totals, f"no dump of the request thread: {sorted(totals)}"
    return Count(totals[1] / requests, sum(totals.values()) / requests, events)


def estimated_cycles(events: dict[str, float]) -> float:
    """KCachegrind's cycle estimation from callgrind's simulated events: each instruction
    a cycle, each first-level cache miss and mispredicted branch 10, each last-level miss
    100."""
    first = sum(events.get(e, 0.0) for e in ("I1mr", "D1mr", "D1mw"))
    last = sum(events.get(e, 0.0) for e in ("ILmr", "DLmr", "DLmw"))
    branches = events.get("Bcm", 0.0) + events.get("Bim", 0.0)
    return events["Ir"] + 10 * (first + branches) + 100 * last


def cycles(servers: list[str]) -> None:
    """Prints the returning visitor's request under callgrind's cache and branch
    simulation (``--cycles``): bare, with the floor of throughput_apps.py (a minimal
    middleware adding ``Vary: Cookie``) and with consentkit. Instructions alone weigh the
    middleware lighter than time does; the simulation shows where the rest goes."""
    print(f"\nthe returning visitor's request under callgrind's cache and branch simulation,"
          f" {REQUESTS} requests, request thread, per request")  # fmt: skip
    print(f"  {'server':26} {'app':10} {'instructions':>12} {'L1 misses':>10}"
          f" {'mispredicted':>12} {'est. cycles':>12} {'bare / app':>10}")  # fmt: skip
    for server in servers:
        found = {app: count(server, app, simulate=True) for app in ("bare", "vary_only", "consent")}
        base = estimated_cycles(found["bare"].events)
        for app, result in found.items():
            e = result.events
            misses = sum(e.get(k, 0.0) for k in ("I1mr", "D1mr", "D1mw"))
            mispredicted = e.get("Bcm", 0.0) + e.get("Bim", 0.0)
            estimate = estimated_cycles(e)
            print(f"  {server:26} {app:10} {e['Ir']:12,.0f} {misses:10,.0f}"
                  f" {mispredicted:12,.0f} {estimate:12,.0f} {base / estimate:10.3f}")  # fmt: skip


def in_process(*, cold: bool = False) -> None:
    """Prints the returning visitor's request in-process, with no server (``--in-process``,
    in_process.py): bare, the floor and consentkit, each under callgrind's cache and
    branch simulation (the three at once), then timed by the CPU time of a process of
    their own (rounds in turn). Without a server's system calls between two requests, the
    simulation's estimate of cycles can be held against the time, app by app: where the
    two ratios agree, the simulation's misses say where the time goes.

    With ``cold`` (``--in-process --cold``), each request comes after 2 MB read
    elsewhere (in_process.py's ``evict``), the simulated last level is this machine's
    second-level cache (1 MB, 16-way), and what the simulation adds is how many lines of
    code and of data each request has to fetch from beyond it; the eviction's own counts
    (in_process.py ``nothing``) are taken out. The time is of each request alone."""
    import in_process as lab

    env = {**os.environ, "CONSENTKIT_BENCH_GEOIP": str(country_database())}
    apps = (*lab.APPS, "nothing") if cold else lab.APPS
    last_level = ["--LL=1048576,16,64"] if cold else []  # (callgrind's option)
    mode = ["--cold"] if cold else []  # (in_process.py's)
    requests = lab.COLD_REQUESTS if cold else lab.REQUESTS
    runs = {}  # app -> (its process under callgrind, the folder of its dumps), all at once
    for app in apps:
        folder = Path(tempfile.mkdtemp())
        command = ["valgrind", "--tool=callgrind", "--separate-threads=yes",
                   "--cache-sim=yes", "--branch-sim=yes", *last_level,
                   f"--callgrind-out-file={folder / 'callgrind.out'}",
                   sys.executable, "in_process.py", app, *mode]  # fmt: skip
        process = subprocess.Popen(
            command, cwd=HERE, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        runs[app] = (process, folder)
    simulated = {}
    for app, (process, folder) in runs.items():
        assert process.wait() == 0, f"{app} under callgrind: exit status {process.returncode}"
        simulated[app] = read_dumps(folder, requests).events
    if cold:  # the eviction's own counts taken out
        eviction = simulated.pop("nothing")
        simulated = {app: {k: v - eviction.get(k, 0.0) for k, v in e.items()}
                     for app, e in simulated.items()}  # fmt: skip
    # timed in a new process of its own (this one's heap, with the database built in it,
    # is not the heap of a process that serves)
    timing = [sys.executable, "in_process.py", "--timed", *mode]
    times = json.loads(subprocess.run(timing, cwd=HERE, env=env, check=True, capture_output=True,
                                      text=True).stdout)  # fmt: skip
    if cold:
        print(
            f"\nthe returning visitor's request in-process (no server), GeoIP configured, each"
            f" request after 2 MB read elsewhere: {requests} requests under callgrind's cache"
            f" simulation (last level 1 MB, as this machine's second level), the eviction's"
            f" own counts taken out, and wall time (median of {lab.COLD_TIMED} requests"
            f" timed one by one, the apps in turn), per request"
        )
    else:
        print(
            f"\nthe returning visitor's request in-process (no server), GeoIP configured:"
            f" {requests} requests under callgrind's cache and branch simulation, and"
            f" CPU time (median of {lab.ROUNDS} rounds of {lab.TIMED_REQUESTS}), per request"
        )
    print("  request path:", "compiled" if is_compiled() else "pure Python")
    if cold:
        print(f"  {'app':10} {'instructions':>12} {'I1 misses':>9} {'code lines':>10}"
              f" {'data lines':>10} {'µs':>7} {'bare / app':>10}")  # fmt: skip
        for app, e in simulated.items():
            print(f"  {app:10} {e['Ir']:12,.0f} {e.get('I1mr', 0.0):9,.0f}"
                  f" {e.get('ILmr', 0.0):10,.0f} {e.get('DLmr', 0.0) + e.get('DLmw', 0.0):10,.0f}"
                  f" {times[app]:7.2f} {times['bare'] / times[app]:10.3f}")  # fmt: skip
        print("  (code lines, data lines: fetched from beyond the second-level cache)")
        return
    print(f"  {'app':10} {'instructions':>12} {'I1 misses':>9} {'D1 misses':>9}"
          f" {'mispredicted':>12} {'est. cycles':>11} {'bare / app':>10} {'CPU µs':>7}"
          f" {'bare / app':>10}")  # fmt: skip
    base, base_time = estimated_cycles(simulated["bare"]), times["bare"]
    for app, e in simulated.items():
        estimate = estimated_cycles(e)
        print(f"  {app:10} {e['Ir']:12,.0f} {e.get('I1mr', 0.0):9,.0f}"
              f" {e.get('D1mr', 0.0) + e.get('D1mw', 0.0):9,.0f}"
              f" {e.get('Bcm', 0.0) + e.get('Bim', 0.0):12,.0f} {estimate:11,.0f}"
              f" {base / estimate:10.3f} {times[app]:7.2f}"
              f" {base_time / times[app]:10.3f}")  # fmt: skip


def warm_up(port: int, requests: Callable[[], bytes] | None = None) -> None:
    """``WARM_UP`` requests, and more until ``WARM_UP_SECONDS`` have passed: under the
    flood, the flusher's first run (each second) imports anyio's thread machinery once,
    about 90,000 instructions a request if it fell among the counted ones."""
    deadline = time.monotonic() + WARM_UP_SECONDS
    send(port, WARM_UP, requests)
    while time.monotonic() < deadline:
        send(port, 50, requests)


def _control(option: str, pid: int) -> None:
    subprocess.run(["callgrind_control", option, str(pid)], check=True, capture_output=True)


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 400  # under the cache simulation, start-up takes minutes
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)  # the server under callgrind starts slowly
    raise RuntimeError(f"no server on port {port}")


def main(servers: list[str]) -> dict[str, tuple[float, float]]:
    """Prints the counts; returns, per server, bare / consent and flood / bare on the
    request thread."""
    print(f"\ninstructions per request, {REQUESTS} requests after {WARM_UP} (and"
          f" {WARM_UP_SECONDS:.0f} s; the flood after {FLOOD_WARM_UP}), one server process"
          " under callgrind, GeoIP configured")  # fmt: skip
    print("  request path:", "compiled" if is_compiled() else "pure Python")
    print(f"  {'server':26} {'app':13} {'request thread':>10} {'all threads':>12}")
    ratios = {}
    for server in servers:
        bare, floor, consent = (count(server, app) for app in ("bare", "vary_only", "consent"))
        bare_flood = count(server, "bare", flood=True)
        flood = count(server, "consent", flood=True)
        for name, found in (
            ("bare", bare), ("floor", floor), ("consent", consent),
            ("bare, flooded", bare_flood), ("flood", flood),
        ):  # fmt: skip
            print(f"  {server:26} {name:13} {found.thread:10,.0f} {found.process:12,.0f}")
        ratios[server] = (bare.thread / consent.thread, flood.thread / bare_flood.thread)
        print(f"  {'':26} bare / consent: {ratios[server][0]:.3f} (request thread),"
              f" {bare.process / consent.process:.3f} (all threads); the middleware adds"
              f" {consent.thread - bare.thread:,.0f} instructions per request"
              f" (budget >= {SERVERS[server][1]})")  # fmt: skip
        print(f"  {'':26} the floor (a minimal middleware adding Vary: Cookie): bare / floor"
              f" {bare.thread / floor.thread:.3f}, {floor.thread - bare.thread:,.0f}"
              f" instructions; consentkit {consent.thread - floor.thread:,.0f} more")  # fmt: skip
        strict = flood.thread / bare.thread
        print(f"  {'':26} flood / bare, both flooded: {ratios[server][1]:.3f} (request"
              f" thread), {flood.process / bare_flood.process:.3f} (all threads)"
              f" (budget <= 3); against the returning visitor's bare: {strict:.3f}")  # fmt: skip
    return ratios


@pytest.mark.benchmark
def test_instructions_budget() -> None:
    if shutil.which("valgrind") is None:
        pytest.skip("valgrind is not installed (apt-get install valgrind)")
    for server, (ratio, flood) in main(list(SERVERS)).items():
        assert ratio >= SERVERS[server][1], server
        assert flood <= 3.0, server


if __name__ == "__main__":
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    wanted = [a for a in sys.argv[1:] if a not in ("--cycles", "--in-process", "--cold")]
    chosen = [name for name in SERVERS if not wanted or any(a in name for a in wanted)]
    if "--in-process" in sys.argv:
        in_process(cold="--cold" in sys.argv)
    elif "--cycles" in sys.argv:
        cycles(chosen)
    else:
        main(chosen)
