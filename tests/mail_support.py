"""A real SMTP server on loopback (aiosmtpd) for the tests, and a mail server that hangs.
No tests here."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from dataclasses import dataclass

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Mail:
    to: list[str]
    subject: str
    body: str


class SmtpSink:
    """Accepts every message and keeps it; `wait_for` waits on a condition, not a sleep."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.mails: list[Mail] = []
        self._cond = threading.Condition()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        mail = Mail(list(envelope.rcpt_tos), str(message["Subject"]), message.get_content())
        with self._cond:
            self.mails.append(mail)
            self._cond.notify_all()
        return "250 OK"

    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def wait_for(self, count: int, timeout: float = 15) -> list[Mail]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.mails) >= count, timeout):
                raise AssertionError(
                    f"expected {count} emails, got {len(self.mails)}: "
                    f"{[m.subject for m in self.mails]}"
                )
            return list(self.mails)

    def to(self, address: str) -> list[Mail]:
        with self._cond:
            return [m for m in self.mails if address in m.to]


class HangingSmtp:
    """Accepts connections and never says a word (a mail server that hangs)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = threading.Event()
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self._conns.append(conn)
            self.accepted.set()

    def stop(self) -> None:
        self.sock.close()
        for conn in self._conns:
            conn.close()
