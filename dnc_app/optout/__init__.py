"""Public opt-out: a prospect removes themself from a team's outreach."""

import os

from flask import Blueprint

bp = Blueprint("optout", __name__, url_prefix="/optout")

# Settings of the public page: environment variable -> default. Read when the app is
# created; a value passed to create_app wins.
DEFAULTS = {
    # A person needs at least this long between opening the page and submitting it.
    "OPTOUT_MIN_SECONDS": "2",
    # The form (its signed start time and CSRF token) is refused after this long.
    "OPTOUT_MAX_AGE_SECONDS": str(4 * 3600),
    # Submissions per client IP, all teams together ("limits" syntax, ";" separated).
    "OPTOUT_RATE_LIMIT": "5/minute;30/day",
    # Page views and inline URL checks per client IP.
    "OPTOUT_PAGE_LIMIT": "60/minute",
    "OPTOUT_VALIDATE_LIMIT": "120/minute",
    # Largest accepted request body of the public form, in bytes.
    "OPTOUT_MAX_CONTENT_LENGTH": str(16 * 1024),
    "OPTOUT_LANGUAGE": "en",
}
_NUMBERS = {"OPTOUT_MIN_SECONDS": float, "OPTOUT_MAX_AGE_SECONDS": float,
            "OPTOUT_MAX_CONTENT_LENGTH": int}


@bp.record_once
def _configure(state) -> None:
    config = state.app.config
    for name, default in DEFAULTS.items():
        value = config.get(name, os.environ.get(name, default))
        config[name] = _NUMBERS[name](value) if name in _NUMBERS else value


from . import views  # noqa: E402,F401  (registers the routes)
