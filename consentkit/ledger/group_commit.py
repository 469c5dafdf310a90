"""Group commit: decisions appended by many threads at once are committed together, one
transaction for all of them, so one round trip to the database and one flush of its log
serve many visitors.

Each appender queues its decision and waits for the commit lock. Whoever takes the lock
commits everything queued by then (its own decision, and any that queued while the previous
batch was committing), then wakes the others whose decisions went with it; they return
without touching the database. Nothing is acknowledged before its batch is committed: if the
commit fails, every appender of the batch gets the error (and the decision spool takes their
records, see ``spool.py``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from ..errors import StoreError

Item = TypeVar("Item")


class _Ticket(Generic[Item]):
    """One appender's decision, and what became of it."""

    __slots__ = ("done", "error", "item", "taken")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.taken = False  # in a batch being committed: only its outcome can answer now
        self.done = False
        self.error: BaseException | None = None


class GroupCommit(Generic[Item]):
    """Commits items from many threads in batches of up to ``max_batch``, one batch at a
    time.

    ``commit`` writes one batch in one transaction and raises if it did not commit.
    """

    def __init__(self, commit: Callable[[Sequence[Item]], None], *, max_batch: int = 500) -> None:
        self.commit = commit
        self.max_batch = max_batch
        self.batches = 0  # committed, for the benchmarks and tests
        self._queue: list[_Ticket[Item]] = []
        self._committing = False
        self._changed = threading.Condition(threading.Lock())

    def submit(self, item: Item, *, timeout: float | None = None) -> None:
        """Commit ``item`` (with whatever else is queued); return once it is committed.

        ``timeout``: how long to wait for a turn to commit. An item still queued then is
        withdrawn and ``StoreError`` raised; one already in a batch being committed waits
        for that batch, since only its outcome says whether the item is stored.
        """
        ticket = _Ticket(item)
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            self._queue.append(ticket)
            while not ticket.done:
                if not self._committing:
                    self._commit_queued()
                    continue
                wait = None if deadline is None else deadline - time.monotonic()
                if wait is not None and wait <= 0 and not ticket.taken:
                    self._queue.remove(ticket)
                    raise StoreError(f"the decision waited {timeout} s for its turn to be written")
                self._changed.wait(None if ticket.taken else wait)
        if ticket.error is not None:
            raise _fresh(ticket.error)

    def _commit_queued(self) -> None:
        """Commit a batch from the head of the queue, with the condition's lock released
        meanwhile so that others may queue (the caller holds it)."""
        batch = self._queue[: self.max_batch]
        del self._queue[: self.max_batch]
        for ticket in batch:
            ticket.taken = True
        self._committing = True
        self._changed.release()
        error: BaseException | None = None
        try:
            self.commit([ticket.item for ticket in batch])
        except BaseException as failure:  # handed to every appender of the batch
            error = failure
        finally:
            self._changed.acquire()
            self._committing = False
        self.batches += error is None
        for ticket in batch:
            ticket.error = error
            ticket.done = True
        self._changed.notify_all()


def _fresh(error: BaseException) -> BaseException:
    """The error to raise in one appender's thread: a store error is raised anew in each,
    so that threads do not share (and extend) one traceback."""
    if isinstance(error, StoreError):
        fresh = StoreError(str(error))
        fresh.__cause__ = error
        return fresh
    return error
