"""Administration from the command line: `flask --app app team|key|user|entry|demo …`."""

from __future__ import annotations

import json
import sys
from typing import NoReturn

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from dnc_app.domain import entries, pending_uploads
from dnc_app.domain.accounts import AccountError
from dnc_app.domain.accounts.apikeys import create_api_key, list_api_keys, revoke_api_key
from dnc_app.domain.accounts.teams import any_team_exists, create_team, find_team, list_teams
from dnc_app.domain.accounts.users import create_user, set_disabled, set_password
from dnc_app.domain.changelog import Actor, ActorType, Source
from dnc_app.domain.roles import Role
from dnc_app.storage.models import Team

CLI_ACTOR = Actor(ActorType.CLI, None, "command line")

team_cli = AppGroup("team", help="Manage teams.")
key_cli = AppGroup("key", help="Manage API keys.")
user_cli = AppGroup("user", help="Manage team members.")
entry_cli = AppGroup("entry", help="Manage a team's Do Not Contact list.")
bulk_cli = AppGroup("bulk", help="Bulk uploads waiting for confirmation.")


def _fail(message: str) -> NoReturn:
    raise click.ClickException(message)


def require_team(team_ref: str) -> Team:
    """A team by id or slug (every command's --team), or the command fails saying so."""
    team = find_team(team_ref)
    if team is None:
        _fail(f"No team with id or slug {team_ref!r}")
    return team


@team_cli.command("create")
@click.argument("name")
@click.option("--slug", help="URL name of the public opt-out page (default: from NAME).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: teamId, slug, apiKey.")
def team_create(name: str, slug: str | None, as_json: bool) -> None:
    """Create a team and its first API key."""
    try:
        team = create_team(name, slug)
        _key, secret = create_api_key(team.id, name="initial", actor=CLI_ACTOR)
    except AccountError as exc:
        _fail(str(exc))
    if as_json:
        click.echo(json.dumps({"teamId": team.id, "slug": team.slug, "apiKey": secret}))
    else:
        click.echo(f"Team:    {team.name} ({team.id})")
        click.echo(f"Slug:    {team.slug}")
        click.echo(f"API key: {secret}   (shown once; store it now)")


@team_cli.command("list")
@click.option("--json", "as_json", is_flag=True)
def team_list(as_json: bool) -> None:
    """List teams."""
    teams = list_teams()
    rows = [
        {"teamId": t.id, "slug": t.slug, "name": t.name, "entries": t.entry_count} for t in teams
    ]
    if as_json:
        click.echo(json.dumps(rows))
    else:
        for row in rows:
            click.echo(f"{row['teamId']}  {row['slug']:<24} {row['entries']:>9}  {row['name']}")


@key_cli.command("create")
@click.option("--team", "team_ref", required=True, help="Team id or slug.")
@click.option("--name", help="A label for the key.")
@click.option(
    "--allow-optout-removal",
    is_flag=True,
    help="The key may delete people's own opt-outs (else 403 protected_entry).",
)
def key_create(team_ref: str, name: str | None, allow_optout_removal: bool) -> None:
    """Create an API key; prints it once."""
    team = require_team(team_ref)
    _key, secret = create_api_key(
        team.id, name=name, actor=CLI_ACTOR, can_remove_optouts=allow_optout_removal
    )
    click.echo(secret)


@key_cli.command("list")
@click.option("--team", "team_ref", required=True, help="Team id or slug.")
def key_list(team_ref: str) -> None:
    """List a team's API keys (prefixes only)."""
    team = require_team(team_ref)
    for key in reversed(list_api_keys(team.id)):  # oldest first
        state = "revoked" if key.revoked_at else "active"
        click.echo(f"{key.id}  {key.prefix}…  {state:<8} {key.name or ''}")


@key_cli.command("revoke")
@click.argument("key_id")
@click.option("--team", "team_ref", required=True, help="Team id or slug.")
def key_revoke(key_id: str, team_ref: str) -> None:
    """Revoke an API key by its id (see `key list`)."""
    team = require_team(team_ref)
    try:
        revoke_api_key(team.id, key_id, actor=CLI_ACTOR)
    except AccountError as exc:
        _fail(str(exc))
    click.echo(f"Revoked {key_id}")


def _read_password(from_stdin: bool, prompt: str = "Password") -> str:
    """From standard input (a pipe, or --password-stdin) or a hidden prompt typed twice."""
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt(prompt, hide_input=True, confirmation_prompt=True)


PASSWORD_STDIN = click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input."
)


@user_cli.command("create")
@click.argument("email")
@click.option("--team", "team_ref", required=True, help="Team id or slug.")
@click.option(
    "--role",
    type=click.Choice([role.value for role in Role]),
    help="Default: owner for the team's first member, else member.",
)
@PASSWORD_STDIN
def user_create(email: str, team_ref: str, role: str | None, password_stdin: bool) -> None:
    """Create a team member. The password comes from a prompt or standard input."""
    team = require_team(team_ref)
    password = _read_password(password_stdin)
    try:
        user = create_user(team.id, email, password, role=role)
    except AccountError as exc:
        _fail(str(exc))
    click.echo(f"Created {user.email} ({user.role}) in team {team.slug}")


def _signed_out(ended: int) -> str:
    return f"{ended} {'session' if ended == 1 else 'sessions'} signed out"


@user_cli.command("set-password")
@click.argument("email")
@PASSWORD_STDIN
def user_set_password(email: str, password_stdin: bool) -> None:
    """Set a member's password (e.g. a lost one); all their sessions end."""
    password = _read_password(password_stdin, "New password")
    try:
        ended = set_password(email, password, actor=CLI_ACTOR)
    except AccountError as exc:
        _fail(str(exc))
    click.echo(f"Password of {email.strip().lower()} changed; {_signed_out(ended)}.")


def _set_disabled(email: str, disabled: bool) -> int:
    try:
        return set_disabled(email, disabled, actor=CLI_ACTOR)
    except AccountError as exc:
        _fail(str(exc))


@user_cli.command("disable")
@click.argument("email")
def user_disable(email: str) -> None:
    """Disable a member: all their sessions end and sign-in is refused."""
    ended = _set_disabled(email, True)
    click.echo(f"Disabled {email.strip().lower()}; {_signed_out(ended)}.")


@user_cli.command("enable")
@click.argument("email")
def user_enable(email: str) -> None:
    """Enable a disabled member again (they sign in with their password)."""
    _set_disabled(email, False)
    click.echo(f"Enabled {email.strip().lower()}.")


@entry_cli.command("add")
@click.argument("url")
@click.option("--team", "team_ref", required=True, help="Team id or slug.")
@click.option("--reason")
def entry_add(url: str, team_ref: str, reason: str | None) -> None:
    """Add a LinkedIn URL to a team's list."""
    team = require_team(team_ref)
    try:
        entry = entries.add_entry(team.id, url, reason=reason, source=Source.CLI, actor=CLI_ACTOR)
    except entries.AlreadyListed as exc:
        _fail(f"Already listed: {exc.entry.url} ({exc.entry.id})")
    except (entries.EntryError, entries.InvalidURL) as exc:
        _fail(entries.message_of(exc))
    click.echo(json.dumps(entry.to_dict()))


@bulk_cli.command("sweep")
def bulk_sweep() -> None:
    """Remove expired staged uploads: bulk previews waiting for confirmation and prospect
    files being screened, also those of removed members and teams (each new bulk preview
    or screening upload does it too, for its own team)."""
    from dnc_app.http.web import screen_csv

    base = current_app.config["BULK_UPLOAD_DIR"]
    removed = pending_uploads.sweep(base, pending_uploads.PENDING_TTL)
    screened = screen_csv.sweep(base)
    click.echo(
        f"Removed {removed} expired pending upload file(s) and {screened} screening file(s)."
    )


@click.command("demo")
@with_appcontext
@click.option("--host", default="http://127.0.0.1:8000", help="Base URL for the examples.")
def demo_command(host: str) -> None:
    """First run: create a demo team, an API key and a member, and print them.

    Does nothing when a team already exists, so it is safe to run on every start.
    """
    if any_team_exists():
        click.echo(
            "Teams exist already; no demo team created. "
            "(`flask --app app team create NAME` makes another.)"
        )
        return
    import secrets

    team = create_team("Demo team", "demo")
    _key, secret = create_api_key(team.id, name="demo", actor=CLI_ACTOR)
    password = secrets.token_urlsafe(12)
    user = create_user(team.id, "demo@example.com", password)
    bar = "=" * 72
    click.echo(f"""{bar}
Demo team created: {team.name} ({team.id})
  API key (shown once):  {secret}
  Sign in at {host}/login  as  {user.email}  /  {password}
  Public opt-out page:   {host}/optout/{team.slug}

Try the API:
  curl -i -X POST {host}/v1/dnc \\
    -H "Authorization: Bearer {secret}" \\
    -H "Content-Type: application/json" \\
    -d '{{"url": "https://www.linkedin.com/in/john-doe/"}}'
{bar}""")


# The groups of this module; dnc_app's register_cli adds them with those of the other
# packages (optout, webhooks), which use this module's require_team.
COMMANDS = (team_cli, key_cli, user_cli, entry_cli, bulk_cli, demo_command)
