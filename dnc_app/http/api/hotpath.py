"""The WSGI shortcut: the API pipeline's routes without Flask's routing and request objects.

Every connected tool checks before every message, so Flask's own request handling (the
request and response objects, URL matching, hooks, signals) cost more than the answer.
This middleware hands `GET /v1/dnc/check` and `POST /v1/dnc` (every pipeline route
without path arguments, read from the app's URL map) straight to api/pipeline.py, the
same chain Flask's dispatch runs for them: it does no step of its own. It only routes,
as Flask's router would: a request Flask's router would not send to that route (a host
outside TRUSTED_HOSTS, or any host when SERVER_NAME is set) goes to Flask untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from flask import Flask
from werkzeug.exceptions import SecurityError
from werkzeug.wsgi import get_host

from dnc_app.http.api import pipeline


class HotPath:
    def __init__(self, app: Flask, flask_wsgi: Callable):
        self.app = app
        self.flask_wsgi = flask_wsgi  # what serves every other request
        self._routes: Mapping[tuple[str, str], pipeline.Route] | None = None

    def __call__(self, environ: dict, start_response) -> Iterable[bytes]:
        if self._routes is None:  # the URL map is complete once the app serves
            self._routes = pipeline.static_routes(self.app)
        route = self._routes.get((environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")))
        if route is None or not self._routed_here(environ):
            return self.flask_wsgi(environ, start_response)
        return pipeline.serve_wsgi(self.app, route, environ, start_response)

    def _routed_here(self, environ: dict) -> bool:
        """Whether Flask's router would match this host (the path and method matched)."""
        config = self.app.config
        if config["SERVER_NAME"]:
            return False
        if config["TRUSTED_HOSTS"]:
            try:  # werkzeug's own check, as Flask's request makes it
                get_host(environ, config["TRUSTED_HOSTS"])
            except SecurityError:
                return False
        return True


def install(app: Flask) -> None:
    """Put the shortcut in front of Flask (inside ProxyFix, which it relies on for the
    client address and scheme)."""
    outer = app.wsgi_app
    if hasattr(outer, "app") and not hasattr(outer, "__self__"):  # a middleware (ProxyFix)
        outer.app = HotPath(app, outer.app)
    else:
        # Flask's documented way to add WSGI middleware (mypy reads it as replacing a method).
        app.wsgi_app = HotPath(app, outer)  # type: ignore[method-assign]
