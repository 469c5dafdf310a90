"""Moving a cube written by versions 1 to 3 into blocks (schema version 4), once.

The old cube kept one row per cell (``ck_cells``, keyed by ``ck_segments`` and ``ck_pages``)
with a visitors sketch of its own format: tag ``0x01`` and sparse big-endian entries
``index << 6 | rank`` over 2**25 buckets, or tag ``0x02`` and 32,768 registers. The dense
form is exactly today's registers; a sparse entry maps to one register and rank (the top
15 bits of its index, and a rank read from the 10 bits below them or, when those are zero,
from its own rank). Each old hour becomes one block, waiting to be rolled up; the old
tables and the ``ck_pageviews`` view are then dropped.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..analytics import hll
from ..analytics.cells import KEYS, Cells, no_registers
from .cube import KEPT_LEVEL, CubeTables

_OLD_SPARSE, _OLD_DENSE = 0x01, 0x02
_OLD_CELLS = """
SELECT s.site, c.hour, s.country, s.device, s.browser, s.os, p.page,
    c.pageviews, c.anonymous_pageviews, c.visitors
FROM ck_cells c
JOIN ck_segments s ON s.id = c.segment_id
JOIN ck_pages p ON p.id = c.page_id
ORDER BY s.site, c.hour
"""
_DROPS = (
    "DROP VIEW IF EXISTS ck_pageviews",
    "DROP TABLE IF EXISTS ck_cells",
    "DROP TABLE IF EXISTS ck_daily",
    "DROP TABLE IF EXISTS ck_segments",
    "DROP TABLE IF EXISTS ck_pages",
)


def old_sketch_entries(blob: bytes) -> tuple[np.ndarray[Any, Any], hll.Ranks]:
    """The (register, rank) pairs of a sketch in the old format (registers set only)."""
    if blob[:1] == bytes([_OLD_DENSE]) and len(blob) == hll.REGISTERS + 1:
        registers = np.frombuffer(blob, dtype=np.uint8, offset=1)
        present = np.flatnonzero(registers)
        return present.astype(np.int64), registers[present].copy()
    if blob[:1] != bytes([_OLD_SPARSE]) or (len(blob) - 1) % 4:
        raise ValueError("not a sketch of the old format")
    entries = np.frombuffer(blob, dtype=">u4", offset=1).astype(np.int64)
    index, rank = entries >> 6, entries & 63
    middle = index & 0x3FF  # the 10 bits of the old index below the register's
    middle_rank = 11 - np.frexp(middle.astype(np.float64))[1]
    ranks = np.where(middle > 0, middle_rank, 10 + rank).astype(np.uint8)
    return index >> 10, ranks


def move_old_cube(db: Any, cube: CubeTables) -> int:
    """Move every old cell into blocks and drop the old tables; how many cells moved.

    Runs in the transaction that migrated the database to version 4 from an older one."""
    rows = db.execute(_OLD_CELLS).fetchall()
    by_hour: dict[tuple[str, int], list[Any]] = {}
    for row in rows:
        by_hour.setdefault((row[0], int(row[1])), []).append(row)
    for (site, hour), cells in by_hour.items():
        cube._insert_blocks(db, site, [(hour, _as_cells(db, cube, cells))], 0, KEPT_LEVEL)
    for statement in _DROPS:
        db.execute(statement)
    return len(rows)


def _as_cells(db: Any, cube: CubeTables, rows: list[Any]) -> Cells:
    n = len(rows)
    keys = np.zeros((len(KEYS), n), dtype=np.int64)
    for column, name in enumerate(("country", "device", "browser", "os", "page"), start=2):
        keys[KEYS.index(name)] = cube.numbers(db, name, [str(row[column]) for row in rows])
    registers, ranks, counts = [], [], []
    for row in rows:
        found, rank = old_sketch_entries(bytes(row[9]))
        # Entries of one cell may share a register: keep the largest rank of each.
        order = np.lexsort((rank, found))
        found, rank = found[order], rank[order]
        last = np.ones(len(found), dtype=bool)
        last[:-1] = found[1:] != found[:-1]
        registers.append(found[last])
        ranks.append(rank[last])
        counts.append(int(last.sum()))
    nothing = np.zeros(n, dtype=np.int64)
    return Cells(
        keys,
        np.array([int(row[7]) for row in rows], dtype=np.int64),
        np.array([int(row[8]) for row in rows], dtype=np.int64),
        nothing, nothing, nothing,
        np.array(counts, dtype=np.int64),
        np.concatenate(registers) if registers else np.zeros(0, np.int64),
        np.concatenate(ranks) if ranks else np.zeros(0, np.uint8),
        np.zeros(0, dtype=np.int64), no_registers(),
    )  # fmt: skip
