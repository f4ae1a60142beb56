"""Bearer API-key authentication and the per-team rate limits."""

from __future__ import annotations

from functools import wraps

from flask import current_app, g, request
from limits import RateLimitItem, parse_many

from ..accounts import authenticate_api_key
from ..changelog import Actor, ActorType
from ..clientaddr import client_key
from ..errors import rate_limited
from ..extensions import configured, limiter
from ..ids import looks_like_api_key
from .errors import ApiError

AUTH_FAILURE_SCOPE = "api-auth-failure"


class Unauthorized(ApiError):
    def __init__(self, code: str, message: str):
        super().__init__(code, message, 401, headers={"WWW-Authenticate": 'Bearer realm="dnc"'})


def _unauthorized(code: str, message: str) -> Unauthorized:
    """The error to raise for a failed authentication, counted for its client."""
    _count_auth_failure()
    return Unauthorized(code, message)


# ------------------------------------------------------------ failed authentications
# Counted per client address (IPv6 by /64), and checked before the key is hashed or
# looked up: a client guessing keys is stopped without costing a query each time.


def _auth_failure_limits() -> list[RateLimitItem]:
    return parse_many(current_app.config["API_AUTH_FAILURE_LIMIT"])


def _client() -> str:
    return client_key(request.remote_addr)


def _auth_failures_exceeded():
    """The 429 answer when this client has used up its failed authentications, else None."""
    if not limiter.enabled:
        return None
    for item in _auth_failure_limits():
        if not limiter.limiter.test(item, AUTH_FAILURE_SCOPE, _client()):
            stats = limiter.limiter.get_window_stats(item, AUTH_FAILURE_SCOPE, _client())
            return rate_limited(f"{item} failed authentications per client",
                                reset=stats.reset_time)
    return None


def _count_auth_failure() -> None:
    if limiter.enabled:
        for item in _auth_failure_limits():
            limiter.limiter.hit(item, AUTH_FAILURE_SCOPE, _client())


def require_api_key(view):
    """Authenticate `Authorization: Bearer <key>`; sets g.api_key, g.team_id, g.actor.

    Applied outside the rate-limit decorators so the limits can be keyed by team.
    """

    @wraps(view)
    def wrapper(*args, **kwargs):
        refused = _auth_failures_exceeded()
        if refused is not None:
            return refused
        header = request.headers.get("Authorization", "").strip()
        if not header:
            raise _unauthorized(
                "missing_api_key",
                "API key is required: send it as 'Authorization: Bearer <key>'",
            )
        scheme, _, secret = header.partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not looks_like_api_key(secret):
            raise _unauthorized(
                "invalid_api_key_format",
                "Invalid API key format: expected 'Authorization: Bearer dnc_sk_…'",
            )
        key = authenticate_api_key(secret)
        if key is None:
            raise _unauthorized("invalid_api_key", "Invalid or revoked API key")
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
screen_limit = limiter.limit(configured("DNC_SCREEN_LIMIT"), key_func=team_key)
changes_limit = limiter.limit(configured("DNC_CHANGES_LIMIT"), key_func=team_key)
