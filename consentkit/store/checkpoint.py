"""Moves SQLite's write-ahead log into the database file in a background thread.

SQLite checkpoints, by default, in whichever commit finds the log past 1,000 pages: often a
consent decision, written while the visitor waits, right after a large page-view flush. Here
the writer never checkpoints on its own until the log is very large (a backstop); this thread
runs a PASSIVE checkpoint, which never blocks readers or the writer, after each flush and at
least every ``interval`` seconds.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

logger = logging.getLogger("consentkit")

BACKSTOP_PAGES = 25_000  # about 100 MB of log: the writer checkpoints itself past this


class WalCheckpointer:
    """One background thread with its own connection; started on first use."""

    def __init__(self, path: str, *, interval: float = 30.0) -> None:
        self.path = path
        self.interval = interval
        self._wanted = threading.Event()
        self._stopping = False
        self._idle = threading.Event()
        self._idle.set()
        self._start = threading.Lock()
        self._thread: threading.Thread | None = None  # started by the first request

    def request(self) -> None:
        """Ask for a checkpoint soon (after a write); returns at once."""
        self._idle.clear()
        self._wanted.set()
        if self._thread is None:
            with self._start:
                if self._thread is None and not self._stopping:
                    self._thread = threading.Thread(
                        target=self._run, name="consentkit-checkpoint", daemon=True
                    )
                    self._thread.start()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no checkpoint is asked for or running."""
        return self._idle.wait(timeout)

    def close(self) -> None:
        with self._start:
            self._stopping = True
        self._wanted.set()
        if self._thread is not None:
            self._thread.join()
        self._idle.set()

    def _run(self) -> None:
        connection = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        try:
            while not self._stopping:
                self._wanted.wait(self.interval)
                self._wanted.clear()
                if self._stopping:
                    break
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error:
                    logger.exception("consentkit: checkpointing %s failed", self.path)
                if not self._wanted.is_set():
                    self._idle.set()
        finally:
            connection.close()
            self._idle.set()
