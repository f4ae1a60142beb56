"""The key a client is limited by: its IPv4 address, or its IPv6 /64.

One IPv6 subscriber usually gets a whole /64 (18 quintillion addresses) and can change
address at will: a limit per address would be no limit. IPv4-mapped IPv6 addresses
(`::ffff:192.0.2.1`, what a dual-stack socket reports for IPv4 clients) count as the
IPv4 address they carry.
"""

from __future__ import annotations

import ipaddress

_IPV6_PREFIX = 64
# Longest text kept from an address that does not parse (bounded keys in the store).
_MAX_RAW = 64


def client_key(remote_addr: str | None) -> str:
    """The limit key: "192.0.2.1", "2001:db8:1:2::/64", or "raw:<text>" (bounded) when
    the text is no IP address."""
    raw = (remote_addr or "").strip()
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return "raw:" + raw[:_MAX_RAW]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        network = ipaddress.IPv6Network((int(address), _IPV6_PREFIX), strict=False)
        return str(network)
    return str(address)
