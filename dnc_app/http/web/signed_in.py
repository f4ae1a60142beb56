"""The signed-in member, as the services see them: their team, and the actor of a change."""

from __future__ import annotations

from flask_login import current_user

from dnc_app.domain.changelog import Actor


def actor() -> Actor:
    """Who makes a change from the pages: the signed-in member."""
    return Actor.member(current_user.id, current_user.email)


def team_id() -> str:
    return current_user.team_id
