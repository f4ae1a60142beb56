"""One webhook POST: to the checked address, no redirects, bounded time and answer."""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass

from .destinations import Destination, DestinationError, parse, resolve

READ_LIMIT = 64 * 1024  # read at most this much of an answer
LOG_LIMIT = 1024  # and keep this much in the delivery log

# Error classes shown in the log and the API: enough to act on, nothing about the
# internal network (no raw socket errors).
TIMEOUT = "timeout"
CONNECTION_FAILED = "connection failed"
REFUSED = "destination not allowed"
# Not sent: the stored secret was encrypted under another SECRET_KEY (rotate it).
SECRET_UNREADABLE = "secret unreadable: rotate it"


@dataclass(frozen=True)
class Outcome:
    status: int | None
    duration_ms: int
    error: str | None = None
    excerpt: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to `address`; Host header from the URL's host."""

    def __init__(self, destination: Destination, address: str, timeout: float):
        super().__init__(destination.host, destination.port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """Connects to `address`; Host header and TLS server name (SNI, certificate check)
    from the URL's host."""

    def __init__(self, destination: Destination, address: str, timeout: float):
        super().__init__(destination.host, destination.port, timeout=timeout,
                         context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to the schedule


def _read_bounded(response: http.client.HTTPResponse, deadline: float) -> bytes:
    body = b""
    while len(body) < READ_LIMIT:
        if time.monotonic() > deadline:
            raise TimeoutError
        chunk = response.read1(READ_LIMIT - len(body))
        if not chunk:
            break
        body += chunk
    return body


def post(url: str, body: str, headers: dict[str, str], *, timeout: float,
         allow_private: bool) -> Outcome:
    """POST `body`; any failure is an Outcome with an error class, never an exception."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        destination = parse(url)
        address = resolve(destination, allow_private)
    except DestinationError:
        return Outcome(None, elapsed(), REFUSED)
    kind = _PinnedHTTPS if destination.scheme == "https" else _PinnedHTTP
    connection = kind(destination, address, timeout)
    try:
        connection.request("POST", destination.path, body=body.encode("utf-8"),
                           headers=headers)
        response = connection.getresponse()
        answer = _read_bounded(response, started + timeout)
        return Outcome(response.status, elapsed(),
                       excerpt=answer[:LOG_LIMIT].decode("utf-8", "replace"),
                       retry_after=_retry_after(response.getheader("Retry-After")))
    except TimeoutError:
        return Outcome(None, elapsed(), TIMEOUT)
    except (OSError, http.client.HTTPException, ValueError):
        return Outcome(None, elapsed(), CONNECTION_FAILED)
    finally:
        connection.close()
