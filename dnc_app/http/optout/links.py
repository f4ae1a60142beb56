"""Personal opt-out links: `/optout/<slug>/p/<token>`.

The token is the normalized profile URL signed with the app secret (HMAC-SHA256 via
itsdangerous), with a salt of its own that includes the team slug, so a link made for
one team does not work on another team's page. Verifying needs no database lookup.
Links do not expire: they are sent in messages that may be read months later, and all a
link can do is opt out the one profile it was made for.
"""

from __future__ import annotations

import hashlib

from flask import current_app, request, url_for
from itsdangerous import BadSignature, URLSafeSerializer

from dnc_app.domain import entries

# Where the public pages live (the blueprint's prefix): links are built here without a request.
URL_PREFIX = "/optout"

_SALT = "dnc-optout-personal-link|"


def _serializer(slug: str) -> URLSafeSerializer:
    return URLSafeSerializer(
        current_app.config["SECRET_KEY"],
        salt=_SALT + slug,
        signer_kwargs={"digest_method": hashlib.sha256},
    )


def make_token(slug: str, raw_url: str) -> str:
    """The token for a profile URL; raises InvalidURL for a bad URL."""
    return _serializer(slug).dumps(entries.normalize(raw_url))


def read_token(slug: str, token: str) -> str | None:
    """The normalized profile URL a token was made for, or None if it is not valid."""
    if not token or len(token) > 4096:
        return None
    try:
        url = _serializer(slug).loads(token)
    except BadSignature:
        return None
    if not isinstance(url, str):
        return None
    try:
        normalized = entries.normalize(url)
    except entries.InvalidURL:
        return None
    return normalized if normalized == url else None


def link_path(slug: str, token: str) -> str:
    """The path of a personal link (the CLI has no request to build a URL from)."""
    return f"{URL_PREFIX}/{slug}/p/{token}"


def public_base_url() -> str | None:
    """The base of the links given out: PUBLIC_BASE_URL; else the request's own host when
    it is vouched for (TRUSTED_HOSTS has checked it) or the app runs for development
    (debug, tests). Otherwise None: a link built from a Host header anyone can send (e.g.
    `Host: evil.example`) would send people elsewhere, so none is shown."""
    config = current_app.config
    if config.get("PUBLIC_BASE_URL"):
        return config["PUBLIC_BASE_URL"]
    if config.get("TRUSTED_HOSTS") or current_app.debug or current_app.testing:
        return request.host_url.rstrip("/")
    return None


def public_url(endpoint: str, **values) -> str | None:
    """The absolute URL of a public page, or None when public_base_url() is None."""
    base = public_base_url()
    return None if base is None else base + url_for(endpoint, **values)
