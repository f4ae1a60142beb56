"""The /v1 route table: for each operation its method and path, the models of its body,
query and `data`, the error codes it answers with, and its prose. The OpenAPI document
(api/openapi.py) is generated from this table and the models; a test checks that the
table and Flask's URL map name the same routes.

Adding an endpoint: a model in api/schemas/, a view that calls `parse(Model, source)` and
the service, and a row here (see docs/api.md, "Adding an endpoint")."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel

from dnc_app.domain.entries.aliases import MAX_ALIASES
from dnc_app.http.api.schemas.changes import MAX_CHANGES_PAGE, ChangesPage, ChangesQuery
from dnc_app.http.api.schemas.companies import (
    BLOCK_EXAMPLE,
    CompanyBlock,
    CompanyBlockPage,
    CompanyBlockRequest,
    CompanyDeleteResult,
    CompanyListQuery,
)
from dnc_app.http.api.schemas.entries import (
    ENTRY_EXAMPLE,
    LEAD_EXAMPLE,
    MAX_BATCH_DELETE,
    MAX_BATCH_ENTRIES,
    MAX_SCREEN_ITEMS,
    TOKEN_EXAMPLE,
    AddRequest,
    AliasesRequest,
    BatchDeleteRequest,
    BatchDeleteResult,
    BatchRequest,
    BatchResult,
    CheckQuery,
    CheckResult,
    DeleteRequest,
    DeleteResult,
    DncEntry,
    EntryPage,
    Evidence,
    ListQuery,
    ScreenRequest,
    ScreenResult,
    VerifyResult,
)
from dnc_app.http.api.schemas.webhooks import (
    AttemptsQuery,
    WebhookAttemptsPage,
    WebhookEndpoint,
    WebhookEndpointCreated,
    WebhookList,
    WebhookRecover,
    WebhookRecovered,
    WebhookRedelivered,
    WebhookRequest,
    WebhookSecret,
    WebhookTestResult,
    WebhookUpdate,
)

BODY_ERRORS = ("invalid_json",)
WEBHOOK_ERRORS = {
    "endpoint_disabled": "The webhook endpoint is disabled (by the team, or after 410 Gone "
    "or days of failed deliveries).",
    "too_many_endpoints": "The team has as many webhook endpoints as it may "
    "(`WEBHOOK_MAX_ENDPOINTS`, 10 by default): delete one first.",
    "too_many_changes": "More changes since `since` than one recover call queues "
    "(`WEBHOOK_RECOVER_MAX`): recover from a later time, or read the changes feed.",
}
# Every error code the API answers with.
ERROR_CODES = {
    "missing_api_key": "No Authorization header.",
    "invalid_api_key_format": "The header is not 'Bearer dnc_sk_…' with a well-formed key.",
    "invalid_api_key": "The key is unknown or revoked.",
    "invalid_json": "The request body is not a JSON object.",
    "missing_url": "The URL is missing or empty.",
    "invalid_url": "The URL is not a LinkedIn person profile (for a webhook: not an "
    "https/http URL on a public address; for a company block: not a LinkedIn company "
    "page); the message says why.",
    "invalid_parameter": "A parameter or field has an invalid value; the message names it.",
    "already_exists": "The URL is already on the list; `data` is the existing entry (for a "
    "company block: the company is already blocked; `data` is the existing block).",
    "missing_entries": "The batch body has no `entries`.",
    "empty_entries": "The batch `entries` array is empty.",
    "too_many_entries": f"The batch has more than {MAX_BATCH_ENTRIES:,} entries.",
    "missing_urls": "The screen body has none of `urls`, `sha256` and `prospects`, or its "
    "array is empty; or an aliases body has no `urls`.",
    "too_many_urls": f"The screen body has more than {MAX_SCREEN_ITEMS:,} items.",
    "missing_ids": "The batch-delete body has neither `ids` nor `urls`, or its array is empty.",
    "too_many_ids": f"The batch-delete body has more than {MAX_BATCH_DELETE:,} items.",
    "too_many_aliases": f"An entry has at most {MAX_ALIASES} aliases (a request names at "
    f"most {MAX_ALIASES}, and they may not take the entry past {MAX_ALIASES}).",
    "alias_conflict": "An alias is already an identifier (URL or alias) of another entry "
    "of the team; `data` is that entry.",
    "not_found": "No such entry in this team's list (also for another team's entry), or "
    "no such webhook endpoint or company block in this team.",
    **WEBHOOK_ERRORS,
    "protected_entry": "The entry is the person's own opt-out (public form or personal "
    "link); only a key an owner allowed to remove opt-outs may delete it.",
    "erasure_not_allowed": "The API key may not erase personal data (only a key an owner "
    "allowed to remove opt-outs may).",
    "bad_request": "The request itself could not be understood (e.g. a Host header this "
    "server does not serve).",
    "method_not_allowed": "The endpoint does not support this HTTP method.",
    "payload_too_large": "The request body is larger than the server accepts.",
    "unsupported_media_type": "The request body is not sent as JSON.",
    "rate_limit_exceeded": "The team's rate limit for this operation is used up; "
    "`resetTime` says when a request will next be accepted.",
    "internal_error": "An unexpected server error (logged for the operator).",
    "service_unavailable": "The database or the rate-limit store is unreachable; nothing "
    "was changed. Retry after `Retry-After` seconds.",
}


@dataclass(frozen=True)
class Refusal:
    """An error answer of an operation: its status, when it happens, its codes."""

    status: int
    description: str
    codes: tuple[str, ...]
    data: type[BaseModel] | None = None  # `data` of the error (the entry of a 409)


@dataclass(frozen=True)
class Route:
    """One operation. `description` may name the configured limits: {write_note},
    {write}, {batch}, {check}, {listing}, {screen}, {changes}."""

    method: str
    path: str
    operation_id: str
    summary: str
    description: str
    data: type[BaseModel] | None  # the success answer's `data` (None: not JSON data)
    status: int = 200
    tag: str = "Entries"
    body: type[BaseModel] | None = None
    body_required: bool = True
    query: type[BaseModel] | None = None
    # (name, description, JSON schema) of each path parameter.
    path_params: tuple[tuple[str, str, dict], ...] = ()
    errors: tuple[Refusal, ...] = ()
    example: dict | None = None  # of the success answer
    links: str | None = None  # "entry", "webhook" or "company": where the answer's id leads
    links_at: str = "/data"  # the JSON pointer to the object with the id
    envelope: bool = True  # GET /v1/verify answers without it
    public: bool = False
    limited: bool = True
    extra: dict = field(default_factory=dict)


ENTRY_ID = ("entryId", "The entry's `$id`.", {"type": "string", "example": ENTRY_EXAMPLE["$id"]})
WEBHOOK_ID = (
    "webhookId",
    "The endpoint's `id`.",
    {"type": "string", "example": "whk_8sKq2LmZx0VbN4tRw7Yc"},
)
MSG_ID = (
    "msgId",
    "The event's `webhook-id` (`msgId` in the delivery log).",
    {"type": "string", "pattern": "^msg_[A-Za-z0-9]+$"},
)
NOT_FOUND = Refusal(404, "No such entry in this team's list.", ("not_found",))
NO_WEBHOOK = Refusal(
    404,
    "No such webhook endpoint in this team (also another team's: never a 403).",
    ("not_found",),
)
DISABLED = Refusal(409, "The endpoint is disabled: enable it first.", ("endpoint_disabled",))
WEBHOOK_WRITE = "Counts against the team's shared write budget ({write})."
WEBHOOK_READ = "Limited to {listing} per team."
SIGNING = (
    'Each delivery is a POST with the JSON body `{{"type", "timestamp", "data"}}` (for '
    "`dnc.entry.added` / `dnc.entry.removed` / `dnc.entry.updated` (an alias was added), "
    "`data` is the entry as the API returns it, "
    "plus the change's `source` and `reason`; for `dnc.entry.erased`, a person's data was "
    'erased on request and the receiver should forget it too: `data` is `{{"$id", '
    '"sha256", "seq"}}`, the digest of the normalized URL, nothing else; events '
    "of that person not yet delivered go out with `url` and `reason` null) "
    "and the Standard Webhooks headers "
    "`webhook-id` (the same on every retry of one event), `webhook-timestamp` (Unix "
    'seconds) and `webhook-signature` (`v1,<base64 HMAC-SHA256 of "{{id}}.{{timestamp}}.'
    '{{body}}">` keyed by the base64-decoded part of the secret after `whsec_`; for '
    "`WEBHOOK_SECRET_OVERLAP` seconds (a day by default) after a secret rotation, two "
    "space-separated signatures, the new secret's first). `data.seq` is the team's change "
    "number, the changes feed's `seq`: a receiver that sees a gap reads the feed. "
    "Delivery is at least once (de-duplicate by `webhook-id`); retried on any non-2xx "
    "answer or time-out (`WEBHOOK_RETRY_SCHEDULE`); `410 Gone` disables the endpoint; "
    "redirects are not followed."
)

ENTRY_ROUTES = (
    Route(
        "post",
        "/v1/dnc",
        "addEntry",
        "Add a URL to the list",
        "Normalizes the URL and adds it to the team's list, with the person's other "
        "identifiers if `aliases` names them (at most 10). {write_note}",
        DncEntry,
        status=201,
        body=AddRequest,
        errors=(
            Refusal(
                400,
                "Invalid request.",
                (
                    *BODY_ERRORS,
                    "missing_url",
                    "invalid_url",
                    "invalid_parameter",
                    "too_many_aliases",
                ),
            ),
            Refusal(
                409,
                "The URL (or one of the aliases) is already an identifier of an entry; "
                "`data` is that entry.",
                ("already_exists",),
                DncEntry,
            ),
        ),
        example={"error": None, "data": ENTRY_EXAMPLE, "message": "Added to Do Not Contact list"},
        links="entry",
    ),
    Route(
        "get",
        "/v1/dnc",
        "listEntries",
        "List the entries, newest first",
        "Offset pagination (`limit`, `offset`) or keyset pagination (`cursor`, from the "
        "previous page's `nextCursor`). A cursor stays fast on the last page of a large "
        "list, where a large offset cannot. `cursor` and `offset` cannot be combined (400 "
        "`invalid_parameter`). Limited to {listing} per team.",
        EntryPage,
        query=ListQuery,
        errors=(
            Refusal(400, "An invalid parameter; the message names it.", ("invalid_parameter",)),
        ),
        example={
            "error": None,
            "data": {
                "entries": [ENTRY_EXAMPLE],
                "total": 1,
                "limit": 50,
                "offset": 0,
                "nextCursor": None,
            },
            "message": "1 of 1 entries",
        },
    ),
    Route(
        "post",
        "/v1/dnc/screen",
        "screenUrls",
        f"Screen up to {MAX_SCREEN_ITEMS:,} prospects",
        "Which of these prospects are on the list: by `urls` (each normalized), or by "
        "`sha256` digests of normalized URLs, so that a prospect list need not be sent "
        "in clear, or by `prospects` (each person's URL with the company page they work "
        "at): each result then also says whether a company block of the team applies "
        "today (`blockedBy`), and the answer counts `blocked` and `invalidCompanies`. "
        "Results are in input order; a string that is not a profile URL (or not a "
        'digest) is answered with `error: "invalid_url"`, a `companyUrl` that is not a '
        'company page with `companyError: "invalid_company_url"` (the person is still '
        "screened). Answered with one database query (and one more for the companies). "
        "Limited to {screen} per team (`DNC_SCREEN_LIMIT`).",
        ScreenResult,
        body=ScreenRequest,
        errors=(
            Refusal(
                400,
                "Invalid request: none or several of `urls`, `sha256` and `prospects`, an "
                f"empty array (`missing_urls`), more than {MAX_SCREEN_ITEMS:,} items "
                "(`too_many_urls`), or an item that is not a string (a prospect: not an "
                "object with a `url` string and a `companyUrl` string or null) "
                "(`invalid_parameter`, the message names its index).",
                (*BODY_ERRORS, "missing_urls", "too_many_urls", "invalid_parameter"),
            ),
        ),
    ),
    Route(
        "post",
        "/v1/dnc/batch",
        "addEntriesBatch",
        f"Add up to {MAX_BATCH_ENTRIES:,} URLs",
        "Adds every valid, new URL in one transaction and reports each item in input "
        "order. Entries of one batch are stored in input order (the later item is the "
        "newer entry). A repeat inside the batch and an already-listed URL are "
        "`duplicate`; a missing or invalid URL is an item `error`. `message` is "
        '"Bulk import completed: N added, N duplicates, N errors". One request counts '
        "as one write. {write_note} Batch is also limited on its own ({batch}).",
        BatchResult,
        status=201,
        body=BatchRequest,
        errors=(
            Refusal(
                400,
                "Invalid request: `entries` missing, not an array, empty, too long, or an "
                "item that is not an object (the message names its index).",
                (
                    *BODY_ERRORS,
                    "missing_entries",
                    "empty_entries",
                    "too_many_entries",
                    "invalid_parameter",
                ),
            ),
        ),
    ),
    Route(
        "post",
        "/v1/dnc/batch-delete",
        "deleteEntriesBatch",
        f"Remove up to {MAX_BATCH_DELETE:,} entries",
        "Removes the entries named by `ids` (their `$id`) or by `urls` (any accepted "
        "form) in one transaction and reports each item in input order; items are "
        "applied in order. An unknown id, another team's entry, a URL not listed, or a "
        "repeat of an entry an earlier item removed is `not_found`; a string that is not "
        "a LinkedIn URL is `invalid_url` (by `urls`). A person's own opt-out (source "
        "`public_form`) is `protected_entry` (the attempt is recorded in the audit "
        "trail) unless an owner created the key with permission to remove opt-outs; "
        "then a `reason` is required (400 `invalid_parameter` without one, and nothing "
        "is removed). The removal is one operation in the audit trail; each removed "
        "entry is a `removed` change in the feed and a `dnc.entry.removed` webhook "
        "event. One request counts as one write. {write_note} Also limited on its "
        "own ({batch}), like batch add.",
        BatchDeleteResult,
        body=BatchDeleteRequest,
        errors=(
            Refusal(
                400,
                "Invalid request: neither `ids` nor `urls` (or an empty array), both, more "
                f"than {MAX_BATCH_DELETE:,} items, an item that is not a string, or an "
                "invalid `reason` (the message says which).",
                (*BODY_ERRORS, "missing_ids", "too_many_ids", "invalid_parameter"),
            ),
        ),
    ),
    Route(
        "get",
        "/v1/dnc/check",
        "checkUrl",
        "Is a URL on the list?",
        "Normalizes the URL and looks it up. Limited to {check} per team.",
        CheckResult,
        query=CheckQuery,
        errors=(Refusal(400, "Missing or invalid URL.", ("missing_url", "invalid_url")),),
        example={
            "error": None,
            "data": {"onList": True, "entry": ENTRY_EXAMPLE},
            "message": "URL is on the Do Not Contact list",
        },
    ),
    Route(
        "get",
        "/v1/dnc/changes",
        "listChanges",
        "The changes feed: additions and removals, oldest first",
        "Keeps a local copy of the list exact. Without `cursor` it starts at the team's "
        "first change; each page gives a `nextCursor` (also when it is empty): store it "
        "and poll with it, and every later change comes exactly once, in commit order, "
        "also when changes are made concurrently. Apply `added` and `removed` in order. "
        "While `hasMore` is true, ask again at once. A cursor is opaque and stays valid. "
        "A cursor this server did not issue to the team (altered, another team's, or "
        "past the team's newest change, e.g. after the database was restored from a "
        "backup) is refused with 400 `invalid_parameter`, never answered with an empty "
        "page: start again without a cursor. Limited to {changes} per team.",
        ChangesPage,
        query=ChangesQuery,
        errors=(
            Refusal(
                400,
                "A bad `cursor` (not issued to this team, or past its newest change) or "
                f"`limit` (1–{MAX_CHANGES_PAGE:,}); the message names it.",
                ("invalid_parameter",),
            ),
        ),
    ),
    Route(
        "delete",
        "/v1/dnc/{entryId}",
        "deleteEntry",
        "Remove an entry",
        "Removes the entry; its audit record (who, when, optional reason) stays, and the "
        "URL can be added again later. Another team's entry is a 404, like an unknown "
        "id. An entry the person asked for themselves (`protected`: the public opt-out "
        "page or a personal link named it, whatever added it first) is their objection: "
        "deleting it is a 403 `protected_entry` (the attempt is recorded in the audit "
        "trail) unless an owner created the key with permission to remove opt-outs; then "
        "a `reason` is required. {write_note}",
        DeleteResult,
        body=DeleteRequest,
        body_required=False,
        path_params=(ENTRY_ID,),
        errors=(
            Refusal(400, "Invalid request body.", (*BODY_ERRORS, "invalid_parameter")),
            Refusal(
                403,
                "The entry is the person's own opt-out and this key may not remove those.",
                ("protected_entry",),
            ),
            NOT_FOUND,
        ),
    ),
    Route(
        "post",
        "/v1/dnc/{entryId}/erase",
        "eraseEntry",
        "Erase a person's data, keep them on the list",
        "Erases the person's data (a right-to-erasure request) without forgetting the "
        "objection: the profile URL, reasons and free text leave the entry, the change "
        "log and audit trail, stored webhook payloads and the search indexes; the "
        "SHA-256 of the normalized URL and the dates stay. The person stays on the list: "
        "check and screen by URL or digest answer `onList: true` with the entry "
        "(`url` null, `erased` true), adding them again is a 409 `already_exists`. "
        "Connected tools get `dnc.entry.erased` (`data`: `$id`, `sha256`, `seq`) and the "
        "changes feed an `erased` change. Only a key an owner allowed to remove opt-outs "
        "may erase (else 403 `erasure_not_allowed`, whatever the id). Another team's "
        "entry is a 404. Erasing an erased entry answers it again. {write_note}",
        DncEntry,
        path_params=(ENTRY_ID,),
        errors=(
            Refusal(403, "This key may not erase personal data.", ("erasure_not_allowed",)),
            NOT_FOUND,
        ),
    ),
    Route(
        "post",
        "/v1/dnc/{entryId}/aliases",
        "addAliases",
        "Add aliases to an entry (other identifiers of the person)",
        "Links other identifiers of the same person to the entry (at most "
        f"{MAX_ALIASES} in all). Each is normalized; an alias that is already the entry's "
        "own changes nothing. An alias that is an identifier of another entry is a 409 "
        "`alias_conflict` with that entry, and nothing is added. Adding aliases is a "
        "change: the changes feed gets an `updated` change per alias and connected tools "
        "a `dnc.entry.updated` event (`data`: the entry with its aliases, and `seq`). "
        "Another team's entry is a 404. {write_note}",
        DncEntry,
        body=AliasesRequest,
        path_params=(ENTRY_ID,),
        errors=(
            Refusal(
                400,
                "Invalid request: no `urls`, an invalid URL (the message names which), too "
                "many aliases.",
                (
                    *BODY_ERRORS,
                    "missing_urls",
                    "invalid_parameter",
                    "invalid_url",
                    "too_many_aliases",
                ),
            ),
            NOT_FOUND,
            Refusal(
                409,
                "An alias is an identifier of another entry; `data` is that entry.",
                ("alias_conflict",),
                DncEntry,
            ),
        ),
        example={
            "error": None,
            "data": {**ENTRY_EXAMPLE, "aliases": [TOKEN_EXAMPLE, LEAD_EXAMPLE]},
            "message": "Aliases added",
        },
        links="entry",
    ),
    Route(
        "get",
        "/v1/dnc/{entryId}/evidence",
        "getEntryEvidence",
        "The evidence of an entry",
        "The entry, the whole history of the person (every change and audit event, "
        "oldest first), the receipt they were given and each connected tool's "
        "delivery with its time. Another team's entry is a 404, like an unknown id. "
        "Counts against the list budget ({listing} per team).",
        Evidence,
        path_params=(ENTRY_ID,),
        errors=(NOT_FOUND,),
        links="entry",
        links_at="/data/entry",
    ),
    Route(
        "get",
        "/v1/verify",
        "verifyKey",
        "Check an API key",
        "Answers 200 for a valid key. Not rate limited (only failed authentications "
        "are). Note: this response is not wrapped in the envelope.",
        VerifyResult,
        tag="Keys",
        envelope=False,
        limited=False,
        example={"status": "success", "message": "API key is valid"},
    ),
    Route(
        "get",
        "/v1/openapi.json",
        "getOpenApiDocument",
        "This document",
        "The OpenAPI 3.1 description of the API. No authentication.",
        None,
        tag="Meta",
        public=True,
        limited=False,
    ),
)

WEBHOOK_ROUTES = (
    Route(
        "post",
        "/v1/webhooks",
        "createWebhook",
        "Register a webhook endpoint",
        "The URL is checked now and at every delivery: private, loopback and link-local "
        "addresses are refused. At most `WEBHOOK_MAX_ENDPOINTS` (10 by default) per team. "
        + SIGNING
        + " "
        + WEBHOOK_WRITE,
        WebhookEndpointCreated,
        status=201,
        tag="Webhooks",
        body=WebhookRequest,
        errors=(
            Refusal(
                400,
                "Invalid request, or the team has as many endpoints as it may.",
                (
                    *BODY_ERRORS,
                    "missing_url",
                    "invalid_url",
                    "invalid_parameter",
                    "too_many_endpoints",
                ),
            ),
        ),
        links="webhook",
    ),
    Route(
        "get",
        "/v1/webhooks",
        "listWebhooks",
        "List the team's webhook endpoints",
        "Oldest first; secrets are never listed. " + WEBHOOK_READ,
        WebhookList,
        tag="Webhooks",
    ),
    Route(
        "get",
        "/v1/webhooks/{webhookId}",
        "getWebhook",
        "Read a webhook endpoint",
        "With `disabledReason`: why it is disabled, if it is. " + WEBHOOK_READ,
        WebhookEndpoint,
        tag="Webhooks",
        path_params=(WEBHOOK_ID,),
        errors=(NO_WEBHOOK,),
        links="webhook",
    ),
    Route(
        "patch",
        "/v1/webhooks/{webhookId}",
        "updateWebhook",
        "Change a webhook endpoint, or enable it again",
        "Any of `url`, `events`, `description`, `enabled`, checked as on create. "
        '`"enabled": true` re-enables an endpoint disabled by the team, by a 410 or by '
        "failing, and clears `disabledReason`; changes made while it was disabled are not "
        "sent: queue them with `recover`. " + WEBHOOK_WRITE,
        WebhookEndpoint,
        tag="Webhooks",
        body=WebhookUpdate,
        path_params=(WEBHOOK_ID,),
        errors=(
            Refusal(
                400,
                "Invalid request; nothing was changed.",
                (*BODY_ERRORS, "missing_url", "invalid_url", "invalid_parameter"),
            ),
            NO_WEBHOOK,
        ),
        links="webhook",
    ),
    Route(
        "delete",
        "/v1/webhooks/{webhookId}",
        "deleteWebhook",
        "Delete a webhook endpoint",
        "Its undelivered events and delivery log go with it. " + WEBHOOK_WRITE,
        WebhookEndpoint,
        tag="Webhooks",
        path_params=(WEBHOOK_ID,),
        errors=(NO_WEBHOOK,),
    ),
    Route(
        "post",
        "/v1/webhooks/{webhookId}/test",
        "testWebhook",
        "Send a webhook.test event",
        "Queues a signed `webhook.test` event for the endpoint. " + WEBHOOK_WRITE,
        WebhookTestResult,
        status=202,
        tag="Webhooks",
        path_params=(WEBHOOK_ID,),
        errors=(NO_WEBHOOK, DISABLED),
    ),
    Route(
        "post",
        "/v1/webhooks/{webhookId}/rotate-secret",
        "rotateWebhookSecret",
        "Rotate the signing secret",
        "A new secret, shown this once. For `WEBHOOK_SECRET_OVERLAP` seconds (a day by "
        "default) every delivery carries two space-separated signatures in "
        "`webhook-signature`, the new secret's first, so a receiver switches without a "
        "gap. " + WEBHOOK_WRITE,
        WebhookSecret,
        tag="Webhooks",
        path_params=(WEBHOOK_ID,),
        errors=(NO_WEBHOOK,),
    ),
    Route(
        "get",
        "/v1/webhooks/{webhookId}/attempts",
        "listWebhookAttempts",
        "The endpoint's delivery log",
        "Every attempt, newest first, a page at a time. " + WEBHOOK_READ,
        WebhookAttemptsPage,
        tag="Webhooks",
        query=AttemptsQuery,
        path_params=(WEBHOOK_ID,),
        errors=(Refusal(400, "A bad `cursor` or `limit`.", ("invalid_parameter",)), NO_WEBHOOK),
    ),
    Route(
        "post",
        "/v1/webhooks/{webhookId}/messages/{msgId}/redeliver",
        "redeliverWebhookMessage",
        "Deliver an event again",
        "The same event (same body, same `webhook-id`) is attempted again at once, with a "
        "fresh retry schedule. " + WEBHOOK_WRITE,
        WebhookRedelivered,
        status=202,
        tag="Webhooks",
        path_params=(WEBHOOK_ID, MSG_ID),
        errors=(
            Refusal(
                404,
                "No such endpoint in this team, or no such event of the endpoint.",
                ("not_found",),
            ),
            DISABLED,
        ),
    ),
    Route(
        "post",
        "/v1/webhooks/{webhookId}/recover",
        "recoverWebhook",
        "Queue the team's changes since a time again",
        "Every addition and removal of the team since `since` that the endpoint's event "
        "types select is queued again as new events (from the change log, so also the "
        "changes made while the endpoint was disabled), each with its change's `seq`. At "
        "most `WEBHOOK_RECOVER_MAX` (5,000 by default) per call: beyond, 400 "
        "`too_many_changes` and nothing is queued. " + WEBHOOK_WRITE,
        WebhookRecovered,
        status=202,
        tag="Webhooks",
        body=WebhookRecover,
        path_params=(WEBHOOK_ID,),
        errors=(
            Refusal(
                400,
                "`since` is missing or not an ISO 8601 time, or too many changes since then.",
                (*BODY_ERRORS, "invalid_parameter", "too_many_changes"),
            ),
            NO_WEBHOOK,
            DISABLED,
        ),
    ),
)

COMPANY_ID = (
    "companyId",
    "The block's `id`.",
    {"type": "string", "example": BLOCK_EXAMPLE["id"]},
)
COMPANY_WRITE = "Counts against the team's shared write budget ({write})."
COMPANY_ROUTES = (
    Route(
        "post",
        "/v1/companies",
        "addCompanyBlock",
        "Block a company",
        "Blocks a whole company by its LinkedIn page: screening by `prospects` answers "
        "`blockedBy` for every person whose `companyUrl` is this page, until `until` has "
        "passed. The block and its audit record are written in one transaction. " + COMPANY_WRITE,
        CompanyBlock,
        status=201,
        tag="Companies",
        body=CompanyBlockRequest,
        errors=(
            Refusal(
                400,
                "Invalid request: no `url` (`missing_url`), not a company page "
                "(`invalid_url`, the message says why), or an invalid `name`, `reason` or "
                "`until` (a day in the past, or not `YYYY-MM-DD`: `invalid_parameter`).",
                (*BODY_ERRORS, "missing_url", "invalid_url", "invalid_parameter"),
            ),
            Refusal(
                409,
                "The company is already blocked; `data` is the existing block.",
                ("already_exists",),
                CompanyBlock,
            ),
        ),
        example={"error": None, "data": BLOCK_EXAMPLE, "message": "Company blocked"},
        links="company",
    ),
    Route(
        "get",
        "/v1/companies",
        "listCompanyBlocks",
        "List the blocked companies",
        "The team's company blocks, newest first, expired ones included (their `until` "
        "is past). Limited to {listing} per team.",
        CompanyBlockPage,
        tag="Companies",
        query=CompanyListQuery,
        errors=(
            Refusal(
                400,
                "`limit` or `offset` out of range or not an integer.",
                ("invalid_parameter",),
            ),
        ),
    ),
    Route(
        "delete",
        "/v1/companies/{companyId}",
        "deleteCompanyBlock",
        "Remove a company block",
        "Removes the block (its audit record stays). Another team's block is a 404, like "
        "an unknown id. " + COMPANY_WRITE,
        CompanyDeleteResult,
        tag="Companies",
        path_params=(COMPANY_ID,),
        errors=(
            Refusal(
                404,
                "No such block in this team (also another team's: never a 403).",
                ("not_found",),
            ),
        ),
        example={
            "error": None,
            "data": {"message": "Company block deleted successfully"},
            "message": "Company block deleted successfully",
        },
    ),
)

ROUTES = ENTRY_ROUTES + WEBHOOK_ROUTES + COMPANY_ROUTES
