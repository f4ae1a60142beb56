"""Opaque identifiers and secrets."""

from __future__ import annotations

import hashlib
import os
import string

_ALPHABET = string.ascii_letters + string.digits


# Random bytes mapped onto the 62 letters and digits by a table, in C: bytes 0-247 map
# evenly (248 = 4 x 62) and 248-255 are dropped, so every character is uniformly random.
# One os.urandom call per batch instead of one secrets.choice per character: bulk imports
# create a hundred thousand ids at a time.
_TO_ALPHABET = bytes(ord(_ALPHABET[b % 62]) if b < 248 else 0 for b in range(256))
_DROPPED = bytes(range(248, 256))
ENTRY_ID_RANDOM_LENGTH = 20


def _random_chars(count: int) -> str:
    chars = b""
    while len(chars) < count:
        chars += os.urandom((count - len(chars)) * 33 // 32 + 16).translate(_TO_ALPHABET, _DROPPED)
    return chars[:count].decode("ascii")


def random_token(length: int) -> str:
    """`length` uniformly random base62 characters from the OS's CSPRNG."""
    return _random_chars(length)


def entry_ids(count: int) -> list[str]:
    """`count` new entry ids at once."""
    n = ENTRY_ID_RANDOM_LENGTH
    chars = _random_chars(count * n)
    return ["dnc_" + chars[i : i + n] for i in range(0, count * n, n)]


def entry_id() -> str:
    return "dnc_" + random_token(ENTRY_ID_RANDOM_LENGTH)


def company_id() -> str:
    return "cmp_" + random_token(ENTRY_ID_RANDOM_LENGTH)


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
