"""Removing many from the list page: selected rows, every row of a page, or a pasted list;
a confirmation that says how many and which are people's own opt-outs; one removal with
one reason, one operation in the audit trail (expandable like a bulk add)."""

from __future__ import annotations

import re
from html import unescape

from sqlalchemy import select

from dnc_app.domain.accounts.users import create_user
from dnc_app.extensions import db
from dnc_app.storage.models import AuditEvent, DncEntry
from tests.test_identifiers import LEAD, LEAD_AS_SENT, MEMBER, MEMBER_AS_SENT
from tests.web_support import PASSWORD, add_entries, sign_in, token_for


def ids_of(app, team_id: str) -> dict[str, str]:
    with app.app_context():
        return dict(
            db.session.execute(
                select(DncEntry.url, DncEntry.id).where(DncEntry.team_id == team_id)
            ).all()
        )


def confirm_page(client, **data):
    return client.post("/entries/remove-many", data={"csrf_token": token_for(client), **data})


def remove(client, ids, reason="Contract signed"):
    return client.post(
        "/entries/remove-many/confirm",
        data={"csrf_token": token_for(client), "ids": ids, "reason": reason},
    )


def summary(html: str) -> str:
    return " ".join(
        re.search(r'id="remove-many-summary"[^>]*>(.*?)</p>', html, re.S).group(1).split()
    )


def test_the_list_has_a_checkbox_per_row_and_the_removal_form(app, signed_in, team):
    add_entries(app, team.id, ["in/a", "in/b"])
    html = signed_in.get("/entries").get_data(as_text=True)
    ids = ids_of(app, team.id)
    for entry_id in ids.values():
        assert f'name="ids" value="{entry_id}" form="remove-many-form"' in html
        assert f'name="page_ids" value="{entry_id}"' in html
    assert 'id="remove-many-form"' in html and "Remove all on this page…" in html


def test_selected_rows_are_confirmed_then_removed_with_one_reason(app, signed_in, team):
    add_entries(app, team.id, ["in/a", "in/b", "in/c", MEMBER, LEAD])
    ids = ids_of(app, team.id)
    chosen = [ids["https://linkedin.com/in/a"], ids[MEMBER], ids[LEAD]]
    page = confirm_page(signed_in, ids=chosen)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert summary(html).startswith("<strong>3</strong> entries will be removed")
    assert html.count('type="hidden" name="ids"') == 3
    assert len(ids_of(app, team.id)) == 5  # nothing removed yet
    done = remove(signed_in, chosen)
    assert done.status_code == 303
    assert set(ids_of(app, team.id)) == {"https://linkedin.com/in/b", "https://linkedin.com/in/c"}
    flashed = signed_in.get("/entries").get_data(as_text=True)
    assert "Removed 3 entries." in flashed
    with app.app_context():
        rows = (
            db.session.execute(
                select(AuditEvent).where(AuditEvent.action == "remove").order_by(AuditEvent.seq)
            )
            .scalars()
            .all()
        )
        assert len(rows) == 3 and {r.operation for r in rows} == {rows[0].seq}
        assert {(r.reason, r.source) for r in rows} == {("Contract signed", "web")}
    # One event in the audit page, expandable to its three removals.
    audit = signed_in.get("/audit").get_data(as_text=True)
    assert "3 profiles" in audit and f"operation={rows[0].seq}" in audit
    expanded = re.sub(
        r"<wbr>|&shy;",
        "",
        signed_in.get("/audit", query_string={"operation": rows[0].seq}).get_data(as_text=True),
    )
    assert all(
        url.replace("https://", "") in expanded
        for url in ("https://linkedin.com/in/a", MEMBER, LEAD)
    )


def test_every_row_of_the_page_without_javascript(app, signed_in, team):
    add_entries(app, team.id, ["in/a", "in/b"])
    ids = list(ids_of(app, team.id).values())
    html = confirm_page(signed_in, scope="page", page_ids=ids, ids=ids[:1]).get_data(as_text=True)
    assert summary(html).startswith("<strong>2</strong> entries will be removed")


def test_a_pasted_list_in_any_form(app, signed_in, team):
    add_entries(app, team.id, ["in/jane", MEMBER, LEAD, "in/kept"])
    html = signed_in.get("/entries/remove-many").get_data(as_text=True)
    assert 'name="urls"' in html
    pasted = "\n".join(
        [
            "https://www.linkedin.com/in/Jane/",
            MEMBER_AS_SENT,
            LEAD_AS_SENT,
            "in/nobody",
            "linkedin.com/company/x",
            "",
        ]
    )
    html = confirm_page(signed_in, urls=pasted).get_data(as_text=True)
    assert summary(html).startswith("<strong>3</strong> entries will be removed")
    assert "1 not on the list." in html and "1 not a LinkedIn profile URL." in html
    chosen = re.findall(r'type="hidden" name="ids" value="([^"]+)"', html)
    assert remove(signed_in, chosen).status_code == 303
    assert set(ids_of(app, team.id)) == {"https://linkedin.com/in/kept"}


def test_a_person_pasted_twice_is_not_said_to_be_off_the_list(app, client, team):
    """The same person by their URL, again, and by an alias: one removal each, and the
    repeats are said to be repeats, not "not on the list" (they are on it); a member's
    kept opt-out is listed once however often it is pasted."""
    with app.app_context():
        create_user(team.id, "member@example.com", PASSWORD, role="member")
    sign_in(client, "member@example.com")
    entry = client.post(
        "/v1/dnc", json={"url": "in/jane", "aliases": [LEAD]}, headers=team.headers
    ).get_json()["data"]
    add_entries(app, team.id, ["in/objected"], source="public_form")
    pasted = "\n".join(
        ["in/jane", LEAD_AS_SENT, "https://www.linkedin.com/in/Jane/"]
        + ["in/objected", "in/objected", "in/nobody"]
    )
    html = unescape(confirm_page(client, urls=pasted).get_data(as_text=True))
    assert summary(html).startswith("<strong>1</strong> entry will be removed")
    assert "1 not on the list." in html
    assert "3 name a person already named above." in html
    assert "is a person's own opt-out" in html
    assert html.count("<li>linkedin.com/in/objected</li>") == 1
    chosen = re.findall(r'type="hidden" name="ids" value="([^"]+)"', html)
    assert chosen == [entry["$id"]]


def test_nothing_chosen_or_no_reason_is_said_and_nothing_removed(app, signed_in, team):
    add_entries(app, team.id, ["in/a"])
    resp = confirm_page(signed_in)
    assert resp.status_code == 422 and "Select at least one entry" in resp.get_data(as_text=True)
    resp = remove(signed_in, list(ids_of(app, team.id).values()), reason="  ")
    assert resp.status_code == 422 and "Say why" in resp.get_data(as_text=True)
    assert len(ids_of(app, team.id)) == 1
    resp = signed_in.post("/entries/remove-many", data={"ids": ["x"]})  # no CSRF token
    assert resp.status_code == 400


def test_a_member_sees_which_are_opt_outs_and_they_are_kept(app, client, team):
    with app.app_context():
        create_user(team.id, "owner@example.com", PASSWORD)
        create_user(team.id, "member@example.com", PASSWORD, role="member")
    sign_in(client, "member@example.com")
    add_entries(app, team.id, ["in/objected"], source="public_form")
    add_entries(app, team.id, ["in/plain"])
    ids = ids_of(app, team.id)
    html = unescape(confirm_page(client, ids=list(ids.values())).get_data(as_text=True))
    assert summary(html).startswith("<strong>1</strong> entry will be removed")
    assert "is a person's own opt-out" in html and "linkedin.com/in/objected" in html
    chosen = re.findall(r'type="hidden" name="ids" value="([^"]+)"', html)
    assert chosen == [ids["https://linkedin.com/in/plain"]]
    assert remove(client, list(ids.values())).status_code == 303  # even if sent anyway
    assert set(ids_of(app, team.id)) == {"https://linkedin.com/in/objected"}


def test_an_owner_is_warned_and_removes_opt_outs_with_the_reason(app, client, team):
    with app.app_context():
        create_user(team.id, "owner@example.com", PASSWORD)
    sign_in(client, "owner@example.com")
    add_entries(app, team.id, ["in/objected"], source="public_form")
    ids = list(ids_of(app, team.id).values())
    html = " ".join(unescape(confirm_page(client, ids=ids).get_data(as_text=True)).split())
    assert "1 of them is a person's own opt-out" in html
    assert remove(client, ids, reason="They asked to be contacted").status_code == 303
    assert ids_of(app, team.id) == {}
