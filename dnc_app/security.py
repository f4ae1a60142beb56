"""Security headers for every response of the app.

The Content-Security-Policy allows no inline script and no inline style: htmx 2 runs
under it because the pages turn off its injected indicator styles
(`<meta name="htmx-config" content='{"includeIndicatorStyles":false}'>`) and the
stylesheet styles `.htmx-indicator` itself. A view that needs a different header sets
it on its response; these are only defaults (`setdefault`).
"""

from __future__ import annotations

from flask import Flask, Response, request

from .errors import is_api_request

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

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


def add_security_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if is_api_request():
        # Every /v1 answer is a team's data or about its key: no cache keeps it.
        response.headers["Cache-Control"] = "no-store"
    if response.mimetype == "text/html":
        # Pages answer htmx requests with a fragment and others with the whole page
        # at the same URL: caches must keep the two apart.
        response.vary.add("HX-Request")
    return response


def register_security(app: Flask) -> None:
    app.after_request(add_security_headers)
