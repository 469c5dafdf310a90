"""Cube cells as the compressed blocks a store keeps.

``encode`` writes cells as one block: each column in its narrowest integer type, then
Zstandard (about as small as zlib's best, ten times as fast to write and three times to
read); ``decode`` reads one back, with only the key columns a query asks for. Blocks are
append-only: a flush adds one per hour it touched and compaction merges them, so a query
reads every block of its hours, whatever their number.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np
import zstandard
from numpy.typing import NDArray

from . import hll
from .cells import KEYS, MEASURES, Cells, Ints

MAX_BLOCK_BYTES = 1 << 30  # what a block may decompress to, at most
VERSION = 1
_HEADER = struct.Struct("<BBIII")  # version, measures present, cells, entries, dense cells
_WIDTHS = ((np.uint8, 0xFF), (np.uint16, 0xFFFF), (np.uint32, 0xFFFFFFFF), (np.uint64, None))
_WIDTH_CODES = {np.dtype(dtype): code for code, (dtype, _) in enumerate(_WIDTHS)}


def _narrow(values: Ints) -> NDArray[np.generic]:
    top = int(values.max()) if len(values) else 0
    for dtype, limit in _WIDTHS:
        if limit is None or top <= limit:
            return values.astype(dtype)
    raise AssertionError("unreachable")


def encode(cells: Cells, *, level: int = 3) -> bytes:
    """One block: a header, then each column in its narrowest type, compressed.

    Measures that are zero throughout (no engagement reported, nothing anonymous) are left
    out, and said so in the header."""
    present = 0
    columns: list[Ints] = [*cells.keys, cells.count]
    for bit, measure in enumerate(cells.measures[1:]):
        if len(measure) and measure.any():
            present |= 1 << bit
            columns.append(measure)
    columns.append(cells.entry_counts)
    body = [_HEADER.pack(VERSION, present, len(cells), len(cells.registers),
                         len(cells.dense_cells))]  # fmt: skip
    for column in columns:
        narrow = _narrow(column)
        body += [bytes([_WIDTH_CODES[narrow.dtype]]), narrow.tobytes()]
    body += [
        cells.registers.astype(np.uint16).tobytes(),
        cells.ranks.tobytes(),
        cells.dense_cells.astype(np.uint32).tobytes(),
        cells.dense.tobytes(),
    ]
    return zstandard.compress(b"".join(body), level)


def decode(block: bytes, keys: Sequence[str] = KEYS) -> Cells:
    """The cells of one block; ValueError if it is not a whole, valid block.

    Only the key columns in ``keys`` are read; the others are left zero (a query reads
    the few it groups and filters by, and saves copying the rest)."""
    try:
        data = zstandard.decompress(block, max_output_size=MAX_BLOCK_BYTES)
        version, present, n, entries, n_dense = _HEADER.unpack_from(data)
    except (zstandard.ZstdError, struct.error) as error:
        raise ValueError(f"not a cube block: {error}") from None
    if version != VERSION:
        raise ValueError(f"cube block version {version} is not known")
    reader = _Reader(data, _HEADER.size)
    key_columns = np.zeros((len(KEYS), n), dtype=np.int64)
    for index, name in enumerate(KEYS):
        if name in keys:
            key_columns[index] = reader.column(n)
        else:
            reader.skip_column(n)
    count = reader.column(n)
    zero = np.zeros(n, dtype=np.int64)
    others = [reader.column(n) if present >> bit & 1 else zero for bit in range(len(MEASURES) - 1)]
    entry_counts = reader.column(n)
    registers = reader.raw(np.uint16, entries).astype(np.int64)
    ranks = reader.raw(np.uint8, entries).astype(np.uint8)
    dense_cells = reader.raw(np.uint32, n_dense).astype(np.int64)
    dense = reader.raw(np.uint8, n_dense * hll.REGISTERS).astype(np.uint8)
    dense = dense.reshape(n_dense, hll.REGISTERS)
    if (
        reader.offset != len(data)
        or int(entry_counts.sum()) != entries
        or (entries and (int(registers.max()) >= hll.REGISTERS or not ranks.min() >= 1
                         or int(ranks.max()) > hll.MAX_RANK))
        or (n_dense and (int(dense_cells.max()) >= n or int(dense.max()) > hll.MAX_RANK))
    ):  # fmt: skip
        raise ValueError("cube block is truncated or corrupt")
    return Cells(key_columns, count, others[0], others[1], others[2], others[3], entry_counts,
                 registers, ranks, dense_cells, dense)  # fmt: skip


class _Reader:
    """Columns read one after another from a decompressed block."""

    def __init__(self, data: bytes, offset: int) -> None:
        self.data, self.offset = data, offset

    def raw(self, dtype: type[np.generic], count: int) -> NDArray[np.generic]:
        try:
            values = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.offset)
        except ValueError:
            raise ValueError("cube block is truncated") from None
        self.offset += values.nbytes
        return values

    def skip_column(self, count: int) -> None:
        self.raw(_WIDTHS[self._width()][0], count)

    def _width(self) -> int:
        if self.offset >= len(self.data) or self.data[self.offset] >= len(_WIDTHS):
            raise ValueError("cube block is truncated or corrupt")
        self.offset += 1
        return self.data[self.offset - 1]

    def column(self, count: int) -> Ints:
        return self.raw(_WIDTHS[self._width()][0], count).astype(np.int64)
