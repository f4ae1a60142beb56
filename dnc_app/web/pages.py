"""Helpers shared by the team pages: htmx detection, the actor, template filters."""

from __future__ import annotations

from flask import abort, render_template, request
from flask_login import current_user

from .. import entries
from ..changelog import Actor


def is_htmx() -> bool:
    """An htmx request that wants a fragment. A history restore (back button after the
    cache missed) is sent with HX-Request too, but must get the whole page."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render(page_template: str, fragment_template: str | None = None, status: int = 200,
           **context):
    """The fragment for htmx requests, the whole page otherwise (the page includes the
    fragment, so both show the same thing)."""
    template = fragment_template if fragment_template and is_htmx() else page_template
    return render_template(template, **context), status


def actor() -> Actor:
    """Who makes a change from the pages: the signed-in member."""
    return Actor.member(current_user.id, current_user.email)


def team_id() -> str:
    return current_user.team_id


def get_entry_or_404(entry_id: str):
    # Another team's entry is a 404, exactly like an unknown one.
    entry = entries.get_entry(team_id(), entry_id)
    if entry is None:
        abort(404, description="This entry is not on your list (it may have been removed).")
    return entry


def search_term(raw: str | None) -> str:
    """The text to search for: a URL the normalizer accepts is searched in its stored
    form (so a pasted `https://www.linkedin.com/in/John/` finds the entry); anything
    else as typed."""
    return entries.search_term(raw)
