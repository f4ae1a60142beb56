"""Rough edges of the pages outside the list: /docs, the favicon, keys, check, audit,
bulk and the public page (issue 13, item 4)."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import select

from dnc_app.domain import changelog, entries
from dnc_app.domain.changelog import Actor, Source
from dnc_app.extensions import db
from dnc_app.storage.models import ApiKey, AuditEvent
from tests.support import TEST_ACTOR
from tests.web_support import HTMX, add_entries, token_for

# --------------------------------------------------------------------------- /docs


def test_docs_code_blocks_take_the_focus_and_have_copy_buttons(client):
    html = client.get("/docs").get_data(as_text=True)
    blocks = re.findall(r"<pre[^>]*>", html)
    assert blocks and all('tabindex="0"' in pre for pre in blocks)
    assert html.count("data-copy-code") == len(blocks)
    # Every table scrolls inside a focusable region (wide tables on a phone).
    assert html.count("<table") == html.count('class="table-scroll" role="region" tabindex="0"')
    assert '<script src="/static/js/docs.js" defer></script>' in html


def test_docs_link_back_to_the_app(client):
    html = client.get("/docs").get_data(as_text=True)
    assert re.search(r'<a href="/">← Back to the app</a>', html)


# --------------------------------------------------------------------------- favicon


def test_favicon_is_served_and_named_by_the_pages(client, team):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.get_data(as_text=True).startswith("<svg")
    response.close()
    icon = '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'
    for path in ("/login", "/docs", f"/optout/{team.slug}", "/no-such-page"):
        assert icon in client.get(path).get_data(as_text=True), path


# --------------------------------------------------------------------------- keys


def test_revoking_the_key_just_shown_takes_its_secret_off_the_page(app, signed_in, team):
    token = token_for(signed_in, "/keys")
    created = signed_in.post(
        "/keys", data={"name": "CRM", "csrf_token": token}, headers=HTMX
    ).get_data(as_text=True)
    key_id = re.search(r'name="shown_key" value="([^"]+)"', created).group(1)
    secret = re.search(r'data-copy="(dnc_sk_[^"]+)"', created).group(1)
    token = token_for(signed_in, "/keys")
    answer = signed_in.post(
        f"/keys/{key_id}/revoke", data={"shown_key": key_id}, headers={**HTMX, "X-CSRFToken": token}
    ).get_data(as_text=True)
    assert answer.startswith(f'<tr id="key-{key_id}"') and "badge-muted" in answer
    assert (
        '<section id="key-panel" class="card" aria-labelledby="new-key-heading" hx-swap-oob="true">'
    ) in answer
    assert secret not in answer and "Copy it now" not in answer


def test_revoking_another_key_leaves_the_shown_secret_alone(app, signed_in, team):
    with app.app_context():
        old_key = db.session.execute(select(ApiKey)).scalar_one()
    token = token_for(signed_in, "/keys")
    answer = signed_in.post(
        f"/keys/{old_key.id}/revoke",
        data={"shown_key": "another-id"},
        headers={**HTMX, "X-CSRFToken": token},
    ).get_data(as_text=True)
    assert "badge-muted" in answer and "hx-swap-oob" not in answer


# --------------------------------------------------------------------------- check


def test_check_shows_the_history_of_a_removed_profile(app, signed_in, team):
    entry = add_entries(app, team.id, ["linkedin.com/in/gone"])[0]
    with app.app_context():
        entries.remove_entry(
            team.id,
            entry.id,
            reason="Asked by mistake",
            source="web",
            actor=Actor.member(1, "boss@example.com"),
        )
    html = signed_in.post(
        "/check",
        data={"url": "https://www.linkedin.com/in/Gone/"},
        headers={**HTMX, "X-CSRFToken": token_for(signed_in, "/check")},
    ).get_data(as_text=True)
    assert "Not on the list now: removed" in html and "verdict-clear" not in html
    history = re.findall(r'<li><span class="badge badge-action-(\w+)">', html)
    assert history == ["remove", "add"]
    assert "Why: Asked by mistake" in html and "boss@<wbr>example.<wbr>com" in html
    assert 'href="/audit?q=https://linkedin.com/in/gone"' in html


def test_check_of_a_profile_never_listed_stays_plain(app, signed_in, team):
    html = signed_in.post(
        "/check",
        data={"url": "linkedin.com/in/never"},
        headers={**HTMX, "X-CSRFToken": token_for(signed_in, "/check")},
    ).get_data(as_text=True)
    assert "verdict-clear" in html and "history" not in html


# --------------------------------------------------------------------------- audit


def bulk_add(app, team_id: str, count: int, reason: str = "Trade show list"):
    with app.app_context():
        return entries.add_entries(
            team_id,
            [f"linkedin.com/in/bulk-{i}" for i in range(count)],
            reasons=[reason] * count,
            source=Source.WEB_BULK,
            actor=Actor.member(1, "member@example.com"),
        )


def test_a_bulk_add_is_one_expandable_event_with_its_count(app, signed_in, team):
    add_entries(app, team.id, ["linkedin.com/in/single"])
    bulk_add(app, team.id, 25)
    html = signed_in.get("/audit").get_data(as_text=True).replace("<wbr>", "")
    rows = re.findall(r'<tr class="entry action-(\w+)">', html)
    assert rows.count("add") == 2  # the single add, and the operation of 25
    assert "<summary>25 profiles" in html
    assert html.count("<li>linkedin.com/in/bulk-") == changelog.OPERATION_PREVIEW
    assert "First 10 of 25." in html
    operation = re.search(r'href="/audit\?operation=(\d+)"', html).group(1)
    listed = signed_in.get(f"/audit?operation={operation}").get_data(as_text=True)
    assert len(re.findall(r'<tr class="entry action-add">', listed)) == 25
    assert signed_in.get("/audit?operation=x1").status_code == 400
    # A URL search lists the changes one by one.
    found = signed_in.get("/audit?q=bulk-1").get_data(as_text=True)
    assert "<summary>" not in found and "bulk-<wbr>1" in found


def test_the_writer_gives_one_operation_to_a_multi_change_call(app, team):
    bulk_add(app, team.id, 3)
    add_entries(app, team.id, ["linkedin.com/in/alone"])
    with app.app_context():
        rows = db.session.execute(
            select(AuditEvent.seq, AuditEvent.operation)
            .where(AuditEvent.action == "add")
            .order_by(AuditEvent.seq)
        ).all()
    first = rows[0].seq
    assert [r.operation for r in rows] == [first, first, first, None]


def test_audit_shows_who_and_from_where_without_the_public_ip(app, signed_in, team):
    add_entries(app, team.id, ["linkedin.com/in/by-the-form"], source="public_form")
    bulk_add(app, team.id, 2)
    html = signed_in.get("/audit").get_data(as_text=True).replace("<wbr>", "")
    assert "Public opt-out form</span>" in html and "Bulk add</span>" in html
    assert '<span class="sub">member@example.com</span>' in html
    with app.app_context():
        hashes = (
            db.session.execute(select(AuditEvent.ip_hash).where(AuditEvent.ip_hash.is_not(None)))
            .scalars()
            .all()
        )
    assert all(h not in html for h in hashes)
    assert "public_form<" not in html and "web_bulk<" not in html


def test_breakable_puts_wrap_points_after_separators_and_escapes():
    from dnc_app.http.templating import breakable_filter

    assert breakable_filter("a.b@c-d/<e>") == "a.<wbr>b@<wbr>c-<wbr>d/<wbr>&lt;e&gt;"
    assert breakable_filter("https://x.y") == "https://<wbr>x.<wbr>y"


def test_the_audit_trail_exports_as_formula_safe_csv(app, signed_in, team):
    with app.app_context():
        entries.add_entry(
            team.id,
            "linkedin.com/in/formula",
            reason="=HYPERLINK(1)",
            source="api",
            actor=TEST_ACTOR,
        )
    bulk_add(app, team.id, 3)
    response = signed_in.get("/audit.csv?action=add")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    response.close()
    header, body = rows[0], rows[1:]
    assert header[:3] == ["seq", "created_at", "action"]
    assert len(body) == 4  # every change, not grouped
    assert [r[header.index("reason")] for r in body][-1] == "'=HYPERLINK(1)"
    assert {r[header.index("source_label")] for r in body} == {"API", "Bulk add"}
    with app.app_context():
        export = db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "exported")
        ).scalar_one()
    assert export.reason == "Audit trail (CSV)"


# --------------------------------------------------------------------------- source labels

IDENTIFIERS = re.compile(r">\s*(web_bulk|public_form|api|web|cli)\s*<")


def test_pages_show_source_labels_not_identifiers(app, signed_in, team):
    add_entries(app, team.id, ["linkedin.com/in/by-form"], source="public_form")
    bulk_add(app, team.id, 2)
    token = token_for(signed_in, "/check")
    for path in ("/settings", "/audit", "/entries"):
        html = signed_in.get(path).get_data(as_text=True)
        assert not IDENTIFIERS.search(html), (path, IDENTIFIERS.search(html))
    html = signed_in.post(
        "/check", data={"url": "linkedin.com/in/by-form"}, headers={**HTMX, "X-CSRFToken": token}
    ).get_data(as_text=True)
    assert "Public opt-out form" in html and not IDENTIFIERS.search(html)


# --------------------------------------------------------------------------- public page


def test_an_unknown_teams_link_says_it_is_not_valid(client, team):
    response = client.get("/optout/no-such-team")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "This link is not valid" in html
    assert "no-such-team" not in html and "Sign in" not in html and "/login" not in html


def test_an_empty_submit_in_the_first_seconds_says_the_field_is_empty(make_app, team):
    strict = make_app()  # the real minimum time (2 s)
    client = strict.test_client()
    from tests.test_optout import open_form

    _page, fields = open_form(client, f"/optout/{team.slug}")
    response = client.post(f"/optout/{team.slug}", data={**fields, "url": "  "})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Please enter the address of your LinkedIn profile." in html
    assert "could not accept this request yet" not in html
    # A filled field sent as fast is still refused by the minimum time.
    _page, fields = open_form(client, f"/optout/{team.slug}")
    too_fast = client.post(f"/optout/{team.slug}", data={**fields, "url": "in/fast"})
    assert "could not accept this request yet" in too_fast.get_data(as_text=True)


def test_the_receipt_shows_a_human_date_and_copy_and_print(make_app, team):
    client = make_app(OPTOUT_MIN_SECONDS=0).test_client()
    from tests.test_optout import open_form

    _page, fields = open_form(client, f"/optout/{team.slug}")
    html = client.post(
        f"/optout/{team.slug}", data={**fields, "url": "in/receipt-person"}
    ).get_data(as_text=True)
    when = re.search(r'<time datetime="([^"]+)">([^<]+)</time>', html)
    assert re.fullmatch(r"\d{1,2} [A-Z][a-z]+ \d{4}, \d\d:\d\d UTC", when.group(2))
    assert html.count(when.group(1)) == 1  # the ISO time only in the attribute
    assert "data-copy-reference" in html and "data-print" in html
    assert re.search(r'class="receipt-actions" data-receipt-actions hidden', html)
