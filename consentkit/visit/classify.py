"""Everything the analytics keep about a request, derived from it and nothing more.

country (from the IP or a trusted CDN header), device type, browser and OS (from the user
agent), the page's route template and the hour. The IP address and the user-agent string
are used here and dropped; they never leave this module.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from .client_ip import ClientAddress
from .geoip import CountryLocator
from .request import FORWARDED_FOR, Visit
from .useragent import UserAgentClassifier

MAX_PAGE = 512  # longer paths are truncated; no real route template is this long


class VisitorClassifier:
    """Derives the non-identifying traits of a visit."""

    def __init__(
        self,
        *,
        geoip_database: str | os.PathLike[str] | None = None,
        country_header: str | None = None,
        trusted_proxies: Sequence[str] = (),
        user_agent_cache: int = 4096,
    ) -> None:
        self.client = ClientAddress(trusted_proxies)
        self.countries = CountryLocator(database=geoip_database)
        self.country_header = country_header.lower().encode("latin-1") if country_header else None
        self.agent = UserAgentClassifier(cache_size=user_agent_cache)

    def country(self, visit: Visit) -> str:
        """The visitor's country: from the peer's address, or behind a trusted proxy from
        the CDN's country header or the forwarded address."""
        peer = visit.peer
        if not self.client.networks:  # no proxy to believe: the peer is the client
            return self.countries.from_ip(peer)
        if self.country_header is not None and self.client.peer_is_trusted(peer):
            code = self.countries.from_header(visit.headers.get(self.country_header))
            if code is not None:
                return code
        return self.countries.from_ip(self.client(peer, visit.headers.get(FORWARDED_FOR)))

    def close(self) -> None:
        self.countries.close()
