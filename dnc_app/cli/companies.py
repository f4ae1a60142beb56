"""`flask company add|list|remove`: a team's company blocks from the command line,
through the same service (and audit trail) as the API and the pages."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from dnc_app.domain.changelog import Source
from dnc_app.domain.companies import service
from dnc_app.domain.companies.service import AlreadyBlocked, CompanyError, InvalidURL

company_cli = AppGroup("company", help="Manage a team's company blocks.")


def _team_id(team_ref: str) -> str:
    from dnc_app.cli import require_team  # the CLI's team lookup (it imports this module)

    return require_team(team_ref).id


@company_cli.command("add")
@click.argument("url")
@click.option("--team", "team_ref", required=True, help="Team id or slug.")
@click.option("--name")
@click.option("--reason")
@click.option("--until", help="The block's last day, YYYY-MM-DD (default: no end).")
def company_add(
    url: str, team_ref: str, name: str | None, reason: str | None, until: str | None
) -> None:
    """Block a company by its LinkedIn page."""
    from dnc_app.cli import CLI_ACTOR

    team_id = _team_id(team_ref)
    try:
        block = service.add_block(
            team_id, url, name=name, reason=reason, until=until, source=Source.CLI, actor=CLI_ACTOR
        )
    except AlreadyBlocked as exc:
        raise click.ClickException(f"Already blocked: {exc.block.url} ({exc.block.id})") from None
    except InvalidURL as exc:
        raise click.ClickException(f"Invalid LinkedIn company URL: {exc.reason}") from None
    except CompanyError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(json.dumps(block.to_dict()))


@company_cli.command("list")
@click.option("--team", "team_ref", required=True, help="Team id or slug.")
def company_list(team_ref: str) -> None:
    """The team's blocks, newest first, one JSON object a line."""
    team_id = _team_id(team_ref)
    offset = 0
    while True:
        blocks, _total = service.list_blocks(team_id, limit=1000, offset=offset)
        for block in blocks:
            click.echo(json.dumps(block.to_dict()))
        if len(blocks) < 1000:
            return
        offset += len(blocks)


@company_cli.command("remove")
@click.argument("company_id")
@click.option("--team", "team_ref", required=True, help="Team id or slug.")
def company_remove(company_id: str, team_ref: str) -> None:
    """Remove a company block by its id."""
    from dnc_app.cli import CLI_ACTOR

    try:
        block = service.remove_block(
            _team_id(team_ref), company_id, source=Source.CLI, actor=CLI_ACTOR
        )
    except CompanyError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Removed the block of {block.url} ({block.id})")
