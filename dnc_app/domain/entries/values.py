"""Values the entry service hands out: an entry, a page of entries, input limits."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from dnc_app.domain.changelog import PROTECTED_SOURCES
from dnc_app.domain.normalize import MAX_INPUT_LENGTH
from dnc_app.domain.timeutil import isoformat

# Input limits, shared by the API, the pages, the forms and the templates.
MAX_URL_LENGTH = MAX_INPUT_LENGTH
MAX_REASON_LENGTH = 1000
MAX_QUERY_LENGTH = 200
__all__ = ["PROTECTED_SOURCES", "Entry", "EntryPage"]


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry of a team's list, as read from its row: a snapshot, not a live object."""

    seq: int
    id: str
    team_id: str
    url: str | None  # None once erased
    reason: str | None
    source: str
    added_by: str | None
    created_at: datetime
    updated_at: datetime
    # A public opt-out that came in above the team's review threshold (see review).
    needs_review: bool
    # The person asked themselves (the public form or a personal link), whatever added
    # the entry first: removed only by an owner or a key an owner allowed.
    protected: bool
    # Hex SHA-256 of the normalized URL: the person's identity in the team, kept by erasure.
    url_sha256: str | None = None
    # The person's other identifiers, one normalized URL per line (None: none).
    aliases: str | None = None

    @property
    def is_optout(self) -> bool:
        """The person's own opt-out: protected against removal."""
        return bool(self.protected)

    @property
    def erased(self) -> bool:
        """The person's data was erased (at `updated_at`): only the digest is left."""
        return self.url is None

    def to_dict(self) -> dict:
        """The API's representation (field order as documented)."""
        return {
            "$id": self.id,
            "teamId": self.team_id,
            "url": self.url,
            "$createdAt": isoformat(self.created_at),
            "$updatedAt": isoformat(self.updated_at),
            "reason": self.reason,
            "source": self.source,
            "protected": bool(self.protected),
            # An erased entry keeps only its digest and dates: url and reason are null.
            "erased": self.url is None,
            "sha256": self.url_sha256,
            # The person's other identifiers (erased: none left).
            "aliases": self.alias_list,
        }

    @property
    def alias_list(self) -> list[str]:
        return self.aliases.split("\n") if self.aliases else []


# The columns an Entry is built from, in field order (statements select exactly these).
ENTRY_FIELDS = tuple(f.name for f in fields(Entry))


@dataclass
class EntryPage:
    entries: list[Entry]
    total: int  # exact, unless not total_exact (then COUNT_CAP + 1: "more than COUNT_CAP")
    next_cursor: str | None
    total_exact: bool = True
