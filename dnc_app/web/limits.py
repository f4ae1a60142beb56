"""Per-member limits of the team pages.

Each signed-in member has budgets of their own, apart from the API's per-team budgets
(a script with a key and a person at the pages do not starve each other): page writes
(add, remove), checks (the check page and the inline URL validation) and bulk operations
(a preview or a confirmation is one operation, whatever the number of lines). Applied
inside `login_required`, so only members are counted. A 429 is the usual error page, or
for htmx the message app.js shows above the page.
"""

from __future__ import annotations

from flask import current_app
from flask_login import current_user

from ..extensions import limiter


def member_key() -> str:
    return f"member:{current_user.id}"


def _configured(name: str):
    return lambda: current_app.config[name]


write_limit = limiter.shared_limit(_configured("WEB_WRITE_LIMIT"), scope="web-write",
                                   key_func=member_key)
check_limit = limiter.shared_limit(_configured("WEB_CHECK_LIMIT"), scope="web-check",
                                   key_func=member_key, methods=["POST"])
bulk_limit = limiter.shared_limit(_configured("WEB_BULK_LIMIT"), scope="web-bulk",
                                  key_func=member_key)
