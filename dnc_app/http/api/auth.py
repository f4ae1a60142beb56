"""Bearer API-key authentication and the per-team rate limits."""

from __future__ import annotations

from functools import wraps

from flask import current_app, g, request
from limits import RateLimitItem

from dnc_app.domain.accounts.apikeys import KeyIdentity, authenticate_api_key
from dnc_app.domain.changelog import Actor, ActorType
from dnc_app.domain.ids import looks_like_api_key
from dnc_app.extensions import limiter
from dnc_app.http.api.errors import ApiError
from dnc_app.http.api.limits import limit_items
from dnc_app.http.clientaddr import client_key
from dnc_app.http.errors import rate_limited

AUTH_FAILURE_SCOPE = "api-auth-failure"


class Unauthorized(ApiError):
    def __init__(self, code: str, message: str):
        super().__init__(code, message, 401, headers={"WWW-Authenticate": 'Bearer realm="dnc"'})


# ------------------------------------------------------------ failed authentications
# Counted per client address (IPv6 by /64), and checked before the key is hashed or
# looked up: a client guessing keys is stopped without costing a query each time.


def _auth_failure_limits() -> tuple[RateLimitItem, ...]:
    return limit_items(current_app.config["API_AUTH_FAILURE_LIMIT"])


def auth_failures_exceeded(client: str) -> tuple[str, float] | None:
    """(description, reset) of the 429 when this client (clientaddr.client_key) has used
    up its failed authentications, else None."""
    if not limiter.enabled:
        return None
    for item in _auth_failure_limits():
        if not limiter.limiter.test(item, AUTH_FAILURE_SCOPE, client):
            stats = limiter.limiter.get_window_stats(item, AUTH_FAILURE_SCOPE, client)
            return f"{item} failed authentications per client", stats.reset_time
    return None


def _count_auth_failure(client: str) -> None:
    if limiter.enabled:
        for item in _auth_failure_limits():
            limiter.limiter.hit(item, AUTH_FAILURE_SCOPE, client)


def _unauthorized(client: str, code: str, message: str) -> Unauthorized:
    """The error to raise for a failed authentication, counted for its client."""
    _count_auth_failure(client)
    return Unauthorized(code, message)


def key_of(authorization: str, client: str) -> KeyIdentity:
    """The active key named by an Authorization header; raises Unauthorized (counted)."""
    header = authorization.strip()
    if not header:
        raise _unauthorized(
            client,
            "missing_api_key",
            "API key is required: send it as 'Authorization: Bearer <key>'",
        )
    scheme, _, secret = header.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not looks_like_api_key(secret):
        raise _unauthorized(
            client,
            "invalid_api_key_format",
            "Invalid API key format: expected 'Authorization: Bearer dnc_sk_…'",
        )
    key = authenticate_api_key(secret)
    if key is None:
        raise _unauthorized(client, "invalid_api_key", "Invalid or revoked API key")
    return key


def actor_of(key: KeyIdentity) -> Actor:
    return Actor(ActorType.API_KEY, key.id, f"API key {key.prefix}…")


def require_api_key(view):
    """Authenticate `Authorization: Bearer <key>`; sets g.api_key, g.team_id, g.actor.

    Applied outside the rate-limit decorators so the limits can be keyed by team.
    """

    @wraps(view)
    def wrapper(*args, **kwargs):
        client = client_key(request.remote_addr)
        refused = auth_failures_exceeded(client)
        if refused is not None:
            return rate_limited(*refused)
        key = key_of(request.headers.get("Authorization", ""), client)
        g.api_key = key
        g.team_id = key.team_id
        g.actor = actor_of(key)
        return view(*args, **kwargs)

    return wrapper
