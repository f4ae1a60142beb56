"""The client address as rate limits see it."""

from __future__ import annotations

import ipaddress

# One IPv6 subscriber usually gets a whole /64: keyed per address, each of its 2**64
# addresses would get its own budget.
IPV6_PREFIX = 64


def client_key(remote_addr: str | None) -> str:
    """The key of a client address: an IPv4 address, or the /64 network of an IPv6 one."""
    text = (remote_addr or "").strip()
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])  # no zone index ("fe80::1%eth0")
    except ValueError:
        return text[:64] or "unknown"
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False))
    return str(address)
