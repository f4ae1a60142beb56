"""The list endpoints: add, batch, check, list, delete."""

from __future__ import annotations

import json

from flask import g, request

from .. import accounts, entries
from ..changelog import Actor, Source
from ..entries.service import ENTRY_ID
from ..errors import envelope
from . import bp
from .auth import require_api_key
from .errors import ApiError, InvalidParameter
from .limits import BATCH, CHECK, LIST, SCREEN, WRITE, team_limits
from .params import int_arg


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


@bp.post("/dnc")
@require_api_key
@team_limits(WRITE)
def post_entry():
    return add_answer(g.team_id, g.actor, json_object())


def add_answer(team_id: str, actor: Actor, body: dict):
    """POST /v1/dnc once authenticated and counted (also the WSGI hot path's)."""
    url = body.get("url")
    if url is None or url == "":
        raise ApiError("missing_url", "URL is required")
    entry = entries.add_entry(
        team_id, url, reason=body.get("reason"), source=Source.API, actor=actor
    )
    return envelope(None, entry.to_dict(), "Added to Do Not Contact list", 201)


@bp.get("/verify")
@require_api_key
def verify():
    return {"status": "success", "message": "API key is valid"}


# --------------------------------------------------------------------------- batch

MAX_BATCH_ENTRIES = 1000


def _batch_items(body: dict) -> list[dict]:
    """The `entries` array of a batch request, or ApiError that says what is wrong."""
    items = body.get("entries")
    if items is None:
        raise ApiError("missing_entries", "entries is required")
    if not isinstance(items, list):
        raise InvalidParameter("entries must be an array")
    if not items:
        raise ApiError("empty_entries", "entries must contain at least one entry")
    if len(items) > MAX_BATCH_ENTRIES:
        raise ApiError(
            "too_many_entries",
            f"entries must contain at most {MAX_BATCH_ENTRIES:,} entries (got {len(items):,})",
        )
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidParameter(f"entries[{index}] must be an object with a url")
    return items


@bp.post("/dnc/batch")
@require_api_key
@team_limits(WRITE, BATCH)
def post_batch():
    items = _batch_items(json_object())
    # Items without a URL are answered here; the rest go to the service in one call.
    details: list[dict | None] = [None] * len(items)
    positions, urls, reasons = [], [], []
    for index, item in enumerate(items):
        url = item.get("url")
        if url is None or url == "":
            details[index] = {"url": None, "status": "error", "error": "URL is required"}
        else:
            positions.append(index)
            urls.append(url)
            reasons.append(item.get("reason"))
    if urls:
        result = entries.add_entries(
            g.team_id, urls, reasons=reasons, source=Source.API, actor=g.actor
        )
        for index, item in zip(positions, result.items, strict=True):
            details[index] = {
                "url": item.url
                if item.url
                else (item.input if isinstance(item.input, str) else None),
                "status": item.status,
                # Only an error carries a message; a duplicate is not an error.
                "error": item.error if item.status == "error" else None,
            }
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


# --------------------------------------------------------------------------- check


@bp.get("/dnc/check")
@require_api_key
@team_limits(CHECK)
def check_entry():
    return check_answer(g.team_id, request.args.get("url", ""))


def check_answer(team_id: str, url: str):
    """GET /v1/dnc/check once authenticated and counted (also the WSGI hot path's)."""
    if url == "":
        raise ApiError("missing_url", "url query parameter is required")
    entry = entries.find_by_url(team_id, url)
    on_list = entry is not None
    data = {"onList": on_list, "entry": entry.to_dict() if entry is not None else None}
    message = "URL is on the Do Not Contact list" if on_list else "URL is not on the list"
    return envelope(None, data, message, 200)


# --------------------------------------------------------------------------- screen

MAX_SCREEN_ITEMS = 1000
SCREEN_KEYS = ("urls", "sha256")


def _one_array_of(
    body: dict, keys: tuple[str, str], limit: int, *, missing: str, too_many: str
) -> tuple[str, list]:
    """(the key given, its array of strings), or ApiError that says what is wrong: neither
    key (or an empty array) is 400 `missing`; over `limit` items is 400 `too_many`; both
    keys, a value that is not an array, or an item that is not a string is 400
    `invalid_parameter`."""
    given = [key for key in keys if key in body]
    if len(given) > 1:
        raise InvalidParameter(f"Send either {keys[0]} or {keys[1]}, not both")
    if not given:
        raise ApiError(missing, f"{keys[0]} (or {keys[1]}) is required")
    key = given[0]
    items = body[key]
    if not isinstance(items, list):
        raise InvalidParameter(f"{key} must be an array of strings")
    if not items:
        raise ApiError(missing, f"{key} must contain at least one item")
    if len(items) > limit:
        raise ApiError(too_many, f"{key} must contain at most {limit:,} items (got {len(items):,})")
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise InvalidParameter(f"{key}[{index}] must be a string")
    return key, items


def _screen_items(body: dict) -> tuple[str, list]:
    """("urls" or "sha256", its array): `_one_array_of` with `missing_urls` and
    `too_many_urls`. A string that is not a profile URL, or not a 64-hex-digit digest, is
    answered in its result (`error: "invalid_url"`)."""
    return _one_array_of(
        body, SCREEN_KEYS, MAX_SCREEN_ITEMS, missing="missing_urls", too_many="too_many_urls"
    )


@bp.post("/dnc/screen")
@require_api_key
@team_limits(SCREEN)
def screen():
    body = json_object()
    if "prospects" in body:  # people with their companies
        from .companies import screen_prospects_answer  # it imports this module

        return screen_prospects_answer(g.team_id, body, MAX_SCREEN_ITEMS)
    key, items = _screen_items(body)
    if key == "urls":
        results = entries.screen_urls(g.team_id, items)
    else:
        results = entries.screen_digests(g.team_id, items)
    counts = {status: 0 for status in ("listed", "not_listed", "invalid")}
    for result in results:
        counts[result.status] += 1
    data = {
        "results": [result.to_dict() for result in results],
        "listed": counts["listed"],
        "notListed": counts["not_listed"],
        "invalid": counts["invalid"],
    }
    message = (
        f"Screened {len(results)}: {counts['listed']} listed, "
        f"{counts['not_listed']} not listed, {counts['invalid']} invalid"
    )
    return envelope(None, data, message, 200)


# --------------------------------------------------------------------------- list

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 50
# Beyond what any list holds, and within a signed 32-bit OFFSET everywhere.
MAX_OFFSET = 2_147_483_647
MAX_QUERY_LENGTH = entries.MAX_QUERY_LENGTH


def _list_params() -> dict:
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
    # An empty cursor is the first page, like no cursor at all.
    cursor = request.args.get("cursor") or None
    if cursor is not None and "offset" in request.args:
        raise InvalidParameter("cursor and offset cannot be used together")
    q = request.args.get("q", "").strip()
    if len(q) > MAX_QUERY_LENGTH:
        raise InvalidParameter(f"q must be at most {MAX_QUERY_LENGTH} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in q):
        raise InvalidParameter("q must not contain control characters")
    return {"limit": limit, "offset": offset, "cursor": cursor, "q": q or None}


@bp.get("/dnc")
@require_api_key
@team_limits(LIST)
def get_entries():
    params = _list_params()
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
    body = json_object()
    if not _ENTRY_ID.fullmatch(entry_id):
        raise entries.EntryNotFound()
    # The service checks the reason before it writes anything.
    entries.remove_entry(
        g.team_id,
        entry_id,
        reason=body.get("reason"),
        source=Source.API,
        actor=g.actor,
        may_remove_optouts=accounts.key_may_remove_optouts(g.api_key.id),
    )
    message = "DNC entry deleted successfully"
    return envelope(None, {"message": message}, message, 200)


# --------------------------------------------------------------------------- erase


@bp.post("/dnc/<entry_id>/erase")
@require_api_key
@team_limits(WRITE)
def erase_entry_by_id(entry_id: str):
    # The right is checked first: a key without it learns nothing about which ids exist.
    if not accounts.key_may_remove_optouts(g.api_key.id):
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

MAX_BATCH_DELETE = 1000
BATCH_DELETE_KEYS = ("ids", "urls")


def _batch_delete_items(body: dict) -> tuple[str, list]:
    """("ids" or "urls", its array): `_one_array_of` with `missing_ids` and
    `too_many_ids`. An id that names no entry of the team is answered in its item
    (`not_found`), a string that is not a profile URL too (`invalid_url`)."""
    return _one_array_of(
        body, BATCH_DELETE_KEYS, MAX_BATCH_DELETE, missing="missing_ids", too_many="too_many_ids"
    )


@bp.post("/dnc/batch-delete")
@require_api_key
@team_limits(WRITE, BATCH)
def post_batch_delete():
    body = json_object()
    key, items = _batch_delete_items(body)
    result = entries.remove_entries(
        g.team_id,
        **{key: items},
        reason=body.get("reason"),
        source=Source.API,
        actor=g.actor,
        may_remove_optouts=accounts.key_may_remove_optouts(g.api_key.id),
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
