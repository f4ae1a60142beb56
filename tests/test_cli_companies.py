"""`flask company add|list|remove`: through the service, with the audit trail."""

from __future__ import annotations

import json

from dnc_app.domain import changelog


def test_add_list_and_remove_a_block(app, runner, team):
    added = runner.invoke(
        args=["company", "add", "LINKEDIN.COM/COMPANY/ACME/", "--team", team.slug, "--name", "Acme"]
    )
    assert added.exit_code == 0, added.output
    block = json.loads(added.output)
    assert (block["url"], block["name"]) == ("https://linkedin.com/company/acme", "Acme")
    dup = runner.invoke(args=["company", "add", "company/acme", "--team", team.slug])
    assert dup.exit_code != 0 and "Already blocked" in dup.output
    bad = runner.invoke(args=["company", "add", "in/john", "--team", team.slug])
    assert bad.exit_code != 0 and "person's profile" in bad.output
    past = runner.invoke(
        args=["company", "add", "company/x", "--team", team.slug, "--until", "2001-01-01"]
    )
    assert past.exit_code != 0 and "until must not be in the past" in past.output
    listed = runner.invoke(args=["company", "list", "--team", team.slug])
    assert [json.loads(line)["id"] for line in listed.output.splitlines()] == [block["id"]]
    removed = runner.invoke(args=["company", "remove", block["id"], "--team", team.slug])
    assert removed.exit_code == 0 and "Removed the block" in removed.output
    again = runner.invoke(args=["company", "remove", block["id"], "--team", team.slug])
    assert again.exit_code != 0 and "not found" in again.output
    with app.app_context():
        rows = [r for r in changelog.read_from(team.id) if r.subject_type == "company"]
    assert [(r.action, r.source, r.actor_type) for r in rows] == [
        ("company_blocked", "cli", "cli"),
        ("company_unblocked", "cli", "cli"),
    ]


def test_an_unknown_team_is_refused(runner):
    result = runner.invoke(args=["company", "list", "--team", "no-such-team"])
    assert result.exit_code != 0 and "No team" in result.output
