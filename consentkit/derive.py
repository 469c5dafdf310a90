"""Everything the analytics keep about a request, derived from it and nothing more.

country (from the IP or a trusted CDN header), device type, browser and OS (from the user
agent), the page's route template and the hour. The IP address and the user-agent string
are used here and dropped; they never leave this module.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from .client_ip import ClientAddress
from .errors import ConfigurationError
from .geoip import CountryLocator
from .records import CubeKey
from .useragent import Agent, UserAgentClassifier

MAX_PAGE = 512  # longer paths are truncated; no real route template is this long


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """The raw request inputs to derivation; never stored."""

    peer: str | None
    user_agent: str
    forwarded_for: str | None = None
    country_header: str | None = None


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
        if country_header and not self.client.networks:
            raise ConfigurationError(
                f"country_header={country_header!r} needs trusted_proxies: the header is "
                "believed only from the proxy that sets it (e.g. Cloudflare's address ranges)"
            )
        self.countries = CountryLocator(database=geoip_database, header=country_header)
        self.agents = UserAgentClassifier(cache_size=user_agent_cache)

    def agent(self, user_agent: str) -> Agent:
        return self.agents(user_agent)

    def country(self, facts: RequestFacts) -> str:
        trusted = self.client.peer_is_trusted(facts.peer)
        if trusted and facts.country_header is not None:
            code = self.countries.from_header(facts.country_header)
            if code is not None:
                return code
        return self.countries.from_ip(self.client(facts.peer, facts.forwarded_for))

    def cube_key(self, facts: RequestFacts, agent: Agent, *, hour: int, page: str) -> CubeKey:
        return CubeKey(
            hour=hour,
            country=self.country(facts),
            device=agent.device,
            browser=agent.browser,
            os=agent.os,
            page=page[:MAX_PAGE],
        )

    def close(self) -> None:
        self.countries.close()
