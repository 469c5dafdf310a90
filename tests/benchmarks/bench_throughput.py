"""HTTP throughput under real servers, with and without the middleware.

    python tests/benchmarks/bench_throughput.py [server ...]
    pytest tests/benchmarks/bench_throughput.py -s     # also asserts the budgets

8 pairs (``CONSENTKIT_BENCH_ROUNDS``; 10 by default) of the three servers took an hour on a
busy 2-core machine, hypercorn half of it.

Needs ``wrk`` (Debian: ``apt-get install wrk``) and the ``bench`` extra (uvloop,
httptools, hypercorn). The hello-world apps of ``throughput_apps.py`` are served by one
process of each server at a time: uvicorn with httptools and uvloop, uvicorn with h11 and
asyncio, and hypercorn (h11, asyncio). wrk (one thread, 32 connections, in its own
process) sends:

- **returning**: a returning visitor who granted analytics: the decision and visitor-ID
  cookies, a Chrome user agent, an address of the country database (``X-Forwarded-For``
  from the trusted proxy); every request is a counted page view;
- **flood**: every request new: a user agent from uap-core's three corpora (over 17,000
  distinct strings in turn, each new to the classifier's cache of 4,096), a random address, a new
  visitor ID, the same decision cookie; served by a process of its own, so that the
  returning visitor's figure does not inherit a heap filled by thousands of new visitors,
  and sent in pairs of runs with the bare app under the same flood: a flood request's
  cost is held against a bare request's under the same requests (uvicorn's own work on
  a new forwarded address and on longer headers, 10-15% of a bare request, is in both);
  the ratio to the returning visitor's bare request is printed beside it;
- **floor**: the returning visitor's requests to ``throughput_apps.vary_only``, a minimal
  middleware written the usual way that adds ``Vary: Cookie`` and does nothing else (in
  pairs with the bare app too): what any middleware that must touch every page response
  pays under the server, for scale.

The country database is configured (``geo_data.py``). On a machine shared with others,
time figures drift by 10-30% from one second to the next (and by 3x from one hour to the
next), so the bare and consent servers are measured in **pairs**, and the ratio of each
pair is kept: the median of the pairs' ratios is the figure, their quartiles its spread,
and a 90% interval of the median (the pairs resampled) says whether the run tells it from
the budget. The two servers of a pair run **at the same time, side by side on one CPU**,
each loaded by a wrk of its own (both on the other CPU): whatever the machine's other
tenants do to the CPU in those two seconds, they do to both, and each server's CPU time
per request is read from /proc. On one CPU the scheduler shares the time between the two,
so their requests per second are printed as well but the **request thread's CPU time per
request** is the figure held to the budget (DESIGN section 8 allows either; with equal
shares, throughput is its inverse). ``CONSENTKIT_BENCH_APART=1`` runs the two one after
the other instead (bare first, then consent first, in turn), each with the CPU to
itself, and holds throughput to the budget: the measure for a quiet machine. A **twin**
pair (two processes of the bare app side by side) shows the method's own spread.

Each pair is served by **new processes** (warmed up for a second first): a process's
speed depends on where its code and heap happen to land, and two processes of the same app
differ by several percent for their whole lives, so that one process per app would make a
run's figure that process's luck; the median over the pairs is over as many processes.
After each run the servers are left to go idle (polled, until none has used the CPU for
longer than the flush interval): the run's last flush (after the flood, thousands of new
user agents classified first) is counted in that run's CPU time, not left to land on the
next run. With two CPUs or more, the servers run on one and wrk on another
(``taskset``). The server's CPU time per request is read for the process as a whole and
for its **request thread** alone (DESIGN section 8: the flusher's thread does not count).
Budgets: with / without >= 0.90 under uvicorn httptools+uvloop, >= 0.95 under h11 and
hypercorn; a flood request costs at most 3x a bare one (flooded too).
``bench_instructions.py`` counts the same requests' instructions under callgrind, the
figure that the machine's noise does not move.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import itsdangerous
import pytest
from geo_data import country_database
from realistic_site import corpus_agents

from consentkit.compiled import is_compiled
from consentkit.consent.keys import DECISION_SALT

HERE = Path(__file__).resolve().parent
PAIRS = int(os.environ.get("CONSENTKIT_BENCH_ROUNDS", "10"))  # pairs of runs per server
SECONDS = int(os.environ.get("CONSENTKIT_BENCH_SECONDS", "2"))
# The two servers of a pair one after the other instead of at the same time (the docstring).
APART = os.environ.get("CONSENTKIT_BENCH_APART", "") not in ("", "0")
# The server on one CPU, wrk on another, where the machine has two.
PINNED = shutil.which("taskset") is not None and len(os.sched_getaffinity(0)) >= 2
SERVER_CPU, LOAD_CPU = sorted(os.sched_getaffinity(0))[:2] if PINNED else (0, 0)
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
SERVERS = {  # name -> command line before the app, budget for returning / bare
    "uvicorn httptools+uvloop": (
        ["-m", "uvicorn", "--http", "httptools", "--loop", "uvloop"], 0.90),
    "uvicorn h11": (["-m", "uvicorn", "--http", "h11", "--loop", "asyncio"], 0.95),
    "hypercorn": (["-m", "hypercorn"], 0.95),  # one worker process (server_command)
}  # fmt: skip
FLOOD_SCRIPT = """
local n = 0
local hex = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_"
math.randomseed(os.time())
request = function()
  n = n + 1
  local agent = AGENTS[(n % #AGENTS) + 1]
  local address = math.random(1, 223) .. "." .. math.random(0, 255) .. "."
    .. math.random(0, 255) .. "." .. math.random(1, 254)
  local id = {}
  for i = 1, 22 do
    local k = math.random(1, 64)
    id[i] = hex:sub(k, k)
  end
  return wrk.format("GET", "/", {["User-Agent"] = agent, ["X-Forwarded-For"] = address,
                                 ["Cookie"] = DECISION .. "; consentkit_id=" .. table.concat(id)})
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_command(server: str, app: str, port: int, *, in_process: bool = False) -> list[str]:
    """The command line serving ``throughput_apps.<app>`` on ``port`` (after the Python
    executable). ``in_process``: hypercorn serves from the process it was started as
    (``--workers 0``: the same serving code as its worker's, for callgrind to follow)."""
    arguments, _ = SERVERS[server]
    if server == "hypercorn":
        workers = "0" if in_process else "1"
        return [*arguments, "--workers", workers, "--bind", f"127.0.0.1:{port}",
                f"throughput_apps:{app}"]  # fmt: skip
    return [*arguments, "--port", str(port), "--log-level", "warning", "--no-access-log",
            f"throughput_apps:{app}"]  # fmt: skip


def serve(server: str, app: str, port: int) -> subprocess.Popen[bytes]:
    command = server_command(server, app, port)
    env = {**os.environ, "CONSENTKIT_BENCH_GEOIP": str(country_database())}
    pin = ["taskset", "-c", str(SERVER_CPU)] if PINNED else []
    process = subprocess.Popen([*pin, sys.executable, *command], cwd=HERE, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.1)  # waiting for a server process to listen, not for a flush
    process.kill()
    raise RuntimeError(f"{server} did not start {app}")


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU time of a process and its live children (hypercorn's worker):
    all their threads, and their main threads alone (where requests are served)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = main = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(stat.parent.name) != pid and int(fields[1]) != pid:
                continue
            total += (int(fields[11]) + int(fields[12])) / tick
            thread = (stat.parent / "task" / stat.parent.name / "stat").read_text()
        except OSError:
            continue
        fields = thread.rsplit(")", 1)[1].split()
        main += (int(fields[11]) + int(fields[12])) / tick
    return total, main


def flood_agents() -> list[str]:
    """The flood's user agents: every distinct string of uap-core's three corpora (17,000
    and more, against the classifier's cache of 4,096: each is new to it when it comes
    round again) that an HTTP header can carry, shuffled."""
    agents = [a for a in corpus_agents() if "]==]" not in a and a.isascii() and a.isprintable()]
    agents = agents or [CHROME]
    random.Random(3).shuffle(agents)
    return agents


def lua_agents() -> str:
    """The flood's user agents as a Lua table (for wrk's script)."""
    return "AGENTS = {" + ",\n".join(f"[==[{agent}]==]" for agent in flood_agents()) + "}\n"


SERVING: list[int] = []  # the server processes of the benchmark (settled after each run)


@dataclass
class Run:
    per_second: float
    cpu_us: float  # server CPU per request, all threads
    thread_us: float  # the request thread's alone


def settle(pids: list[int], quiet: float = 1.3, timeout: float = 15.0) -> None:
    """Polls until none of the servers has used the CPU for ``quiet`` seconds (longer than
    the flush interval, 1 s): after a run, a server's flusher stores what it counted
    (after the flood, classifying thousands of new user agents first), on the CPU that
    the next run's server shares. That work is counted in the run's CPU time, and kept
    out of the next run."""
    deadline = time.monotonic() + timeout
    last = [cpu_seconds(pid)[0] for pid in pids]
    changed = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)  # a polling interval
        now = [cpu_seconds(pid)[0] for pid in pids]
        if now != last:
            last, changed = now, time.monotonic()
        elif time.monotonic() - changed >= quiet:
            return


def wrk_command(port: int, cookie: str, script: Path | None, seconds: int) -> list[str]:
    command = ["wrk", "-t1", "-c32", f"-d{seconds}s", "-H", f"Cookie: {cookie}",
               "-H", f"User-Agent: {CHROME}", "-H", "X-Forwarded-For: 81.2.69.142",
               "-H", "Accept: text/html"]  # fmt: skip
    if PINNED:
        command = ["taskset", "-c", str(LOAD_CPU), *command]
    if script is not None:
        command += ["-s", str(script)]
    return [*command, f"http://127.0.0.1:{port}/"]


def load_together(
    servers: list[tuple[int, int]], cookie: str, script: Path | None = None,
    seconds: int = SECONDS,
) -> list[Run]:  # fmt: skip
    """Loads the servers (port, pid) at the same time, each with a wrk of its own (all on
    the load CPU), and reads each one's CPU time per request."""
    before = [cpu_seconds(pid) for _, pid in servers]
    loads = [
        subprocess.Popen(
            wrk_command(port, cookie, script, seconds), stdout=subprocess.PIPE, text=True
        )
        for port, _ in servers
    ]
    outputs = [process.communicate()[0] for process in loads]
    assert all(process.returncode == 0 for process in loads), outputs
    settle(SERVING)  # the last flush of these requests counts too, before the next run
    runs = []
    for output, (_, pid), (total_before, main_before) in zip(outputs, servers, before, strict=True):
        total_after, main_after = cpu_seconds(pid)
        rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
        total = re.search(r"(\d+) requests in", output)
        assert rate and total, output
        assert "Non-2xx" not in output, output
        n = int(total.group(1))
        runs.append(Run(float(rate.group(1)), (total_after - total_before) / n * 1e6,
                        (main_after - main_before) / n * 1e6))  # fmt: skip
    return runs


def load(
    port: int, pid: int, cookie: str, script: Path | None = None, seconds: int = SECONDS
) -> Run:
    return load_together([(port, pid)], cookie, script, seconds)[0]


@dataclass
class Figures:
    bare: list[Run]
    returning: list[Run]
    flood: list[Run]
    bare_flood: list[Run]  # the bare app under the flood's requests
    floor: list[Run]  # throughput_apps.vary_only: a minimal middleware adding Vary: Cookie
    bare_floor: list[Run]  # the bare app, paired with the floor
    twin: list[Run]  # a second bare process, paired with the first: the method's own spread
    bare_twin: list[Run]

    def ratios(self, name: str, of: str, bare: str = "bare") -> list[float]:
        """Per pair: returning / bare by throughput, or bare / returning by CPU; flood /
        bare by CPU."""
        pairs = zip(getattr(self, bare), getattr(self, name), strict=True)
        if of == "per_second":
            return [other.per_second / base.per_second for base, other in pairs]
        if name == "flood":
            return [getattr(other, of) / getattr(base, of) for base, other in pairs]
        return [getattr(base, of) / getattr(other, of) for base, other in pairs]


def decision_cookie() -> str:
    """The returning visitor's decision cookie (analytics granted), signed for the apps."""
    secret = "throughput-secret-of-32-characters-or-more"  # throughput_apps.SECRET
    decision = itsdangerous.TimestampSigner(secret, salt=DECISION_SALT)
    return "consentkit=" + decision.sign("1|analytics|AAAAAAAAAAAAAAAAAAAAAA").decode()


RETURNING_COOKIE = f"{decision_cookie()}; consentkit_id=BBBBBBBBBBBBBBBBBBBBBB"


def measure(servers: list[str]) -> dict[str, Figures]:
    cookie = RETURNING_COOKIE
    script = Path(tempfile.mkdtemp()) / "flood.lua"
    script.write_text(f'DECISION = "{decision_cookie()}"\n' + lua_agents() + FLOOD_SCRIPT)
    figures: dict[str, Figures] = {}
    for server in servers:
        found = Figures([], [], [], [], [], [], [], [])
        for n in range(PAIRS):
            measure_pair(server, n, found, cookie, script)
        figures[server] = found
    return figures


APPS = (  # the servers of a pair: (its name in Figures, the app of throughput_apps.py)
    ("bare", "bare"), ("returning", "consent"),
    ("bare_twin", "bare"), ("twin", "bare"),
    ("bare_floor", "bare"), ("floor", "vary_only"),
    ("bare_flood", "bare"), ("flood", "consent"),
)  # fmt: skip


def measure_pair(server: str, n: int, found: Figures, cookie: str, script: Path) -> None:
    """One pair of runs of each kind, on server processes started for this pair alone
    (why: the module's docstring), each process in one pair only: both servers of a pair
    come to it having served the warm-up alone (a process that has served runs before is
    not the same, by up to 5% under hypercorn). The two servers of a pair run at the same
    time, on one CPU (``APART``: one after the other)."""
    started = {name: (port := free_port(), serve(server, app, port)) for name, app in APPS}
    SERVING[:] = [process.pid for _, process in started.values()]
    turn = -1 if n % 2 else 1  # in turn, the middleware's server first
    try:
        for port, process in started.values():
            load(port, process.pid, cookie, seconds=1)  # warm up
        for (first, _), (second, _) in zip(APPS[::2], APPS[1::2], strict=True):
            names = [first, second][::turn]
            servers = [(started[name][0], started[name][1].pid) for name in names]
            flood = script if second == "flood" else None
            if APART:
                runs = [load(port, pid, cookie, flood) for port, pid in servers]
            else:
                runs = load_together(servers, cookie, flood)
            for name, run in zip(names, runs, strict=True):
                getattr(found, name).append(run)
    finally:
        for _, process in started.values():
            process.terminate()
            process.wait()


def _spread(values: list[float]) -> str:
    low, _, high = statistics.quantiles(values, n=4) if len(values) > 1 else (values * 3)
    return f"{statistics.median(values):.3f} ({low:.2f}-{high:.2f})"


def median_interval(values: list[float], *, resamples: int = 4000) -> tuple[float, float]:
    """A 90% interval for the median of the pairs' ratios: the pairs resampled with
    replacement (a bootstrap, seeded: the same figures give the same interval). The
    quartiles say how far one pair strays; this says how far the median itself might."""
    pick = random.Random(0).choices
    medians = sorted(statistics.median(pick(values, k=len(values))) for _ in range(resamples))
    return medians[int(0.05 * resamples)], medians[int(0.95 * resamples) - 1]


def verdict(values: list[float], budget: float) -> str:
    """Whether the pairs show a ratio at or above ``budget``: met, not met, or (where the
    median's 90% interval holds the budget) not told apart from it by this run."""
    if len(values) < 5:
        return f"too few pairs ({len(values)}) to tell"
    low, high = median_interval(values)
    where = f"90% interval of the median {low:.3f}-{high:.3f}"
    if low >= budget:
        return f"met ({where})"
    if high < budget:
        return f"not met ({where})"
    return f"not told apart from the budget by this run ({where})"


def report(figures: dict[str, Figures]) -> dict[str, tuple[float, float]]:
    """Prints the figures; returns, per server, the returning visitor's ratio that the
    budget holds (by request-thread CPU side by side, by throughput apart) and the
    flood's."""
    ratios = {}
    pinned = "servers and wrk on CPUs of their own" if PINNED else "not pinned"
    together = "one after the other" if APART else "at the same time on one CPU"
    print(f"\nnew server processes for each pair, the pair's two {together}, wrk -t1 -c32,"
          f" {PAIRS} pairs of {SECONDS} s runs, GeoIP configured, {pinned}")  # fmt: skip
    print("  request path:", "compiled" if is_compiled() else "pure Python")
    print(f"  {'server':26} {'app':10} {'req/s':>8} {'CPU us/req':>11} {'thread us':>10}")
    for server, found in figures.items():
        for name in ("bare", "returning", "floor", "twin", "bare_flood", "flood"):
            runs = getattr(found, name)
            print(f"  {server:26} {name:10} {statistics.median(r.per_second for r in runs):8.0f}"
                  f" {statistics.median(r.cpu_us for r in runs):11.1f}"
                  f" {statistics.median(r.thread_us for r in runs):10.1f}")  # fmt: skip
        throughput = found.ratios("returning", "per_second")
        thread = found.ratios("returning", "thread_us")
        flood = found.ratios("flood", "cpu_us", "bare_flood")
        strict = found.ratios("flood", "cpu_us")
        budget = SERVERS[server][1]
        held, by = (throughput, "throughput") if APART else (thread, "request-thread CPU")
        print(
            f"  {'':26} returning / bare, median of the pairs (quartiles): {_spread(thread)}"
            f" by request-thread CPU, {_spread(throughput)} by throughput (budget >= {budget})"
        )
        print(f"  {'':26}   by {by}: {verdict(held, budget)}")
        for name, label in (
            ("floor", "the floor, a minimal middleware adding Vary: Cookie (throughput_apps"
                      ".vary_only)"),
            ("twin", "a second bare process (the method's own spread: 1 ideally)"),
        ):  # fmt: skip
            cpu = found.ratios(name, "thread_us", f"bare_{name}")
            rate = found.ratios(name, "per_second", f"bare_{name}")
            print(f"  {'':26} {label} / bare: {_spread(cpu)} by request-thread CPU,"
                  f" {_spread(rate)} by throughput")  # fmt: skip
        print(f"  {'':26} a flood request costs {_spread(flood)}x a bare one by server CPU,"
              " both apps flooded (budget <= 3)")  # fmt: skip
        print(f"  {'':26}   against the returning visitor's bare request: {_spread(strict)}x")
        ratios[server] = (statistics.median(held), statistics.median(flood))
    return ratios


@pytest.mark.benchmark
def test_throughput_budget() -> None:
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (apt-get install wrk)")
    ratios = report(measure(list(SERVERS)))
    for server, (returning, flood) in ratios.items():
        assert returning >= SERVERS[server][1], server
        assert flood <= 3.0, server


if __name__ == "__main__":
    chosen = [name for name in SERVERS if not sys.argv[1:] or any(a in name for a in sys.argv[1:])]
    report(measure(chosen))
