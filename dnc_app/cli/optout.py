"""`flask --app app optout link --team TEAM URL`: print a personal opt-out link."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from dnc_app.cli import require_team
from dnc_app.domain import entries
from dnc_app.http.optout import links

# Where scripts/run serves: the link works on this machine.
LOCAL_BASE_URL = "http://127.0.0.1:8000"

optout_cli = AppGroup("optout", help="The public opt-out page.")


@optout_cli.command("link")
@click.argument("url")
@click.option("--team", "team_ref", required=True, help="Team id or slug.")
@click.option(
    "--base-url",
    show_default="PUBLIC_BASE_URL, else " + LOCAL_BASE_URL,
    help="Where the service is reachable by the public.",
)
def link_command(url: str, team_ref: str, base_url: str | None) -> None:
    """Print the personal opt-out link for one LinkedIn profile URL."""
    base_url = base_url or current_app.config["PUBLIC_BASE_URL"] or LOCAL_BASE_URL
    team = require_team(team_ref)
    try:
        token = links.make_token(team.slug, url)
    except entries.InvalidURL as exc:
        raise click.ClickException(entries.message_of(exc)) from None
    click.echo(base_url.rstrip("/") + links.link_path(team.slug, token))
