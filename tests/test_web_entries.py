"""The list page: browse, search, paginate, add, validate, check, remove; team isolation."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from dnc_app.extensions import db
from dnc_app.http.web import views
from dnc_app.storage.models import AuditEvent, DncEntry
from tests.web_support import HTMX, add_entries, token_for


def row_urls(html: str) -> list[str]:
    return re.findall(r'class="profile-link" href="([^"]+)"', html)


def text(response) -> str:
    return response.get_data(as_text=True)


def post(client, path, data, htmx=False):
    headers = {**HTMX, "X-CSRFToken": token_for(client)} if htmx else {}
    if not htmx:
        data = {**data, "csrf_token": token_for(client)}
    return client.post(path, data=data, headers=headers)


# --------------------------------------------------------------------------- the list


def test_the_list_shows_newest_first_with_who_when_and_why(app, signed_in, team):
    add_entries(app, team.id, ["linkedin.com/in/first", "linkedin.com/in/second"])
    html = text(signed_in.get("/entries"))
    assert row_urls(html) == ["https://linkedin.com/in/second", "https://linkedin.com/in/first"]
    assert "2 profiles" in html
    assert "reason 1" in html and "reason 0" in html
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z">', html)
    assert 'target="_blank" rel="noopener noreferrer"' in html
    assert "tests" in html  # added_by of the test actor
    assert '<span class="badge badge-api">API</span>' in html  # the source's label


def test_search_filters_by_url_and_accepts_a_pasted_url(app, signed_in, team):
    add_entries(app, team.id, ["linkedin.com/in/jane-doe", "linkedin.com/in/john-smith"])
    assert row_urls(text(signed_in.get("/entries?q=jane"))) == ["https://linkedin.com/in/jane-doe"]
    pasted = signed_in.get("/entries?q=https://www.linkedin.com/in/John-Smith/?trk=1")
    assert row_urls(text(pasted)) == ["https://linkedin.com/in/john-smith"]
    nothing = text(signed_in.get("/entries?q=nobody"))
    assert row_urls(nothing) == [] and "No entries match" in nothing
    # Wildcards are searched literally.
    assert row_urls(text(signed_in.get("/entries?q=%25"))) == []


def test_search_answers_htmx_with_the_results_only(app, signed_in, team):
    add_entries(app, team.id, ["linkedin.com/in/jane-doe"])
    fragment = text(signed_in.get("/entries?q=jane", headers=HTMX))
    assert fragment.startswith('<div id="entry-results"')
    assert "add-panel" not in fragment and "<nav" not in fragment.split("pager")[0]
    assert row_urls(fragment) == ["https://linkedin.com/in/jane-doe"]


def test_pages_follow_keyset_cursors_to_the_end(app, signed_in, team, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    add_entries(app, team.id, [f"linkedin.com/in/user-{i}" for i in range(5)])
    seen, url = [], "/entries"
    while url:
        html = text(signed_in.get(url))
        seen += row_urls(html)
        match = re.search(r'rel="next" href="([^"]+)"', html)
        url = match.group(1).replace("&amp;", "&") if match else None
    assert seen == [f"https://linkedin.com/in/user-{i}" for i in range(4, -1, -1)]
    assert "« First" in html


def test_every_request_for_the_results_syncs_on_the_search_form(app, signed_in, team, monkeypatch):
    """The search box, the search form (Enter, the button), "Clear search" and the page
    links all replace #entry-results: they share one sync point where the newest request
    replaces any older one, so a slower older answer never lands after a newer one."""
    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    add_entries(app, team.id, ["linkedin.com/in/jane-doe", "linkedin.com/in/jane-roe"])
    html = text(signed_in.get("/entries?q=jane"))
    html += text(
        signed_in.get(re.search(r'rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&"))
    )
    requesters = re.findall(r'<(?:form|input|a)\b[^>]*hx-target="#entry-results"[^>]*>', html)
    assert len(requesters) >= 5  # form, box, clear search, older, newest
    assert re.search(r'<form id="entry-search"[^>]*hx-sync="this:replace"', html)
    for tag in requesters:
        assert re.search(r'hx-sync="(this|closest form|#entry-search):replace"', tag), tag
        if not tag.startswith("<form"):
            assert 'hx-sync="this:replace"' not in tag, tag


def test_a_team_never_sees_another_teams_entries(app, signed_in, make_team):
    other = make_team("Other")
    add_entries(app, other.id, ["linkedin.com/in/secret-person"])
    assert "secret-person" not in text(signed_in.get("/entries"))
    assert "secret-person" not in text(signed_in.get("/entries?q=secret"))
    assert "secret-person" not in text(signed_in.get("/audit"))
    check = post(signed_in, "/check", {"url": "linkedin.com/in/secret-person"})
    assert "Not on the list" in text(check)


# --------------------------------------------------------------------------- add


def test_add_without_javascript_redirects_with_a_message(app, signed_in, team):
    response = post(
        signed_in, "/entries", {"url": "https://www.linkedin.com/in/New-One/", "reason": "Asked us"}
    )
    assert response.status_code == 303 and response.headers["Location"] == "/entries"
    html = text(signed_in.get("/entries"))
    assert "Added https://linkedin.com/in/new-one to the list." in html
    with app.app_context():
        entry = db.session.execute(select(DncEntry)).scalar_one()
        assert (entry.url, entry.reason, entry.source, entry.added_by) == (
            "https://linkedin.com/in/new-one",
            "Asked us",
            "web",
            "member@example.com",
        )
        event = db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "add")
        ).scalar_one()
        assert (event.source, event.actor_type, event.actor_label) == (
            "web",
            "user",
            "member@example.com",
        )


def test_add_with_htmx_returns_a_fresh_form_and_the_new_row_on_top(app, signed_in, team):
    add_entries(app, team.id, ["linkedin.com/in/older"])
    response = post(signed_in, "/entries", {"url": "in/newer"}, htmx=True)
    assert response.status_code == 200
    html = text(response)
    assert html.lstrip().startswith('<section id="add-panel"')
    assert 'id="add-url" name="url" type="text" inputmode="url" value=""' in html
    oob = re.search(
        r'<template><tbody hx-swap-oob="afterbegin:#entry-rows">(.*?)</tbody>', html, re.S
    )
    assert oob and row_urls(oob.group(1)) == ["https://linkedin.com/in/newer"]
    assert '<span id="entry-total" hx-swap-oob="true">2 profiles</span>' in html


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://www.linkedin.com/company/acme", "Not a person profile"),
        ("https://linkedin.com.evil.com/in/john", "Not a LinkedIn URL"),
        ("", "Enter a LinkedIn profile URL."),
        ("x" * 2049, "Field cannot be longer than 2048 characters."),
    ],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_add_refuses_invalid_urls_with_the_reason(app, signed_in, url, message, htmx):
    response = post(signed_in, "/entries", {"url": url}, htmx=htmx)
    assert response.status_code == 422
    html = text(response)
    assert message in html
    assert 'aria-invalid="true"' in html
    assert ("<!doctype html>" in html) is not htmx
    with app.app_context():
        assert db.session.execute(select(DncEntry)).first() is None


@pytest.mark.parametrize("htmx", [False, True])
def test_a_duplicate_says_so_and_links_to_the_existing_entry(app, signed_in, team, htmx):
    add_entries(app, team.id, ["linkedin.com/in/jane-doe"])
    response = post(
        signed_in, "/entries", {"url": "https://uk.linkedin.com/in/JANE-DOE"}, htmx=htmx
    )
    assert response.status_code == 422
    html = text(response)
    assert "already on the list" in html
    assert 'href="/entries?q=https://linkedin.com/in/jane-doe">Show the entry' in html


def test_inline_validation_shows_the_stored_form_or_the_reason(app, signed_in, team):
    add_entries(app, team.id, ["linkedin.com/in/listed"])

    def feedback(url):
        return text(post(signed_in, "/entries/validate", {"url": url}, htmx=True))

    assert "Will be saved as <code>https://linkedin.com/in/jane</code>" in feedback(
        "WWW.LinkedIn.com/in/Jane/?trk=x"
    )
    assert "Not a person profile" in feedback("linkedin.com/school/x")
    assert "Already on the list since" in feedback("in/listed")
    assert feedback("   ").strip() == ""


# --------------------------------------------------------------------------- check


def test_check_says_whether_and_since_when(app, signed_in, team):
    add_entries(app, team.id, ["linkedin.com/in/listed"])
    listed = text(post(signed_in, "/check", {"url": "https://www.linkedin.com/in/Listed/"}))
    assert "On the list since" in listed and "reason 0" in listed
    assert "<!doctype html>" in listed
    clear = text(post(signed_in, "/check", {"url": "in/someone-else"}, htmx=True))
    assert "Not on the list" in clear and "<!doctype html>" not in clear
    invalid = post(signed_in, "/check", {"url": "https://evil.com/in/x"}, htmx=True)
    assert invalid.status_code == 422 and "Not a LinkedIn URL" in text(invalid)


# --------------------------------------------------------------------------- remove


def test_remove_without_javascript_asks_for_a_reason_then_removes(app, signed_in, team):
    entry = add_entries(app, team.id, ["linkedin.com/in/leaving"])[0]
    confirm = text(signed_in.get(f"/entries/{entry.id}/remove"))
    assert "Remove from the list" in confirm and "Why is it removed?" in confirm
    no_reason = post(signed_in, f"/entries/{entry.id}/remove", {"reason": "  "})
    assert no_reason.status_code == 422 and "audit trail keeps it" in text(no_reason)
    done = post(signed_in, f"/entries/{entry.id}/remove", {"reason": "Added by mistake"})
    assert done.status_code == 303
    assert "Removed https://linkedin.com/in/leaving" in text(signed_in.get("/entries"))
    with app.app_context():
        assert db.session.execute(select(DncEntry)).first() is None
        event = db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "remove")
        ).scalar_one()
        assert (event.url, event.reason, event.source, event.actor_label) == (
            "https://linkedin.com/in/leaving",
            "Added by mistake",
            "web",
            "member@example.com",
        )


def test_remove_with_htmx_confirms_inline_and_replaces_the_row(app, signed_in, team):
    entry = add_entries(app, team.id, ["linkedin.com/in/leaving"])[0]
    confirm = text(signed_in.get(f"/entries/{entry.id}/remove", headers=HTMX))
    assert confirm.startswith(f'<tr id="entry-{entry.id}" class="entry confirm-row">')
    cancel = text(signed_in.get(f"/entries/{entry.id}/row", headers=HTMX))
    assert cancel.startswith(f'<tr id="entry-{entry.id}" class="entry') and "Remove" in cancel
    done = post(signed_in, f"/entries/{entry.id}/remove", {"reason": "Mistake"}, htmx=True)
    assert done.status_code == 200
    assert "removed-row" in text(done) and "0 profiles" in text(done)


def test_a_member_cannot_remove_another_teams_entry(app, signed_in, make_team):
    other = make_team("Other")
    entry = add_entries(app, other.id, ["linkedin.com/in/theirs"])[0]
    assert signed_in.get(f"/entries/{entry.id}/remove").status_code == 404
    assert signed_in.get(f"/entries/{entry.id}/row", headers=HTMX).status_code == 404
    response = post(signed_in, f"/entries/{entry.id}/remove", {"reason": "mine now"})
    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(DncEntry, entry.seq) is not None
