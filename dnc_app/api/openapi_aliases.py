"""The aliases parts of the OpenAPI document: the `aliases` of an entry, the operation
that adds them, and the `updated` change they make (kept apart from openapi.py)."""

from __future__ import annotations

from typing import Any

from ..entries.aliases import MAX_ALIASES

ALIAS_ERRORS = {
    "missing_urls": "The body has no `urls` (aliases), or the screen body has neither "
    "`urls` nor `sha256`, or its array is empty.",
    "too_many_aliases": f"An entry has at most {MAX_ALIASES} aliases (a request names at "
    f"most {MAX_ALIASES}, and they may not take the entry past {MAX_ALIASES}).",
    "alias_conflict": "An alias is already an identifier (URL or alias) of another entry "
    "of the team; `data` is that entry.",
}

_IDENTIFIER = {
    "type": "string",
    "pattern": "^https://linkedin\\.com/(in|sales/lead)/[^/?#]+$",
}
_ALIASES_IN: dict[str, Any] = {
    "type": "array",
    "maxItems": MAX_ALIASES,
    "items": {"type": "string", "minLength": 1},
    "description": f"The person's other identifiers, at most {MAX_ALIASES}, each a "
    "LinkedIn profile URL in any accepted form: the member-token form of the profile "
    "(`/in/ACoAA…`), a Sales Navigator lead (`/sales/lead/ACwAA…`, `/sales/people/…`), "
    "another vanity URL. Normalized; repeats (and the entry's own URL) are folded.",
}
TOKEN_EXAMPLE = "https://linkedin.com/in/ACoAAA7IcPoBXbqAyFuCjYLHAhmm13BgChs-P5g"
LEAD_EXAMPLE = "https://linkedin.com/sales/lead/ACwAAA7IcPoBXbqAyFuCjYLHAhmm13BgChs-P5g"


def extend_schemas(schemas: dict) -> dict:
    """`aliases` on an entry, on an add and on a batch item; the `updated` change."""
    entry = schemas["DncEntry"]
    entry["required"] = [*entry["required"], "aliases"]
    entry["properties"]["aliases"] = {
        "type": "array",
        "items": _IDENTIFIER,
        "maxItems": MAX_ALIASES,
        "description": "The person's other identifiers (normalized), in the order they were "
        "added: check, screen, add and the public page find the person by any of them. "
        "Empty once the person's data was erased (their digests stay).",
    }
    schemas["AddRequest"]["properties"]["aliases"] = {
        **_ALIASES_IN,
        "description": _ALIASES_IN["description"] + " If the URL or an alias is already an "
        "identifier of an entry, the answer is a 409 `already_exists` with that entry.",
    }
    item = schemas["BatchRequest"]["properties"]["entries"]["items"]
    item["properties"]["aliases"] = {
        "description": "Optional: the person's other identifiers, as for a single add "
        "(an invalid one is that item's error; one already listed makes it a duplicate)."
    }
    change = schemas["Change"]
    kinds = change["properties"]["type"]
    kinds["enum"] = [*kinds["enum"], "updated"]
    change["description"] = str(change["description"]) + (
        " `updated`: an alias was added to the entry (one change per alias; `url` is the "
        "alias, null once the person is erased)."
    )
    schemas["AliasesRequest"] = {
        "type": "object",
        "required": ["urls"],
        "properties": {"urls": {**_ALIASES_IN, "minItems": 1}},
        "example": {"urls": [TOKEN_EXAMPLE, LEAD_EXAMPLE]},
    }
    return schemas


def extend_operations(paths: dict, h: Any, write_note: str, body_errors: list[str]) -> None:
    """The aliases operation, and an add's refusal of too many aliases; `h` is the
    openapi module (its helpers)."""
    refused = paths["/v1/dnc"]["post"]["responses"]["400"]["content"]["application/json"]
    codes = refused["schema"]["properties"]["error"]["enum"]
    codes.append("too_many_aliases")
    paths.update(_operations(h, write_note, body_errors))


def _operations(h: Any, write_note: str, body_errors: list[str]) -> dict:
    example = {**h.ENTRY_EXAMPLE, "aliases": [TOKEN_EXAMPLE, LEAD_EXAMPLE]}
    add = {
        "operationId": "addAliases",
        "tags": ["Entries"],
        "summary": "Add aliases to an entry (other identifiers of the person)",
        "description": (
            "Links other identifiers of the same person to the entry (at most "
            f"{MAX_ALIASES} in all). Each is normalized; an alias that is already the "
            "entry's own changes nothing. An alias that is an identifier of another entry "
            "is a 409 `alias_conflict` with that entry, and nothing is added. Adding "
            "aliases is a change: the changes feed gets an `updated` change per alias and "
            "connected tools a `dnc.entry.updated` event (`data`: the entry with its "
            f"aliases, and `seq`). Another team's entry is a 404. {write_note}"
        ),
        "parameters": [
            {
                "name": "entryId",
                "in": "path",
                "required": True,
                "description": "The entry's `$id`.",
                "schema": {"type": "string"},
                "example": h.ENTRY_EXAMPLE["$id"],
            }
        ],
        "requestBody": {"required": True, "content": h._json(h._ref("AliasesRequest"))},
        "responses": {
            "200": h._ok(
                "The entry with its aliases.",
                h._ref("DncEntry"),
                {"error": None, "data": example, "message": "Aliases added"},
            ),
            "400": h._error_response(
                "Invalid request: no `urls`, an invalid URL (the message names which), "
                "too many aliases.",
                [
                    *body_errors,
                    "invalid_parameter",
                    "invalid_url",
                    "missing_urls",
                    "too_many_aliases",
                ],
                limited=True,
            ),
            "404": h._error_response(
                "No such entry in this team's list.", ["not_found"], limited=True
            ),
            "409": h._error_response(
                "An alias is already an identifier of another entry.",
                ["alias_conflict"],
                limited=True,
                data=h._ref("DncEntry"),
            ),
            **h._common_responses(limited=True, body=True),
        },
    }
    return {"/v1/dnc/{entryId}/aliases": {"post": add}}
