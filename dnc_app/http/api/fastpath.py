"""What /v1 never uses is not run for it: the cookie session and the page-wide hooks.

The API authenticates by bearer key and its limits are counted by api/limits.py, so the
session cookie, Flask-Login's remember-cookie hook and Flask-Limiter's per-request
middleware (for the pages' limits) are pure cost on the hot path (~15% of a check).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface

from dnc_app.http.errors import API_PREFIX


def _is_api(path: str) -> bool:
    return path.startswith(API_PREFIX + "/")


class PagesOnlySessionInterface(SecureCookieSessionInterface):
    """No session for /v1 (Flask then uses a null session and sets no cookie)."""

    def open_session(self, app, request):
        if _is_api(request.path):
            return None
        return super().open_session(app, request)


def _not_on_api(hook: Callable, needed: Callable[[], bool]) -> Callable:
    """`hook` skipped on /v1 unless `needed()` says it has work there."""

    @wraps(hook)
    def run_for_pages(*args, **kwargs):
        if _is_api(request.path) and not needed():
            return args[0] if args else None  # an after-request hook returns the response
        return hook(*args, **kwargs)

    return run_for_pages


def register(app: Flask, owners: dict[object, Callable[[], bool]]) -> None:
    """Call after the extensions are bound: their app-wide before/after-request hooks
    (those bound to a key of `owners`) are skipped on /v1 unless its value says they
    have work there (e.g. an operator's RATELIMIT_DEFAULT applies to every route)."""
    app.session_interface = PagesOnlySessionInterface()
    for hooks in (app.before_request_funcs, app.after_request_funcs):
        funcs = hooks.get(None, [])
        for index, hook in enumerate(funcs):
            owner = _owner(hook)
            if owner in owners:
                funcs[index] = _not_on_api(hook, owners[owner])


def _owner(hook: Callable) -> object:
    bound = getattr(hook, "__self__", None)
    if bound is None and hasattr(hook, "args") and hook.args:  # functools.partial(meth, ext)
        bound = hook.args[0]
    return bound
