"""HTTP throughput of a hello-world app under uvicorn, with and without the middleware.

    python tests/benchmarks/bench_throughput.py

Needs `wrk` (Debian: apt-get install wrk). Each app is served by one uvicorn worker; wrk
sends a returning, consented visitor's cookies on every request, so every request is a
counted page view. The apps alternate over several rounds and the median is kept.
"""

from __future__ import annotations

import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import itsdangerous
import pytest

from consentkit.cookies import DECISION_SALT

HERE = Path(__file__).resolve().parent
ROUNDS = 3
SECONDS = 5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(app: str, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", f"throughput_apps:{app}", "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        cwd=HERE,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"uvicorn did not start {app}")


def requests_per_second(port: int, cookie: str) -> float:
    output = subprocess.run(
        ["wrk", "-t1", "-c32", f"-d{SECONDS}s", "-H", f"Cookie: {cookie}",
         "-H", "User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
         "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
         f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, check=True,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    assert match, output
    return float(match.group(1))


def measure() -> dict[str, float]:
    decision = itsdangerous.TimestampSigner("throughput-secret", salt=DECISION_SALT).sign(
        "1|analytics|AAAAAAAAAAAAAAAAAAAAAA").decode()
    cookie = f"consentkit={decision}; consentkit_id=BBBBBBBBBBBBBBBBBBBBBB"
    results: dict[str, list[float]] = {"bare": [], "consent": []}
    servers = {name: (port := free_port(), serve(name, port)) for name in results}
    try:
        for name, (port, _) in servers.items():
            requests_per_second(port, cookie)  # warm up
        for _ in range(ROUNDS):
            for name, (port, _) in servers.items():
                results[name].append(requests_per_second(port, cookie))
    finally:
        for _, process in servers.values():
            process.terminate()
            process.wait()
    return {name: statistics.median(values) for name, values in results.items()}


def report(figures: dict[str, float]) -> float:
    ratio = figures["consent"] / figures["bare"]
    print(f"\nuvicorn, 1 worker, wrk -c32, median of {ROUNDS} x {SECONDS}s")
    print(f"  bare Starlette              {figures['bare']:9.0f} req/s")
    print(f"  with ConsentMiddleware      {figures['consent']:9.0f} req/s")
    print(f"  ratio                       {ratio:9.3f}   (budget >= 0.95)")
    return ratio


@pytest.mark.benchmark
def test_throughput_budget() -> None:
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (apt-get install wrk)")
    assert report(measure()) >= 0.95


if __name__ == "__main__":
    report(measure())
