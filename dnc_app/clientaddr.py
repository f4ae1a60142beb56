"""The key of a client address for per-client limits."""

from __future__ import annotations

import ipaddress

IPV6_PREFIX = 64


def client_key(remote_addr: str | None) -> str:
    """An IPv4 address as it is; an IPv6 address as its /64 network.

    One IPv6 subscriber usually gets a whole /64 and can pick any address in it, so
    keying on the full address would give each of them 2**64 budgets. An IPv4-mapped
    IPv6 address is its IPv4 address. Anything unparsable is kept as it is.
    """
    text = (remote_addr or "").strip()
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return text or "unknown"
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False))
    return str(address)
