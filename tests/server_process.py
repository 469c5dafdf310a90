"""A real server in a subprocess, as a user runs it: started, polled until it answers,
stopped with SIGTERM (the lifespan shutdown that flushes the last counts).

Used by the tests of the examples, of the quickstart and of the built wheel.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

START_TIMEOUT = 60.0  # seconds; two shared cores, other suites running beside this one


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServerProcess:
    """``command`` (which must listen on ``port`` of 127.0.0.1) run in ``cwd`` with ``env``,
    its output kept in ``log_file``."""

    def __init__(
        self,
        command: Sequence[str],
        port: int,
        *,
        cwd: Path,
        env: Mapping[str, str],
        log_file: Path,
    ) -> None:
        self.command = list(command)
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.cwd = cwd
        self.env = dict(env)
        self.log_file = log_file
        self.process: subprocess.Popen[bytes] | None = None
        self.returncode: int | None = None

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start the server and return once it answers HTTP; fail with its log otherwise."""
        with self.log_file.open("wb") as log:
            self.process = subprocess.Popen(
                self.command, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.command} exited at start:\n{self.log()}")
            try:
                httpx.get(self.url + "/consentkit/banner.css", timeout=2)
                return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"no answer within {START_TIMEOUT} s:\n{self.log()}")
            time.sleep(0.05)

    def stop(self) -> int | None:
        """SIGTERM, as a process manager stops a server; wait for the exit. Returns its
        status (uvicorn ends by the signal it was sent: -SIGTERM)."""
        if self.process is not None and self.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.returncode = self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.returncode = self.process.wait()
                raise AssertionError(f"no exit within 30 s of SIGTERM:\n{self.log()}") from None
        return self.returncode

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    def stopped_cleanly(self) -> bool:
        """Whether it was stopped by SIGTERM alone, and said nothing of an error."""
        return self.returncode in (0, -signal.SIGTERM) and "Traceback" not in self.log()


def uvicorn(
    target: str, *, app_dir: Path, cwd: Path, env: Mapping[str, str], log_file: Path
) -> ServerProcess:
    """``uvicorn TARGET`` as the docs say to run it, with lifespan on auto (its default)."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        target,
        "--app-dir",
        str(app_dir),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--lifespan",
        "auto",
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    return ServerProcess(command, port, cwd=cwd, env={**os.environ, **env}, log_file=log_file)
