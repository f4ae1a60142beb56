"""Helpers for the team-page tests (sign in, CSRF tokens, test data). No tests here."""

from __future__ import annotations

import re

from dnc_app.domain import entries
from dnc_app.domain.accounts.users import create_user
from tests.support import TEST_ACTOR

PASSWORD = "correct horse battery staple"
_META_TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf_from(html: str) -> str:
    match = _META_TOKEN.search(html)
    assert match, "page has no csrf-token meta tag"
    return match.group(1)


def make_member(
    app, team_id: str, email: str = "member@example.com", password: str = PASSWORD
) -> int:
    with app.app_context():
        return create_user(team_id, email, password).id


def sign_in(
    client,
    email: str = "member@example.com",
    password: str = PASSWORD,
    next_path: str | None = None,
):
    """Sign in through the real form (with its CSRF token); returns the POST response."""
    token = csrf_from(client.get("/login").get_data(as_text=True))
    data = {"email": email, "password": password, "csrf_token": token}
    if next_path is not None:
        data["next"] = next_path
    return client.post("/login", data=data)


def token_for(client, path: str = "/entries") -> str:
    """The CSRF token of the signed-in session, read from a page."""
    return csrf_from(client.get(path).get_data(as_text=True))


def add_entries(app, team_id: str, urls: list[str], source: str = "api"):
    with app.app_context():
        return [
            entries.add_entry(team_id, url, source=source, actor=TEST_ACTOR, reason=f"reason {i}")
            for i, url in enumerate(urls)
        ]


HTMX = {"HX-Request": "true"}
