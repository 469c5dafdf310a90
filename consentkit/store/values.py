"""Value numbers: the number of each distinct value of each kind (a country code, a
browser family, a page's route template...) in ``ck_values``. Cells hold numbers; a
value's name is written once, and remembered per process."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..analytics.batch import OPTIONAL_FIELDS

MAX_REMEMBERED = 500_000  # value numbers remembered per process (a miss costs a query)


@dataclass(frozen=True, slots=True)
class Sql:
    """How one backend spells what the cube needs."""

    placeholder: str  # "?" or "%s"
    skip_locked: str  # " FOR UPDATE SKIP LOCKED" where rows can be locked, else ""

    def __call__(self, statement: str) -> str:
        return statement.replace("?", self.placeholder)


class ValueNumbers:
    """Numbers values through a connection the store opened (and commits)."""

    def __init__(self, sql: Sql) -> None:
        self.sql = sql
        self._numbers: dict[tuple[str, str], int] = {}  # (kind, value) -> number
        self._names: dict[int, tuple[str, str]] = {}  # number -> (kind, value)
        self._lock = threading.Lock()

    def numbers(self, db: Any, kind: str, values: Sequence[str]) -> np.ndarray[Any, Any]:
        """The number of each value (adding the new ones), in the order given."""
        found = np.empty(len(values), dtype=np.int64)
        new: dict[str, list[int]] = {}
        for index, value in enumerate(values):
            number = self._numbers.get((kind, value))
            if number is None and not value and kind in OPTIONAL_FIELDS:
                number = 0  # no source, no goal: nothing to name
            if number is None:
                new.setdefault(value, []).append(index)
            else:
                found[index] = number
        # New values are added in one order everywhere (kinds come in the flush's fixed
        # order, values sorted): two processes adding the same new values then wait for
        # each other at the first one they share, never each for the other (a deadlock).
        for value in sorted(new):
            found[new[value]] = self._number_of(db, kind, value)
        return found

    def column_numbers(self, db: Any, kind: str, values: list[str]) -> np.ndarray[Any, Any]:
        """``numbers`` for a column of values that repeat (a segment's country...)."""
        distinct = list(dict.fromkeys(values))
        if len(distinct) == len(values):
            return self.numbers(db, kind, values)
        position = {value: index for index, value in enumerate(distinct)}
        numbers = self.numbers(db, kind, distinct)
        return numbers[np.fromiter(map(position.__getitem__, values), np.int64, len(values))]

    def _number_of(self, db: Any, kind: str, value: str) -> int:
        row = db.execute(
            self.sql("INSERT INTO ck_values (kind, value) VALUES (?, ?)"
                     " ON CONFLICT (kind, value) DO NOTHING RETURNING id"),
            (kind, value),
        ).fetchone() or db.execute(
            self.sql("SELECT id FROM ck_values WHERE kind = ? AND value = ?"), (kind, value)
        ).fetchone()  # fmt: skip
        number = int(row[0])
        self._remember(number, kind, value)
        return number

    def _remember(self, number: int, kind: str, value: str) -> None:
        with self._lock:
            if len(self._names) >= MAX_REMEMBERED:
                self._numbers.clear()
                self._names.clear()
            self._numbers[(kind, value)] = number
            self._names[number] = (kind, value)

    def forget(self) -> None:
        """Forget every number (after a rollback, some handed out may not exist)."""
        with self._lock:
            self._numbers.clear()
            self._names.clear()

    def names(self, db: Any, numbers: Iterable[int]) -> dict[int, str]:
        """The value of each number."""
        wanted = {int(n) for n in numbers}
        missing = sorted(n for n in wanted if n not in self._names)
        for start in range(0, len(missing), 1000):
            chunk = missing[start : start + 1000]
            marks = ", ".join(["?"] * len(chunk))
            for number, kind, value in db.execute(
                self.sql(f"SELECT id, kind, value FROM ck_values WHERE id IN ({marks})"), chunk
            ):
                self._remember(int(number), kind, value)
        return {n: self._names[n][1] for n in wanted if n in self._names}

    def values_of(self, db: Any, kind: str) -> dict[int, str]:
        """Every number of one kind, with its value (for filters that match values)."""
        rows = db.execute(self.sql("SELECT id, value FROM ck_values WHERE kind = ?"), (kind,))
        found = {int(number): value for number, value in rows}
        for number, value in found.items():
            self._remember(number, kind, value)
        return found
