"""Where webhooks may go: http(s) URLs on public addresses (SSRF protection).

A URL is checked when it is saved and again at each delivery, on the address it resolves
to then; the sender connects to exactly the address checked (no second DNS lookup that
a rebinding name could answer differently). Private, loopback, link-local, reserved and
multicast addresses are refused unless WEBHOOK_ALLOW_PRIVATE is set.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048


class DestinationError(Exception):
    """A URL that cannot be a webhook destination; `message` is safe to show."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str  # as written (the Host header and TLS server name)
    port: int
    path: str  # path and query


def parse(url: object) -> Destination:
    if not isinstance(url, str) or not url.strip():
        raise DestinationError("url is required")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise DestinationError(f"url must be at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise DestinationError("url is not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise DestinationError("url must start with https:// or http://")
    if not parts.hostname or parts.username is not None or parts.password is not None:
        raise DestinationError("url must have a host name and no user name or password")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise DestinationError("url must not contain spaces or control characters")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Destination(
        parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path
    )


# IPv6 prefixes whose last 32 bits are an IPv4 address a gateway connects to: NAT64
# (well-known and local-use), so a private IPv4 address hides behind them.
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, compatible, NAT64, 6to4), if any:
    a route to it reaches that IPv4 address, so it must be public too."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if int(ip) >> 32 == 0 or any(ip in net for net in _NAT64):  # ::a.b.c.d, NAT64
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6:
        embedded = _embedded_ipv4(ip)
        if embedded is not None and not (embedded.is_global and not embedded.is_multicast):
            return False
    return ip.is_global and not ip.is_multicast


def resolve(destination: Destination, allow_private: bool) -> str:
    """The address to connect to. Refused if ANY address of the name is not public: a
    name that mixes public and private answers is not trusted."""
    try:
        infos = socket.getaddrinfo(destination.host, destination.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):
        raise DestinationError("the host name does not resolve") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise DestinationError("the host name does not resolve")
    if not allow_private and not all(is_public(a) for a in addresses):
        raise DestinationError(
            "the destination is a private, loopback or reserved "
            "address, which webhooks may not reach"
        )
    return addresses[0]


def check(url: object, allow_private: bool) -> str:
    """The URL, cleaned, if it may receive webhooks (checked on save)."""
    destination = parse(url)
    resolve(destination, allow_private)
    return str(url).strip()
