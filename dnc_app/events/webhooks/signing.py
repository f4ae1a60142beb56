"""Webhook secrets: made, kept encrypted at rest, and used to sign deliveries.

A secret must be usable for HMAC, so it is stored (not hashed): encrypted with Fernet
under a key derived from SECRET_KEY (HKDF-SHA256, its own `info`), so a copy of the
database alone does not let anyone sign events. Changing SECRET_KEY makes the stored
secrets unreadable: endpoints then need a new secret (rotate).
"""

from __future__ import annotations

import base64
import os
from datetime import datetime
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(os.urandom(SECRET_BYTES)).decode("ascii")


@lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"dnc webhook secrets").derive(
        secret_key.encode("utf-8")
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(secret: str) -> str:
    return _fernet(current_app.config["SECRET_KEY"]).encrypt(secret.encode()).decode("ascii")


class SecretUnreadable(Exception):
    """The stored secret was encrypted under another SECRET_KEY."""


def decrypt(stored: str) -> str:
    try:
        return (
            _fernet(current_app.config["SECRET_KEY"]).decrypt(stored.encode()).decode("utf-8")
        )  # also notification bodies
    except InvalidToken:
        raise SecretUnreadable() from None


def headers(msg_id: str, timestamp: datetime, body: str, secrets: list[str]) -> dict[str, str]:
    """The Standard Webhooks headers: one `v1,…` signature per secret, space-separated
    (during a rotation the receiver may still hold the previous secret)."""
    signatures = " ".join(Webhook(s).sign(msg_id, timestamp, body) for s in secrets)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/json",
        "user-agent": "dnc-service-webhooks/1",
    }
