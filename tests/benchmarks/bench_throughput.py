"""HTTP throughput under real servers, with and without the middleware.

    python tests/benchmarks/bench_throughput.py
    pytest tests/benchmarks/bench_throughput.py -s     # also asserts the budgets

Needs ``wrk`` (Debian: ``apt-get install wrk``) and the ``bench`` extra (uvloop,
httptools, hypercorn). The hello-world apps of ``throughput_apps.py`` are served by one
process of each server: uvicorn with httptools and uvloop, uvicorn with h11 and asyncio,
and hypercorn (h11, asyncio). wrk (one thread, 32 connections, in its own process) sends:

- **returning**: a returning visitor who granted analytics: the decision and visitor-ID
  cookies, a Chrome user agent, an address of the country database (``X-Forwarded-For``
  from the trusted proxy); every request is a counted page view;
- **flood**: every request new: a user agent from uap-core's test_ua.yaml (1,600 distinct
  strings, so new to the classifier's cache most of the time), a random address, a new
  visitor ID, the same decision cookie.

The country database is configured (``geo_data.py``). Bare and consent servers alternate
over the rounds and the median is kept; beside requests per second, the server process's
CPU time per request (from /proc) is printed, the figure least disturbed by the load
generator sharing the machine. Budgets (DESIGN section 8): throughput with / without
>= 0.90 under uvicorn httptools+uvloop, >= 0.95 under h11 and hypercorn; a flood request
costs at most 3x a bare one.
"""

from __future__ import annotations

import os
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

from consentkit.compiled import is_compiled
from consentkit.consent.keys import DECISION_SALT

HERE = Path(__file__).resolve().parent
UAP = HERE.parents[2] / "shared" / "testdata" / "uap-core" / "test_ua.yaml"
ROUNDS = int(os.environ.get("CONSENTKIT_BENCH_ROUNDS", "3"))
SECONDS = int(os.environ.get("CONSENTKIT_BENCH_SECONDS", "4"))
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
SERVERS = {  # name -> command line before the app, budget for returning / bare
    "uvicorn httptools+uvloop": (
        ["-m", "uvicorn", "--http", "httptools", "--loop", "uvloop"], 0.90),
    "uvicorn h11": (["-m", "uvicorn", "--http", "h11", "--loop", "asyncio"], 0.95),
    "hypercorn": (["-m", "hypercorn", "--workers", "1"], 0.95),
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


def serve(server: str, app: str, port: int) -> subprocess.Popen[bytes]:
    arguments, _ = SERVERS[server]
    if server == "hypercorn":
        command = [*arguments, "--bind", f"127.0.0.1:{port}", f"throughput_apps:{app}"]
    else:
        command = [*arguments, "--port", str(port), "--log-level", "warning", "--no-access-log",
                   f"throughput_apps:{app}"]  # fmt: skip
    env = {**os.environ, "CONSENTKIT_BENCH_GEOIP": str(country_database())}
    process = subprocess.Popen([sys.executable, *command], cwd=HERE, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.1)  # waiting for a server process to listen, not for a flush
    process.kill()
    raise RuntimeError(f"{server} did not start {app}")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process and its live children (hypercorn's worker)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def lua_agents() -> str:
    agents = [CHROME]
    if UAP.exists():
        found = re.findall(r"^\s*- user_agent_string: '(.*)'\s*$", UAP.read_text(), re.M)
        found += re.findall(r'^\s*- user_agent_string: "(.*)"\s*$', UAP.read_text(), re.M)
        agents = sorted({a.replace("''", "'") for a in found if "]==]" not in a and a.isascii()})
    return "AGENTS = {" + ",\n".join(f"[==[{agent}]==]" for agent in agents) + "}\n"


@dataclass
class Run:
    per_second: float
    cpu_us: float  # server CPU per request


def load(port: int, pid: int, cookie: str, script: Path | None = None) -> Run:
    command = ["wrk", "-t1", "-c32", f"-d{SECONDS}s", "-H", f"Cookie: {cookie}",
               "-H", f"User-Agent: {CHROME}", "-H", "X-Forwarded-For: 81.2.69.142",
               "-H", "Accept: text/html"]  # fmt: skip
    if script is not None:
        command += ["-s", str(script)]
    before = cpu_seconds(pid)
    output = subprocess.run(
        [*command, f"http://127.0.0.1:{port}/"], capture_output=True, text=True, check=True
    ).stdout
    spent = cpu_seconds(pid) - before
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    assert rate and total, output
    assert "Non-2xx" not in output, output
    return Run(float(rate.group(1)), spent / int(total.group(1)) * 1e6)


def measure(servers: list[str]) -> dict[str, dict[str, Run]]:
    decision = (
        itsdangerous.TimestampSigner(
            "throughput-secret-of-32-characters-or-more", salt=DECISION_SALT
        )
        .sign("1|analytics|AAAAAAAAAAAAAAAAAAAAAA")
        .decode()
    )
    cookie = f"consentkit={decision}; consentkit_id=BBBBBBBBBBBBBBBBBBBBBB"
    script = Path(tempfile.mkdtemp()) / "flood.lua"
    script.write_text(f'DECISION = "consentkit={decision}"\n' + lua_agents() + FLOOD_SCRIPT)
    figures: dict[str, dict[str, Run]] = {}
    for server in servers:
        started = {
            app: (port := free_port(), serve(server, app, port)) for app in ("bare", "consent")
        }
        runs: dict[str, list[Run]] = {"bare": [], "returning": [], "flood": []}
        try:
            for port, process in started.values():
                load(port, process.pid, cookie)  # warm up
            for _ in range(ROUNDS):
                port, process = started["bare"]
                runs["bare"].append(load(port, process.pid, cookie))
                port, process = started["consent"]
                runs["returning"].append(load(port, process.pid, cookie))
                runs["flood"].append(load(port, process.pid, cookie, script))
        finally:
            for _, process in started.values():
                process.terminate()
                process.wait()
        figures[server] = {
            name: Run(statistics.median(r.per_second for r in values),
                      statistics.median(r.cpu_us for r in values))
            for name, values in runs.items()
        }  # fmt: skip
    return figures


def report(figures: dict[str, dict[str, Run]]) -> dict[str, tuple[float, float, float]]:
    ratios = {}
    print(f"\none server process, wrk -t1 -c32, median of {ROUNDS} x {SECONDS} s, GeoIP configured")
    print("  request path:", "compiled" if is_compiled() else "pure Python")
    print(f"  {'server':26} {'app':10} {'req/s':>8} {'CPU us/req':>11} {'vs bare':>8}")
    for server, runs in figures.items():
        bare = runs["bare"]
        for name, run in runs.items():
            print(f"  {server:26} {name:10} {run.per_second:8.0f} {run.cpu_us:11.1f}"
                  f" {run.per_second / bare.per_second:8.3f}")  # fmt: skip
        throughput = runs["returning"].per_second / bare.per_second
        cpu_ratio = bare.cpu_us / runs["returning"].cpu_us
        flood = runs["flood"].cpu_us / bare.cpu_us
        budget = SERVERS[server][1]
        print(f"  {'':26} returning / bare: {throughput:.3f} by throughput, {cpu_ratio:.3f} by"
              f" server CPU (budget >= {budget}); a flood request costs {flood:.2f}x a bare"
              " one by server CPU (budget <= 3)")  # fmt: skip
        ratios[server] = (throughput, cpu_ratio, flood)
    return ratios


@pytest.mark.benchmark
def test_throughput_budget() -> None:
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (apt-get install wrk)")
    ratios = report(measure(list(SERVERS)))
    for server, (throughput, _, flood) in ratios.items():
        assert throughput >= SERVERS[server][1], server
        assert flood <= 3.0, server


if __name__ == "__main__":
    chosen = [name for name in SERVERS if not sys.argv[1:] or any(a in name for a in sys.argv[1:])]
    report(measure(chosen))
