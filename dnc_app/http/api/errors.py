"""The API's one error path: views raise, the blueprint answers with the envelope.

`ApiError(code, message, status, data=None)` is what a view or decorator raises for a
refused request; the entry service's own errors (invalid URL or reason, already listed,
not found) are turned into the same envelope here, so views read as the happy path.
Errors raised outside the views (404 for an unknown path, 405, 413, 429, outages) are
answered by dnc_app.http.errors with the same envelope.
"""

from __future__ import annotations

from dnc_app.domain import entries
from dnc_app.http.api import bp
from dnc_app.http.errors import envelope


class ApiError(Exception):
    def __init__(
        self,
        code: str,
        message: str,
        status: int = 400,
        data=None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status
        self.data, self.headers = data, headers or {}


class InvalidParameter(ApiError):
    def __init__(self, message: str):
        super().__init__("invalid_parameter", message)


# The status of each service error; any other is a 400.
_STATUS = {entries.AlreadyListed: 409, entries.EntryNotFound: 404, entries.ProtectedEntry: 403}


@bp.errorhandler(ApiError)
def api_error(exc: ApiError):
    body, status = envelope(exc.code, exc.data, exc.message, exc.status)
    return body, status, exc.headers


@bp.errorhandler(entries.EntryError)
@bp.errorhandler(entries.InvalidURL)
def entry_error(exc: entries.EntryError | entries.InvalidURL):
    # An entry already listed comes back with the entry, so a client can read it.
    # (An alias held by another entry comes back with that entry the same way.)
    holder = getattr(exc, "entry", None)
    data = holder.to_dict() if holder is not None else None
    status = _STATUS.get(type(exc), getattr(exc, "status", 400))
    return envelope(exc.code, data, entries.message_of(exc), status)
