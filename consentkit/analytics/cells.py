"""Cube cells as NumPy columns: grouping, unions, merging (``blocks.py`` stores them).

A cell is one combination of what is kept about page views and events in one hour:
country, device, browser, OS, source (with its UTM medium and campaign), page and event
(0 for a page view, else a goal), each as the number the store gave that value. Per cell:
how many times it happened (``count``, with a consenting visitor; ``anonymous``, counted
without one), the engagement reported on its pages (summed milliseconds, reports, summed
scroll percent), and its visitors' sketch (``hll.py``): sparse (register, rank) entries, or
for a cell with more than ``DENSE_FROM`` of them, its 32,768 registers whole.

Counts add and sketches union, so cells of any number of blocks merge into one answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from . import hll

KEYS = ("country", "device", "browser", "os", "source", "medium", "campaign", "page", "event")
MEASURES = ("count", "anonymous", "engaged_ms", "engagements", "scroll")
DENSE_FROM = 4096  # more entries than this: a cell's registers are kept whole
REGISTER_TABLE = 1 << 24  # registers of all groups in one table, up to 16 MB: no sort

Ints = NDArray[np.int64]
Registers = NDArray[np.uint8]
Measures = tuple[Ints, Ints, Ints, Ints, Ints]  # in the order of MEASURES
Sketches = tuple[Ints, Ints, hll.Ranks, Ints, Registers]  # entry counts ... dense registers


@dataclass(frozen=True, slots=True)
class Cells:
    """Cube cells: ``keys[k]`` is key column ``KEYS[k]`` (value numbers), one per cell; the
    measures; and the visitors' sketches.

    The sparse entries of cell ``i`` are the ``entry_counts[i]`` (register, rank) pairs after
    those of the cells before it; the cells in ``dense_cells`` have none, and their
    registers are the matching rows of ``dense``.
    """

    keys: Ints
    count: Ints
    anonymous: Ints
    engaged_ms: Ints
    engagements: Ints
    scroll: Ints
    entry_counts: Ints
    registers: Ints
    ranks: hll.Ranks
    dense_cells: Ints
    dense: Registers

    def __len__(self) -> int:
        return len(self.count)

    @classmethod
    def of(cls, keys: Ints, measures: Measures, sketches: Sketches) -> Cells:
        count, anonymous, engaged_ms, engagements, scroll = measures
        entry_counts, registers, ranks, dense_cells, dense = sketches
        return cls(keys, count, anonymous, engaged_ms, engagements, scroll, entry_counts,
                   registers, ranks, dense_cells, dense)  # fmt: skip

    def key(self, name: str) -> Ints:
        column: Ints = self.keys[KEYS.index(name)]
        return column

    @property
    def measures(self) -> Measures:
        return (self.count, self.anonymous, self.engaged_ms, self.engagements, self.scroll)

    @property
    def sketches(self) -> Sketches:
        return (self.entry_counts, self.registers, self.ranks, self.dense_cells, self.dense)

    def entry_cells(self) -> Ints:
        """The cell of each sparse entry."""
        return np.repeat(np.arange(len(self), dtype=np.int64), self.entry_counts)


def no_registers() -> Registers:
    return np.zeros((0, hll.REGISTERS), dtype=np.uint8)


def empty() -> Cells:
    nothing = np.zeros(0, dtype=np.int64)
    return Cells(
        np.zeros((len(KEYS), 0), dtype=np.int64), nothing, nothing, nothing, nothing,
        nothing, nothing, nothing, np.zeros(0, dtype=np.uint8), nothing, no_registers(),
    )  # fmt: skip


def group_rows(columns: Sequence[Ints]) -> tuple[Ints, Ints]:
    """Rows grouped by equal values in every column: each row's group (numbered in the
    rows' sort order) and the first row of each group. Values are small non-negative
    integers (value numbers, hours), so the columns combine into one integer key."""
    n = len(columns[0]) if columns else 0
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    key: Ints | None = None
    width = 1
    for column in columns:
        low, high = int(column.min()), int(column.max())
        if low == high:
            continue  # one value throughout: it splits nothing
        span = high - low + 1
        if width * span >= 1 << 62:  # too wide to combine: sort the rows instead
            return _sorted_groups(columns)
        key = column - low if key is None else key * span + (column - low)
        width *= span
    if key is None:
        return np.zeros(n, dtype=np.int64), np.zeros(1, dtype=np.int64)
    if width <= 4 * n + (1 << 16):  # a small key space: counting beats sorting
        seen = np.zeros(width, dtype=bool)
        seen[key] = True
        number = np.cumsum(seen) - 1
        group = number[key]
        first = np.full(int(number[-1]) + 1, n, dtype=np.int64)
        np.minimum.at(first, group, np.arange(n, dtype=np.int64))
        return group, first
    _, first, group = np.unique(key, return_index=True, return_inverse=True)
    return group.astype(np.int64), first.astype(np.int64)


def _sorted_groups(columns: Sequence[Ints]) -> tuple[Ints, Ints]:
    n = len(columns[0])
    order = np.lexsort(tuple(reversed(columns)))
    stacked = np.stack([c[order] for c in columns])
    change = np.ones(n, dtype=bool)
    change[1:] = (stacked[:, 1:] != stacked[:, :-1]).any(axis=0)
    group = np.empty(n, dtype=np.int64)
    group[order] = np.cumsum(change) - 1
    return group, order[change]


def united(group: Ints, n_groups: int, cells: Cells) -> Sketches:
    """The union of the cells' sketches per group (``group[i]`` is cell ``i``'s): each
    group's sparse entries (counts, registers, ranks), and the dense groups with their
    registers (those holding a dense cell, or more than ``DENSE_FROM`` entries)."""
    table_size = n_groups * hll.REGISTERS
    if table_size <= REGISTER_TABLE and 8 * len(cells.registers) >= table_size:
        return _united_in_a_table(group, n_groups, cells)  # cheaper than sorting the entries
    entry_group, registers, ranks = hll.distinct(
        group[cells.entry_cells()], cells.registers, cells.ranks
    )
    counts = np.bincount(entry_group, minlength=n_groups)
    dense_groups = np.union1d(group[cells.dense_cells], np.flatnonzero(counts > DENSE_FROM))
    if not len(dense_groups):
        return counts, registers, ranks, dense_groups, no_registers()
    row = np.full(n_groups, -1, dtype=np.int64)
    row[dense_groups] = np.arange(len(dense_groups))
    dense = np.zeros((len(dense_groups), hll.REGISTERS), dtype=np.uint8)
    for cell, registers_of_cell in zip(cells.dense_cells.tolist(), cells.dense, strict=True):
        target = dense[row[group[cell]]]
        np.maximum(target, registers_of_cell, out=target)
    in_dense = row[entry_group] >= 0
    np.maximum.at(
        dense.reshape(-1),
        row[entry_group[in_dense]] * hll.REGISTERS + registers[in_dense],
        ranks[in_dense],
    )
    counts[dense_groups] = 0
    return counts, registers[~in_dense], ranks[~in_dense], dense_groups, dense


def _united_in_a_table(group: Ints, n_groups: int, cells: Cells) -> Sketches:
    """``united`` for few groups and many entries: every group's registers in one table,
    filled in one pass (no sort), then the small ones read back as sparse entries."""
    table = np.zeros((n_groups, hll.REGISTERS), dtype=np.uint8)
    for cell, registers_of_cell in zip(cells.dense_cells.tolist(), cells.dense, strict=True):
        np.maximum(table[group[cell]], registers_of_cell, out=table[group[cell]])
    np.maximum.at(
        table.reshape(-1),
        group[cells.entry_cells()] * hll.REGISTERS + cells.registers,
        cells.ranks,
    )
    counts = np.count_nonzero(table, axis=1).astype(np.int64)
    dense_groups = np.flatnonzero(counts > DENSE_FROM)
    counts[dense_groups] = 0
    sparse_rows = np.flatnonzero(counts)
    rows, registers = np.nonzero(table[sparse_rows])
    ranks = table[sparse_rows][rows, registers]
    return counts, registers.astype(np.int64), ranks, dense_groups, table[dense_groups]


def visitors(group: Ints, n_groups: int, cells: Cells) -> Ints:
    """The estimated visitors of each group: a union of its cells' sketches."""
    counts, _, ranks, dense_groups, dense = united(group, n_groups, cells)
    estimates = hll.estimate_sparse(
        np.repeat(np.arange(n_groups, dtype=np.int64), counts), ranks, n_groups
    )
    if len(dense_groups):
        estimates[dense_groups] = hll.estimate_dense(dense)
    return estimates


def sums(group: Ints, n_groups: int, values: Ints) -> Ints:
    """Each group's sum of ``values`` (exact: the sums stay far below 2**53)."""
    if not values.any():  # engagement and anonymous page views are mostly none
        return np.zeros(n_groups, dtype=np.int64)
    return np.bincount(group, weights=values, minlength=n_groups).astype(np.int64)


def aggregate(cells: Cells) -> Cells:
    """Equal keys added up into one cell, sketches united."""
    group, first = group_rows(list(cells.keys))
    n = len(first)
    count, anonymous, engaged_ms, engagements, scroll = cells.measures
    measures = (sums(group, n, count), sums(group, n, anonymous), sums(group, n, engaged_ms),
                sums(group, n, engagements), sums(group, n, scroll))  # fmt: skip
    return Cells.of(cells.keys[:, first], measures, united(group, n, cells))


def take(cells: Cells, selected: NDArray[np.bool_]) -> Cells:
    """The selected cells, with their entries and dense registers."""
    if selected.all():
        return cells
    entry_selected = selected[cells.entry_cells()]
    dense_kept = selected[cells.dense_cells]
    renumber = np.cumsum(selected) - 1
    count, anonymous, engaged_ms, engagements, scroll = cells.measures
    measures = (count[selected], anonymous[selected], engaged_ms[selected],
                engagements[selected], scroll[selected])  # fmt: skip
    sketches = (
        cells.entry_counts[selected], cells.registers[entry_selected],
        cells.ranks[entry_selected], renumber[cells.dense_cells[dense_kept]],
        cells.dense[dense_kept],
    )  # fmt: skip
    return Cells.of(cells.keys[:, selected], measures, sketches)


def concat(parts: Sequence[Cells], keys: Sequence[str] = KEYS) -> Cells:
    """Several sets of cells as one (not aggregated: equal keys may repeat); only the key
    columns in ``keys`` are copied, the others are zero."""
    if not parts:
        return empty()
    if len(parts) == 1:
        return parts[0]
    sizes = [len(part) for part in parts]
    offsets = np.cumsum([0, *sizes])
    rows = [KEYS.index(name) for name in keys]
    key_columns = np.zeros((len(KEYS), int(offsets[-1])), dtype=np.int64)
    for part, start, end in zip(parts, offsets[:-1].tolist(), offsets[1:].tolist(), strict=True):
        key_columns[rows, start:end] = part.keys[rows]

    def joined(field: str) -> Ints:
        return np.concatenate([getattr(part, field) for part in parts])

    measures = (joined("count"), joined("anonymous"), joined("engaged_ms"),
                joined("engagements"), joined("scroll"))  # fmt: skip
    sketches = (
        joined("entry_counts"), joined("registers"), np.concatenate([p.ranks for p in parts]),
        np.concatenate([p.dense_cells + o for p, o in zip(parts, offsets[:-1], strict=True)]),
        np.concatenate([part.dense for part in parts]),
    )  # fmt: skip
    return Cells.of(key_columns, measures, sketches)


def merge(parts: Sequence[Cells]) -> Cells:
    """Several blocks' cells as one, aggregated."""
    return aggregate(concat(parts))
