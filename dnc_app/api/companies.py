"""Company blocks under /v1: add, list, delete; and screening prospects with their
company (`POST /v1/dnc/screen` with `prospects`)."""

from __future__ import annotations

import re

from flask import g

from .. import companies, entries
from ..changelog import Source
from ..errors import envelope
from . import bp
from .auth import require_api_key
from .entries import DEFAULT_PAGE_SIZE, MAX_OFFSET, MAX_PAGE_SIZE, json_object
from .errors import ApiError, InvalidParameter
from .limits import LIST, WRITE, team_limits

# An id of any other shape cannot exist: refused before a query.
COMPANY_ID = re.compile(r"cmp_[A-Za-z0-9]{1,36}", re.ASCII)


@bp.errorhandler(companies.CompanyError)
def company_error(exc: companies.CompanyError):
    # A company already blocked comes back with its block, so a client can read it.
    data = exc.block.to_dict() if isinstance(exc, companies.AlreadyBlocked) else None
    return envelope(exc.code, data, exc.message, exc.status)


@bp.post("/companies")
@require_api_key
@team_limits(WRITE)
def post_company():
    body = json_object()
    url = body.get("url")
    if url is None or url == "":
        raise ApiError("missing_url", "url is required")
    try:
        block = companies.add_block(
            g.team_id,
            url,
            name=body.get("name"),
            reason=body.get("reason"),
            until=body.get("until"),
            source=Source.API,
            actor=g.actor,
        )
    except companies.InvalidURL as exc:
        raise ApiError("invalid_url", f"Invalid LinkedIn company URL: {exc.reason}") from None
    return envelope(None, block.to_dict(), "Company blocked", 201)


@bp.get("/companies")
@require_api_key
@team_limits(LIST)
def get_companies():
    limit = int_arg(
        "limit",
        DEFAULT_PAGE_SIZE,
        1,
        MAX_PAGE_SIZE,
        f"limit must be an integer between 1 and {MAX_PAGE_SIZE}",
    )
    offset = int_arg(
        "offset", 0, 0, MAX_OFFSET, f"offset must be an integer between 0 and {MAX_OFFSET}"
    )
    blocks, total = companies.list_blocks(g.team_id, limit=limit, offset=offset)
    data = {
        "companies": [block.to_dict() for block in blocks],
        "total": total,
        "limit": limit,
        "offset": offset,
    }
    return envelope(None, data, f"{len(blocks)} of {total} company blocks", 200)


@bp.delete("/companies/<company_id>")
@require_api_key
@team_limits(WRITE)
def delete_company(company_id: str):
    if not COMPANY_ID.fullmatch(company_id):
        raise companies.BlockNotFound()
    companies.remove_block(g.team_id, company_id, source=Source.API, actor=g.actor)
    message = "Company block deleted successfully"
    return envelope(None, {"message": message}, message, 200)


# --------------------------------------------------------------------------- screening


def _prospects(body: dict, limit: int) -> list[dict]:
    """The `prospects` array, or ApiError: empty is 400 `missing_urls`, over `limit` 400
    `too_many_urls` (the screen's codes); an item that is not an object with a `url`
    string (and a `companyUrl` string or null), or `urls` or `sha256` given too, is 400
    `invalid_parameter`."""
    if "urls" in body or "sha256" in body:
        raise InvalidParameter("Send one of prospects, urls or sha256, not several")
    items = body["prospects"]
    if not isinstance(items, list):
        raise InvalidParameter("prospects must be an array of objects")
    if not items:
        raise ApiError("missing_urls", "prospects must contain at least one item")
    if len(items) > limit:
        raise ApiError(
            "too_many_urls", f"prospects must contain at most {limit:,} items (got {len(items):,})"
        )
    for index, item in enumerate(items):
        # The shape is a request error; what a string says (not a profile, not a company
        # page) is answered in its item.
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            raise InvalidParameter(f"prospects[{index}] must be an object with a url string")
        company = item.get("companyUrl")
        if company is not None and not isinstance(company, str):
            raise InvalidParameter(f"prospects[{index}].companyUrl must be a string or null")
    return items


def _company_of(raw: object) -> tuple[str | None, bool]:
    """(the normalized company URL or None, whether it was refused)."""
    if raw is None or raw == "":
        return None, False
    try:
        return companies.normalize_company_url(raw), False
    except companies.InvalidURL:
        return None, True


def screen_prospects_answer(team_id: str, body: dict, limit: int):
    """POST /v1/dnc/screen with `prospects`: each person screened as with `urls` (one
    query for all), and each company looked up among the blocks that apply today (one
    query for all). A company URL that is not a company page is answered in its item
    (`companyError: "invalid_company_url"`), the person is still screened."""
    items = _prospects(body, limit)
    people = entries.screen_urls(team_id, [item.get("url") for item in items])
    company_urls = [_company_of(item.get("companyUrl")) for item in items]
    blocked = companies.blocking(team_id, [url for url, _bad in company_urls if url is not None])
    results = []
    counts = dict.fromkeys(("listed", "not_listed", "invalid"), 0)
    blocked_count = invalid_companies = 0
    for person, (company_url, refused) in zip(people, company_urls, strict=True):
        counts[person.status] += 1
        by = blocked.get(company_url) if company_url is not None else None
        blocked_count += by is not None
        invalid_companies += refused
        results.append(
            {
                **person.to_dict(),
                "companyUrl": company_url,
                "blockedBy": None if by is None else by.to_dict(),
                "companyError": "invalid_company_url" if refused else None,
            }
        )
    data = {
        "results": results,
        "listed": counts["listed"],
        "notListed": counts["not_listed"],
        "invalid": counts["invalid"],
        "blocked": blocked_count,
        "invalidCompanies": invalid_companies,
    }
    message = (
        f"Screened {len(results)}: {counts['listed']} listed, "
        f"{counts['not_listed']} not listed, {counts['invalid']} invalid, "
        f"{blocked_count} blocked by a company"
    )
    return envelope(None, data, message, 200)


def int_arg(name: str, default: int, low: int, high: int, message: str) -> int:
    # Interim, until the companies API is a contract model.
    from flask import request

    from ..params import bounded_int
    from .errors import InvalidParameter

    raw = request.args.get(name)
    if raw is None:
        return default
    value = bounded_int(raw, high, low)
    if value is None:
        raise InvalidParameter(message)
    return value
