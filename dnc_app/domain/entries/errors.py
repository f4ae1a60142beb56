"""What the entry service raises. Each error has the API's `code` and a `message`."""

from __future__ import annotations

from typing import TYPE_CHECKING

# The normalizer's error is the one "not a LinkedIn profile URL" type everywhere.
from dnc_app.domain.normalize import InvalidURL

if TYPE_CHECKING:
    from dnc_app.domain.entries.values import Entry

__all__ = [
    "AlreadyListed",
    "EntryError",
    "EntryNotFound",
    "InvalidCursor",
    "InvalidReason",
    "InvalidURL",
    "ProtectedEntry",
    "TeamNotFound",
    "message_of",
]


class EntryError(Exception):
    code = "error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidReason(EntryError):
    code = "invalid_parameter"


class AlreadyListed(EntryError):
    code = "already_exists"

    def __init__(self, entry: Entry):
        super().__init__("URL already exists in Do Not Contact list")
        self.entry = entry


class EntryNotFound(EntryError):
    code = "not_found"

    def __init__(self):
        super().__init__("DNC entry not found")


class ProtectedEntry(EntryError):
    """The entry is the person's own opt-out, and the caller may not remove those."""

    code = "protected_entry"

    def __init__(
        self,
        message: str = "This entry is the person's own opt-out and cannot be "
        "removed with this API key",
    ):
        super().__init__(message)


class TeamNotFound(EntryError):
    code = "team_not_found"

    def __init__(self):
        super().__init__("Team not found")


class InvalidCursor(EntryError):
    code = "invalid_parameter"

    def __init__(self):
        super().__init__("cursor is not valid: pass the nextCursor of a page")


def message_of(exc: InvalidURL | EntryError) -> str:
    """The sentence shown to a person or an API client for a refused input."""
    if isinstance(exc, InvalidURL):
        return f"Invalid LinkedIn URL: {exc.reason}"
    return exc.message
