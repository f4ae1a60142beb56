"""The API's per-team rate limits, checked straight on the limiter's storage.

Flask-Limiter's decorators cost more Python than the limit itself (its middleware pass,
the limit evaluation, a separate header pass); checks are every connected tool's hot path.
Here each limit is one `hit` (an atomic test-and-count on the moving window, exact across
processes on Redis) and the headers come from one window read of the limit they describe.
The storage keys are Flask-Limiter's own (`team:<id>` and the scope: the shared
"dnc-write" or the endpoint), so budgets stay where they were.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, wraps
from typing import NamedTuple

from flask import Response, current_app, g, request
from limits import RateLimitItem, parse_many

from ..errors import rate_limited
from ..extensions import limiter


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


def _applicable(limits: tuple[TeamLimit, ...]) -> list[_Applied]:
    """Every item of these limits with its storage identifiers: shortest window first, and
    a route's own limit before a shared one, so that a request its own limit refuses
    costs nothing of the shared budget (a refused batch is not a write)."""
    team = "team:" + g.team_id
    prefix = getattr(limiter, "_key_prefix", None)
    applied = []
    for limit in limits:
        scope = limit.shared_scope or request.endpoint
        identifiers = (prefix, team, scope) if prefix else (team, scope)
        for item in limit_items(current_app.config[limit.setting]):
            applied.append(_Applied(item, identifiers, limit.shared_scope is not None))
    applied.sort(key=lambda a: (a.item.get_expiry(), a.shared))
    return applied


def team_limits(*limits: TeamLimit) -> Callable:
    """Count the request against the team's `limits` (after require_api_key); a used-up
    limit answers 429 and counts against no later one."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not limiter.enabled:
                return view(*args, **kwargs)
            strategy = limiter.limiter
            applied = _applicable(limits)
            for limit in applied:
                if not strategy.hit(limit.item, *limit.identifiers):
                    reset_at = _remember_headers(limit)
                    return rate_limited(str(limit.item), reset=reset_at)
            # The headers describe a route's own limit before a shared one.
            own = [limit for limit in applied if not limit.shared]
            _remember_headers((own or applied)[0])
            return view(*args, **kwargs)

        return wrapper

    return decorate


def _remember_headers(limit: _Applied) -> int:
    """Read the limit's window once; keep its X-RateLimit-* values for the response and
    return when it resets (epoch seconds, rounded up like Flask-Limiter's)."""
    reset_time, remaining = limiter.limiter.get_window_stats(limit.item, *limit.identifiers)
    reset_at = int(reset_time + 1)
    g.api_rate_limit = (str(limit.item.amount), str(max(0, remaining)), str(reset_at))
    return reset_at


def add_rate_limit_headers(response: Response) -> Response:
    """X-RateLimit-* on every answer of a limited route, except a 503 (whose short
    Retry-After is the whole story)."""
    values = g.get("api_rate_limit")
    if values is not None and response.status_code != 503:
        headers = response.headers
        headers["X-RateLimit-Limit"], headers["X-RateLimit-Remaining"], \
            headers["X-RateLimit-Reset"] = values
    return response
