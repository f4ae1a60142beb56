"""Optional email, when SMTP_HOST is configured; nothing is sent otherwise.

Invitations are sent from the request (the link is always shown to the owner too, so a
team needs no mail server); notifications and password resets from the delivery loop
(dnc_app.events.notifications), which retries.
"""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from flask import current_app

log = logging.getLogger(__name__)
SMTP_TIMEOUT_SECONDS = 10


def enabled() -> bool:
    return bool(current_app.config.get("SMTP_HOST"))


def send(to: str, subject: str, body: str) -> bool:
    """Send a plain-text email; True when the server took it. Failures are logged (without
    the body, which may hold a link) and answered False: the caller shows the link."""
    error = try_send(to, subject, body)
    if error is not None:
        log.warning("email not sent: %s", error)
    return error is None


def try_send(to: str, subject: str, body: str) -> str | None:
    """Send a plain-text email; None when the server took it, else the error's class name
    (never the body, which may hold a link)."""
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["SMTP_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    try:
        with smtplib.SMTP(
            config["SMTP_HOST"], config["SMTP_PORT"], timeout=SMTP_TIMEOUT_SECONDS
        ) as smtp:
            if config["SMTP_STARTTLS"]:
                smtp.starttls()
            if config["SMTP_USERNAME"]:
                smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"])
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        return type(exc).__name__
    return None
