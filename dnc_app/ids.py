"""Opaque identifiers and secrets."""

from __future__ import annotations

import hashlib
import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


# Bytes below 248 (= 4 x 62) map uniformly onto the alphabet; the rest are discarded.
_UNIFORM_BELOW = 256 - 256 % len(_ALPHABET)


def random_token(length: int) -> str:
    """`length` uniformly random base62 characters from the OS's CSPRNG.

    One os.urandom call per token rather than one secrets.choice per character: bulk
    imports create a hundred thousand ids at a time.
    """
    chars: list[str] = []
    while len(chars) < length:
        chars += [_ALPHABET[b % 62] for b in secrets.token_bytes(length + 8)
                  if b < _UNIFORM_BELOW]
    return "".join(chars[:length])


def entry_id() -> str:
    return "dnc_" + random_token(20)


def team_id() -> str:
    return "team_" + random_token(20)


# API keys: a recognizable prefix plus 40 base62 characters (about 238 bits of randomness).
API_KEY_PREFIX = "dnc_sk_"
API_KEY_RANDOM_LENGTH = 40
API_KEY_LENGTH = len(API_KEY_PREFIX) + API_KEY_RANDOM_LENGTH


def new_api_key() -> str:
    return API_KEY_PREFIX + random_token(API_KEY_RANDOM_LENGTH)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def looks_like_api_key(key: str) -> bool:
    return (
        len(key) == API_KEY_LENGTH
        and key.startswith(API_KEY_PREFIX)
        and all(c in _ALPHABET for c in key[len(API_KEY_PREFIX) :])
    )
