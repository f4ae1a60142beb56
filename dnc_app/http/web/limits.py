"""Per-member limits of the team pages.

Each signed-in member has budgets of their own, apart from the API's per-team budgets
(a script with a key and a person at the pages do not starve each other): page writes
(add, remove), checks (the check page and the inline URL validation) and bulk operations
(a preview or a confirmation is one operation, whatever the number of lines). Applied
inside `login_required`, so only members are counted. A 429 is the usual error page, or
for htmx the message app.js shows above the page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import current_app, request
from flask_login import current_user

from dnc_app.extensions import configured, csrf, limiter


def member_key() -> str:
    return f"member:{current_user.id}"


write_limit = limiter.shared_limit(
    configured("WEB_WRITE_LIMIT"), scope="web-write", key_func=member_key
)
check_limit = limiter.shared_limit(
    configured("WEB_CHECK_LIMIT"), scope="web-check", key_func=member_key, methods=["POST"]
)
bulk_limit = limiter.shared_limit(
    configured("WEB_BULK_LIMIT"), scope="web-bulk", key_func=member_key
)


def large_form(
    *, max_content_length: str | None = None, max_form_memory_size: str | None = None
) -> Callable:
    """A form POST whose body may be larger than other forms' (an upload, a long paste):
    the named settings raise the request's caps, then the CSRF token is checked. Flask-WTF
    would check it before the view, reading the form under the usual caps (a 413), so the
    view is exempt from that check and makes it here instead, as the last decorator."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def checked(*args, **kwargs):
            if max_content_length:
                request.max_content_length = current_app.config[max_content_length]
            if max_form_memory_size:
                request.max_form_memory_size = current_app.config[max_form_memory_size]
            if current_app.config.get("WTF_CSRF_ENABLED", True):
                csrf.protect()
            return view(*args, **kwargs)

        return csrf.exempt(checked)

    return decorate
