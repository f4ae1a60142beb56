"""Webhook endpoints of the team: create (the secret is shown once), list, enable and
disable (with why the service disabled one), delete, send a test event, rotate the
secret, the delivery log page by page, redeliver an event, recover the changes since a
time. Every action is a form that works without JavaScript (POST, then back to the page
with a message); with htmx it answers the endpoint's panel in place."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from dnc_app.domain.roles import Role
from dnc_app.events.webhooks import endpoints
from dnc_app.extensions import configured, limiter
from dnc_app.http.api import cursors
from dnc_app.http.web import bp
from dnc_app.http.web.access import requires_role
from dnc_app.http.web.forms import WebhookForm
from dnc_app.http.web.htmx import is_htmx
from dnc_app.http.web.limits import member_key
from dnc_app.http.web.signed_in import team_id

# The service's messages (the API's, terse) as sentences that say what to do.
_PLAIN = (
    ("url is required", "Enter the URL of your endpoint, e.g. https://crm.example.com/hooks/dnc."),
    ("url must be at most", "This URL is too long. Use a shorter one."),
    (
        "url is not a valid URL",
        "This is not a valid URL. Enter one like https://crm.example.com/hooks/dnc.",
    ),
    ("url must start with", "The URL must start with https:// (or http://)."),
    ("url must have a host name", "The URL needs a host name, and no user name or password in it."),
    ("url must not contain", "The URL must not contain spaces or control characters."),
    (
        "the host name does not resolve",
        "This host name was not found. Check it for typos: "
        "the server must be reachable from this service.",
    ),
    (
        "the destination is a private",
        "This address is on a private network or this "
        "machine, which webhooks may not reach. Use a public "
        "address (see “Testing on your own computer?” below).",
    ),
)


def _plain(message: str) -> str:
    for start, sentence in _PLAIN:
        if message.startswith(start):
            return sentence
    message = message[:1].upper() + message[1:]
    return message if message.endswith(".") else message + "."


# Endpoint creation per member: it resolves the URL's name and multiplies every event.
create_limit = limiter.shared_limit(
    configured("WEB_WEBHOOK_CREATE_LIMIT"), scope="web-webhook-create", key_func=member_key
)
_LOG_KIND = "w1"


def _endpoint(webhook_id: str):
    try:
        return endpoints.get_endpoint(team_id(), webhook_id)
    except endpoints.EndpointNotFound:  # another team's endpoint is unknown here too
        abort(404, description="No such webhook endpoint in your team.")


def _list_page(form: WebhookForm, status: int = 200, **context):
    return render_template(
        "web/webhooks.html",
        form=form,
        endpoints=endpoints.list_endpoints(team_id()),
        max_endpoints=endpoints.max_endpoints(),
        **context,
    ), status


def _log_page(endpoint) -> dict:
    """The delivery log's page named by `?before=` (a cursor of this endpoint; any other
    value shows the newest page), and the link to the next, older one."""
    before = cursors.decode(_LOG_KIND, endpoint.id, request.args.get("before", ""))
    rows = endpoints.delivery_log(team_id(), endpoint.id, endpoints.LOG_PAGE_SIZE + 1, before)
    older = None
    if len(rows) > endpoints.LOG_PAGE_SIZE:
        older = url_for(
            "web.webhook",
            webhook_id=endpoint.id,
            before=cursors.encode(_LOG_KIND, endpoint.id, rows[endpoints.LOG_PAGE_SIZE - 1][0].id),
        )
    return {"log": rows[: endpoints.LOG_PAGE_SIZE], "older": older, "paged": before is not None}


def _detail_page(endpoint, status: int = 200, **context):
    template = "web/_webhook_panel.html" if is_htmx() else "web/webhook.html"
    overlap_hours = endpoints.rotation_overlap().total_seconds() / 3600
    return render_template(
        template, endpoint=endpoint, overlap_hours=overlap_hours, **_log_page(endpoint), **context
    ), status


@bp.context_processor
def webhook_notice():
    """How many of the team's endpoints the service disabled (shown in the navigation)."""
    if not current_user.is_authenticated:
        return {}
    return {"webhooks_disabled": len(endpoints.disabled_endpoints(team_id()))}


@bp.get("/webhooks")
@requires_role(Role.OWNER)
def webhooks():
    return _list_page(WebhookForm(formdata=None))


@bp.post("/webhooks")
@requires_role(Role.OWNER)
@create_limit
def create_webhook():
    form = WebhookForm()
    if not form.validate_on_submit():
        return _list_page(form, 422)
    if not form.events():
        form.added.errors = ["Choose at least one event."]
        return _list_page(form, 422)
    try:
        endpoint, secret = endpoints.create_endpoint(
            team_id(), form.url.data, form.events(), form.description.data
        )
    except endpoints.WebhookError as exc:
        getattr(form, exc.field or "url").errors = [_plain(exc.message)]
        return _list_page(form, 422)
    # Rendered into this response only: never stored in clear, never in a redirect.
    return _list_page(WebhookForm(formdata=None), new_endpoint=endpoint, secret=secret)


@bp.get("/webhooks/<webhook_id>")
@requires_role(Role.OWNER)
def webhook(webhook_id: str):
    return _detail_page(_endpoint(webhook_id))


def _act(webhook_id: str, action, done):
    """Run `action` on the team's endpoint (CSRF checked before the view), then back to
    its page with a message (`done`: the message, or a function of the action's result);
    for htmx, the endpoint's panel with the message."""
    endpoint = _endpoint(webhook_id)
    try:
        result = action(endpoint)
    except endpoints.WebhookError as exc:
        message, category = _plain(exc.message), "error"
    else:
        message, category = done(result) if callable(done) else done, "success"
    if is_htmx():
        return _detail_page(endpoint, notice=(category, message))
    flash(message, category)
    return redirect(url_for("web.webhook", webhook_id=endpoint.id), 303)


@bp.post("/webhooks/<webhook_id>/enable")
@requires_role(Role.OWNER)
def enable_webhook(webhook_id: str):
    return _act(
        webhook_id,
        lambda e: endpoints.set_enabled(team_id(), e.id, True),
        "Enabled: new changes are sent to this endpoint again. Changes made while "
        "it was disabled can be sent with “Send the changes since”.",
    )


@bp.post("/webhooks/<webhook_id>/disable")
@requires_role(Role.OWNER)
def disable_webhook(webhook_id: str):
    return _act(
        webhook_id,
        lambda e: endpoints.set_enabled(team_id(), e.id, False),
        "Disabled: nothing is sent to this endpoint until you enable it.",
    )


@bp.post("/webhooks/<webhook_id>/test")
@requires_role(Role.OWNER)
def test_webhook_page(webhook_id: str):
    return _act(
        webhook_id,
        lambda e: endpoints.send_test(team_id(), e.id),
        "Test event queued: its delivery appears in the log below.",
    )


@bp.post("/webhooks/<webhook_id>/redeliver")
@requires_role(Role.OWNER)
def redeliver_webhook(webhook_id: str):
    msg_id = request.form.get("event", "")
    return _act(
        webhook_id,
        lambda e: endpoints.redeliver(team_id(), e.id, msg_id),
        "The event is queued to be delivered again.",
    )


@bp.post("/webhooks/<webhook_id>/recover")
@requires_role(Role.OWNER)
def recover_webhook(webhook_id: str):
    since = request.form.get("since", "")

    def recover(endpoint):
        return endpoints.recover(team_id(), endpoint.id, endpoints.parse_since(since))

    return _act(
        webhook_id,
        recover,
        lambda count: (
            f"{count} {'change is' if count == 1 else 'changes are'} queued to be sent again."
        ),
    )


@bp.post("/webhooks/<webhook_id>/rotate")
@requires_role(Role.OWNER)
def rotate_webhook(webhook_id: str):
    endpoint = _endpoint(webhook_id)
    secret = endpoints.rotate_secret(team_id(), endpoint.id)
    # Rendered into this response only (never a redirect that would need to carry it).
    return _detail_page(endpoint, secret=secret)


@bp.post("/webhooks/<webhook_id>/delete")
@requires_role(Role.OWNER)
def delete_webhook_page(webhook_id: str):
    endpoint = endpoints.delete_endpoint(team_id(), _endpoint(webhook_id).id)
    flash(f"Deleted the endpoint {endpoint.url}.", "success")
    return redirect(url_for("web.webhooks"), 303)
