"""The API's per-team rate limits, checked straight on the limiter's storage.

Flask-Limiter's decorators cost more Python than the limit itself (its middleware pass,
the limit evaluation, a separate header pass); checks are every connected tool's hot path.
Here each limit is one storage call (limitstore.hit_with_window: an atomic test-and-count
on the moving window, exact across processes on Redis, that also reads the window the
headers describe: one Redis round trip per limit instead of two).
The storage keys are Flask-Limiter's own (`team:<id>` and the scope: the shared
"dnc-write" or the endpoint), so budgets stay where they were.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, wraps
from typing import NamedTuple

from flask import Response, current_app, g, request
from limits import RateLimitItem, parse_many

from dnc_app.extensions import limiter
from dnc_app.http.errors import rate_limited
from dnc_app.storage.limitstore import WindowAfterHit, hit_with_window


class TeamLimit(NamedTuple):
    setting: str  # the configuration key holding the limit, e.g. "30/minute"
    shared_scope: str | None  # one budget for every route that names it; else per route


WRITE = TeamLimit("DNC_WRITE_LIMIT", "dnc-write")  # add, batch and delete share it
BATCH = TeamLimit("DNC_BATCH_LIMIT", None)
CHECK = TeamLimit("DNC_CHECK_LIMIT", None)
LIST = TeamLimit("DNC_LIST_LIMIT", None)
CHANGES = TeamLimit("DNC_CHANGES_LIMIT", None)
SCREEN = TeamLimit("DNC_SCREEN_LIMIT", None)


@lru_cache(maxsize=64)  # parsed once per configured string, not on every request
def limit_items(text: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(text))


class _Applied(NamedTuple):
    item: RateLimitItem
    identifiers: tuple[str, ...]
    shared: bool


def _applicable(team_id: str, endpoint: str, limits: tuple[TeamLimit, ...]) -> list[_Applied]:
    """Every item of these limits with its storage identifiers: shortest window first, and
    a route's own limit before a shared one, so that a request its own limit refuses
    costs nothing of the shared budget (a refused batch is not a write)."""
    team = "team:" + team_id
    # Flask-Limiter's key prefix (its RATELIMIT_KEY_PREFIX setting; the limiter is made
    # without one of its own).
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX", "")
    applied = []
    for limit in limits:
        scope = limit.shared_scope or endpoint
        identifiers = (prefix, team, scope) if prefix else (team, scope)
        for item in limit_items(current_app.config[limit.setting]):
            applied.append(_Applied(item, identifiers, limit.shared_scope is not None))
    applied.sort(key=lambda a: (a.item.get_expiry(), a.shared))
    return applied


# X-RateLimit-Limit, -Remaining and -Reset of a counted request.
HeaderValues = tuple[str, str, str]


class Counted(NamedTuple):
    headers: HeaderValues | None  # None: limits are off
    refused: tuple[str, int] | None  # (the limit, its reset in epoch seconds) of a 429


def count_team_request(team_id: str, endpoint: str, limits: tuple[TeamLimit, ...]) -> Counted:
    """Count one request of the team's `endpoint` against `limits`; a used-up limit
    refuses it and counts against no later one."""
    if not limiter.enabled:
        return Counted(None, None)
    strategy = limiter.limiter
    applied = _applicable(team_id, endpoint, limits)
    # The headers describe a route's own limit before a shared one.
    described = next((limit for limit in applied if not limit.shared), applied[0])
    headers = None
    for limit in applied:
        # One storage call counts the request and reads the window it leaves.
        window = hit_with_window(strategy, limit.item, *limit.identifiers)
        if not window.counted:
            refused = _headers(limit, window)
            return Counted(refused, (str(limit.item), int(refused[2])))
        if limit is described:
            headers = _headers(limit, window)
    return Counted(headers, None)


def team_limits(*limits: TeamLimit) -> Callable:
    """Count the request against the team's `limits` (after require_api_key); a used-up
    limit answers 429 and counts against no later one."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            counted = count_team_request(g.team_id, request.endpoint, limits)
            if counted.headers is not None:
                g.api_rate_limit = counted.headers
            if counted.refused is not None:
                return rate_limited(*counted.refused)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def _headers(limit: _Applied, window: WindowAfterHit) -> HeaderValues:
    """The limit's X-RateLimit-* values; the reset in epoch seconds rounded up like
    Flask-Limiter's."""
    return (str(limit.item.amount), str(max(0, window.remaining)), str(int(window.reset + 1)))


def add_rate_limit_headers(response: Response) -> Response:
    """X-RateLimit-* on every answer of a limited route, except a 503 (whose short
    Retry-After is the whole story)."""
    values = g.get("api_rate_limit")
    if values is not None and response.status_code != 503:
        headers = response.headers
        (
            headers["X-RateLimit-Limit"],
            headers["X-RateLimit-Remaining"],
            headers["X-RateLimit-Reset"],
        ) = values
    return response
