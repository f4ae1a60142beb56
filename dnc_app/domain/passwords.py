"""Password hashing at the running app's configured cost, in one place.

werkzeug's scrypt at its default cost in production; TestConfig lowers it. The member
services (accounts) hash and check through here and read no configuration themselves.
"""

from __future__ import annotations

import secrets
from functools import cache

from flask import current_app
from werkzeug.security import generate_password_hash


def _method() -> str:
    return current_app.config["PASSWORD_HASH_METHOD"]


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=_method())


def dummy_hash() -> str:
    """A hash of a random password at the configured cost: checking a password against it
    costs what checking a real member's costs (sign-in tells no emails apart)."""
    return _dummy_hash(_method())


@cache
def _dummy_hash(method: str) -> str:
    return generate_password_hash(secrets.token_urlsafe(16), method=method)
