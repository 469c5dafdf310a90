"""Country from the client IP (a MaxMind/DB-IP country database) or a trusted CDN header.

The hot path reads the database through ``maxminddb`` (geoip2's own reader) instead of
geoip2's model objects (15-25 us); geoip2 checks the database once at start-up. Decoding a
full GeoLite2 record into dicts still costs ~6 us, so answers are remembered per network
block (an IPv4 /24 or an IPv6 /48), and only when the database says the whole block shares
one record: exact, and what is kept in memory is a block, never a full address.
"""

from __future__ import annotations

import os
import re

import geoip2.database
import geoip2.errors
import maxminddb
from maxminddb.errors import InvalidDatabaseError

from ..errors import ConfigurationError

UNKNOWN_COUNTRY = "ZZ"  # CLDR's "Unknown Region"
_ISO_CODE = re.compile(r"[A-Z]{2}")
_NOT_COUNTRIES = frozenset({"XX", "T1", "ZZ"})  # Cloudflare's "unknown" and "Tor"
_PROBES = ("1.1.1.1", "8.8.8.8", "81.2.69.142", "2001:4860::1")
BLOCK_CACHE = 65536


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
        self._blocks: dict[str, str] = {}
        if database is not None:
            _check_database(database)
            self.reader = maxminddb.open_database(os.fspath(database), maxminddb.MODE_AUTO)

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
                del self._blocks[next(iter(self._blocks))]
            self._blocks[block] = code
        return code

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()


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
