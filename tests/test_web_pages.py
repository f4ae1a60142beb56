"""The team pages' round three on the server: the last page and the page size, "Added by"
with an API key's name, the htmx answers that carry the dashboard and empty the message
area, the 403 page, the only owner, webhook messages, the settings' hex code."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event

from dnc_app.domain import branding, entries
from dnc_app.domain.accounts.apikeys import list_api_keys
from dnc_app.domain.accounts.teams import update_team_settings
from dnc_app.domain.accounts.users import create_user, find_member
from dnc_app.domain.changelog import Actor, ActorType, Source
from dnc_app.domain.roles import Role
from dnc_app.extensions import db
from dnc_app.http.web import views, webhooks
from tests.web_support import HTMX, PASSWORD, TEST_ACTOR, add_entries, sign_in, token_for


def text(response) -> str:
    return response.get_data(as_text=True)


def names(html: str) -> list[str]:
    return re.findall(r'class="profile-link" href="https://linkedin.com/in/([^"]+)"', html)


def listed(app, team_id: str, count: int) -> None:
    with app.app_context():
        entries.add_entries(
            team_id,
            [f"linkedin.com/in/p{i:02d}" for i in range(count)],
            source=Source.API,
            actor=TEST_ACTOR,
        )


# --------------------------------------------------------------------------- pages


def test_the_last_page_lines_up_with_the_pages_before_it(app, signed_in, team, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 4)
    listed(app, team.id, 10)
    last = text(signed_in.get("/entries?last=1"))
    assert names(last) == ["p01", "p00"] and "9–10 of 10" in last
    assert "Next ›" not in last and "Last »" not in last
    back = re.search(r'rel="prev" href="([^"]+)"', last).group(1).replace("&amp;", "&")
    assert "page=2" in back
    middle = text(signed_in.get(back))
    assert names(middle) == ["p05", "p04", "p03", "p02"] and "5–8 of 10" in middle
    first = text(signed_in.get("/entries"))
    assert 'href="/entries?last=1"' in first and "« First" not in first
    monkeypatch.setattr(views, "PAGE_SIZE", 50)  # one page: the last is the first
    only = text(signed_in.get("/entries?last=1"))
    assert len(names(only)) == 10 and "« First" not in only and "Newest first." in only


def test_a_page_size_is_chosen_from_a_few_and_kept_by_the_links(app, signed_in, team):
    listed(app, team.id, 30)
    html = text(signed_in.get("/entries?size=25"))
    assert len(names(html)) == 25 and "1–25 of 30" in html
    assert re.search(r'<option value="25" selected>', html)
    older = re.search(r'rel="next" href="([^"]+)"', html).group(1)
    assert "size=25" in older
    assert "size=25" in re.search(r'href="([^"]+)"[^>]*>Last', html).group(1)
    # Any other size is the default one.
    assert len(names(text(signed_in.get("/entries?size=100000")))) == 30
    assert signed_in.get("/entries?size=-1&last=1").status_code == 200


def test_the_last_page_reads_from_the_oldest_end_not_through_an_offset(
    app, signed_in, team, monkeypatch
):
    monkeypatch.setattr(views, "PAGE_SIZE", 4)
    listed(app, team.id, 10)
    statements: list[str] = []
    with app.app_context():
        engine = db.engine
    listener = lambda *args: statements.append((args[2], args[3]))  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        html = text(signed_in.get("/entries?last=1"))
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert names(html) == ["p01", "p00"]
    # The rows are read oldest first, none skipped (an offset of 0, however SQLAlchemy
    # writes it): the cost of the last page does not grow with the list.
    reads = [(s, p) for s, p in statements if "dnc_entry.url" in s and "ORDER BY" in s]
    assert len(reads) == 1, reads
    statement, params = reads[0]
    assert re.search(r"ORDER BY dnc_entry\.seq\s+LIMIT", statement), statement
    values = list(params.values()) if isinstance(params, dict) else list(params)
    assert "OFFSET" not in statement or values[-1] == 0, (statement, params)


# --------------------------------------------------------------------------- rows


def test_added_by_shows_an_api_keys_name_and_the_command_line_once(app, signed_in, team):
    with app.app_context():
        key = list_api_keys(team.id)[0]
        entries.add_entry(
            team.id,
            "linkedin.com/in/by-key",
            source=Source.API,
            actor=Actor(ActorType.API_KEY, key.id, f"API key {key.prefix}…"),
        )
        entries.add_entry(
            team.id,
            "linkedin.com/in/by-cli",
            source=Source.CLI,
            actor=Actor(ActorType.CLI, None, "command line"),
        )
    html = text(signed_in.get("/entries"))
    by_key = re.search(r'by-key.*?class="who-cell cell-who">(.*?)</td>', html, re.S).group(1)
    assert (
        by_key.startswith("test ")
        and "API key" in by_key
        and "dnc_sk_" not in by_key.split("title=")[0]
    )
    by_cli = re.search(r'by-cli.*?class="who-cell cell-who">(.*?)</td>', html, re.S).group(1)
    assert by_cli.strip() == "—"


def test_an_htmx_add_and_removal_carry_the_dashboard_and_results_empty_the_messages(
    app, signed_in, team
):
    headers = {**HTMX, "X-CSRFToken": token_for(signed_in)}
    added = text(signed_in.post("/entries", data={"url": "linkedin.com/in/new"}, headers=headers))
    assert '<div id="dashboard-panel" hx-swap-oob="true">' in added
    assert re.search(r'id="stat-week">1<', added) and "data-focus>Added" in added
    entry_id = re.search(r'id="entry-(dnc_\w+)"', added).group(1)
    removed = text(
        signed_in.post(f"/entries/{entry_id}/remove", data={"reason": "Mistake"}, headers=headers)
    )
    assert removed.startswith(f'<tr id="entry-{entry_id}" class="entry removed-row">')
    assert re.search(r'id="stat-removed">1<', removed) and "data-focus" in removed
    results = text(signed_in.get("/entries?q=new", headers=HTMX))
    assert results.startswith('<div id="entry-results"')
    assert '<div id="flashes" hx-swap-oob="innerHTML"></div>' in results


# --------------------------------------------------------------------------- roles


def test_a_403_page_has_the_navigation_and_the_owners(app, client, team):
    with app.app_context():
        create_user(team.id, "boss@example.com", PASSWORD)  # the first: owner
        create_user(team.id, "viewer@example.com", PASSWORD, role=Role.VIEWER)
    sign_in(client, "viewer@example.com")
    response = client.get("/keys")
    assert response.status_code == 403
    html = text(response)
    assert 'aria-label="Main"' in html and "Sign out" in html
    assert 'href="mailto:boss@example.com"' in html
    assert "Your role in this team does not allow this." in html


def test_the_only_owner_is_offered_neither_a_role_nor_removal_and_is_refused(app, client, team):
    with app.app_context():
        owner_id = create_user(team.id, "boss@example.com", PASSWORD).id
    sign_in(client, "boss@example.com")
    html = text(client.get("/members"))
    assert f'id="role-{owner_id}"' not in html
    assert f"/members/{owner_id}/remove" not in html and "The only owner" in html
    token = token_for(client, "/members")
    client.post(f"/members/{owner_id}/role", data={"csrf_token": token, "role": "member"})
    with app.app_context():
        assert find_member("boss@example.com").role == "owner"


# --------------------------------------------------------------------------- other pages


@pytest.mark.parametrize(
    ("message", "sentence"),
    [
        ("url is required", "Enter the URL of your endpoint"),
        (
            "the destination is a private, loopback or reserved address, which webhooks may not "
            "reach",
            "This address is on a private network",
        ),
        (
            "events must be a non-empty array of event types",
            "Events must be a non-empty array of event types.",
        ),
    ],
)
def test_webhook_messages_are_sentences(message, sentence):
    assert webhooks._plain(message).startswith(sentence)
    assert webhooks._plain(message)[0].isupper() and webhooks._plain(message).endswith(".")


@pytest.mark.parametrize(
    ("code", "saved"), [("#08f", "#0088ff"), ("C2410C", "#c2410c"), ("#17693a", "#17693a")]
)
def test_a_hex_code_is_saved_without_javascript(app, client, team, code, saved):
    with app.app_context():
        create_user(team.id, "boss@example.com", PASSWORD)
    sign_in(client, "boss@example.com")
    token = token_for(client, "/settings")
    response = client.post(
        "/settings/look",
        data={
            "csrf_token": token,
            "action": "save",
            "accent_color": branding.DEFAULT_ACCENT,
            "accent_hex": code,
        },
    )
    assert response.status_code == 303
    with app.app_context():
        assert branding.look_of(team.id).accent == saved


@pytest.mark.parametrize("code", ["#12345g", "#1234", "red", "#" + "f" * 5000])
def test_a_wrong_hex_code_is_refused_and_shown_as_sent(app, client, team, code):
    with app.app_context():
        create_user(team.id, "boss@example.com", PASSWORD)
    sign_in(client, "boss@example.com")
    token = token_for(client, "/settings")
    response = client.post(
        "/settings/look",
        data={
            "csrf_token": token,
            "action": "save",
            "accent_color": branding.DEFAULT_ACCENT,
            "accent_hex": code,
        },
    )
    assert response.status_code == 422
    assert "The hex code must be" in text(response)
    with app.app_context():
        look = branding.look_of(team.id)
        assert look is None or look.accent in (None, branding.DEFAULT_ACCENT)


def test_the_preview_shows_a_privacy_link_only_when_one_is_set(app, client, team):
    with app.app_context():
        create_user(team.id, "boss@example.com", PASSWORD)
    sign_in(client, "boss@example.com")
    assert "look-preview-link" not in text(client.get("/settings"))
    with app.app_context():
        update_team_settings(team.id, None, "https://acme.example/privacy", None, actor=TEST_ACTOR)
    assert "look-preview-link" in text(client.get("/settings"))


def test_added_entries_still_work_with_the_key_names_lookup_for_other_teams(
    app, signed_in, team, make_team
):
    """A label of another team's key is not resolved: the names are read for this team."""
    other = make_team("Other")
    with app.app_context():
        key = list_api_keys(other.id)[0]
        entries.add_entry(
            team.id,
            "linkedin.com/in/odd",
            source=Source.API,
            actor=Actor(ActorType.API_KEY, key.id, f"API key {key.prefix}…"),
        )
    html = text(signed_in.get("/entries"))
    assert f"API key {key.prefix}…" in html.replace("<wbr>", "")
    add_entries(app, team.id, ["linkedin.com/in/x"])
