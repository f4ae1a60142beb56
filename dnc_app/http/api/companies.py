"""Company blocks under /v1: add, list, delete. (Screening prospects with their company
is the screen's: api/entries.py.)"""

from __future__ import annotations

import re

from flask import g, request

from dnc_app.domain import companies
from dnc_app.domain.changelog import Source
from dnc_app.http.api import bp
from dnc_app.http.api.auth import require_api_key
from dnc_app.http.api.entries import json_object
from dnc_app.http.api.errors import ApiError
from dnc_app.http.api.limits import LIST, WRITE, team_limits
from dnc_app.http.api.schemas import parse, query_source
from dnc_app.http.api.schemas.companies import CompanyBlockRequest, CompanyListQuery
from dnc_app.http.errors import envelope

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
    body = parse(CompanyBlockRequest, json_object())
    try:
        block = companies.add_block(
            g.team_id,
            body.url,
            name=body.name,
            reason=body.reason,
            until=body.until,
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
    query = parse(CompanyListQuery, query_source(request.args, CompanyListQuery))
    blocks, total = companies.list_blocks(g.team_id, limit=query.limit, offset=query.offset)
    data = {
        "companies": [block.to_dict() for block in blocks],
        "total": total,
        "limit": query.limit,
        "offset": query.offset,
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
