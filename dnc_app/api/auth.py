"""Bearer API-key authentication and the per-team rate limits."""

from __future__ import annotations

from functools import wraps

from flask import g, request

from ..accounts import authenticate_api_key
from ..changelog import Actor, ActorType
from ..extensions import configured, limiter
from ..ids import looks_like_api_key
from .errors import ApiError


class Unauthorized(ApiError):
    def __init__(self, code: str, message: str):
        super().__init__(code, message, 401, headers={"WWW-Authenticate": 'Bearer realm="dnc"'})


def require_api_key(view):
    """Authenticate `Authorization: Bearer <key>`; sets g.api_key, g.team_id, g.actor.

    Applied outside the rate-limit decorators so the limits can be keyed by team.
    """

    @wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "").strip()
        if not header:
            raise Unauthorized("missing_api_key",
                               "API key is required: send it as 'Authorization: Bearer <key>'")
        scheme, _, secret = header.partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not looks_like_api_key(secret):
            raise Unauthorized("invalid_api_key_format",
                               "Invalid API key format: expected 'Authorization: Bearer dnc_sk_…'")
        key = authenticate_api_key(secret)
        if key is None:
            raise Unauthorized("invalid_api_key", "Invalid or revoked API key")
        g.api_key = key
        g.team_id = key.team_id
        g.actor = Actor(ActorType.API_KEY, key.id, f"API key {key.prefix}…")
        return view(*args, **kwargs)

    return wrapper


def team_key() -> str:
    return "team:" + g.team_id


# One budget shared by every write of a team (add, batch, delete).
write_limit = limiter.shared_limit(configured("DNC_WRITE_LIMIT"), scope="dnc-write",
                                   key_func=team_key)
batch_limit = limiter.limit(configured("DNC_BATCH_LIMIT"), key_func=team_key)
check_limit = limiter.limit(configured("DNC_CHECK_LIMIT"), key_func=team_key)
list_limit = limiter.limit(configured("DNC_LIST_LIMIT"), key_func=team_key)
