"""The analytics cube in a database, for both backends: value numbers, blocks, roll-ups.

Three tables (``schema.py``, migration 4):

* ``ck_values``: the number of each distinct value of each kind (a country code, a browser
  family, a page's route template...). Cells hold numbers; the names are written once
  (``values.py``).
* ``ck_blocks``: compressed blocks of cells (``analytics/cells.py``), one site and one hour
  each. A flush **appends** one block per hour it touched and never reads or rewrites
  anything, so any number of processes flush into one database without waiting for each
  other.
* ``ck_rollups``: per site, day and kind, the day's page views by that one dimension
  (``analytics/rollups.py``), for long-range queries.

Compaction, in the background, takes the blocks waiting: it merges them into their hour's
block (one block an hour, up to ``MAX_BLOCK_CELLS`` cells; more only for very busy hours)
and, once the hour is over, adds the hour's cells to the day's roll-ups, in one
transaction, so that a query (one snapshot) sees every cell exactly once: in the roll-ups,
or in a block not in them yet (``rolled`` says which). The hour under way stays out of the
roll-ups, so a day's roll-ups are rewritten about once an hour, not at every compaction
(which would write a growing day's roll-ups every 30 seconds). On PostgreSQL the rows it
takes are locked ``FOR UPDATE SKIP LOCKED``: compactions in several processes share the
work and never wait for each other, nor for a flush.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..analytics import blocks as cube_blocks
from ..analytics import cells as cube_cells
from ..analytics.batch import CLAIMED, COMMITTING, SEGMENT_FIELDS, STORED, CubeBatch, Flush
from ..analytics.cells import KEYS, Cells
from ..analytics.cube import hour_blocks
from ..analytics.rollups import KINDS, rollups
from ..errors import StoreError
from .values import ValueNumbers

COMPACT_INTERVAL = 30.0  # seconds between roll-ups of the blocks flushes appended
WRITER_HOURS = 30 * 24  # a buffer's flush numbers are kept this long after its last flush
MAX_BLOCK_CELLS = 200_000  # past this, an hour's cells go into a further block
COMPACT_BATCH = 500  # blocks one compaction takes at most
# Compression levels: a flush's block lives until the next compaction, so it is written
# fast; the blocks and roll-ups compaction writes are kept, so they are written smaller.
FLUSH_LEVEL, KEPT_LEVEL = 1, 3
# A block's ``rolled``: a flush's block waiting for compaction; an hour's merged block whose
# hour is under way (not in the roll-ups yet); an hour's block in the roll-ups.
WAITING, MERGED, ROLLED = 0, 2, 1


class CubeTables(ValueNumbers):
    """Reads and writes the cube through a connection the store opened (and commits); the
    value numbers are ``ValueNumbers``'."""

    # Writing --------------------------------------------------------------------------

    def write(self, db: Any, site: str, flushes: Sequence[Flush], hour: int) -> None:
        """Append the flushes not stored yet (see ``Flush``), in ``seq`` order: a block per
        hour each touched, its crawlers' counts, and its dropped page views (in ``hour``).
        Called as the transaction's last step: what it claims is then being committed."""
        claim = self.sql(
            "INSERT INTO ck_flushes (writer, seq, hour) VALUES (?, ?, ?)"
            " ON CONFLICT (writer) DO UPDATE SET seq = excluded.seq, hour = excluded.hour"
            " WHERE ck_flushes.seq < excluded.seq"
        )
        claimed = []
        for flush in flushes:
            # A transaction that wrote this flush and has not ended (its connection lost,
            # the server not told yet) holds the writer's row: this waits for its outcome.
            if db.execute(claim, (flush.writer, flush.seq, hour)).rowcount == 0:
                flush.state = STORED  # by an earlier transaction whose answer was lost
                continue
            flush.state = CLAIMED
            claimed.append(flush)
            assert flush.batch is not None, "a flush is aggregated before it is written"
            self._write_batch(db, site, flush.batch)
            if flush.dropped:
                db.execute(
                    self.sql("INSERT INTO ck_dropped (site, hour, pageviews) VALUES (?, ?, ?)"
                             " ON CONFLICT (site, hour) DO UPDATE SET"
                             " pageviews = ck_dropped.pageviews + excluded.pageviews"),
                    (site, hour, flush.dropped),
                )  # fmt: skip
        for flush in claimed:
            flush.state = COMMITTING

    def forget_writers(self, db: Any, now_hour: int) -> None:
        """Buffers that flushed nothing for ``WRITER_HOURS`` are gone (their process
        ended): their rows of ``ck_flushes`` go."""
        db.execute(self.sql("DELETE FROM ck_flushes WHERE hour < ?"), (now_hour - WRITER_HOURS,))

    def _write_batch(self, db: Any, site: str, batch: CubeBatch) -> None:
        if len(batch):  # names are storable already (cube_batch cleaned them)
            segment_values = np.stack([
                self.column_numbers(db, field, [segment[f] for segment in batch.segments])
                for f, field in enumerate(SEGMENT_FIELDS)
            ])  # fmt: skip
            pages = self.column_numbers(db, "page", list(batch.pages))
            blocks = hour_blocks(batch, segment_values, pages)
            self._insert_blocks(
                db, site, [(hour, cells) for hour, cells in blocks.items()], 0, FLUSH_LEVEL
            )
        if batch.bots:
            rows = [(site, hour, n) for hour, n in batch.bots]
            db.cursor().executemany(
                self.sql("INSERT INTO ck_bots (site, hour, pageviews) VALUES (?, ?, ?)"
                         " ON CONFLICT (site, hour) DO UPDATE SET"
                         " pageviews = ck_bots.pageviews + excluded.pageviews"),
                rows,
            )  # fmt: skip

    def _insert_blocks(
        self, db: Any, site: str, blocks: Sequence[tuple[int, Cells]], rolled: int, level: int
    ) -> None:
        db.cursor().executemany(
            self.sql("INSERT INTO ck_blocks (site, hour, rolled, cells) VALUES (?, ?, ?, ?)"),
            [
                (site, hour, rolled, cube_blocks.encode(cells, level=level))
                for hour, cells in blocks
            ],
        )

    # Compaction -----------------------------------------------------------------------

    def compact(self, db: Any, site: str, now_hour: int) -> int:
        """Merge the blocks waiting (a batch of them) into their hours' blocks, and add the
        hours that are over to the days' roll-ups; how many blocks were taken.

        The hour under way is merged (queries then read one block for it, not one per
        flush) but kept out of the roll-ups until it is over: a day's roll-ups are then
        rewritten about once an hour, not at every compaction."""
        taken = db.execute(
            self.sql(f"SELECT id, hour, cells FROM ck_blocks WHERE site = ? AND rolled = {WAITING}"
                     f" ORDER BY id LIMIT {COMPACT_BATCH}{self.sql.skip_locked}"),
            (site,),
        ).fetchall()  # fmt: skip
        over = db.execute(
            self.sql(f"SELECT id, hour, cells FROM ck_blocks WHERE site = ? AND rolled = {MERGED}"
                     f" AND hour < ? ORDER BY id{self.sql.skip_locked}"),
            (site, now_hour),
        ).fetchall()  # fmt: skip
        if not taken and not over:
            return 0
        fresh: dict[int, list[Cells]] = {}
        for _, hour, blob in taken:
            fresh.setdefault(int(hour), []).append(_decoded(blob))
        to_roll: dict[int, list[Cells]] = {}  # day -> cells to add to its roll-ups
        settled = {int(block_id) for block_id, _, _ in over}
        for _, hour, blob in over:  # hours now over: their merged blocks join the roll-ups
            to_roll.setdefault(int(hour) // 24, []).append(_decoded(blob))
        merged: dict[int, list[tuple[int, Cells]]] = {ROLLED: [], MERGED: []}
        for hour, parts in sorted(fresh.items()):
            base = db.execute(
                self.sql("SELECT id, cells, rolled FROM ck_blocks WHERE site = ? AND hour = ?"
                         f" AND rolled <> {WAITING} ORDER BY id DESC LIMIT 1"
                         + self.sql.skip_locked),
                (site, hour),
            ).fetchone()  # fmt: skip
            # An hour's block holds roll-up cells only, or none: an hour that is not over
            # stays out, unless its block was rolled up already (a clock set back).
            state = ROLLED if hour < now_hour or (base and base[2] == ROLLED) else MERGED
            if state == ROLLED:
                to_roll.setdefault(hour // 24, []).extend(parts)
            if base is not None:
                base_id, stored = int(base[0]), _decoded(base[1])
                if base[2] == MERGED and state == ROLLED and base_id not in settled:
                    to_roll.setdefault(hour // 24, []).append(stored)
                    settled.add(base_id)
                if len(stored) < MAX_BLOCK_CELLS:  # else the hour gets a further block
                    db.execute(self.sql("DELETE FROM ck_blocks WHERE id = ?"), (base_id,))
                    settled.discard(base_id)  # its cells are in the new block
                    parts = [*parts, stored]
            merged[state].append((hour, cube_cells.merge(parts)))
        for state, blocks in merged.items():
            self._insert_blocks(db, site, blocks, state, KEPT_LEVEL)
        if settled:
            self._mark_rolled(db, sorted(settled))
        ids = [int(row[0]) for row in taken]
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            marks = ", ".join(["?"] * len(chunk))
            db.execute(self.sql(f"DELETE FROM ck_blocks WHERE id IN ({marks})"), chunk)
        for day, parts in to_roll.items():
            self._add_to_rollups(db, site, day, rollups(cube_cells.concat(parts)))
        return len(taken) + len(over)

    def _mark_rolled(self, db: Any, ids: list[int]) -> None:
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            marks = ", ".join(["?"] * len(chunk))
            db.execute(
                self.sql(f"UPDATE ck_blocks SET rolled = {ROLLED} WHERE id IN ({marks})"), chunk
            )

    def _add_to_rollups(self, db: Any, site: str, day: int, added: dict[str, Cells]) -> None:
        for kind, cells in added.items():
            stored = db.execute(
                self.sql("SELECT id, cells FROM ck_rollups WHERE site = ? AND kind = ?"
                         " AND day = ?" + self.sql.skip_locked),
                (site, kind, day),
            ).fetchall()  # fmt: skip
            if stored:
                marks = ", ".join(["?"] * len(stored))
                db.execute(
                    self.sql(f"DELETE FROM ck_rollups WHERE id IN ({marks})"),
                    [int(row[0]) for row in stored],
                )
                cells = cube_cells.merge([cells, *(_decoded(row[1]) for row in stored)])
            db.execute(
                self.sql("INSERT INTO ck_rollups (site, kind, day, cells) VALUES (?, ?, ?, ?)"),
                (site, kind, day, cube_blocks.encode(cells, level=KEPT_LEVEL)),
            )

    # Reading --------------------------------------------------------------------------

    def blocks(
        self,
        db: Any,
        site: str,
        first_hour: int,
        end_hour: int,
        *,
        waiting_only: bool = False,
        keys: Sequence[str] = KEYS,
    ) -> list[tuple[int, Cells]]:
        """The cells of every block of these hours (or only of those not in the roll-ups),
        with the key columns in ``keys`` (the others zero)."""
        rows = db.execute(
            self.sql("SELECT hour, cells FROM ck_blocks WHERE site = ? AND hour >= ?"
                     " AND hour < ?" + (f" AND rolled <> {ROLLED}" if waiting_only else "")),
            (site, first_hour, end_hour),
        ).fetchall()  # fmt: skip
        return [(int(hour), _decoded(blob, keys)) for hour, blob in rows]

    def rollups(
        self, db: Any, site: str, kind: str, first_day: int, end_day: int
    ) -> list[tuple[int, Cells]]:
        """The roll-ups of one kind for these days."""
        if kind not in KINDS:
            raise ValueError(f"no roll-up of kind {kind!r}")
        rows = db.execute(
            self.sql("SELECT day, cells FROM ck_rollups WHERE site = ? AND kind = ?"
                     " AND day >= ? AND day < ?"),
            (site, kind, first_day, end_day),
        ).fetchall()  # fmt: skip
        return [(int(day), _decoded(blob)) for day, blob in rows]

    def rollup_days(self, db: Any, site: str, kind: str, first_day: int, end_day: int) -> set[int]:
        """The days of these that have a roll-up of this kind."""
        rows = db.execute(
            self.sql("SELECT DISTINCT day FROM ck_rollups WHERE site = ? AND kind = ?"
                     " AND day >= ? AND day < ?"),
            (site, kind, first_day, end_day),
        ).fetchall()  # fmt: skip
        return {int(row[0]) for row in rows}


def _decoded(blob: bytes | memoryview, keys: Sequence[str] = KEYS) -> Cells:
    try:
        return cube_blocks.decode(bytes(blob), keys)
    except ValueError as error:
        raise StoreError(f"a stored cube block is corrupt: {error}") from None


class CubeSnapshot:
    """The cube as one read transaction sees it (``query.execute.CubeReader``)."""

    def __init__(self, db: Any, cube: CubeTables) -> None:
        self.db, self.cube = db, cube

    def blocks(
        self,
        site: str,
        first_hour: int,
        end_hour: int,
        *,
        waiting_only: bool = False,
        keys: Sequence[str] = KEYS,
    ) -> list[tuple[int, Cells]]:
        return self.cube.blocks(
            self.db, site, first_hour, end_hour, waiting_only=waiting_only, keys=keys
        )

    def rollups(
        self, site: str, kind: str, first_day: int, end_day: int
    ) -> list[tuple[int, Cells]]:
        return self.cube.rollups(self.db, site, kind, first_day, end_day)

    def rollup_days(self, site: str, kind: str, first_day: int, end_day: int) -> set[int]:
        return self.cube.rollup_days(self.db, site, kind, first_day, end_day)

    def names(self, numbers: Sequence[int]) -> dict[int, str]:
        return self.cube.names(self.db, numbers)

    def values_of(self, kind: str) -> dict[int, str]:
        return self.cube.values_of(self.db, kind)
