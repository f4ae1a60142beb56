"""The list's requests and answers: add, batch, check, list, delete, screen (also of
prospects with their company), remove many, evidence, erase. `DncEntry` is the one
definition of the entry object (Entry.to_dict writes it; a test holds the two
together)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import ConfigDict, Field, model_validator
from pydantic.json_schema import JsonDict, SkipJsonSchema

from dnc_app.domain.entries.aliases import MAX_ALIASES
from dnc_app.domain.entries.listing import COUNT_CAP
from dnc_app.domain.entries.values import MAX_QUERY_LENGTH
from dnc_app.http.api.schemas.base import ApiModel, Refuse, length, refuse
from dnc_app.http.api.schemas.common import (
    SOURCE_TEXT,
    CompanyId,
    Day,
    EntryId,
    ProfileURL,
    Reason,
    ResponseModel,
    SourceName,
    Timestamp,
    cursor_param,
    no_control,
    query_int,
)

MAX_BATCH_ENTRIES = 1000
MAX_SCREEN_ITEMS = 1000
MAX_BATCH_DELETE = 1000
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 50
# Beyond what any list holds, and within a signed 32-bit OFFSET everywhere.
MAX_OFFSET = 2_147_483_647

SHA256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


ENTRY_EXAMPLE: JsonDict = {
    "$id": "dnc_4fJx9QpLm2ZrT8wKc1Ya",
    "teamId": "team_Q2n8RkV4sLp0XbTz7HdE",
    "url": "https://linkedin.com/in/john-doe",
    "$createdAt": "2026-11-26T10:15:30.123Z",
    "$updatedAt": "2026-11-26T10:15:30.123Z",
    "reason": "Asked not to be contacted",
    "source": "api",
    "protected": False,
    "erased": False,
    "sha256": "45015760b2bb573f5b8a270210aaf6904d1b1e6fd0a2e0676d467490ccf1b8dc",
    "aliases": [],
}
TOKEN_EXAMPLE = "https://linkedin.com/in/ACoAAA7IcPoBXbqAyFuCjYLHAhmm13BgChs-P5g"
LEAD_EXAMPLE = "https://linkedin.com/sales/lead/ACwAAA7IcPoBXbqAyFuCjYLHAhmm13BgChs-P5g"

ALIASES_TEXT = (
    f"The person's other identifiers, at most {MAX_ALIASES}, each a LinkedIn profile URL in "
    "any accepted form: the member-token form of the profile (`/in/ACoAA…`), a Sales "
    "Navigator lead (`/sales/lead/ACwAA…`, `/sales/people/…`), another vanity URL. "
    "Normalized; repeats (and the entry's own URL) are folded."
)


def alias_urls(name: str, min_items: int) -> tuple:
    """An array of alias URLs (Annotated metadata). Only its shape is refused here, as
    invalid_parameter; the count (too_many_aliases, also counting the entry's aliases)
    and each URL (invalid_url, naming the item) are the aliases service's rules."""
    schema: JsonDict = {"maxItems": MAX_ALIASES, "items": {"type": "string", "minLength": 1}}
    if min_items:
        schema["minItems"] = min_items
    return (
        Refuse(
            missing=("missing_urls", f"{name} is required"),
            null=("invalid_parameter", f"{name} must be an array of URLs"),
            type=("invalid_parameter", f"{name} must be an array of URLs"),
        ),
        Field(description=ALIASES_TEXT, json_schema_extra=schema),
    )


class DncEntry(ResponseModel):
    """One LinkedIn profile on a team's Do Not Contact list."""

    id: EntryId = Field(alias="$id")
    teamId: str = Field(pattern=r"^team_[A-Za-z0-9]+$")
    url: ProfileURL | None = Field(
        description="The normalized profile URL; null once the person's data was erased."
    )
    createdAt: Timestamp = Field(alias="$createdAt")
    updatedAt: Timestamp = Field(alias="$updatedAt")
    reason: str | None = Field(description="Why the person is on the list, if given.")
    source: SourceName = Field(description="Where the entry came from: " + SOURCE_TEXT)
    protected: bool = Field(
        description="The person's own opt-out: they asked on the public page or through a "
        "personal link (whatever added the entry first). DELETE is then a 403 "
        "`protected_entry` unless the key may remove people's own opt-outs."
    )
    erased: bool = Field(
        description="The person's data was erased (POST /v1/dnc/{entryId}/erase): `url` and "
        "`reason` are null, the person stays on the list (check, screen and add find them "
        "by URL or digest)."
    )
    sha256: SHA256 | None = Field(
        description="Hex SHA-256 of the normalized URL (UTF-8): what stays of an erased entry."
    )
    aliases: list[ProfileURL] = Field(
        max_length=MAX_ALIASES,
        description="The person's other identifiers (normalized), in the order they were "
        "added: check, screen, add and the public page find the person by any of them. "
        "Empty once the person's data was erased (their digests stay).",
    )

    model_config = ConfigDict(json_schema_extra={"example": ENTRY_EXAMPLE})


# --------------------------------------------------------------------------- add


class AddRequest(ApiModel):
    """Add one profile."""

    url: Annotated[
        str,
        Refuse(
            missing=("missing_url", "URL is required"),
            type=("invalid_url", "Invalid LinkedIn URL: URL must be a string"),
        ),
        *length(min_length=1),
    ] = Field(description="A LinkedIn profile URL in any accepted form (it is normalized).")
    reason: Reason = None
    aliases: Annotated[list[Any] | None, *alias_urls("aliases", 0)] = None

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "url": "https://www.linkedin.com/in/john-doe/",
                "reason": "Asked not to be contacted",
            }
        }
    )


# --------------------------------------------------------------------------- batch


class BatchItem(ApiModel):
    """An object with `url` and an optional `reason`. A missing, empty or invalid url or an
    invalid reason is reported as that item's error, not as a 400."""

    # What is wrong inside an item is that item's `error`: only its shape is checked here.
    model_config = ConfigDict(strict=False, extra="allow")
    url: Any = Field(default=None, description="A LinkedIn profile URL (string).")
    reason: Any = Field(default=None, description="Optional; as for a single add.")
    aliases: Any = Field(
        default=None,
        description="Optional: the person's other identifiers, as for a single add (an "
        "invalid one is that item's error; one already listed makes it a duplicate).",
    )


class BatchRequest(ApiModel):
    """Add up to 1,000 profiles in one transaction."""

    entries: Annotated[
        list[BatchItem],
        Refuse(
            missing=("missing_entries", "entries is required"),
            type=("invalid_parameter", "entries must be an array"),
            empty=("empty_entries", "entries must contain at least one entry"),
            too_long=(
                "too_many_entries",
                "entries must contain at most {limit} entries (got {got})",
            ),
            item=("invalid_parameter", "entries[{index}] must be an object with a url"),
            limit=MAX_BATCH_ENTRIES,
        ),
    ] = Field(min_length=1, max_length=MAX_BATCH_ENTRIES)

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "entries": [
                    {"url": "linkedin.com/in/jane-roe", "reason": "Unsubscribed"},
                    {"url": "https://www.linkedin.com/in/john-doe/"},
                    {"url": "https://www.linkedin.com/company/acme"},
                ]
            }
        }
    )


class BatchItemResult(ResponseModel):
    url: str | None = Field(
        description="The normalized URL when valid, else the input as given (null when it "
        "was missing or not a string)."
    )
    status: Literal["added", "duplicate", "error"] = Field(
        description="`duplicate`: already listed, or repeats an earlier item of the same batch."
    )
    error: str | None = Field(
        description="Why the item was rejected; null unless status is `error`."
    )


class BatchResult(ResponseModel):
    added: int = Field(ge=0)
    duplicates: int = Field(ge=0)
    errors: int = Field(ge=0)
    details: list[BatchItemResult] = Field(description="One result per input item, in input order.")


# --------------------------------------------------------------------------- aliases


class AliasesRequest(ApiModel):
    """Link other identifiers of the same person to an entry."""

    urls: Annotated[list[Any], *alias_urls("urls", 1)]

    model_config = ConfigDict(
        json_schema_extra={"example": {"urls": [TOKEN_EXAMPLE, LEAD_EXAMPLE]}}
    )


# --------------------------------------------------------------------------- check


class CheckQuery(ApiModel):
    url: Annotated[
        str, Refuse(missing=("missing_url", "url query parameter is required")), *length(1)
    ] = Field(
        description="A LinkedIn profile URL in any accepted form.",
        json_schema_extra={"example": "https://www.linkedin.com/in/john-doe/"},
    )


class CheckResult(ResponseModel):
    onList: bool
    entry: DncEntry | None


# --------------------------------------------------------------------------- one of several arrays


def _either(names: tuple[str, ...]) -> str:
    return " or ".join(names) if len(names) < 3 else ", ".join(names[:-1]) + " or " + names[-1]


class OneOf(ApiModel):
    """A body with exactly one of several arrays (`one_of`), each of 1–1,000 items."""

    one_of: ClassVar[tuple[str, ...]]
    missing_code: ClassVar[str]

    @model_validator(mode="before")
    @classmethod
    def _exactly_one(cls, data: Any) -> Any:
        if isinstance(data, dict):
            names = cls.one_of
            given = [key for key in names if key in data]
            if len(given) > 1:
                message = (
                    f"Send either {_either(names)}, not both"
                    if len(names) == 2
                    else f"Send one of {_either(names)}, not several"
                )
                raise refuse("invalid_parameter", message)
            if not given:
                raise refuse(cls.missing_code, f"{names[0]} (or {_either(names[1:])}) is required")
        return data


def strings(missing: str, too_many: str, limit: int, description: str) -> tuple:
    """An array of 1..limit strings, refused with the given codes (Annotated metadata)."""
    return (
        Refuse(
            missing=("invalid_parameter", "{name} must be an array of strings"),
            type=("invalid_parameter", "{name} must be an array of strings"),
            empty=(missing, "{name} must contain at least one item"),
            too_long=(too_many, "{name} must contain at most {limit} items (got {got})"),
            item=("invalid_parameter", "{name}[{index}] must be a string"),
            limit=limit,
        ),
        Field(min_length=1, max_length=limit, description=description),
    )


# --------------------------------------------------------------------------- screen

ScreenURLs = strings(
    "missing_urls",
    "too_many_urls",
    MAX_SCREEN_ITEMS,
    "LinkedIn profile URLs in any accepted form.",
)
ScreenDigests = strings(
    "missing_urls",
    "too_many_urls",
    MAX_SCREEN_ITEMS,
    "Hex SHA-256 digests (64 digits, any letter case) of normalized URLs' UTF-8 bytes, e.g. "
    "of `https://linkedin.com/in/john-doe`. A string that is not 64 hex digits is answered "
    "as an invalid item.",
)


class Prospect(ApiModel):
    """A person with the company they work at."""

    url: str = Field(description="The person's LinkedIn URL in any accepted form.")
    companyUrl: str | None = Field(
        default=None,
        description="The company page the person works at (optional; any form a company "
        "block accepts, Sales Navigator's `/sales/company/<number>` too). One that is not a "
        'company page is answered in the item (`companyError: "invalid_company_url"`); the '
        "person is still screened.",
    )


ScreenProspects = (
    Refuse(
        missing=("invalid_parameter", "prospects must be an array of objects"),
        type=("invalid_parameter", "prospects must be an array of objects"),
        empty=("missing_urls", "prospects must contain at least one item"),
        too_long=("too_many_urls", "prospects must contain at most {limit} items (got {got})"),
        item=(
            "invalid_parameter",
            "prospects[{index}] must be an object with a url string (and a companyUrl "
            "string or null)",
        ),
        limit=MAX_SCREEN_ITEMS,
    ),
    Field(
        min_length=1,
        max_length=MAX_SCREEN_ITEMS,
        description="People with their company: each result also says whether a company "
        "block applies (`blockedBy`). The blocks of all the items' companies are read in one "
        "query.",
    ),
)


class ScreenRequest(OneOf):
    """Exactly one of `urls`, `sha256` or `prospects`. What is wrong inside a string (not
    a profile URL, not a digest, not a company page) is that item's `error` (or
    `companyError`), not a 400."""

    one_of = ("urls", "sha256", "prospects")
    missing_code = "missing_urls"
    urls: Annotated[list[str], *ScreenURLs] = Field(default_factory=list)
    sha256: Annotated[list[str], *ScreenDigests] = Field(default_factory=list)
    prospects: Annotated[list[Prospect], *ScreenProspects] = Field(default_factory=list)

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": ["urls"]},
                {"required": ["sha256"]},
                {"required": ["prospects"]},
            ],
            "example": {
                "urls": [
                    "https://www.linkedin.com/in/john-doe/",
                    "in/jane-roe",
                    "https://www.linkedin.com/company/acme",
                ]
            },
        }
    )


class BlockedBy(ResponseModel):
    """The company block that applies to the prospect today."""

    companyId: CompanyId
    until: Day | None = Field(description="The block's last day; null: no end.")


class ScreenItemResult(ResponseModel):
    input: str = Field(description="The item as sent.")
    url: str | None = Field(
        description="The normalized URL (null when invalid). By `sha256`: the listed URL, "
        "null when not listed."
    )
    onList: bool
    entryId: str | None = Field(description="The listed entry's `$id`, else null.")
    error: Literal["invalid_url"] | None = Field(
        description="`invalid_url` for a string that is not a LinkedIn profile URL (or not a "
        "64-hex-digit digest); such an item is never on the list."
    )
    # Only by `prospects` (absent otherwise).
    companyUrl: str | None = Field(
        default=None, description="By `prospects`: the normalized company page, else null."
    )
    blockedBy: BlockedBy | None = Field(
        default=None,
        description="By `prospects`: the company block that applies to the prospect today, "
        "else null.",
    )
    companyError: Literal["invalid_company_url"] | None = Field(
        default=None,
        description="By `prospects`: `invalid_company_url` when `companyUrl` is not a "
        "LinkedIn company page (the person is still screened).",
    )


Count = Annotated[int, Field(ge=0)]


class ScreenResult(ResponseModel):
    results: list[ScreenItemResult] = Field(
        description="One result per input item, in input order."
    )
    listed: int = Field(ge=0)
    notListed: int = Field(ge=0)
    invalid: int = Field(ge=0)
    # Only by `prospects` (absent otherwise).
    blocked: Count | SkipJsonSchema[None] = Field(
        default=None, description="By `prospects`: items whose company is blocked."
    )
    invalidCompanies: Count | SkipJsonSchema[None] = Field(
        default=None,
        description="By `prospects`: items whose `companyUrl` is not a company page.",
    )


# --------------------------------------------------------------------------- remove many


DeleteIds = strings("missing_ids", "too_many_ids", MAX_BATCH_DELETE, "Entry `$id`s.")
DeleteURLs = strings(
    "missing_ids", "too_many_ids", MAX_BATCH_DELETE, "LinkedIn URLs in any accepted form."
)


class BatchDeleteRequest(OneOf):
    """Either `ids` or `urls`, not both; an optional `reason`."""

    one_of = ("ids", "urls")
    missing_code = "missing_ids"
    ids: Annotated[list[str], *DeleteIds] = Field(default_factory=list)
    urls: Annotated[list[str], *DeleteURLs] = Field(default_factory=list)
    reason: Reason = None

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [{"required": ["ids"]}, {"required": ["urls"]}],
            "example": {
                "ids": ["dnc_8fK2mQpL4xRt7vNw", "dnc_unknown"],
                "reason": "Customer signed",
            },
        }
    )


class BatchDeleteItem(ResponseModel):
    input: str = Field(description="The item as sent.")
    entryId: str | None = Field(description="The entry's `$id` (removed or protected), else null.")
    status: Literal["removed", "not_found", "protected_entry", "invalid_url"]


class BatchDeleteResult(ResponseModel):
    removed: int = Field(ge=0)
    notFound: int = Field(ge=0)
    protected: int = Field(ge=0)
    details: list[BatchDeleteItem] = Field(description="One result per input item, in input order.")


# --------------------------------------------------------------------------- list


PageSize = Annotated[int, *query_int("limit", 1, MAX_PAGE_SIZE, f"Page size, 1–{MAX_PAGE_SIZE:,}.")]
Offset = Annotated[int, *query_int("offset", 0, MAX_OFFSET, "Entries to skip. Not with `cursor`.")]
ListCursor = Annotated[
    str,
    *cursor_param(
        "`nextCursor` of the previous page. Not with `offset`.",
        "cursor is not valid: pass the nextCursor of a page",
        None,
    ),
]


class ListQuery(ApiModel):
    limit: PageSize = DEFAULT_PAGE_SIZE
    offset: Offset = 0
    cursor: ListCursor = ""
    q: Annotated[str, no_control("q", MAX_QUERY_LENGTH)] = Field(
        default="",
        description="Only entries whose URL contains this text (case-insensitive). The "
        f"response's `total` then counts up to {COUNT_CAP:,} (`totalExact` says whether it "
        "is exact).",
        json_schema_extra={"maxLength": MAX_QUERY_LENGTH, "pattern": "^[^\\x00-\\x1f\\x7f]*$"},
    )

    @model_validator(mode="after")
    def _cursor_or_offset(self) -> ListQuery:
        if self.cursor and "offset" in self.model_fields_set:
            raise refuse("invalid_parameter", "cursor and offset cannot be used together")
        return self


class EntryPage(ResponseModel):
    entries: list[DncEntry] = Field(description="Newest first.")
    total: int = Field(
        ge=0,
        description="Entries matching the query (all pages). With `q`: exact up to "
        f"{COUNT_CAP:,}; beyond, {COUNT_CAP + 1:,} with `totalExact` false.",
    )
    totalExact: bool = Field(
        default=True,
        description="Only with `q`: whether `total` is the exact count (false: more than "
        f"{COUNT_CAP:,} entries match).",
    )
    limit: int = Field(ge=1, le=MAX_PAGE_SIZE)
    offset: int | None = Field(ge=0, description="The offset of this page; null for a cursor page.")
    nextCursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


# --------------------------------------------------------------------------- delete, erase


class DeleteRequest(ApiModel):
    reason: Reason = None

    model_config = ConfigDict(
        json_schema_extra={"example": {"reason": "Contact asked to be removed from the list"}}
    )


class DeleteResult(ResponseModel):
    message: Literal["DNC entry deleted successfully"]


# --------------------------------------------------------------------------- evidence


class HistoryItem(ResponseModel):
    type: str = Field(
        description="What happened, e.g. `add`, `opted_out` (the person asked themselves), "
        "`add_duplicate`, `remove_refused`, `remove`."
    )
    at: Timestamp
    source: SourceName
    actor: str | None
    reason: str | None


class Receipt(ResponseModel):
    """The receipt the person was given for this entry (the first)."""

    reference: str
    at: Timestamp


class Delivery(ResponseModel):
    endpointId: str
    msgId: str = Field(description="The event's `webhook-id` header.")
    eventType: str
    seq: int | None = Field(
        description="The change's number in the changes feed (null for older events)."
    )
    deliveredAt: Timestamp | None
    attempts: int = Field(ge=0)


class Evidence(ResponseModel):
    """What a team hands to a regulator about one person."""

    entry: DncEntry
    history: list[HistoryItem] = Field(
        description="Every change and audit event of this profile (also of an earlier entry "
        "of the same person), oldest first."
    )
    receipt: Receipt | None = Field(description="Null when they never asked themselves.")
    deliveries: list[Delivery] = Field(
        description="Each webhook event about this profile, per endpoint."
    )


# --------------------------------------------------------------------------- verify


class VerifyResult(ResponseModel):
    """Not wrapped in the envelope (a Kakiyo-compatible answer)."""

    status: Literal["success"]
    message: Literal["API key is valid"]
