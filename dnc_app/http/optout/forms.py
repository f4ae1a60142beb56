"""The public opt-out form and its protection checks.

Checks of a submission, all without third-party services:
- CSRF token (Flask-WTF, validated by the form, valid as long as the page may be open);
- a honeypot field that people never see and bots fill in;
- a signed "started" time: refused when submitted faster than a person could
  (OPTOUT_MIN_SECONDS) or after the page has been open too long (OPTOUT_MAX_AGE_SECONDS).
A failed check stores nothing, and every failed check gets the same answer.
"""

from __future__ import annotations

import hashlib
import time

from flask import current_app
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeSerializer
from wtforms import HiddenField, StringField, TextAreaField

_STARTED_SALT = "dnc-optout-form-started"


class OptOutForm(FlaskForm):
    url = StringField()
    reason = TextAreaField()
    # The honeypot: hidden from people by CSS and from screen readers by aria-hidden.
    website = StringField()
    started = HiddenField()
    # A personal link's token (the URL is then taken from the token, not the field).
    token = HiddenField()

    def __init__(self, *args, **kwargs):
        # The CSRF token must stay valid as long as the page may be open.
        meta = {"csrf_time_limit": current_app.config["OPTOUT_MAX_AGE_SECONDS"]}
        super().__init__(*args, meta=meta, **kwargs)

    def passes_protection(self, slug: str) -> bool:
        """CSRF, honeypot and timing: False means store nothing, answer generically."""
        csrf_ok = self.validate()  # the fields have no validators: this is the CSRF check
        honeypot_empty = not (self.website.data or "").strip()
        return csrf_ok and honeypot_empty and started_in_time(self.started.data, slug)


def _started_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(
        current_app.config["SECRET_KEY"],
        salt=_STARTED_SALT,
        signer_kwargs={"digest_method": hashlib.sha256},
    )


def _now_ms() -> int:
    return int(time.time() * 1000)


def issue_started(slug: str) -> str:
    """A signed value with the time the form was rendered, bound to the team."""
    return _started_serializer().dumps([slug, _now_ms()])


def started_in_time(value: str | None, slug: str) -> bool:
    """True if the signed start time is this team's and neither too recent nor too old."""
    if not value or len(value) > 512:
        return False
    try:
        payload = _started_serializer().loads(value)
    except BadSignature:
        return False
    if not (
        isinstance(payload, list)
        and len(payload) == 2
        and payload[0] == slug
        and isinstance(payload[1], int)
    ):
        return False
    elapsed_ms = _now_ms() - payload[1]
    config = current_app.config
    min_ms = float(config["OPTOUT_MIN_SECONDS"]) * 1000
    max_ms = float(config["OPTOUT_MAX_AGE_SECONDS"]) * 1000
    return min_ms <= elapsed_ms <= max_ms
