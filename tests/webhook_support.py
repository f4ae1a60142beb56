"""A real webhook receiver on loopback for the tests (no tests here)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic()
    client_port: int = 0  # the sender's side of the connection

    def verified(self, secret: str) -> dict:
        """The payload, if the signature verifies with `secret` (else raises)."""
        return Webhook(secret).verify(self.body, self.headers)


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    body: bytes = b"ok"


class Receiver:
    """A threaded http.server: records every POST; answers from `script` (then 200).
    `keep_alive`: HTTP/1.1, connections stay open between requests."""

    def __init__(self, keep_alive: bool = False):
        self.received: list[Received] = []
        self.script: list[Answer] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"
            # The answer's head and body go out in two writes: without this the body
            # waits for the sender's delayed ACK on a kept-alive connection.
            disable_nagle_algorithm = True

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.received.append(
                        Received(
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            time.monotonic(),
                            self.client_address[1],
                        )
                    )
                    answer = receiver.script.pop(0) if receiver.script else Answer()
                if answer.delay:
                    time.sleep(answer.delay)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except OSError:
                    pass  # the sender gave up (time-out)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 10) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} deliveries, got {len(self.received)}")


class Misbehaving:
    """A receiver on loopback that never answers well, on a raw socket: "hang" (reads the
    request, never answers), "trickle" (answers one byte every `interval` seconds, never
    done), "trickle-body" (the same after a complete head), or a status such as 500 or
    410 (answered at once). Counts the requests and the
    most it held open at once."""

    def __init__(self, mode: str | int, interval: float = 1.0):
        import socket

        self.mode, self.interval = mode, interval
        self.requests: list[float] = []  # time.monotonic() of each request
        self.open_now = self.most_open = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}/hook"

    def start(self) -> Misbehaving:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.thread.join()
        self._sock.close()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _addr = self._sock.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _read_request(self, conn) -> bool:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return False
            data += chunk
        head, _sep, body = data.partition(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return False
            body += chunk
        return True

    def _serve(self, conn) -> None:
        conn.settimeout(0.2)
        try:
            while not self._stopping.is_set():
                try:
                    if not self._read_request(conn):
                        return
                except TimeoutError:
                    continue
                with self._lock:
                    self.requests.append(time.monotonic())
                    self.open_now += 1
                    self.most_open = max(self.most_open, self.open_now)
                try:
                    if not self._answer(conn):
                        return
                finally:
                    with self._lock:
                        self.open_now -= 1
        except OSError:
            pass
        finally:
            conn.close()

    def _wait_or_gone(self, conn, seconds: float) -> bool:
        """Wait `seconds`; True as soon as the receiver stops or the sender closed the
        connection. Noticed within 0.1 s, so that `open_now` follows the sender's view: a
        write alone would notice a close only at the second byte after it."""
        until = time.monotonic() + seconds
        while not self._stopping.wait(min(0.1, max(0.0, until - time.monotonic()))):
            try:
                if conn.recv(1, 0x40) == b"":  # MSG_DONTWAIT: the sender gave up
                    return True
            except (BlockingIOError, TimeoutError):
                pass
            if time.monotonic() >= until:
                return False
        return True

    def _answer(self, conn) -> bool:
        """False: the connection is done."""
        if self.mode == "hang":
            while not self._wait_or_gone(conn, 3600):
                pass
            return False
        if self.mode in ("trickle", "trickle-body"):
            answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" * 1000
            if self.mode == "trickle-body":  # the head at once, then the body slowly
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                answer = b"x" * 100000
            for byte in answer:
                if self._wait_or_gone(conn, self.interval):
                    return False
                conn.sendall(bytes([byte]))
            return False
        conn.sendall(f"HTTP/1.1 {self.mode} Nope\r\nContent-Length: 4\r\n\r\nnope".encode())
        return True
