"""Which client a request counts against: its peer, or behind a trusted proxy the address
that proxy saw.

As uvicorn's ``forwarded_allow_ips``: X-Forwarded-For is read only when the peer is in a
configured proxy network, and then from the right, skipping the entries of trusted proxies,
up to the first address none of them vouches for. Entries further left are the caller's to
invent, so a random X-Forwarded-For from anyone else changes nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Final

from connectors.ingest.settings import Network

MAX_HOPS: Final = 32
UNKNOWN: Final = "unknown"


def client_address(peer: str | None, forwarded: Sequence[str], proxies: Sequence[Network]) -> str:
    if peer is None:
        return UNKNOWN
    if not proxies or not forwarded or not _trusted(peer, proxies):
        return peer
    hops = [hop.strip() for value in forwarded for hop in value.split(",")][-MAX_HOPS:]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return _normal(hop)
    return _normal(hops[0]) if hops else peer


def _trusted(address: str, proxies: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def _normal(hop: str) -> str:
    """The address in canonical form; what is no address counts as one client of its own."""
    try:
        return str(ipaddress.ip_address(hop))
    except ValueError:
        return hop[:64] or UNKNOWN
