"""Pieces shared by the resources: timestamps, ids, the reason, query integers, the
error envelope and the 429 body."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field
from pydantic.json_schema import JsonDict

from dnc_app.domain.changelog import Source
from dnc_app.domain.entries import InvalidReason
from dnc_app.domain.entries.validation import clean_reason
from dnc_app.domain.entries.values import MAX_REASON_LENGTH
from dnc_app.http.api.schemas.base import ApiModel, Refuse, refuse
from dnc_app.http.params import bounded_int

SOURCES = [source.value for source in Source]
SOURCE_TEXT = ", ".join(f"`{source.value}` ({source.label})" for source in Source) + "."

TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"
Timestamp = Annotated[
    str,
    Field(
        pattern=TIMESTAMP_PATTERN,
        description="ISO 8601 UTC with milliseconds.",
        json_schema_extra={"format": "date-time"},
    ),
]
EntryId = Annotated[
    str, Field(pattern=r"^dnc_[A-Za-z0-9]+$", description="Opaque entry id (`$id`).")
]
CompanyId = Annotated[
    str, Field(pattern=r"^cmp_[A-Za-z0-9]+$", description="Opaque company block id (`id`).")
]
# A day, `YYYY-MM-DD` (a company block's last day).
Day = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$", json_schema_extra={"format": "date"})]
ProfileURL = Annotated[str, Field(pattern=r"^https://linkedin\.com/(in|sales/lead)/[^/?#]+$")]
SourceName = Annotated[str, Field(json_schema_extra={"enum": SOURCES})]
CURSOR_PATTERN = r"^[A-Za-z0-9_-]*$"
BAD_CURSOR = "cursor is not valid: pass the nextCursor of an earlier page"


def cursor_param(description: str, message: str = BAD_CURSOR, max_length: int | None = 80) -> tuple:
    """An opaque cursor: URL-safe base64, refused with `message` otherwise."""
    return (
        Refuse(type=("invalid_parameter", message)),
        Field(pattern=CURSOR_PATTERN, max_length=max_length, description=description),
    )


def _reason(value: str | None) -> str | None:
    try:
        return clean_reason(value)
    except InvalidReason as exc:
        raise refuse("invalid_parameter", exc.message) from None


# Trimmed, then checked (the service's own rule, clean_reason): the schema states it.
Reason = Annotated[
    str | None,
    AfterValidator(_reason),
    Refuse(type=("invalid_parameter", "reason must be a string")),
    Field(
        description=f"Optional free text, at most {MAX_REASON_LENGTH:,} characters (after "
        "trimming), no control characters other than tab and newline, no lone surrogates.",
        json_schema_extra={"maxLength": MAX_REASON_LENGTH},
    ),
]


def query_int(name: str, low: int, high: int, description: str) -> tuple:
    """An integer query parameter in [low, high]: plain ASCII digits only (no sign,
    spaces, exponents or underscores), and a string longer than `high` is refused before
    it is read, so a thousand-digit value costs nothing."""
    message = f"{name} must be an integer between {low} and {high}"

    def read(raw: object) -> int:
        value = bounded_int(raw, high, low) if isinstance(raw, str) else None
        if value is None:
            raise refuse("invalid_parameter", message)
        return value

    # The bounds are read above (pydantic's own ge/le would not reach the schema here).
    bounds: JsonDict = {"minimum": low, "maximum": high}
    return BeforeValidator(read), Field(description=description, json_schema_extra=bounds)


def no_control(name: str, max_length: int) -> AfterValidator:
    """Trimmed; at most `max_length` characters and no control characters."""

    def check(value: str) -> str:
        value = value.strip()
        if len(value) > max_length:
            raise refuse("invalid_parameter", f"{name} must be at most {max_length} characters")
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise refuse("invalid_parameter", f"{name} must not contain control characters")
        return value

    return AfterValidator(check)


class ResponseModel(ApiModel):
    """A response object: read as the server writes it (tests validate real answers)."""

    model_config = ConfigDict(strict=False, populate_by_name=True, frozen=True)


class Error(ResponseModel):
    """The envelope of every error. `data` is null except for `already_exists` (and
    `alias_conflict`), where it is the existing entry."""

    error: str = Field(description="The error code (see the table of codes).")
    data: Any = Field(description="Null, or the entry the request collided with.")
    message: str = Field(description="A sentence for a person; the code is for programs.")


class RateLimitError(ResponseModel):
    """The body of a 429: the envelope with `resetTime`."""

    error: Literal["rate_limit_exceeded"]
    data: None
    message: str
    resetTime: Timestamp = Field(description="When a request will next be accepted.")
