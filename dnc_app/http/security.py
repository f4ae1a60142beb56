"""Security headers for every response of the app.

The Content-Security-Policy allows no inline script and no inline style: htmx 2 runs
under it because the pages turn off its injected indicator styles
(`<meta name="htmx-config" content='{"includeIndicatorStyles":false}'>`) and the
stylesheet styles `.htmx-indicator` itself. A view that needs a different header sets
it on its response; these are only defaults (`setdefault`).
"""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.exceptions import SecurityError

from dnc_app.http.errors import is_api_request


def _policy(img_src: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {img_src}",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


CONTENT_SECURITY_POLICY = _policy("'self'")
# The settings page previews a logo chosen on the member's own computer before it is
# uploaded (`URL.createObjectURL`): blob: images there, and nothing else more.
PREVIEW_IMAGES_POLICY = _policy("'self' blob:")

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}

# Only sent over HTTPS: a browser ignores it on plain HTTP, and sending it from a
# development server on http://localhost would be pointless.
HSTS = "max-age=31536000; includeSubDomains"

_PLAIN = list(HEADERS.items())
_SECURE = [*_PLAIN, ("Strict-Transport-Security", HSTS)]


def security_headers(secure: bool) -> list[tuple[str, str]]:
    """The headers every answer carries (HSTS only over https): the pages' hook and the
    API pipeline's step."""
    return _SECURE if secure else _PLAIN


def add_security_headers(response: Response) -> Response:
    for name, value in security_headers(request.is_secure):
        response.headers.setdefault(name, value)
    if is_api_request():
        # Every /v1 answer is a team's data or about its key: no cache keeps it.
        response.headers["Cache-Control"] = "no-store"
    if response.mimetype == "text/html":
        # Pages answer htmx requests with a fragment and others with the whole page
        # at the same URL: caches must keep the two apart.
        response.vary.add("HX-Request")
    return response


def refuse_untrusted_host():
    """TRUSTED_HOSTS: a request naming another host is a 400, answered here, first.

    Flask then has no URL adapter, so the error pages (which build URLs) cannot render:
    a plain answer without any URL. API clients get the usual envelope.
    """
    if not isinstance(request.routing_exception, SecurityError):
        return None
    message = "This host name is not served here."
    if request.path == "/v1" or request.path.startswith("/v1/"):
        return {"error": "bad_request", "data": None, "message": message}, 400
    return Response(message + "\n", 400, mimetype="text/plain")


def register_security(app: Flask) -> None:
    app.after_request(add_security_headers)
    # Before every other hook (limits, sessions): nothing else runs for such a request.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_untrusted_host)
