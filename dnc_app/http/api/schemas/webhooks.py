"""Webhook endpoints of a team: register, read, change, test, rotate, log, replay.

What a URL, an event list or a description may be is the webhook service's rule (the
team pages use it too): the fields' validators call it, so a refused value is the
service's own 400 (`invalid_url`, `invalid_parameter`), and the schema states it."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from dnc_app.events.webhooks import endpoints
from dnc_app.events.webhooks.endpoints import LOG_PAGE_SIZE, MAX_DESCRIPTION_LENGTH, MAX_LOG_PAGE
from dnc_app.events.webhooks.outbox import EVENT_TYPES
from dnc_app.http.api.schemas.base import NOT_NULL, ApiModel, Refuse, length, refuse
from dnc_app.http.api.schemas.common import ResponseModel, Timestamp, cursor_param, query_int

EventType = Literal["dnc.entry.added", "dnc.entry.removed", "dnc.entry.updated", "dnc.entry.erased"]
assert set(EventType.__args__) == set(EVENT_TYPES)  # type: ignore[attr-defined]  # noqa: S101

# Text that the service refuses in a URL or description (a 400, nothing stored).
NO_CONTROL = "Control characters (NUL included) and unpaired surrogates are refused with a 400."
URL_RULES = (
    "https:// (or http://) on a public address: private, loopback, link-local and reserved "
    "addresses are refused, also in IPv6 forms that embed an IPv4 address (mapped, "
    "compatible, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`). " + NO_CONTROL
)
MAX_WEBHOOK_URL = 2048


def _events(value: object) -> Any:
    try:
        return endpoints.clean_events(value)
    except endpoints.WebhookError as exc:
        raise refuse(exc.code, exc.message) from None


def _description(value: object) -> Any:
    try:
        return endpoints.clean_description(value)
    except endpoints.WebhookError as exc:
        raise refuse(exc.code, exc.message) from None


WebhookURL = Annotated[
    str,
    Refuse(
        missing=("missing_url", "url is required"),
        type=("invalid_url", "url is required"),
    ),
    *length(1),
    Field(description=URL_RULES, json_schema_extra={"maxLength": MAX_WEBHOOK_URL}),
]
Events = Annotated[
    list[EventType],
    BeforeValidator(_events),
    Field(min_length=1, description="Default: every event type."),
]
Description = Annotated[
    str | None,
    BeforeValidator(_description),
    Field(description=NO_CONTROL, json_schema_extra={"maxLength": MAX_DESCRIPTION_LENGTH}),
]


class WebhookRequest(ApiModel):
    """Register an endpoint."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {"url": "https://crm.example.com/hooks/dnc", "events": ["dnc.entry.added"]}
        }
    )
    url: WebhookURL
    events: Events | None = None
    description: Description = None


def _unknown(name: str) -> tuple[str, str]:
    fields = ", ".join(WebhookUpdate.model_fields)
    return "invalid_parameter", f"unknown field {name[:40]!r}: send any of {fields}"


class WebhookUpdate(ApiModel):
    """Any of the fields; others are refused (400 invalid_parameter). Checked as on
    create; a refused request changes nothing."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"minProperties": 1, "example": {"enabled": True}},
    )
    refuse_extra: ClassVar = staticmethod(_unknown)

    @model_validator(mode="before")
    @classmethod
    def _something(cls, data: Any) -> Any:
        if data == {}:
            raise refuse("invalid_parameter", "send any of " + ", ".join(cls.model_fields))
        return data

    url: Annotated[
        str | SkipJsonSchema[None],
        Refuse(
            missing=("missing_url", "url must not be empty"),
            type=("invalid_url", "url is required"),
        ),
        *length(1),
        *NOT_NULL,
        Field(description=URL_RULES, json_schema_extra={"maxLength": MAX_WEBHOOK_URL}),
    ] = None
    events: Events | None = None
    description: Description = None
    enabled: Annotated[
        bool | SkipJsonSchema[None],
        Refuse(type=("invalid_parameter", "enabled must be true or false")),
        *NOT_NULL,
        Field(
            description="`true` enables it again and clears `disabledReason`; `false` disables it."
        ),
    ] = None


class WebhookEndpoint(ResponseModel):
    """A webhook endpoint of the team."""

    id: str = Field(pattern="^whk_")
    url: str
    events: list[EventType]
    description: str | None
    enabled: bool
    createdAt: Timestamp = Field(alias="$createdAt")
    disabledReason: str | None = Field(
        description="Null while enabled; otherwise why it was disabled: by the team, a 410 "
        "Gone answer, or every delivery failing for `WEBHOOK_DISABLE_AFTER`."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "whk_8sKq2LmZx0VbN4tRw7Yc",
                "url": "https://crm.example.com/hooks/dnc",
                "events": list(EVENT_TYPES),
                "description": "Pause campaigns in the CRM",
                "enabled": True,
                "$createdAt": "2026-11-26T10:15:30.123Z",
                "disabledReason": None,
            }
        }
    )


class WebhookEndpointCreated(WebhookEndpoint):
    """The new endpoint, with its signing secret (shown this once)."""

    secret: str = Field(pattern="^whsec_")


class WebhookList(ResponseModel):
    webhooks: list[WebhookEndpoint] = Field(description="Oldest first; no secrets.")


class WebhookSecret(ResponseModel):
    secret: str = Field(pattern="^whsec_")


class WebhookTestResult(ResponseModel):
    id: str = Field(description="Its `webhook-id`.")
    type: Literal["webhook.test"]


AttemptsQueryCursor = Annotated[
    str,
    *cursor_param(
        "`nextCursor` of an earlier page of this endpoint; any other value is refused "
        "(400 `invalid_parameter`)."
    ),
]


AttemptsQueryLimit = Annotated[
    int, *query_int("limit", 1, MAX_LOG_PAGE, f"Attempts per page, 1–{MAX_LOG_PAGE}.")
]


class AttemptsQuery(ApiModel):
    cursor: AttemptsQueryCursor = ""
    limit: AttemptsQueryLimit = LOG_PAGE_SIZE


class WebhookAttempt(ResponseModel):
    """One delivery attempt."""

    id: str
    msgId: str = Field(pattern="^msg_", description="The event's `webhook-id`.")
    eventType: str
    seq: int | None = Field(
        description="The change number the event announces (null for a `webhook.test`)."
    )
    at: Timestamp
    result: Literal["delivered", "failed"]
    statusCode: int | None = Field(description="Null when no answer came.")
    durationMs: int = Field(ge=0)
    error: str | None = Field(description="A short reason such as `timeout`, or null.")


class WebhookAttemptsPage(ResponseModel):
    attempts: list[WebhookAttempt] = Field(description="Newest first.")
    nextCursor: str | None = Field(
        description="The next (older) page's `cursor`; null on the last page."
    )
    hasMore: bool


SINCE_MESSAGE = "since must be an ISO 8601 time, like 2026-11-26T10:15:30Z"


class WebhookRecover(ApiModel):
    model_config = ConfigDict(json_schema_extra={"example": {"since": "2026-11-26T10:00:00Z"}})
    since: Annotated[
        str,
        Refuse(
            missing=(
                "invalid_parameter",
                "since is required: the time to recover from (ISO 8601)",
            ),
            null=("invalid_parameter", SINCE_MESSAGE),
            type=("invalid_parameter", SINCE_MESSAGE),
        ),
    ] = Field(
        max_length=endpoints.MAX_SINCE_LENGTH,
        description="ISO 8601; without an offset, UTC.",
        json_schema_extra={"format": "date-time"},
    )


class WebhookRecovered(ResponseModel):
    count: int = Field(ge=0, description="Events queued.")


class WebhookRedelivered(ResponseModel):
    msgId: str
