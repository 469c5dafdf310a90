"""The visitor's IP address: the peer's, or ``X-Forwarded-For``'s when the peer is trusted.

The address is only used to derive a country; it is never stored.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from functools import lru_cache

from ..errors import ConfigurationError

MAX_FORWARDED_FOR = 2048  # longer headers are hostile; they are ignored, not parsed

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(trusted_proxies: Sequence[str]) -> tuple[Network, ...]:
    if isinstance(trusted_proxies, str):
        trusted_proxies = [trusted_proxies]
    networks = []
    for item in trusted_proxies:
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigurationError(
                f"trusted_proxies: {item!r} is not an IP address or network (e.g. '10.0.0.0/8')"
            ) from None
    return tuple(networks)


class ClientAddress:
    """Finds the client IP of a request, trusting forwarded headers only from known proxies."""

    def __init__(self, trusted_proxies: Sequence[str] = ()) -> None:
        self.networks = parse_networks(trusted_proxies)
        # Each network as (family, mask, network) integers, for addresses read by the C
        # parser (inet_pton): ipaddress's own parsing costs a few µs per new address.
        self._masks = [
            (
                socket.AF_INET if network.version == 4 else socket.AF_INET6,
                int(network.netmask),
                int(network.network_address),
            )
            for network in self.networks
        ]
        self.is_trusted = lru_cache(maxsize=256)(self._is_trusted)

    def _is_trusted(self, address: str) -> bool:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        try:
            value = int.from_bytes(socket.inet_pton(family, address), "big")
        except (OSError, ValueError):  # not plain (a zone index, say): ipaddress decides
            try:
                ip = ipaddress.ip_address(address)
            except ValueError:
                return False
            return any(ip in network for network in self.networks)
        return any(f == family and value & mask == net for f, mask, net in self._masks)

    def peer_is_trusted(self, peer: str | None) -> bool:
        return bool(self.networks) and peer is not None and self.is_trusted(peer)

    def __call__(self, peer: str | None, forwarded_for: str | None) -> str | None:
        """The client address: the rightmost forwarded hop that is not a trusted proxy."""
        if not forwarded_for or not self.peer_is_trusted(peer):
            return peer
        if len(forwarded_for) > MAX_FORWARDED_FOR:
            return None
        for hop in reversed(forwarded_for.split(",")):
            hop = hop.strip()
            if not self.is_trusted(hop):
                return hop or None
        return None
