"""Sketches of many groups at once: one flush's cube cells or roll-ups, encoded with NumPy.

A sketch is a pure function of its set of sparse entries ``idx' << 6 | rank`` (see
``sketch.py``), so a batch works on entries alone: ``distinct_entries`` keeps one per
(group, idx'), the one with the largest rank, and ``encode_groups`` writes for each group
exactly the bytes that ``sketch.encode_hashes`` gives for its hashes (``tests/test_sketch.py``
checks it): sorted sparse entries up to 4096 distinct ``idx'``, registers beyond. Whole-array
operations instead of Python objects per cell are what let a million page views be stored in a
few seconds. ``merge_bytes`` is the stores' merge of a stored sketch with a flushed one, and
``union_each`` merges many at once.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from .sketch import DENSE_TAG, SPARSE_MAX_ENTRIES, SPARSE_TAG, check_dense, check_sparse

Entries = NDArray[np.uint64]
Groups = NDArray[np.int64]

_LOW = np.uint64((1 << 39) - 1)  # hash bits below the 25-bit sparse index
_ENTRY = np.uint64(0xFFFFFFFF)
_REGISTERS = 1 << 15
_BYTE_OFFSETS = np.arange(4, dtype=np.int64)
_SPARSE, _DENSE = bytes([SPARSE_TAG]), bytes([DENSE_TAG])
_SMALL = 2 + 4 * 256  # two sparse sketches this small are merged in plain Python


def _bit_length(values: NDArray[np.uint64]) -> NDArray[np.int64]:
    # Every value here is below 2**53, so float64 holds it exactly and frexp's exponent is
    # its bit length (0 for 0).
    return np.frexp(values.astype(np.float64))[1].astype(np.int64)


def sparse_entries(hashes: NDArray[np.uint64]) -> Entries:
    """``idx' << 6 | rank`` of each 64-bit visitor hash, as ``encode_hashes`` computes it."""
    rank = 40 - _bit_length(hashes & _LOW)
    return ((hashes >> np.uint64(39)) << np.uint64(6)) | rank.astype(np.uint64)


def distinct_entries(groups: Groups, entries: Entries) -> tuple[Groups, Entries]:
    """One entry per (group, idx'), the largest, sorted by group and then entry."""
    if len(groups) and not 0 <= int(groups.min()) <= int(groups.max()) < 1 << 31:
        raise ValueError("group numbers must be in 0..2**31-1")
    combined = np.sort((groups.astype(np.uint64) << np.uint64(32)) | entries)
    keys = combined >> np.uint64(6)
    last = np.ones(len(combined), dtype=bool)  # the last of each run has the largest rank
    last[:-1] = keys[1:] != keys[:-1]
    kept = combined[last]
    return (kept >> np.uint64(32)).astype(np.int64), kept & _ENTRY


def encode_groups(groups: Groups, entries: Entries, n_groups: int) -> list[bytes]:
    """Serialised sketch of groups 0..n_groups-1 from ``distinct_entries`` output.

    A group without entries gets the empty sketch.
    """
    counts = np.bincount(groups, minlength=n_groups)
    dense = counts > SPARSE_MAX_ENTRIES
    dense_groups = np.flatnonzero(dense)
    if len(dense_groups):
        sparse_rows = ~dense[groups]
        dense_entries = (groups[~sparse_rows], entries[~sparse_rows])
        groups, entries = groups[sparse_rows], entries[sparse_rows]
        counts[dense] = 0
    # Every sparse sketch in one buffer, group g as a tag byte and then its entries,
    # big-endian: each sketch is one slice of it.
    before = np.zeros(n_groups + 1, dtype=np.int64)
    np.cumsum(counts, out=before[1:])
    starts = np.arange(n_groups + 1, dtype=np.int64) + 4 * before
    out = np.empty(int(starts[-1]), dtype=np.uint8)
    out[starts[:-1]] = SPARSE_TAG
    positions = 4 * np.arange(len(entries), dtype=np.int64) + groups + 1
    out[positions[:, None] + _BYTE_OFFSETS] = entries.astype(">u4").view(np.uint8).reshape(-1, 4)
    blob = out.tobytes()
    bounds = starts.tolist()
    sketches = list(map(blob.__getitem__, map(slice, bounds[:-1], bounds[1:])))
    if len(dense_groups):
        for group, sketch in _dense_sketches(*dense_entries, dense_groups):
            sketches[group] = sketch
    return sketches


def group_sketches(groups: Groups, hashes: NDArray[np.uint64], n_groups: int) -> list[bytes]:
    """Serialised sketch of each group's visitor hashes (groups numbered 0..n_groups-1)."""
    return encode_groups(*distinct_entries(groups, sparse_entries(hashes)), n_groups)


def _dense_ranks(entries: Entries) -> NDArray[np.uint8]:
    # The dense index is the top 15 bits of idx'; the rank comes from the 10 bits of idx'
    # below it when they are not all zero, and from the sparse rank otherwise (as in
    # sketch._registers).
    middle = (entries >> np.uint64(6)) & np.uint64(0x3FF)
    return np.where(
        middle > 0, 11 - _bit_length(middle), 10 + (entries & np.uint64(63)).astype(np.int64)
    ).astype(np.uint8)


def _dense_index(entries: Entries) -> Groups:
    return (entries >> np.uint64(16)).astype(np.int64)


def _dense_sketches(
    groups: Groups, entries: Entries, dense_groups: Groups
) -> list[tuple[int, bytes]]:
    """Registers of the few groups past the sparse limit, from their entries."""
    row_of = np.full(int(dense_groups[-1]) + 1, -1, dtype=np.int64)
    row_of[dense_groups] = np.arange(len(dense_groups))
    registers = np.zeros(len(dense_groups) * _REGISTERS, dtype=np.uint8)
    slots = row_of[groups] * _REGISTERS + _dense_index(entries)
    np.maximum.at(registers, slots, _dense_ranks(entries))
    tag = bytes([DENSE_TAG])
    return [
        (int(group), tag + registers[row * _REGISTERS : (row + 1) * _REGISTERS].tobytes())
        for row, group in enumerate(dense_groups.tolist())
    ]


def _entries_of(blob: bytes) -> Entries:
    check_sparse(blob[1:])
    return np.frombuffer(blob, dtype=">u4", offset=1).astype(np.uint64)


def _registers_of(blob: bytes) -> NDArray[np.uint8]:
    if blob[:1] == _DENSE:
        check_dense(blob)
        return np.frombuffer(blob, dtype=np.uint8, offset=1)
    registers = np.zeros(_REGISTERS, dtype=np.uint8)
    entries = _entries_of(blob)
    np.maximum.at(registers, _dense_index(entries), _dense_ranks(entries))
    return registers


def merge_bytes(a: bytes, b: bytes) -> bytes:
    """The union of two serialised sketches, serialised (ValueError if either is corrupt)."""
    if len(a) == len(b) == 5 and a[0] == b[0] == SPARSE_TAG:  # one visitor each: most cells
        x, y = int.from_bytes(a[1:], "big"), int.from_bytes(b[1:], "big")
        if (x | y) >> 31 or not 0 < x & 63 <= 40 or not 0 < y & 63 <= 40:
            raise ValueError("corrupt sparse sketch")
        if x >> 6 == y >> 6:  # the same idx': the larger rank wins
            return a if x >= y else b
        return _SPARSE + (a[1:] + b[1:] if x < y else b[1:] + a[1:])
    for blob in (a, b):
        if blob[:1] not in (_SPARSE, _DENSE):
            raise ValueError(f"unknown sketch format tag {blob[:1]!r}")
    if a[:1] == b[:1] == _SPARSE and len(a) + len(b) <= _SMALL:  # NumPy costs more here
        check_sparse(a[1:])
        check_sparse(b[1:])
        best: dict[int, int] = {}
        for entry in sorted(struct.unpack(f">{(len(a) + len(b) - 2) // 4}I", a[1:] + b[1:])):
            best[entry >> 6] = entry  # the last of each idx' has the largest rank
        return _SPARSE + struct.pack(f">{len(best)}I", *best.values())
    if a[:1] == b[:1] == _SPARSE:
        entries = np.concatenate((_entries_of(a), _entries_of(b)))
        groups = np.zeros(len(entries), dtype=np.int64)
        return encode_groups(*distinct_entries(groups, entries), 1)[0]
    return _DENSE + np.maximum(_registers_of(a), _registers_of(b)).tobytes()


def union_each(groups: Sequence[Sequence[bytes]]) -> list[bytes]:
    """For each group of serialised sketches, their union, serialised: many merges at once.

    ValueError if any sketch is corrupt.
    """
    bodies: list[bytes] = []
    owners: list[int] = []
    sizes: list[int] = []
    dense: dict[int, list[bytes]] = {}
    for group, blobs in enumerate(groups):
        for blob in blobs:
            if blob[:1] == _SPARSE:
                check_sparse(blob[1:])
                bodies.append(blob[1:])
                owners.append(group)
                sizes.append((len(blob) - 1) // 4)
            elif blob[:1] == _DENSE:
                check_dense(blob)
                dense.setdefault(group, []).append(blob)
            else:
                raise ValueError(f"unknown sketch format tag {blob[:1]!r}")
    entries = np.frombuffer(b"".join(bodies), dtype=">u4").astype(np.uint64)
    owner = np.repeat(np.array(owners, dtype=np.int64), sizes)
    merged = encode_groups(*distinct_entries(owner, entries), len(groups))
    for group, blobs in dense.items():
        registers = _registers_of(merged[group])
        for blob in blobs:
            registers = np.maximum(registers, np.frombuffer(blob, dtype=np.uint8, offset=1))
        merged[group] = _DENSE + registers.tobytes()
    return merged
