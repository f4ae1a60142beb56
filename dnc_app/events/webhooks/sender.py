"""One webhook POST: to the checked address, no redirects, one total deadline, a bounded
answer, and a kept-alive connection per endpoint.

The deadline covers everything an attempt does: name resolution (in a helper thread, as
`getaddrinfo` cannot be interrupted), connect, sending, and the whole answer. A socket
time-out alone bounds each read, not their sum: a receiver that trickles a byte a second
would keep an attempt for ever. So every socket operation gets the time that is left, and
one watchdog thread shuts down the socket of an attempt still running at its deadline,
which ends any read or write blocked in it.
"""

from __future__ import annotations

import heapq
import http.client
import itertools
import socket
import ssl
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from dnc_app.events.webhooks.destinations import Destination, DestinationError, parse, resolve

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


class _Deadline(Exception):
    """The attempt's total time is used up."""


# --------------------------------------------------------------------------- resolution


_resolving: dict[tuple[str, int, bool], Future] = {}
_resolving_lock = threading.Lock()


def _resolve_within(destination: Destination, allow_private: bool, deadline: float) -> str:
    """`destinations.resolve` with a deadline. One lookup per name at a time: callers for
    a name whose lookup hangs wait on that one (a thread per hung name, never more)."""
    key = (destination.host, destination.port, allow_private)
    with _resolving_lock:
        future = _resolving.get(key)
        if future is None:
            future = _resolving[key] = Future()
            threading.Thread(
                target=_lookup,
                args=(key, destination, allow_private, future),
                name="webhook-resolve",
                daemon=True,
            ).start()
    try:
        return future.result(timeout=max(0.0, deadline - time.monotonic()))
    except FutureTimeout:
        raise _Deadline() from None


def _lookup(key, destination: Destination, allow_private: bool, future: Future) -> None:
    try:
        future.set_result(resolve(destination, allow_private))
    except BaseException as exc:  # noqa: BLE001 (handed to the waiting attempts)
        future.set_exception(exc)
    finally:
        with _resolving_lock:
            _resolving.pop(key, None)


# --------------------------------------------------------------------------- the watchdog


class _Watchdog:
    """Shuts down the sockets of attempts that outlive their deadline (one thread for
    all attempts: registering costs a heap push, not a timer thread)."""

    def __init__(self):
        self._heap: list[tuple[float, int, socket.socket]] = []
        self._live: set[int] = set()
        self._count = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, sock: socket.socket, deadline: float) -> int:
        with self._cond:
            token = next(self._count)
            heapq.heappush(self._heap, (deadline, token, sock))
            self._live.add(token)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="webhook-watchdog", daemon=True
                )
                self._thread.start()
            elif self._heap[0][1] == token:
                self._cond.notify()
            return token

    def done(self, token: int) -> None:
        with self._cond:
            self._live.discard(token)

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][1] not in self._live:
                    heapq.heappop(self._heap)  # finished in time
                if not self._heap:
                    self._cond.wait(30)
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                _deadline, token, sock = heapq.heappop(self._heap)
                self._live.discard(token)
                try:  # the plain socket's shutdown: also under TLS, without touching it
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)
                except OSError:
                    pass


_watchdog = _Watchdog()


# --------------------------------------------------------------------------- connections


class _Pinned(http.client.HTTPConnection):
    """Connects to the checked `address`; Host header (and under TLS the server name and
    certificate check) from the URL's host. Reused for the endpoint's next attempts."""

    def __init__(self, destination: Destination, address: str):
        super().__init__(destination.host, destination.port)
        self.destination, self.address = destination, address
        self.tls = destination.scheme == "https"
        if self.tls:  # the Host header names no port on 443
            self.default_port = 443

    def open(self, deadline: float) -> None:
        sock = socket.create_connection((self.address, self.port), _left(deadline))
        if self.tls:
            token = _watchdog.watch(sock, deadline)
            try:
                sock.settimeout(_left(deadline))
                sock = _tls().wrap_socket(sock, server_hostname=self.host)
            finally:
                _watchdog.done(token)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock

    def post_in_one_write(self, body: bytes, headers: dict[str, str]) -> None:
        """POST `body`: the head and the body in one write (http.client writes them in
        two), half the packets and wake-ups on the receiver's side, for every event."""
        self.hold_head = bool(body)
        self.request("POST", self.destination.path, body=body, headers=headers)

    hold_head = False
    held = b""

    def send(self, data) -> None:
        if self.hold_head:  # the head: the body follows at once
            self.hold_head, self.held = False, data
            return
        if self.held:
            data, self.held = self.held + data, b""
        super().send(data)


_tls_context: ssl.SSLContext | None = None


def _tls() -> ssl.SSLContext:
    global _tls_context
    if _tls_context is None:
        _tls_context = ssl.create_default_context()
    return _tls_context


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _Deadline()
    return left


class Connections:
    """Kept-alive connections, per endpoint URL, for one delivery loop. A connection is
    used by one attempt at a time; an attempt takes one or opens one."""

    IDLE_SECONDS = 30  # a connection unused this long is closed

    def __init__(self):
        self._idle: dict[str, list[tuple[float, _Pinned]]] = {}
        self._lock = threading.Lock()

    def take(self, url: str) -> _Pinned | None:
        with self._lock:
            idle = self._idle.get(url)
            while idle:
                _since, connection = idle.pop()
                if connection.sock is not None:
                    return connection
        return None

    def give_back(self, url: str, connection: _Pinned, keep: int) -> None:
        if connection.sock is None:
            return
        with self._lock:
            idle = self._idle.setdefault(url, [])
            if len(idle) < keep:
                idle.append((time.monotonic(), connection))
                return
        connection.close()

    def prune(self) -> None:
        """Close connections idle too long (the receiver would soon close them too)."""
        now = time.monotonic()
        with self._lock:
            stale = [
                c
                for idle in self._idle.values()
                for since, c in idle
                if now - since > self.IDLE_SECONDS
            ]
            for url in list(self._idle):
                self._idle[url] = [
                    (s, c) for s, c in self._idle[url] if now - s <= self.IDLE_SECONDS
                ]
                if not self._idle[url]:
                    del self._idle[url]
        for connection in stale:
            connection.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for _since, connection in connections:
                connection.close()


# --------------------------------------------------------------------------- one POST


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to the schedule


def _read_bounded(
    response: http.client.HTTPResponse, deadline: float, sock: socket.socket
) -> bytes:
    body = b""
    while len(body) < READ_LIMIT:
        sock.settimeout(_left(deadline))
        chunk = response.read1(READ_LIMIT - len(body))
        if not chunk:
            if time.monotonic() >= deadline:
                raise _Deadline()  # the watchdog ended it: the answer was too slow
            if response.length:  # closed before the announced length
                raise http.client.IncompleteRead(body, response.length)
            break
        body += chunk
    return body


def _exchange(
    connection: _Pinned, body: bytes, headers: dict[str, str], deadline: float
) -> tuple[http.client.HTTPResponse, bytes]:
    sock = connection.sock
    token = _watchdog.watch(sock, deadline)
    try:
        sock.settimeout(_left(deadline))
        connection.post_in_one_write(body, headers)
        sock.settimeout(_left(deadline))
        response = connection.getresponse()
        answer = _read_bounded(response, deadline, sock)
        if response.isclosed() or response.length == 0:
            response.close()  # read to its end: the connection can carry the next one
        else:
            connection.close()  # the rest of the answer is not read: not reusable
        return response, answer
    finally:
        _watchdog.done(token)


# A kept-alive connection that the receiver closed meanwhile fails like this before any
# answer: the request is sent again once on a new connection.
_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


def post(
    url: str,
    body: str,
    headers: dict[str, str],
    *,
    timeout: float,
    allow_private: bool,
    connections: Connections | None = None,
    keep: int = 1,
) -> Outcome:
    """POST `body` within `timeout` seconds in all; any failure is an Outcome with an
    error class, never an exception. With `connections`, a kept-alive connection to the
    URL is reused and given back (at most `keep` idle per URL)."""
    started = time.monotonic()
    deadline = started + timeout

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    payload = body.encode("utf-8")
    connection = connections.take(url) if connections else None
    reused = connection is not None
    try:
        if connection is None:
            try:
                destination = parse(url)
                address = _resolve_within(destination, allow_private, deadline)
            except DestinationError:
                return Outcome(None, elapsed(), REFUSED)
            connection = _Pinned(destination, address)
            connection.open(deadline)
        try:
            response, answer = _exchange(connection, payload, headers, deadline)
        except _STALE:
            if not reused or time.monotonic() >= deadline:
                raise
            connection.close()
            connection.open(deadline)
            response, answer = _exchange(connection, payload, headers, deadline)
        outcome = Outcome(
            response.status,
            elapsed(),
            excerpt=answer[:LOG_LIMIT].decode("utf-8", "replace"),
            retry_after=_retry_after(response.getheader("Retry-After")),
        )
        if connections is not None:
            connections.give_back(url, connection, keep)
            connection = None
        return outcome
    except (_Deadline, TimeoutError):
        return Outcome(None, elapsed(), TIMEOUT)
    except (OSError, http.client.HTTPException, ValueError):
        # A socket shut down by the watchdog fails like a closed one.
        error = TIMEOUT if time.monotonic() >= deadline else CONNECTION_FAILED
        return Outcome(None, elapsed(), error)
    finally:
        if connection is not None:
            connection.close()
