"""Country from the client IP (a MaxMind/DB-IP country database) or a trusted CDN header.

The hot path reads the database through ``maxminddb`` (geoip2's own reader) instead of
geoip2's model objects (15-25 us); geoip2 checks the database once at start-up. Decoding a
full GeoLite2 record into dicts still costs ~6 us (about 90,000 instructions), while a
country database holds a few hundred distinct records. Compiled, the database's search
tree is walked to the record's position (``mmdb.py``, without decoding anything) and
each distinct record's country is remembered by that position. As Python, where the walk
would cost what it saves, answers are remembered per network block (an IPv4 /24 or an
IPv6 /48), and only when the database says the whole block shares one record. Both are
exact, and neither keeps an address in memory: a record's position, or a block.
"""

from __future__ import annotations

import os
import re
import socket

import geoip2.database
import geoip2.errors
import maxminddb
from maxminddb.errors import InvalidDatabaseError

from ..caches import forget_oldest
from ..errors import ConfigurationError
from .mmdb import WORTH_WALKING, SearchTree

UNKNOWN_COUNTRY = "ZZ"  # CLDR's "Unknown Region"
_ISO_CODE = re.compile(r"[A-Z]{2}")
_NOT_COUNTRIES = frozenset({"XX", "T1", "ZZ"})  # Cloudflare's "unknown" and "Tor"
_PROBES = ("1.1.1.1", "8.8.8.8", "81.2.69.142", "2001:4860::1")
BLOCK_CACHE = 65536
RECORD_CACHE = 65536  # distinct records remembered (a country database has a few hundred)


def _check_database(path: str | os.PathLike[str]) -> None:
    try:
        with geoip2.database.Reader(os.fspath(path)) as reader:
            for probe in _PROBES:
                try:
                    reader.country(probe)
                except geoip2.errors.AddressNotFoundError:
                    pass
                except ValueError as error:  # an IPv4-only database asked for IPv6
                    if "IPv6" not in str(error):
                        raise
    except FileNotFoundError:
        raise ConfigurationError(f"geoip_database: no file at {os.fspath(path)!r}") from None
    except (OSError, InvalidDatabaseError, ValueError, TypeError) as error:
        raise ConfigurationError(
            f"geoip_database: {os.fspath(path)!r} is not a readable MaxMind/DB-IP country "
            f"database ({error})"
        ) from None


class CountryLocator:
    """Two-letter country code for a request; ``ZZ`` when it cannot be told."""

    def __init__(
        self,
        *,
        database: str | os.PathLike[str] | None = None,
    ) -> None:
        self.reader: maxminddb.Reader | None = None
        self.tree: SearchTree | None = None
        self._blocks: dict[str, str] = {}
        self._records: dict[int, str] = {}  # a record's position in the file -> country
        if database is not None:
            _check_database(database)
            self.reader = maxminddb.open_database(os.fspath(database), maxminddb.MODE_AUTO)
            if WORTH_WALKING:
                self.tree = search_tree(os.fspath(database), self.reader)

    def from_header(self, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.strip().upper()
        if _ISO_CODE.fullmatch(code) and code not in _NOT_COUNTRIES:
            return code
        return None

    def from_ip(self, ip: str | None) -> str:
        if self.reader is None or not ip:
            return UNKNOWN_COUNTRY
        if self.tree is not None:
            return self._from_tree(self.tree, ip)
        block, bits = _block_of(ip)
        code = self._blocks.get(block) if block else None
        if code is not None:
            return code
        try:
            record, prefix = self.reader.get_with_prefix_len(ip)
        except (ValueError, InvalidDatabaseError, TypeError):
            return UNKNOWN_COUNTRY
        code = _iso_code(record)
        if block and prefix <= bits:  # every address in the block has this record
            if len(self._blocks) >= BLOCK_CACHE:
                forget_oldest(self._blocks, BLOCK_CACHE)
            self._blocks[block] = code
        return code

    def _from_tree(self, tree: SearchTree, ip: str) -> str:
        try:
            packed = socket.inet_pton(socket.AF_INET6 if ":" in ip else socket.AF_INET, ip)
        except (OSError, ValueError):  # not plain (a zone index, say): maxminddb decides
            return self._decoded(ip)
        position = tree.record_of(packed)
        if position == 0:
            return UNKNOWN_COUNTRY  # no record for it
        code = self._records.get(position)
        if code is None:
            code = self._decoded(ip)
            if len(self._records) >= RECORD_CACHE:
                forget_oldest(self._records, RECORD_CACHE)
            self._records[position] = code
        return code

    def _decoded(self, ip: str) -> str:
        assert self.reader is not None
        try:
            return _iso_code(self.reader.get(ip))
        except (ValueError, InvalidDatabaseError, TypeError):
            return UNKNOWN_COUNTRY

    def close(self) -> None:
        self.tree = None  # (its mapping of the file goes with it)
        if self.reader is not None:
            self.reader.close()


def search_tree(path: str, reader: maxminddb.Reader) -> SearchTree | None:
    """The file's search tree, or None where it cannot be walked (then maxminddb alone
    answers: a database it reads is never refused for this)."""
    metadata = reader.metadata()
    try:
        return SearchTree(
            path,
            nodes=metadata.node_count,
            record_size=metadata.record_size,
            ip_version=metadata.ip_version,
        )
    except (OSError, ValueError):
        return None


def _block_of(ip: str) -> tuple[str, int]:
    """The textual /24 (IPv4) or /48 (IPv6) prefix of an address, or "" when not plain."""
    if ":" not in ip:
        return ip.rpartition(".")[0], 24
    parts = ip.split(":", 3)
    if len(parts) == 4 and all(parts[:3]) and "." not in ip:
        return ":".join(parts[:3]).lower(), 48
    return "", 0


def _iso_code(record: object) -> str:
    if not isinstance(record, dict):
        return UNKNOWN_COUNTRY
    for key in ("country", "registered_country"):
        place = record.get(key)
        if isinstance(place, dict):
            code = place.get("iso_code")
            if isinstance(code, str) and _ISO_CODE.fullmatch(code):
                return code
    return UNKNOWN_COUNTRY
