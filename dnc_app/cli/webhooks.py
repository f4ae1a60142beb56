"""`flask --app app webhooks create|list|delete|test|worker`."""

from __future__ import annotations

import json
import signal

import click
from flask.cli import AppGroup, ScriptInfo

from dnc_app.cli import require_team
from dnc_app.events.webhooks import endpoints
from dnc_app.events.webhooks.delivery import Dispatcher

webhooks_cli = AppGroup("webhooks", help="Manage webhook endpoints; run a delivery worker.")


def _team_id(team_ref: str) -> str:
    return require_team(team_ref).id


def _run(action):
    try:
        return action()
    except endpoints.WebhookError as exc:
        raise click.ClickException(exc.message) from None


@webhooks_cli.command("create")
@click.argument("url")
@click.option("--team", "team_ref", required=True, help="Team id or slug.")
@click.option("--event", "events", multiple=True, help="An event type (default: all).")
@click.option("--description")
def webhooks_create(
    url: str, team_ref: str, events: tuple[str, ...], description: str | None
) -> None:
    """Register an endpoint; prints its id and its secret (shown once)."""
    team_id = _team_id(team_ref)
    endpoint, secret = _run(
        lambda: endpoints.create_endpoint(team_id, url, list(events) or None, description)
    )
    click.echo(f"Endpoint: {endpoint.id}")
    click.echo(f"Secret:   {secret}   (shown once; store it now)")


@webhooks_cli.command("list")
@click.option("--team", "team_ref", required=True, help="Team id or slug.")
@click.option("--json", "as_json", is_flag=True)
def webhooks_list(team_ref: str, as_json: bool) -> None:
    """List a team's endpoints."""
    rows = endpoints.list_endpoints(_team_id(team_ref))
    if as_json:
        click.echo(json.dumps([endpoints.to_dict(e) for e in rows]))
        return
    for e in rows:
        state = "enabled" if e.enabled else f"disabled ({e.disabled_reason})"
        click.echo(f"{e.id}  {state:<10}  {' '.join(e.events.split())}  {e.url}")


@webhooks_cli.command("delete")
@click.argument("endpoint_id")
@click.option("--team", "team_ref", required=True, help="Team id or slug.")
def webhooks_delete(endpoint_id: str, team_ref: str) -> None:
    """Delete an endpoint (its waiting events and log too)."""
    team_id = _team_id(team_ref)
    _run(lambda: endpoints.delete_endpoint(team_id, endpoint_id))
    click.echo(f"Deleted {endpoint_id}")


@webhooks_cli.command("test")
@click.argument("endpoint_id")
@click.option("--team", "team_ref", required=True, help="Team id or slug.")
def webhooks_test(endpoint_id: str, team_ref: str) -> None:
    """Queue a webhook.test event for the endpoint."""
    team_id = _team_id(team_ref)
    msg_id = _run(lambda: endpoints.send_test(team_id, endpoint_id))
    click.echo(f"Queued webhook.test {msg_id} (a running server or worker delivers it)")


@webhooks_cli.command("worker")
def webhooks_worker() -> None:
    """Deliver events until SIGTERM/SIGINT (finishes the attempts in flight). Run it
    where servers have WEBHOOK_DELIVERY=off; any number may run at once."""
    # The app itself (current_app is a proxy, bound to this thread).
    dispatcher = Dispatcher(click.get_current_context().ensure_object(ScriptInfo).load_app())

    def stop(_signum, _frame):
        dispatcher.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo("webhooks worker: delivering (stop with SIGTERM)")
    dispatcher.run()
    click.echo("webhooks worker: stopped")
