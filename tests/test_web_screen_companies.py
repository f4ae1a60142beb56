"""The CSV screening page with a company column: found by its header or its cells, rows
of blocked companies counted, marked in the download and left out of the contactable
rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from dnc_app.domain import companies
from dnc_app.domain.changelog import Source
from dnc_app.extensions import db
from dnc_app.http.web import screen_csv
from dnc_app.storage.models import CompanyBlock
from tests.support import TEST_ACTOR
from tests.test_web_screen import counts_of, download, upload
from tests.web_support import add_entries


@pytest.fixture
def app(make_app, tmp_path):
    return make_app(BULK_UPLOAD_DIR=str(tmp_path / "uploads"))


def block(app, team_id, url, **fields):
    with app.app_context():
        return companies.add_block(team_id, url, source=Source.CLI, actor=TEST_ACTOR, **fields)


@pytest.mark.parametrize(
    "header", ["company", "companyUrl", "company_url", "Company LinkedIn URL", "Company Page"]
)
def test_a_company_column_is_found_by_its_cells_or_header(app, signed_in, team, header):
    acme = block(app, team.id, "company/acme")
    add_entries(app, team.id, ["in/jane"])
    data = (
        f"Name,Profile,{header}\n"
        "Jane,linkedin.com/in/jane,https://www.linkedin.com/company/acme/\n"
        "John,linkedin.com/in/john,linkedin.com/company/ACME\n"
        "Ann,linkedin.com/in/ann,linkedin.com/company/globex\n"
        "Bob,linkedin.com/in/bob,\n"
    )
    html = upload(signed_in, data.encode()).get_data(as_text=True)
    assert counts_of(html) == {"not_listed": 2, "listed": 1, "invalid": 0, "blocked": 2}
    assert f"at a blocked company ({header})" in html
    rows = download(signed_in, html, "all")
    assert rows[0] == ["Name", "Profile", header, "dnc_status", "dnc_url", "dnc_blocked_by_company"]
    assert [row[3:] for row in rows[1:]] == [
        ["listed", "https://linkedin.com/in/jane", acme.id],
        ["not_listed", "https://linkedin.com/in/john", acme.id],
        ["not_listed", "https://linkedin.com/in/ann", ""],
        ["not_listed", "https://linkedin.com/in/bob", ""],
    ]
    # The rows that may be contacted: not listed, and not at a blocked company.
    contactable = download(signed_in, html, "contactable")
    assert [row[0] for row in contactable[1:]] == ["Ann", "Bob"]


def test_a_sales_navigator_export_is_screened_by_its_company_numbers(app, signed_in, team):
    """Sales Navigator's columns: a lead URL (with commas, so quoted) and the company's
    /sales/company/<number> page, which a block of /company/<number> matches."""
    numbered = block(app, team.id, "linkedin.com/company/1035")
    lead = "https://www.linkedin.com/sales/lead/ACwAAA7IcPoBXbqAyFuCjYLHAhmm13BgChs-P5g"
    data = (
        "name,profileUrl,companyUrl\n"
        f'Jane,"{lead},NAME_SEARCH,x",https://www.linkedin.com/sales/company/1035\n'
        "Ann,https://www.linkedin.com/in/ann,https://www.linkedin.com/sales/company/2048/\n"
    )
    html = upload(signed_in, data.encode()).get_data(as_text=True)
    assert counts_of(html) == {"not_listed": 1, "listed": 0, "invalid": 0, "blocked": 1}
    rows = download(signed_in, html, "all")
    assert [row[3:] for row in rows[1:]] == [
        [
            "not_listed",
            "https://linkedin.com/sales/lead/ACwAAA7IcPoBXbqAyFuCjYLHAhmm13BgChs-P5g",
            numbered.id,
        ],
        ["not_listed", "https://linkedin.com/in/ann", ""],
    ]


def test_a_header_name_alone_finds_the_column(app, signed_in, team):
    # No sample cell is a company page: the header names the column.
    html = upload(signed_in, b"Profile,Company LinkedIn URL\nin/jane,\nin/john,not a page\n")
    html = html.get_data(as_text=True)
    assert counts_of(html)["blocked"] == 0
    assert "dnc_blocked_by_company" in download(signed_in, html, "all")[0]


def test_a_column_of_company_names_is_not_a_company_column(app, signed_in, team):
    html = upload(signed_in, b"Profile,Company\nin/jane,Acme\n").get_data(as_text=True)
    assert "blocked" not in counts_of(html)
    assert download(signed_in, html, "all")[0] == ["Profile", "Company", "dnc_status", "dnc_url"]


def test_an_expired_block_does_not_mark_rows(app, signed_in, team):
    acme = block(app, team.id, "company/acme", until=companies.today().isoformat())
    with app.app_context():
        db.session.execute(
            update(CompanyBlock)
            .where(CompanyBlock.id == acme.id)
            .values(until=companies.today() - timedelta(days=1))
        )
        db.session.commit()
    html = upload(signed_in, b"Profile,Company URL\nin/jane,company/acme\n").get_data(as_text=True)
    assert counts_of(html) == {"not_listed": 1, "listed": 0, "invalid": 0, "blocked": 0}


def test_companies_are_looked_up_once_per_chunk(app, team, tmp_path, monkeypatch):
    path = tmp_path / "p.csv"
    path.write_text(
        "Profile,Company URL\n" + "".join(f"in/p-{i},company/c-{i % 7}\n" for i in range(2500))
    )
    for i in range(3):
        block(app, team.id, f"company/c-{i}")
    with app.app_context():
        layout = screen_csv.read_layout(path)
        assert (layout.column, layout.company_column) == (0, 1)
        calls = []
        original = companies.blocking

        def counting(*args, **kwargs):
            calls.append(1)
            return original(*args, **kwargs)

        monkeypatch.setattr(companies, "blocking", counting)
        counts = screen_csv.count(team.id, path, layout, 0)
    assert len(calls) == 3  # 2,500 rows: three chunks
    assert counts.blocked == sum(1 for i in range(2500) if i % 7 < 3)
    assert counts.contactable == 2500 - counts.blocked
