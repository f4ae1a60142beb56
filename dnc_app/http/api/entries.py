"""The list endpoints: add, batch, check, screen (also of prospects with their
company), list, delete."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from flask import g, request

from dnc_app.domain import companies, entries
from dnc_app.domain.accounts.apikeys import KeyIdentity, key_may_remove_optouts
from dnc_app.domain.changelog import Source
from dnc_app.domain.entries import aliases
from dnc_app.domain.entries.service import ENTRY_ID
from dnc_app.http.api import bp, pipeline
from dnc_app.http.api.auth import actor_of, require_api_key
from dnc_app.http.api.errors import ApiError
from dnc_app.http.api.limits import BATCH, CHECK, LIST, SCREEN, WRITE, team_limits
from dnc_app.http.api.schemas import parse, query_source
from dnc_app.http.api.schemas.entries import (
    DEFAULT_PAGE_SIZE,
    MAX_BATCH_DELETE,
    MAX_BATCH_ENTRIES,
    MAX_OFFSET,
    MAX_PAGE_SIZE,
    MAX_SCREEN_ITEMS,
    AddRequest,
    AliasesRequest,
    BatchDeleteRequest,
    BatchItem,
    BatchRequest,
    CheckQuery,
    DeleteRequest,
    ListQuery,
    Prospect,
    ScreenRequest,
)
from dnc_app.http.errors import envelope

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_BATCH_DELETE",
    "MAX_BATCH_ENTRIES",
    "MAX_OFFSET",
    "MAX_PAGE_SIZE",
    "MAX_SCREEN_ITEMS",
    "add_answer",
    "check_answer",
    "parse_json_object",
]


def json_object() -> dict:
    """The request body as a JSON object (empty: {}), or ApiError invalid_json."""
    return parse_json_object(request.get_data(cache=True))


def parse_json_object(raw: bytes) -> dict:
    """A body as a JSON object (empty: {}), or ApiError invalid_json."""
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise ApiError("invalid_json", "Request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError("invalid_json", "Request body must be a JSON object")
    return body


def parse_add_body(raw: bytes) -> AddRequest:
    """The body of POST /v1/dnc, or ApiError (invalid_json, missing_url, …)."""
    return parse(AddRequest, parse_json_object(raw))


def add_answer(key: KeyIdentity, body: AddRequest):
    """POST /v1/dnc once authenticated, counted and parsed."""
    if body.aliases:  # a person with other identifiers: added with them at once
        entry = aliases.add_entry_with_aliases(
            key.team_id,
            body.url,
            body.aliases,
            reason=body.reason,
            source=Source.API,
            actor=actor_of(key),
        )
    else:
        entry = entries.add_entry(
            key.team_id, body.url, reason=body.reason, source=Source.API, actor=actor_of(key)
        )
    return envelope(None, entry.to_dict(), "Added to Do Not Contact list", 201)


ADD_ROUTE = pipeline.route(
    bp,
    "POST",
    "/dnc",
    endpoint="post_entry",
    limits=(WRITE,),
    parse=lambda call: parse_add_body(call.body),
    serve=add_answer,
)


@bp.get("/verify")
@require_api_key
def verify():
    return {"status": "success", "message": "API key is valid"}


# --------------------------------------------------------------------------- batch


@bp.post("/dnc/batch")
@require_api_key
@team_limits(WRITE, BATCH)
def post_batch():
    items = parse(BatchRequest, json_object()).entries
    # Items without a URL are answered here; runs of plain items go to the service in one
    # call each; an item with aliases (a person with other identifiers) on its own, in
    # input order, so an earlier item is the one listed whichever way later ones name it.
    details: list[dict | None] = [None] * len(items)
    plain: list[int] = []
    for index, item in enumerate(items):
        if item.url is None or item.url == "":
            details[index] = {"url": None, "status": "error", "error": "URL is required"}
        elif _has_aliases(item):
            _add_plain(items, plain, details)
            plain = []
            details[index] = _add_person(item)
        else:
            plain.append(index)
    _add_plain(items, plain, details)
    counts = {
        status: sum(1 for d in details if d["status"] == status)
        for status in ("added", "duplicate", "error")
    }
    data = {
        "added": counts["added"],
        "duplicates": counts["duplicate"],
        "errors": counts["error"],
        "details": details,
    }
    message = (
        f"Bulk import completed: {counts['added']} added, "
        f"{counts['duplicate']} duplicates, {counts['error']} errors"
    )
    return envelope(None, data, message, 201)


def _has_aliases(item: BatchItem) -> bool:
    """Whether a batch item names aliases (anything but an empty array is checked as such:
    what is wrong with it is the item's error)."""
    return item.aliases is not None and item.aliases != []


def _add_plain(items: list[BatchItem], positions: list[int], details: list[dict | None]) -> None:
    if not positions:
        return
    result = entries.add_entries(
        g.team_id,
        [items[i].url for i in positions],
        reasons=[items[i].reason for i in positions],
        source=Source.API,
        actor=g.actor,
    )
    for index, item in zip(positions, result.items, strict=True):
        details[index] = {
            "url": item.url if item.url else (item.input if isinstance(item.input, str) else None),
            "status": item.status,
            # Only an error carries a message; a duplicate is not an error.
            "error": item.error if item.status == "error" else None,
        }


def _add_person(item: BatchItem) -> dict:
    """A batch item with aliases: added with them in one transaction, or a duplicate (its
    URL or an alias is listed), or an error (which of its values, and why)."""
    raw = item.url
    ((status, entry, error),) = aliases.add_many_with_aliases(
        g.team_id, [(raw, item.aliases, item.reason)], source=Source.API, actor=g.actor
    )
    url = entry.url if status == "added" and entry is not None else None
    if url is None and isinstance(raw, str):
        try:
            url = entries.normalize(raw)
        except entries.InvalidURL:
            url = raw
    return {"url": url, "status": status, "error": error}


# --------------------------------------------------------------------------- check


def parse_check_query(query: str) -> str:
    """The URL asked about by GET /v1/dnc/check (its first `url` parameter, decoded as
    werkzeug decodes request.args), or ApiError missing_url."""
    url = next(
        (
            value
            for name, value in parse_qsl(query, keep_blank_values=True, errors="werkzeug.url_quote")
            if name == "url"
        ),
        "",
    )
    return parse(CheckQuery, {"url": url}).url


def check_answer(key: KeyIdentity, url: str):
    """GET /v1/dnc/check once authenticated, counted and parsed."""
    entry = entries.find_by_url(key.team_id, url)
    on_list = entry is not None
    data = {"onList": on_list, "entry": entry.to_dict() if entry is not None else None}
    message = "URL is on the Do Not Contact list" if on_list else "URL is not on the list"
    return envelope(None, data, message, 200)


CHECK_ROUTE = pipeline.route(
    bp,
    "GET",
    "/dnc/check",
    endpoint="check_entry",
    limits=(CHECK,),
    parse=lambda call: parse_check_query(call.query),
    serve=check_answer,
)


# --------------------------------------------------------------------------- screen


@bp.post("/dnc/screen")
@require_api_key
@team_limits(SCREEN)
def screen():
    body = parse(ScreenRequest, json_object())
    # Exactly one of the three was sent (the model's rule): the others are empty.
    if body.prospects:
        return _screen_prospects(body.prospects)
    if body.urls:
        results = entries.screen_urls(g.team_id, body.urls)
    else:
        results = entries.screen_digests(g.team_id, body.sha256)
    counts = _screen_counts(results)
    data = {"results": [result.to_dict() for result in results], **counts}
    return envelope(None, data, _screen_message(len(results), counts), 200)


def _screen_counts(results: list[entries.Screened]) -> dict[str, int]:
    statuses = [result.status for result in results]
    return {
        "listed": statuses.count("listed"),
        "notListed": statuses.count("not_listed"),
        "invalid": statuses.count("invalid"),
    }


def _screen_message(screened: int, counts: dict[str, int]) -> str:
    return (
        f"Screened {screened}: {counts['listed']} listed, "
        f"{counts['notListed']} not listed, {counts['invalid']} invalid"
    )


def _screen_prospects(prospects: list[Prospect]):
    """Each person screened as with `urls` (one query for all), and each company looked
    up among the blocks that apply today (one query for all). A company URL that is not
    a company page is answered in its item (`companyError`); the person is still
    screened."""
    people = entries.screen_urls(g.team_id, [prospect.url for prospect in prospects])
    company_urls = [_company_of(prospect.companyUrl) for prospect in prospects]
    found = companies.blocking(g.team_id, [url for url, _ in company_urls if url is not None])
    results = []
    for person, (company_url, refused) in zip(people, company_urls, strict=True):
        by = found.get(company_url) if company_url is not None else None
        results.append(
            {
                **person.to_dict(),
                "companyUrl": company_url,
                "blockedBy": None if by is None else by.to_dict(),
                "companyError": "invalid_company_url" if refused else None,
            }
        )
    counts = _screen_counts(people)
    blocked = sum(result["blockedBy"] is not None for result in results)
    data = {
        "results": results,
        **counts,
        "blocked": blocked,
        "invalidCompanies": sum(refused for _, refused in company_urls),
    }
    message = f"{_screen_message(len(results), counts)}, {blocked} blocked by a company"
    return envelope(None, data, message, 200)


def _company_of(raw: str | None) -> tuple[str | None, bool]:
    """(the normalized company URL or None, whether it was refused)."""
    if raw is None or raw == "":
        return None, False
    try:
        return companies.normalize_company_url(raw), False
    except companies.InvalidURL:
        return None, True


# --------------------------------------------------------------------------- list


@bp.get("/dnc")
@require_api_key
@team_limits(LIST)
def get_entries():
    query = parse(ListQuery, query_source(request.args, ListQuery))
    # An empty cursor is the first page, like no cursor at all.
    params = {
        "limit": query.limit,
        "offset": query.offset,
        "cursor": query.cursor or None,
        "q": query.q or None,
    }
    page = entries.list_entries(g.team_id, **params)
    data = {
        "entries": [entry.to_dict() for entry in page.entries],
        "total": page.total,
        # A search counts up to a cap (beyond it: the cap + 1, "more than the cap").
        **({"totalExact": page.total_exact} if params["q"] else {}),
        "limit": params["limit"],
        # A cursor page has no numeric position.
        "offset": None if params["cursor"] else params["offset"],
        "nextCursor": page.next_cursor,
    }
    total = f"{page.total}" if page.total_exact else f"more than {page.total - 1}"
    return envelope(None, data, f"{len(page.entries)} of {total} entries", 200)


# --------------------------------------------------------------------------- delete

_ENTRY_ID = ENTRY_ID  # an id of any other shape cannot exist


@bp.delete("/dnc/<entry_id>")
@require_api_key
@team_limits(WRITE)
def delete_entry_by_id(entry_id: str):
    body = parse(DeleteRequest, json_object())
    if not _ENTRY_ID.fullmatch(entry_id):
        raise entries.EntryNotFound()
    entries.remove_entry(
        g.team_id,
        entry_id,
        reason=body.reason,
        source=Source.API,
        actor=g.actor,
        may_remove_optouts=key_may_remove_optouts(g.api_key.id),
    )
    message = "DNC entry deleted successfully"
    return envelope(None, {"message": message}, message, 200)


# --------------------------------------------------------------------------- aliases


@bp.post("/dnc/<entry_id>/aliases")
@require_api_key
@team_limits(WRITE)
def post_aliases(entry_id: str):
    """Link other identifiers of the person to the entry; the entry with its aliases."""
    body = parse(AliasesRequest, json_object())
    if not ENTRY_ID.fullmatch(entry_id):
        raise entries.EntryNotFound()
    entry = aliases.add_aliases(g.team_id, entry_id, body.urls, source=Source.API, actor=g.actor)
    return envelope(None, entry.to_dict(), "Aliases added", 200)


# --------------------------------------------------------------------------- erase


@bp.post("/dnc/<entry_id>/erase")
@require_api_key
@team_limits(WRITE)
def erase_entry_by_id(entry_id: str):
    # The right is checked first: a key without it learns nothing about which ids exist.
    if not key_may_remove_optouts(g.api_key.id):
        raise ApiError(
            "erasure_not_allowed",
            "This API key may not erase personal data: an "
            "owner allows it for keys that may remove opt-outs",
            403,
        )
    if not _ENTRY_ID.fullmatch(entry_id):
        raise entries.EntryNotFound()
    entry = entries.erase_entry(g.team_id, entry_id, source=Source.API, actor=g.actor)
    return envelope(
        None,
        entry.to_dict(),
        "Personal data erased; the person stays on the Do Not Contact list",
        200,
    )


# --------------------------------------------------------------------------- evidence


@bp.get("/dnc/<entry_id>/evidence")
@require_api_key
@team_limits(LIST)
def get_evidence(entry_id: str):
    """The entry, its whole history, the receipt and each webhook delivery about it."""
    found = entries.evidence_of(g.team_id, entry_id) if _ENTRY_ID.fullmatch(entry_id) else None
    if found is None:
        raise entries.EntryNotFound()
    return envelope(None, found, "Evidence of the entry", 200)


# --------------------------------------------------------------------------- remove many


@bp.post("/dnc/batch-delete")
@require_api_key
@team_limits(WRITE, BATCH)
def post_batch_delete():
    body = parse(BatchDeleteRequest, json_object())
    result = entries.remove_entries(
        g.team_id,
        # One of the two was sent (the model's rule): the other is None.
        ids=body.ids or None,
        urls=body.urls or None,
        reason=body.reason,
        source=Source.API,
        actor=g.actor,
        may_remove_optouts=key_may_remove_optouts(g.api_key.id),
    )
    counts = {status: result.count(status) for status in entries.REMOVAL_STATUSES}
    data = {
        "removed": counts["removed"],
        "notFound": counts["not_found"],
        "protected": counts["protected_entry"],
        "details": [
            {"input": item.input, "entryId": item.entry_id, "status": item.status}
            for item in result.items
        ],
    }
    message = (
        f"Removed {counts['removed']}: {counts['not_found']} not found, "
        f"{counts['protected_entry']} protected, {counts['invalid_url']} invalid"
    )
    return envelope(None, data, message, 200)
