"""Whole columns sent to PostgreSQL as binary arrays, for ``unnest`` on the server.

A flush hands tens of thousands of cube cells to the server at once. psycopg dumps a Python
list element by element in Python (about a microsecond each); a NumPy array of 64-bit
integers is written here in PostgreSQL's binary array format with a few whole-array
operations, and a list of sketches with one ``join``. ``BIGINTS`` and ``BLOBS`` are the
dumpers, registered on every pooled connection (see ``postgres_pool.py``); pass
``Blobs(sketches)`` for a ``bytea[]`` and an ``int64`` NumPy array for a ``bigint[]``.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from psycopg import postgres
from psycopg.adapt import Buffer, Dumper
from psycopg.pq import Format

_INT8, _BYTEA = postgres.types["int8"], postgres.types["bytea"]
_ITEM = np.dtype([("length", ">i4"), ("value", ">i8")])


def _header(element_oid: int, count: int) -> bytes:
    """One dimension, no NULLs, ``count`` elements numbered from 1."""
    return struct.pack(">iiIii", 1, 0, element_oid, count, 1)


@dataclass(frozen=True, slots=True)
class Blobs:
    """A column of ``bytea`` values (visitor sketches), to be sent as one ``bytea[]``."""

    items: Sequence[bytes]


class BigintArrayDumper(Dumper):
    """An int64 NumPy array as a binary ``bigint[]``."""

    format = Format.BINARY
    oid = _INT8.array_oid

    def dump(self, obj: Any) -> Buffer | None:
        values = np.asarray(obj)
        if values.dtype.kind != "i":
            raise TypeError(f"a bigint[] needs integers, not {values.dtype}")
        items = np.empty(len(values), dtype=_ITEM)
        items["length"] = 8
        items["value"] = values
        return _header(_INT8.oid, len(values)) + items.tobytes()


class ByteaArrayDumper(Dumper):
    """``Blobs`` as a binary ``bytea[]``: each value after its 4-byte length."""

    format = Format.BINARY
    oid = _BYTEA.array_oid

    def dump(self, obj: Any) -> Buffer | None:
        items: Sequence[bytes] = obj.items
        lengths = np.fromiter(map(len, items), dtype=">i4", count=len(items)).tobytes()
        parts = [_header(_BYTEA.oid, len(items))]
        for index, item in enumerate(items):
            parts += (lengths[4 * index : 4 * index + 4], item)
        return b"".join(parts)


ARRAY_DUMPERS: tuple[tuple[type, type[Dumper]], ...] = (
    (np.ndarray, BigintArrayDumper),
    (Blobs, ByteaArrayDumper),
)
