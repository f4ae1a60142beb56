"""The Companies page: add one or many by paste (with a preview), remove with a
confirmation, expired blocks marked, viewers read only; the audit trail names the member."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from dnc_app.domain import changelog, companies
from dnc_app.domain.accounts.users import create_user
from dnc_app.domain.changelog import Source
from dnc_app.extensions import db
from dnc_app.storage.models import CompanyBlock
from tests.support import TEST_ACTOR
from tests.web_support import HTMX, PASSWORD, make_member, sign_in, token_for


def blocks_of(app, team_id):
    with app.app_context():
        return companies.list_blocks(team_id, limit=100)[0]


def post(client, path, **data):
    return client.post(path, data={"csrf_token": token_for(client, "/companies"), **data})


def test_the_page_is_in_the_navigation(signed_in):
    html = signed_in.get("/entries").get_data(as_text=True)
    assert 'href="/companies"' in html
    page = signed_in.get("/companies").get_data(as_text=True)
    assert 'aria-current="page">Companies' in page
    assert "No companies blocked." in page


def test_one_company_is_blocked_with_its_name_reason_and_last_day(app, signed_in, team):
    until = (companies.today() + timedelta(days=30)).isoformat()
    resp = post(
        signed_in,
        "/companies",
        urls="https://www.linkedin.com/company/Acme/about/",
        name="Acme Inc.",
        reason="Customer",
        until=until,
    )
    assert resp.status_code == 201
    html = resp.get_data(as_text=True)
    assert "Blocked 1 company." in html
    [block] = blocks_of(app, team.id)
    assert (block.url, block.name, block.reason, block.until.isoformat()) == (
        "https://linkedin.com/company/acme",
        "Acme Inc.",
        "Customer",
        until,
    )
    assert block.created_by == "member@example.com"
    assert f'id="company-{block.id}"' in html


def test_a_paste_is_previewed_then_its_valid_lines_are_added(app, signed_in, team):
    paste = (
        "linkedin.com/company/acme\nhttps://linkedin.com/in/john\n\ncompany/globex\ncompany/ACME\n"
    )
    preview = post(signed_in, "/companies/preview", urls=paste)
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert "Preview: 2 valid, 2 invalid" in html
    assert "this is a person&#39;s profile" in html
    assert "Given twice in this paste" in html
    assert blocks_of(app, team.id) == []  # a preview writes nothing
    done = post(signed_in, "/companies", urls=paste, reason="Partners")
    assert done.status_code == 201
    html = done.get_data(as_text=True)
    assert "Blocked 2 companies." in html
    assert "2 not blocked" in html
    # The refused lines stay in the form, to fix.
    assert ">https://linkedin.com/in/john\ncompany/ACME</textarea>" in html
    urls = sorted(b.url for b in blocks_of(app, team.id))
    assert urls == ["https://linkedin.com/company/acme", "https://linkedin.com/company/globex"]
    again = post(signed_in, "/companies", urls="company/acme")
    assert again.status_code == 422
    assert "already blocked" in again.get_data(as_text=True)


def test_the_htmx_answer_is_the_main_part_only(signed_in):
    resp = signed_in.post(
        "/companies/preview",
        data={"csrf_token": token_for(signed_in, "/companies"), "urls": "company/acme"},
        headers=HTMX,
    )
    html = resp.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="companies-main">')
    assert "<html" not in html


def test_refusals_keep_what_was_typed(app, signed_in, team):
    cases = [
        ({"urls": ""}, "Paste a LinkedIn company URL"),
        ({"urls": "company/a\ncompany/b", "name": "Both"}, "A name is for one company"),
        ({"urls": "company/a", "until": "2000-01-01"}, "until must not be in the past"),
        ({"urls": "company/a", "until": "soon"}, "until must be a date"),
        ({"urls": "company/a", "name": "x" * 201}, "name must be at most 200"),
        ({"urls": "company/a", "reason": "x" * 1001}, "reason must be at most 1,000"),
        ({"urls": "company/x\n" * 501}, "Paste at most 500"),
    ]
    for data, message in cases:
        for path in ("/companies/preview", "/companies"):
            resp = post(signed_in, path, **data)
            assert resp.status_code == 422, (path, data)
            assert message in resp.get_data(as_text=True), (path, message)
    assert blocks_of(app, team.id) == []


def test_a_block_is_removed_after_a_confirmation(app, signed_in, team):
    with app.app_context():
        block = companies.add_block(team.id, "company/acme", source=Source.CLI, actor=TEST_ACTOR)
    confirm = signed_in.get(f"/companies/{block.id}/remove")
    assert confirm.status_code == 200
    assert "Unblock <strong>linkedin.com/company/acme</strong>" in confirm.get_data(as_text=True)
    assert blocks_of(app, team.id) != []  # asking writes nothing
    resp = post(signed_in, f"/companies/{block.id}/remove")
    assert resp.status_code == 303
    assert blocks_of(app, team.id) == []
    page = signed_in.get("/companies").get_data(as_text=True)
    assert "Unblocked linkedin.com/company/acme." in page
    assert post(signed_in, f"/companies/{block.id}/remove").status_code == 404


def test_the_htmx_removal_answers_the_row(app, signed_in, team):
    with app.app_context():
        block = companies.add_block(team.id, "company/acme", source=Source.CLI, actor=TEST_ACTOR)
    row = signed_in.get(f"/companies/{block.id}/remove", headers=HTMX).get_data(as_text=True)
    assert row.startswith(f'<tr id="company-{block.id}" class="entry confirm-row">')
    cancel = signed_in.get(f"/companies/{block.id}/row", headers=HTMX).get_data(as_text=True)
    assert "Remove…" in cancel
    resp = signed_in.post(
        f"/companies/{block.id}/remove",
        data={"csrf_token": token_for(signed_in, "/companies")},
        headers=HTMX,
    )
    assert resp.status_code == 200
    assert "Unblocked <strong>linkedin.com/company/acme</strong>" in resp.get_data(as_text=True)


def test_another_teams_block_is_a_404(app, signed_in, make_team):
    other = make_team("Other")
    with app.app_context():
        theirs = companies.add_block(
            other.id, "company/theirs", source=Source.CLI, actor=TEST_ACTOR
        )
    assert signed_in.get(f"/companies/{theirs.id}/remove").status_code == 404
    assert post(signed_in, f"/companies/{theirs.id}/remove").status_code == 404
    assert "theirs" not in signed_in.get("/companies").get_data(as_text=True)
    assert len(blocks_of(app, other.id)) == 1


def test_an_expired_block_is_marked(app, signed_in, team):
    with app.app_context():
        block = companies.add_block(team.id, "company/old", source=Source.CLI, actor=TEST_ACTOR)
        companies.add_block(
            team.id,
            "company/current",
            until=companies.today().isoformat(),
            source=Source.CLI,
            actor=TEST_ACTOR,
        )
        db.session.execute(
            update(CompanyBlock)
            .where(CompanyBlock.id == block.id)
            .values(until=companies.today() - timedelta(days=3))
        )
        db.session.commit()
    html = signed_in.get("/companies").get_data(as_text=True)
    old_row = html[html.index(f'id="company-{block.id}"') :].split("</tr>")[0]
    assert 'class="entry is-revoked"' in old_row
    assert "Expired" in old_row
    assert html.count("Expired</span>") == 1


def test_viewers_read_the_list_without_the_forms(app, client, team):
    with app.app_context():
        block = companies.add_block(team.id, "company/acme", source=Source.CLI, actor=TEST_ACTOR)
    make_member(app, team.id, "owner@example.com")
    with app.app_context():
        create_user(team.id, "viewer@example.com", PASSWORD, role="viewer")
    assert sign_in(client, "viewer@example.com", PASSWORD).status_code == 303
    html = client.get("/companies").get_data(as_text=True).replace("<wbr>", "")
    assert "linkedin.com/company/acme" in html
    assert 'id="company-form"' not in html
    assert "Remove…" not in html
    token = token_for(client, "/companies")
    for path in ("/companies", "/companies/preview", f"/companies/{block.id}/remove"):
        resp = client.post(path, data={"csrf_token": token, "urls": "company/x"})
        assert resp.status_code == 403
    assert len(blocks_of(app, team.id)) == 1


def test_a_form_without_a_csrf_token_is_refused(app, signed_in, team):
    resp = signed_in.post("/companies", data={"urls": "company/acme"})
    assert resp.status_code == 400
    assert blocks_of(app, team.id) == []


def test_the_audit_trail_shows_blocks_with_the_member(app, signed_in, team):
    post(signed_in, "/companies", urls="company/acme", reason="Customer")
    [block] = blocks_of(app, team.id)
    post(signed_in, f"/companies/{block.id}/remove")
    with app.app_context():
        rows = [r for r in changelog.read_from(team.id) if r.subject_type == "company"]
    assert [(r.action, r.source, r.actor_label) for r in rows] == [
        ("company_blocked", "web", "member@example.com"),
        ("company_unblocked", "web", "member@example.com"),
    ]
    html = signed_in.get("/audit").get_data(as_text=True).replace("<wbr>", "")
    assert "Company blocked" in html and "Company unblocked" in html
    assert "linkedin.com/company/acme" in html
