"""One flush's counted page views, aggregated into cube cells, then into hourly blocks.

The buffer hands over flat arrays, one element per page view: the cell, packed as
``hour << 42 | segment number << 21 | page number``, and the visitor's hash. Here they become
one cell per (hour, segment, page) with its page views and its visitors' sketch entries
(``cube_batch``), in a few whole-array NumPy operations; then, once the store has given each
name its value number, one ``Cells`` per hour (``hour_blocks``). This runs in the flush's
worker thread, never on the request path.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from ..storable import storable_text
from . import hll
from .batch import SEGMENT_FIELDS, CubeBatch, Traits
from .cells import KEYS, Cells, no_registers

NUMBER_BITS = 21  # segments and pages are numbered per batch, below 2**21 each
HOUR_BITS = 63 - 2 * NUMBER_BITS  # hours since 1970 below 2**21: until the year 2209
NUMBER_MASK = (1 << NUMBER_BITS) - 1


def pack(hour: int, segment: int, page: int) -> int:
    """The packed cell of a page view (as ``PageViewBuffer.count`` computes it inline)."""
    return (hour << NUMBER_BITS | segment) << NUMBER_BITS | page


def cube_batch(
    segments: Sequence[Traits],
    pages: Sequence[str],
    cells: NDArray[np.int64],
    visitors: NDArray[np.uint64],
    anonymous: NDArray[np.int64],
    bots: Sequence[tuple[int, int]] = (),
) -> CubeBatch:
    """Aggregate page views: ``cells[i]`` (see ``pack``) was seen by the visitor whose hash is
    ``visitors[i]``; ``anonymous`` holds the cells of page views counted without a visitor
    (refused analytics, when the site counts those)."""
    segments, new_segment = _storable(segments, _storable_segment)
    pages, new_page = _storable(pages, storable_text)
    if new_segment is not None or new_page is not None:
        cells, anonymous = (_renumber(c, new_segment, new_page) for c in (cells, anonymous))
    unique, inverse = np.unique(np.concatenate((cells, anonymous)), return_inverse=True)
    consented = inverse[: len(cells)]
    registers, ranks = hll.register_and_rank(visitors)
    entry_cell, registers, ranks = hll.distinct(consented, registers, ranks)
    return CubeBatch(
        segments=segments,
        pages=pages,
        hours=unique >> (2 * NUMBER_BITS),
        segment=(unique >> NUMBER_BITS) & NUMBER_MASK,
        page=unique & NUMBER_MASK,
        count=np.bincount(consented, minlength=len(unique)),
        anonymous=np.bincount(inverse[len(cells) :], minlength=len(unique)),
        entry_counts=np.bincount(entry_cell, minlength=len(unique)),
        registers=registers,
        ranks=ranks,
        bots=sorted(bots),
    )


def hour_blocks(
    batch: CubeBatch, segment_values: NDArray[np.int64], page_values: NDArray[np.int64]
) -> dict[int, Cells]:
    """The batch's cells per hour, keyed by value numbers: ``segment_values[f, s]`` is the
    number of field ``SEGMENT_FIELDS[f]`` of segment ``s``, ``page_values[p]`` of page ``p``."""
    n = len(batch)
    keys = np.zeros((len(KEYS), n), dtype=np.int64)
    for field, name in enumerate(SEGMENT_FIELDS):
        keys[KEYS.index(name)] = segment_values[field][batch.segment]
    keys[KEYS.index("page")] = page_values[batch.page]
    blocks = {}
    hours, starts = np.unique(batch.hours, return_index=True)  # batch cells come by hour
    bounds = [*starts.tolist(), n]
    entry_bounds = np.concatenate(([0], np.cumsum(batch.entry_counts)))
    for hour, start, end in zip(hours.tolist(), bounds[:-1], bounds[1:], strict=True):
        first, last = int(entry_bounds[start]), int(entry_bounds[end])
        nothing = np.zeros(end - start, dtype=np.int64)
        measures = (batch.count[start:end], batch.anonymous[start:end], nothing, nothing,
                    nothing)  # fmt: skip
        sketches = (
            batch.entry_counts[start:end], batch.registers[first:last], batch.ranks[first:last],
            np.zeros(0, dtype=np.int64), no_registers(),
        )  # fmt: skip
        blocks[hour] = Cells.of(keys[:, start:end], measures, sketches)
    return blocks


Name = TypeVar("Name", bound=Hashable)


def _storable(
    names: Sequence[Name], clean: Callable[[Name], Name]
) -> tuple[Sequence[Name], NDArray[np.int64] | None]:
    """The names as a store can hold them (records.storable_text), and how their numbers
    change: two that differed only in what cannot be stored become one. None when every
    name could be stored as it was, which is all but always."""
    cleaned = [clean(name) for name in names]
    if cleaned == list(names):
        return names, None
    numbers: dict[Name, int] = {}
    renumbered = [numbers.setdefault(name, len(numbers)) for name in cleaned]
    return list(numbers), np.array(renumbered, dtype=np.int64)


def _storable_segment(traits: Traits) -> Traits:
    country, device, browser, os, source, medium, campaign, event = map(storable_text, traits)
    return (country, device, browser, os, source, medium, campaign, event)


def _renumber(
    cells: NDArray[np.int64], segment: NDArray[np.int64] | None, page: NDArray[np.int64] | None
) -> NDArray[np.int64]:
    hours = cells >> (2 * NUMBER_BITS)
    segments = (cells >> NUMBER_BITS) & NUMBER_MASK
    pages = cells & NUMBER_MASK
    if segment is not None:
        segments = segment[segments]
    if page is not None:
        pages = page[pages]
    renumbered: NDArray[np.int64] = ((hours << NUMBER_BITS | segments) << NUMBER_BITS) | pages
    return renumbered
