"""Company blocks: add, list, delete. (Screening by `prospects` is the screen's:
schemas/entries.py.)"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field
from pydantic.json_schema import JsonDict

from dnc_app.domain.companies import MAX_NAME_LENGTH
from dnc_app.domain.company_url import MAX_SLUG_LENGTH
from dnc_app.http.api.schemas.base import ApiModel, Refuse, length
from dnc_app.http.api.schemas.common import (
    CompanyId,
    Day,
    Reason,
    ResponseModel,
    Timestamp,
    query_int,
)
from dnc_app.http.api.schemas.entries import DEFAULT_PAGE_SIZE, MAX_OFFSET, MAX_PAGE_SIZE

BLOCK_EXAMPLE: JsonDict = {
    "id": "cmp_4nQ8sLm2Zx0VbT7wRk1Y",
    "url": "https://linkedin.com/company/acme",
    "name": "Acme Inc.",
    "reason": "Existing customer",
    "until": "2027-06-30",
    "$createdAt": "2026-11-26T10:15:30.123Z",
}
UNTIL_TEXT = (
    "The block's last day (UTC), `YYYY-MM-DD`, today (the current UTC day) or later; null "
    "or absent: no end. The block matches through the end of that day in UTC and no longer "
    "from 00:00 UTC the next day (compared when screening: no job)."
)
URL_TEXT = (
    "A LinkedIn company page in any accepted form (`linkedin.com/company/<name or number>`, "
    "with or without scheme, `www.`, a country or mobile subdomain, a trailing path, query "
    "or fragment; also Sales Navigator's `linkedin.com/sales/company/<number>`, the page of "
    "that number); normalized to `https://linkedin.com/company/<slug>` (lowercased; a "
    f"numeric id kept), the slug at most {MAX_SLUG_LENGTH} characters. A block of a name "
    "does not match the company's number, nor the other way round (they cannot be told to "
    "be one company without asking LinkedIn): block both if prospects come with both. "
    "A person's profile, another host, user info, a non-default port, control characters "
    "or bad percent-encoding are refused with `invalid_url`."
)


class CompanyBlock(ResponseModel):
    """A blocked company of the team."""

    id: CompanyId
    url: str = Field(description="The company page, normalized.")
    name: str | None
    reason: str | None
    until: Day | None = Field(description=UNTIL_TEXT)
    createdAt: Timestamp = Field(alias="$createdAt")

    model_config = ConfigDict(json_schema_extra={"example": BLOCK_EXAMPLE})


# --------------------------------------------------------------------------- add


class CompanyBlockRequest(ApiModel):
    """Block one company. The shape is checked here; what a value says (not a company
    page, a day in the past, a name with control characters) is the service's rule,
    answered with the same codes, before anything is written."""

    url: Annotated[
        str,
        Refuse(
            missing=("missing_url", "url is required"),
            type=("invalid_url", "Invalid LinkedIn company URL: url must be a string"),
        ),
        *length(min_length=1),
    ] = Field(description=URL_TEXT)
    name: Annotated[str | None, Refuse(type=("invalid_parameter", "name must be a string"))] = (
        Field(
            default=None,
            description=f"Optional, at most {MAX_NAME_LENGTH} characters (after trimming), no "
            "control characters.",
            json_schema_extra={"maxLength": MAX_NAME_LENGTH, "pattern": "^[^\\x00-\\x1f\\x7f]*$"},
        )
    )
    reason: Reason = None
    until: Annotated[
        Day | None,
        Refuse(type=("invalid_parameter", "until must be a date written YYYY-MM-DD")),
    ] = Field(default=None, description=UNTIL_TEXT)

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "url": "https://www.linkedin.com/company/acme/",
                "name": "Acme Inc.",
                "reason": "Existing customer",
                "until": "2027-06-30",
            }
        }
    )


# --------------------------------------------------------------------------- list


class CompanyListQuery(ApiModel):
    limit: Annotated[
        int, *query_int("limit", 1, MAX_PAGE_SIZE, f"Page size, 1–{MAX_PAGE_SIZE:,}.")
    ] = DEFAULT_PAGE_SIZE
    offset: Annotated[int, *query_int("offset", 0, MAX_OFFSET, "Blocks to skip.")] = 0


class CompanyBlockPage(ResponseModel):
    companies: list[CompanyBlock] = Field(description="Newest first, expired ones included.")
    total: int = Field(ge=0, description="The team's blocks (all pages).")
    limit: int = Field(ge=1, le=MAX_PAGE_SIZE)
    offset: int = Field(ge=0, le=MAX_OFFSET)


class CompanyDeleteResult(ResponseModel):
    message: Literal["Company block deleted successfully"]
