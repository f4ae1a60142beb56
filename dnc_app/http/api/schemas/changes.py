"""The changes feed: a team's changes in commit order, for clients that keep a copy."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from dnc_app.http.api.schemas.base import ApiModel
from dnc_app.http.api.schemas.common import (
    SOURCE_TEXT,
    EntryId,
    ProfileURL,
    ResponseModel,
    SourceName,
    Timestamp,
    cursor_param,
    query_int,
)

MAX_CHANGES_PAGE = 1000
DEFAULT_CHANGES_PAGE = 100
MAX_CURSOR_LENGTH = 80


ChangesQueryCursor = Annotated[
    str, *cursor_param("`nextCursor` of an earlier page; none (or empty) for the first change.")
]


ChangesQueryLimit = Annotated[
    int, *query_int("limit", 1, MAX_CHANGES_PAGE, f"Changes per page, 1–{MAX_CHANGES_PAGE:,}.")
]


class ChangesQuery(ApiModel):
    cursor: ChangesQueryCursor = ""
    limit: ChangesQueryLimit = DEFAULT_CHANGES_PAGE


class Change(ResponseModel):
    """One change to the list: an entry added, removed, or its person's data erased
    (`erased`: the entry stays listed; this change and the earlier changes of that person
    have `url` null), or `updated`: an alias was added to the entry (one change per alias;
    `url` is the alias)."""

    type: Literal["added", "removed", "erased", "updated"]
    entryId: EntryId = Field(
        description="The entry's `$id` (a removal names the entry that was removed)."
    )
    url: ProfileURL | None = Field(description="The normalized profile URL; null once erased.")
    at: Timestamp = Field(
        description="When the change was asked for. The feed's order is the commit order: "
        "two concurrent changes can have their `at` the other way round."
    )
    source: SourceName = Field(description="Where the change was made: " + SOURCE_TEXT)
    seq: int = Field(
        ge=1,
        description="The team's change number: it increases in commit order, with gaps where "
        "the team's log holds other events. Webhook events carry the same number in "
        "`data.seq`.",
    )

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "type": "added",
                "entryId": "dnc_4fJx9QpLm2ZrT8wKc1Ya",
                "url": "https://linkedin.com/in/john-doe",
                "at": "2026-11-26T10:15:30.123Z",
                "source": "api",
                "seq": 42,
            }
        }
    )


class ChangesPage(ResponseModel):
    changes: list[Change] = Field(
        max_length=MAX_CHANGES_PAGE, description="Oldest first, in commit order."
    )
    nextCursor: str = Field(
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Store it and pass it as `cursor` next time; given also when there is "
        "nothing new.",
    )
    hasMore: bool = Field(description="More changes are waiting: ask again at once.")
