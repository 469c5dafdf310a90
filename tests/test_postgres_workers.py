"""Four uvicorn processes behind one PostgreSQL database, as a site with several workers
runs: every count and every decision from all of them ends up in the one store."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from consentkit import open_store

WORKERS = 4
VISITORS = 40
VIEWS_EACH = 24
PAGES = ("/", "/items/{item_id}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_workers(
    url: str, folder: Path, workers: list[tuple[subprocess.Popen[bytes], int]]
) -> None:
    """Start the processes (into ``workers``, so that they are stopped whatever happens)
    and wait until each answers."""
    for index in range(WORKERS):
        port = free_port()
        env = {
            **os.environ,
            "CONSENTKIT_TEST_STORE": url,
            "CONSENTKIT_TEST_SPOOL": str(folder / f"spool-{index}.sqlite3"),
            # two flush often, racing each other; two only when they stop
            "CONSENTKIT_TEST_FLUSH_INTERVAL": "0.05" if index % 2 else "3600",
        }
        log = open(folder / f"worker-{index}.log", "wb")  # noqa: SIM115 - the child keeps it
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "postgres_workers_app:app",
                "--port",
                str(port),
                "--app-dir",
                str(Path(__file__).parent),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        workers.append((process, port))
    deadline = time.monotonic() + 30
    for index, (process, port) in enumerate(workers):
        while True:
            assert process.poll() is None, (folder / f"worker-{index}.log").read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "a worker did not start within 30 s"
            time.sleep(0.1)


async def browse(ports: list[int], visitor: int) -> set[str]:
    """One visitor with their own cookie jar: consents on one worker, then reads pages on
    every worker in turn; returns who served them."""
    servers = set()
    # A chosen visitor ID: visitors are HyperLogLog estimates, exact for these 40 only while
    # no two share a register, which fixed IDs (and the app's fixed secret) make true.
    async with httpx.AsyncClient(
        cookies={"consentkit_id": f"workers-visitor-{visitor:06d}"}
    ) as browser:
        first = ports[visitor % WORKERS]
        response = await browser.post(
            f"http://127.0.0.1:{first}/consentkit/consent", json={"action": "accept_all"}
        )
        assert response.status_code == 200
        for n in range(VIEWS_EACH):
            port = ports[(visitor + n) % WORKERS]
            path = "/" if n % 2 else f"/items/{n}"  # PAGES, one view in two each
            response = await browser.get(f"http://127.0.0.1:{port}{path}")
            assert response.status_code == 200
            servers.add(response.text.rsplit(" ", 1)[1].removesuffix("</p>"))
    return servers


async def traffic(ports: list[int]) -> set[str]:
    served = await asyncio.gather(*(browse(ports, visitor) for visitor in range(VISITORS)))
    return set().union(*served)


def test_four_worker_processes_count_into_one_database(postgres_url, tmp_path):
    """Every visitor's page views are spread over all four processes: the same cube cells
    are flushed by several of them, and half the counts reach the database only through
    the flush at shutdown."""
    workers: list[tuple[subprocess.Popen[bytes], int]] = []
    try:
        start_workers(postgres_url, tmp_path, workers)
        servers = asyncio.run(traffic([port for _, port in workers]))
    finally:
        for process, _ in workers:
            process.send_signal(signal.SIGTERM)  # lifespan shutdown: the last flush
        codes = [process.wait(timeout=30) for process, _ in workers]
    logs = "\n".join(p.read_text() for p in sorted(tmp_path.glob("worker-*.log")))
    # uvicorn shuts down gracefully, then ends by the signal it was sent
    assert codes == [-signal.SIGTERM] * WORKERS, logs
    assert "final flush failed" not in logs, logs
    assert servers == {str(process.pid) for process, _ in workers}

    store = open_store(postgres_url)
    total = store.query({"metrics": ["visitors", "pageviews"], "date_range": "7d"})
    assert total["results"][0]["metrics"] == [VISITORS, VISITORS * VIEWS_EACH]
    pages = store.query(
        {"metrics": ["visitors", "pageviews"], "date_range": "7d", "dimensions": ["event:page"]}
    )
    assert {tuple(r["dimensions"]): r["metrics"] for r in pages["results"]} == {
        (page,): [VISITORS, VISITORS * VIEWS_EACH // 2] for page in PAGES
    }
    decisions = store.query({"metrics": ["decisions"], "date_range": "7d"})
    assert decisions["results"][0]["metrics"] == [VISITORS]
    ledger = store.verify_ledger()  # one hash chain, appended to by all four
    assert ledger.ok and ledger.records == VISITORS, ledger.problems
    store.close()
