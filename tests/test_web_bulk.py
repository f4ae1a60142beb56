"""Bulk add: parsing pasted text and CSV files, preview, confirm, the pending upload."""

from __future__ import annotations

import codecs
import csv
import io
import re
import signal
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from dnc_app.extensions import db
from dnc_app.http.web import bulk, bulk_input
from dnc_app.http.web.bulk_input import BulkInputError, items_from_csv, items_from_text
from dnc_app.storage.models import AuditEvent, DncEntry, PendingUpload
from tests.web_support import HTMX, add_entries, make_member, sign_in, token_for


@pytest.fixture
def app(make_app, tmp_path):
    return make_app(BULK_UPLOAD_DIR=str(tmp_path / "uploads"))


def raws(items):
    return [item.raw for item in items]


# --------------------------------------------------------------------------- parsing

JANE = "https://www.linkedin.com/in/jane/"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(f"name,profile\nJane,{JANE}\n".encode(), [JANE], id="header-comma"),
        pytest.param(
            f"name;profile;email\r\nJane;{JANE};j@x.com\r\n".encode(), [JANE], id="semicolon-crlf"
        ),
        pytest.param(f"name\tprofile\nJane\t{JANE}\n".encode(), [JANE], id="tab"),
        pytest.param(f"name|profile\nJane|{JANE}\n".encode(), [JANE], id="pipe"),
        pytest.param(codecs.BOM_UTF8 + f"profile\n{JANE}\n".encode(), [JANE], id="utf8-bom"),
        pytest.param(f"profile\t\nJürgen\t{JANE}\n".encode("utf-16"), [JANE], id="utf16-bom"),
        pytest.param(f"Jürgen;{JANE}\n".encode("latin-1"), [JANE], id="latin1"),
        pytest.param(
            f'"Doe, Jane","{JANE}","a note, with commas"\n'.encode(), [JANE], id="quoted-commas"
        ),
        pytest.param(f'"multi\nline note",{JANE}\n'.encode(), [JANE], id="quoted-newline"),
        pytest.param(
            f"{JANE}\nlinkedin.com/in/john\n".encode(),
            [JANE, "linkedin.com/in/john"],
            id="one-column-no-header",
        ),
        pytest.param(
            f"a,{JANE},https://linkedin.com/in/john?x=1\n".encode(),
            [JANE, "https://linkedin.com/in/john?x=1"],
            id="two-url-columns",
        ),
        pytest.param(
            f"see <{JANE}> and (linkedin.com/in/john)\n".encode(),
            [JANE, "linkedin.com/in/john"],
            id="urls-inside-text",
        ),
        pytest.param(b"name,email\nJane,jane@example.com\n", [], id="no-urls"),
        pytest.param(
            b"linkedin.com/company/acme\n",
            ["linkedin.com/company/acme"],
            id="non-profile-kept-for-its-reason",
        ),
    ],
)
def test_urls_are_found_in_any_column_of_a_csv(data, expected):
    assert raws(items_from_csv(data)) == expected


def test_csv_items_carry_their_line_number():
    items = items_from_csv(f"header\r\n{JANE}\r\n\r\nlinkedin.com/in/b\r\n".encode())
    assert [(i.line, i.raw) for i in items] == [(2, JANE), (4, "linkedin.com/in/b")]


def test_pasted_lines_keep_invalid_ones_and_split_spreadsheet_rows():
    text = f"  {JANE}  \n\nnot a url\nJane\t{JANE}\tlinkedin.com/in/x\r\nin/short\n"
    items = items_from_text(text)
    assert [(i.line, i.raw) for i in items] == [
        (1, JANE),
        (3, "not a url"),
        (4, JANE),
        (4, "linkedin.com/in/x"),
        (5, "in/short"),
    ]


def test_an_upload_over_the_item_limit_is_refused(monkeypatch):
    monkeypatch.setattr(bulk_input, "MAX_ITEMS", 3)
    with pytest.raises(BulkInputError, match="at most 3"):
        items_from_text("\n".join(f"in/u{i}" for i in range(4)))
    with pytest.raises(BulkInputError, match="at most 3"):
        items_from_csv("\n".join(f"linkedin.com/in/u{i}" for i in range(4)).encode())


def test_too_many_pasted_lines_are_counted_before_any_line_is_read(monkeypatch):
    monkeypatch.setattr(bulk_input, "MAX_ITEMS", 3)
    # Blank and whitespace-only lines are not items, so they do not count.
    assert len(items_from_text(" \n\t\r\nx\n\n y\n \nz\n")) == 3
    read = []
    monkeypatch.setattr(bulk_input, "_line_end", lambda *a: read.append(a) or -1)
    with pytest.raises(BulkInputError, match="more than 3 lines"):
        items_from_text('"\n' * 4)
    assert read == []


def test_a_broken_csv_is_refused_with_a_reason():
    data = b'"' + b"x" * 200_000 + b' linkedin.com/in/a"\n'  # one field over csv's limit
    with pytest.raises(BulkInputError, match="could not be read as CSV"):
        items_from_csv(data)


@contextmanager
def finishes_within(seconds: float):
    """Fail (instead of hanging) if the block uses more than `seconds` of CPU: the
    quadratic parser took hours on these inputs, the linear one takes milliseconds.

    CPU time of this process (ITIMER_PROF), not wall time: other processes keeping the
    machine's cores busy slow the block down without making it do more work."""

    def too_slow(*_):
        raise AssertionError(f"still running after {seconds} s of CPU time")

    previous = signal.signal(signal.SIGPROF, too_slow)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


MiB = 1024 * 1024


def repeat_to(unit: bytes, size: int = 4 * MiB) -> bytes:
    return (unit * (size // len(unit) + 1))[:size]


# Hostile uploads of the shapes in issue 9 and others; each is parsed as a CSV file and
# as pasted text. Budget: 3 s of CPU time, for work that takes ~0.1 s.
HOSTILE = {
    "one-line-of-a": repeat_to(b"a"),
    "quote-newline": repeat_to(b'"\n'),
    "commas": repeat_to(b","),
    "semicolons": repeat_to(b";"),
    "quotes": repeat_to(b'"'),
    "percent": repeat_to(b"%"),
    "slashes": repeat_to(b"/"),
    "nul": repeat_to(b"\0"),
    "cr-only": repeat_to(b"\r"),
    "almost-linkedin": repeat_to(b"linkedin.co"),
    "one-16-mib-line-of-urls": repeat_to(b"linkedin.com/in/a ", 16 * MiB),
    "urls-between-commas": repeat_to(b"linkedin.com/in/a,"),
    "quoted-cells-then-url": repeat_to(b'"",' * 20_000 + b"linkedin.com/in/a\n"),
    "url-then-open-quote": repeat_to(b'linkedin.com/in/a,"' + b"\n" * 100),
    "tabs-then-url": repeat_to(b"\t" * 5_000 + b"linkedin.com/in/a\n"),
    "url-of-percents": repeat_to(b"linkedin.com/in/" + b"%" * 60_000 + b"\n"),
    "crlf-url-quote": repeat_to(b'https://linkedin.com/in/a"b\r'),
    # A reason column: each line is split once more.
    "reason-column": b"reason,profile\n" + repeat_to(b"x," * 2_000 + b"linkedin.com/in/a\n"),
}


@pytest.mark.parametrize("parse", ["csv", "text"])
@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_upload_is_parsed_in_bounded_time(name, parse):
    data = HOSTILE[name]
    with finishes_within(3.0):
        try:
            items = (
                items_from_csv(data) if parse == "csv" else items_from_text(data.decode("latin-1"))
            )
        except BulkInputError:
            return
    # Bounded output too: every candidate is at most one character over the limit.
    assert all(len(item.raw) <= 2049 for item in items)


def test_a_pasted_line_of_40000_letters_is_one_candidate_cut_over_the_limit():
    with finishes_within(1.0):
        [item] = items_from_text("a" * 40_000)
    assert item.raw == "a" * 2049  # refused by the normalizer as too long


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # Text after a URL is never cut off: the line is one candidate, refused with the
        # normalizer's reason ("contains spaces") instead of becoming another person.
        pytest.param(
            "https://linkedin.com/in/a b c", ["https://linkedin.com/in/a b c"], id="url-with-spaces"
        ),
        pytest.param(
            "Jane Doe https://linkedin.com/in/jane",
            ["Jane Doe https://linkedin.com/in/jane"],
            id="name-then-url",
        ),
        pytest.param(
            "https://linkedin.com/in/jane-doe (met at the fair)",
            ["https://linkedin.com/in/jane-doe (met at the fair)"],
            id="url-then-note",
        ),
        pytest.param(
            "<https://linkedin.com/in/a b c>",
            ["https://linkedin.com/in/a b c"],
            id="brackets-around-spaces",
        ),
        pytest.param(
            "https://linkedin.com/in/a,b",
            ["https://linkedin.com/in/a,b"],
            id="comma-in-a-pasted-url",
        ),
        pytest.param("linkedin.com/in/john)", ["linkedin.com/in/john)"], id="stray-bracket"),
        # Quotes or brackets around the whole candidate are dropped.
        pytest.param(
            '"https://linkedin.com/in/jane"', ["https://linkedin.com/in/jane"], id="quoted"
        ),
        pytest.param(
            "<https://linkedin.com/in/jane>", ["https://linkedin.com/in/jane"], id="angle-brackets"
        ),
        # Wrapped URLs inside text: the brackets show where each one ends.
        pytest.param(
            "Jane <https://linkedin.com/in/jane>, Bob (linkedin.com/in/bob).",
            ["https://linkedin.com/in/jane", "linkedin.com/in/bob"],
            id="wrapped-in-text",
        ),
        pytest.param(
            "https://linkedin.com/in/" + "a" * 3000,
            ["https://linkedin.com/in/" + "a" * 2025],
            id="too-long-cut-over-the-limit",
        ),
    ],
)
def test_a_pasted_line_is_one_candidate_never_a_shorter_url(line, expected):
    assert raws(items_from_text(line)) == expected
    # The same text as a CSV cell (quoted, so that commas stay inside it).
    cell = '"' + line.replace('"', '""') + '"'
    assert raws(items_from_csv(f"name,profile\nJane,{cell}\n".encode())) == expected


def test_items_keep_their_line_numbers_with_any_line_ends():
    text = "in/a\r\rlinkedin.com/in/b\r\nx\n\n\t\nin/c"
    assert [(i.line, i.raw) for i in items_from_text(text)] == [
        (1, "in/a"),
        (3, "linkedin.com/in/b"),
        (4, "x"),
        (7, "in/c"),
    ]
    data = b"h\rlinkedin.com/in/a\r\n\rx,linkedin.com/in/b\n"
    assert [(i.line, i.raw) for i in items_from_csv(data)] == [
        (2, "linkedin.com/in/a"),
        (4, "linkedin.com/in/b"),
    ]


def test_a_quoted_csv_field_over_lines_is_read_whole_and_never_unbounded():
    data = b'name,profile\n"Jane\nDoe","https://linkedin.com/in/jane\n-doe"\n'
    assert raws(items_from_csv(data)) == ["https://linkedin.com/in/jane\n-doe"]
    never_closed = b'name,profile\nJane,"linkedin.com/in/jane' + b"\nmore" * 100
    with pytest.raises(BulkInputError, match="quoted field is not closed"):
        items_from_csv(never_closed)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(
            codecs.BOM_UTF16_LE + "linkedin.com/in/a\n".encode("utf-16-le") + b"x",
            id="odd-byte-count",
        ),
        pytest.param(
            codecs.BOM_UTF16_LE + b"\x00\xd8" + "a\n".encode("utf-16-le"), id="lone-surrogate"
        ),
        pytest.param(codecs.BOM_UTF16_BE + b"\xdc\x00", id="lone-low-surrogate-be"),
    ],
)
def test_a_broken_utf16_file_is_refused_with_a_reason(data):
    with pytest.raises(BulkInputError, match="not valid UTF-16"):
        items_from_csv(data)


# --------------------------------------------------------------------------- views


def preview(client, htmx=False, **data):
    """POST the form as a browser does (multipart). The body is encoded here, in memory:
    the test client would spool a large one to a temp file it never closes."""
    token = token_for(client, "/bulk")
    headers = {**HTMX, "X-CSRFToken": token} if htmx else {}
    fields = {
        k: FileStorage(v[0], filename=v[1]) if isinstance(v, tuple) else v
        for k, v in {**data, "csrf_token": token}.items()
    }
    boundary, body = encode_multipart(fields)
    return client.post(
        "/bulk/preview",
        data=body,
        headers=headers,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def confirm(client, token):
    return client.post(
        "/bulk/confirm", data={"token": token, "csrf_token": token_for(client, "/bulk")}
    )


def pending_token(html: str) -> str:
    return re.search(r'name="token" value="([^"]+)"', html).group(1)


def count_entries(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(DncEntry)).scalar_one()


def test_preview_counts_each_kind_and_writes_nothing(app, signed_in, team, tmp_path):
    add_entries(app, team.id, ["linkedin.com/in/listed"])
    paste = "in/new-1\nlinkedin.com/in/new-2\nin/listed\nhttps://linkedin.com/in/NEW-1/\nbad line\n"
    response = preview(signed_in, urls=paste)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    counts = dict(re.findall(r'tally-(\w+)"><strong>(\d+)</strong>', html))
    assert counts == {"new": "2", "listed": "1", "repeated": "1", "invalid": "1"}
    assert "5 URLs found" in html and "Add 2 profiles to the list" in html
    assert "Not a person profile" not in html and "bad line" in html
    assert count_entries(app) == 1
    # The list waits server-side; the form carries only its token.
    assert len(list((tmp_path / "uploads").glob("*.json"))) == 1
    assert "in/new-2" not in html.split('name="token"')[1]


def test_confirm_adds_them_with_source_web_bulk_and_shows_a_summary(app, signed_in, team, tmp_path):
    add_entries(app, team.id, ["linkedin.com/in/listed"])
    html = preview(signed_in, urls="in/a\nin/b\nin/listed\nin/a\nnope").get_data(as_text=True)
    response = confirm(signed_in, pending_token(html))
    assert response.status_code == 200
    summary = response.get_data(as_text=True)
    assert "Done: 2 profiles added" in summary
    counts = dict(re.findall(r'tally-(\w+)"><strong>(\d+)</strong>', summary))
    assert counts == {"new": "2", "listed": "1", "repeated": "1", "invalid": "1"}
    with app.app_context():
        rows = db.session.execute(
            select(DncEntry.url, DncEntry.source, DncEntry.added_by)
            .where(DncEntry.source == "web_bulk")
            .order_by(DncEntry.seq)
        ).all()
        assert [tuple(r) for r in rows] == [
            ("https://linkedin.com/in/a", "web_bulk", "member@example.com"),
            ("https://linkedin.com/in/b", "web_bulk", "member@example.com"),
        ]
        assert (
            db.session.execute(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.source == "web_bulk")
            ).scalar_one()
            == 2
        )
    # The pending file is gone; the lines not added wait for the Done page's download.
    assert list((tmp_path / "uploads").glob("*.json")) == []
    assert len(list((tmp_path / "uploads").glob("bulk-not-added/*/*/*.csv"))) == 1


def test_a_csv_upload_is_previewed_and_added(app, signed_in):
    csv_bytes = (
        codecs.BOM_UTF8 + b"Name;Profile;Email\r\n"
        b"Jane;https://www.linkedin.com/in/jane/;jane@x.com\r\n"
        b'"Doe; John";linkedin.com/in/john-doe;john@x.com\r\n'
    )
    response = preview(signed_in, htmx=True, file=(io.BytesIO(csv_bytes), "people.csv"))
    html = response.get_data(as_text=True)
    assert "<html" not in html and "2 URLs found" in html
    assert confirm(signed_in, pending_token(html)).status_code == 200
    assert count_entries(app) == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"urls": "  \n "}, "Paste LinkedIn profile URLs"),
        (
            {"file": (io.BytesIO(b"name,email\nJane,j@x.com\n"), "people.csv")},
            "No LinkedIn profile URLs found in people.csv",
        ),
    ],
)
def test_an_upload_without_urls_says_what_to_do(signed_in, data, message):
    response = preview(signed_in, **data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_a_pending_upload_is_added_once(app, signed_in):
    token = pending_token(preview(signed_in, urls="in/a").get_data(as_text=True))
    assert confirm(signed_in, token).status_code == 200
    again = confirm(signed_in, token)
    assert again.status_code == 409
    assert "expired or was already added" in again.get_data(as_text=True)


def test_a_pending_upload_belongs_to_the_session_that_made_it(app, signed_in, team):
    token = pending_token(preview(signed_in, urls="in/a").get_data(as_text=True))
    make_member(app, team.id, email="colleague@example.com")
    colleague = app.test_client()
    sign_in(colleague, email="colleague@example.com")
    assert confirm(colleague, token).status_code == 409
    with colleague.session_transaction() as session:
        session["bulk_upload"] = token  # even a copied token is checked against the member
    assert confirm(colleague, token).status_code == 409
    assert count_entries(app) == 0


def test_an_expired_pending_upload_is_refused(app, signed_in, monkeypatch):
    token = pending_token(preview(signed_in, urls="in/a").get_data(as_text=True))
    monkeypatch.setattr(bulk_input, "PENDING_TTL", -1)  # older than allowed already
    assert confirm(signed_in, token).status_code == 409
    assert count_entries(app) == 0


def test_a_paste_larger_than_flasks_form_field_limit_is_accepted(app, signed_in):
    # 20,000 lines are about 720 kB, over the 500 kB Flask allows a form field by default.
    lines = "\n".join(f"https://www.linkedin.com/in/person-{i:06d}" for i in range(20_000))
    assert len(lines) > 500_000
    response = preview(signed_in, urls=lines)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "20,000 URLs found" in html
    assert html.count("<tr>") <= 4 * 20 + 10  # samples, not 20,000 rows


def test_the_preview_shows_samples_but_counts_everything(app, signed_in):
    html = preview(signed_in, urls="\n".join(f"bad {i}" for i in range(50))).get_data(as_text=True)
    assert "Invalid: 50 (the first 20 shown)" in html
    assert "Nothing new to add." in html


def test_a_100000_line_csv_is_previewed_kept_server_side_and_added(app, signed_in, tmp_path):
    """The size the issue asks for, end to end (bench/bench_web_bulk.py times it)."""
    rows = ["name,profile"] + [
        f"P{i},https://www.linkedin.com/in/p-{i:06d}/" for i in range(100_000)
    ]
    data = ("\r\n".join(rows) + "\r\n").encode()
    response = preview(signed_in, file=(io.BytesIO(data), "big.csv"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "100,000 URLs found" in html and "Add 100,000 profiles to the list" in html
    assert len(html) < 100_000  # a preview, not the list
    [pending] = (tmp_path / "uploads").glob("*.json")
    assert pending.stat().st_size > 4_000_000
    summary = confirm(signed_in, pending_token(html)).get_data(as_text=True)
    assert "Done: 100,000 profiles added" in summary
    assert count_entries(app) == 100_000


# --------------------------------------------------------------------------- hardening


def test_hostile_uploads_through_the_preview_page_are_quick_and_clear(app, signed_in):
    with finishes_within(5.0):
        response = preview(signed_in, urls="a" * 40_000)
        assert response.status_code == 200
        assert "longer than 2,048 characters" in response.get_data(as_text=True)
        response = preview(signed_in, file=(io.BytesIO(b'"\n' * 32_000), "quotes.csv"))
        assert response.status_code == 422
        assert "No LinkedIn profile URLs found" in response.get_data(as_text=True)


def test_a_url_with_text_after_it_is_refused_never_added_shorter(app, signed_in):
    html = preview(signed_in, urls="https://linkedin.com/in/a b c").get_data(as_text=True)
    assert "The URL contains spaces" in html and "Nothing new to add." in html
    assert confirm(signed_in, pending_token(html)).status_code == 200
    assert count_entries(app) == 0


@pytest.mark.parametrize(
    "data",
    [
        codecs.BOM_UTF16_LE + "linkedin.com/in/a\n".encode("utf-16-le") + b"x",
        codecs.BOM_UTF16_LE + b"\x00\xd8" + "a\n".encode("utf-16-le"),
    ],
    ids=["odd-byte-count", "lone-surrogate"],
)
def test_a_broken_utf16_upload_is_a_422_with_the_reason(signed_in, data):
    response = preview(signed_in, file=(io.BytesIO(data), "people.csv"))
    assert response.status_code == 422
    assert "not valid UTF-16" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "token",
    ["é" * 32, "ü", "\x00" * 32, "../../../../etc/passwd", "a" * 33, "a" * 31 + "\n", ""],
)
def test_a_malformed_confirm_token_is_a_400_page(app, signed_in, token):
    preview(signed_in, urls="in/a")
    response = confirm(signed_in, token)
    assert response.status_code == 400
    assert "This confirmation is not valid" in response.get_data(as_text=True)
    assert count_entries(app) == 0


def pending_rows(app) -> list[tuple[int, str]]:
    with app.app_context():
        return [
            tuple(r) for r in db.session.execute(select(PendingUpload.user_id, PendingUpload.token))
        ]


def test_replaying_an_old_session_cookie_never_stages_a_second_upload(app, signed_in, tmp_path):
    """Issue 9: replaying the cookie from before the first preview staged file after file."""
    cookie = signed_in.get_cookie("session").value
    tokens = []
    for i in range(4):
        signed_in.set_cookie("session", cookie)  # as if no preview had happened
        html = preview(signed_in, urls=f"in/person-{i}").get_data(as_text=True)
        tokens.append(pending_token(html))
        assert len(list((tmp_path / "uploads").glob("*.json"))) == 1
    assert [token for _, token in pending_rows(app)] == [tokens[-1]]
    for old in tokens[:-1]:  # the replaced ones are gone
        signed_in.set_cookie("session", cookie)
        assert confirm(signed_in, old).status_code == 409
    assert confirm(signed_in, tokens[-1]).status_code == 200
    assert count_entries(app) == 1


@pytest.fixture
def capped_app(make_app, tmp_path):
    # Room for one of the small pending uploads below (47 and 38 bytes), not two.
    return make_app(BULK_UPLOAD_DIR=str(tmp_path / "uploads"), BULK_STAGED_BYTES_PER_TEAM=60)


def two_members(app, team):
    """Two signed-in clients of members of the same team."""
    clients = []
    for email in ("member@example.com", "colleague@example.com"):
        make_member(app, team.id, email=email)
        clients.append(app.test_client())
        sign_in(clients[-1], email=email)
    return clients


def test_a_team_over_its_staged_bytes_cap_gets_a_clear_error(capped_app, team, tmp_path):
    app = capped_app
    member, colleague = two_members(app, team)
    first = pending_token(preview(member, urls="in/a\nin/b").get_data(as_text=True))
    # The member's own older upload does not count against the new one: it is replaced.
    again = pending_token(preview(member, urls="in/a\nin/b\nin/c").get_data(as_text=True))
    assert first != again
    response = preview(colleague, urls="in/x\nin/y")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "allowed" in html and "Nothing was kept" in html
    assert [token for _, token in pending_rows(app)] == [again]
    assert [p.stem for p in (tmp_path / "uploads").glob("*.json")] == [again]
    assert confirm(member, again).status_code == 200  # frees the team's room
    assert preview(colleague, urls="in/x\nin/y").status_code == 200


def age_pending_uploads(app, seconds: int) -> None:
    with app.app_context():
        for row in db.session.execute(select(PendingUpload)).scalars():
            row.created_at -= timedelta(seconds=seconds)
        db.session.commit()


def test_expired_uploads_are_removed_at_the_next_staging_and_by_the_cli(app, team, tmp_path):
    member, colleague = two_members(app, team)
    old = pending_token(preview(member, urls="in/a").get_data(as_text=True))
    age_pending_uploads(app, 3601)
    new = pending_token(preview(colleague, urls="in/b").get_data(as_text=True))
    assert [token for _, token in pending_rows(app)] == [new]
    assert [p.stem for p in (tmp_path / "uploads").glob("*.json")] == [new]
    assert confirm(member, old).status_code == 409

    age_pending_uploads(app, 3601)
    orphan = tmp_path / "uploads" / "left-by-a-crash.json"
    orphan.write_text("{}")
    result = app.test_cli_runner().invoke(args=["bulk", "sweep"])
    assert result.exit_code == 0, result.output
    assert pending_rows(app) == [] and orphan.exists()  # an orphan only once it is old
    assert list((tmp_path / "uploads").glob("*.json")) == [orphan]


# --------------------------------------------------------------------------- batch reason,
# refused lines, the whole new list


def test_one_reason_for_the_whole_batch_is_kept_with_every_entry(app, signed_in, team):
    html = preview(signed_in, urls="in/r-1\nin/r-2\n", reason="  Met at the fair  ").get_data(
        as_text=True
    )
    assert "Reason for all of them: <strong>Met at the fair</strong>" in html
    assert '<input type="hidden" name="reason" value="Met at the fair">' in html
    response = signed_in.post(
        "/bulk/confirm",
        data={
            "token": pending_token(html),
            "reason": "Met at the fair",
            "csrf_token": token_for(signed_in, "/bulk"),
        },
    )
    assert response.status_code == 200
    with app.app_context():
        reasons = db.session.execute(select(DncEntry.reason)).scalars().all()
    assert reasons == ["Met at the fair", "Met at the fair"]


def test_a_batch_reason_too_long_is_refused_before_the_preview(app, signed_in):
    response = preview(signed_in, urls="in/r-1\n", reason="x" * 5001)
    assert response.status_code == 422
    assert "Reason: reason must be at most" in response.get_data(as_text=True)


def test_invalid_lines_and_lines_not_needed_download_apart_with_why(app, signed_in, team):
    add_entries(app, team.id, ["linkedin.com/in/listed"])
    html = preview(signed_in, urls="in/ok\nin/listed\n=cmd|' /C calc'!A0\nin/ok\n").get_data(
        as_text=True
    )
    token = pending_token(html)
    assert "refused lines" not in html
    assert "1</strong> invalid: refused, fix and upload again" in html
    assert "1</strong> already on the list: skipped" in html
    assert "1</strong> repeated in this upload: taken once" in html
    invalid = f"/bulk/lines.csv?token={token}&amp;kind=invalid"
    skipped = f"/bulk/lines.csv?token={token}&amp;kind=skipped"
    assert f'href="{invalid}" download>Download the 1 invalid line, with why (CSV)' in html
    assert (
        f'href="{skipped}" download>Download the 2 lines already on the list or repeated (CSV)'
    ) in html

    def rows_of(url: str, filename: str) -> list[list[str]]:
        response = signed_in.get(url.replace("&amp;", "&"))
        assert response.mimetype == "text/csv"
        assert f'filename="{filename}"' in response.headers["Content-Disposition"]
        return list(csv.reader(io.StringIO(response.get_data(as_text=True))))

    rows = rows_of(invalid, "invalid-lines.csv")
    assert rows[0] == ["line", "input", "status", "why"]
    assert [r[:3] for r in rows[1:]] == [["3", rows[1][1], "invalid"]]
    assert rows[1][1].startswith("'=") and rows[1][3]  # formula-safe, with the reason
    assert rows_of(skipped, "already-listed-or-repeated-lines.csv")[1:] == [
        ["2", "in/listed", "already_listed", "Already on the list"],
        ["4", "in/ok", "repeated", "Repeated in this upload"],
    ]
    assert signed_in.get(f"/bulk/lines.csv?token={token}&kind=new").status_code == 404
    # Reading does not use the preview up: it can still be confirmed.
    assert confirm(signed_in, token).status_code == 200
    assert signed_in.get(invalid.replace("&amp;", "&")).status_code == 404


def test_the_done_page_offers_what_was_not_added_with_why(app, signed_in, team):
    add_entries(app, team.id, ["linkedin.com/in/listed"])
    html = preview(signed_in, urls="in/new\nin/listed\nnot a url\nin/new\n").get_data(as_text=True)
    done = confirm(signed_in, pending_token(html)).get_data(as_text=True)
    link = re.search(
        r'id="download-not-added" download href="([^"]+)">Download the 3 lines '
        r"not added, with why \(CSV\)",
        done,
    ).group(1)
    response = signed_in.get(link)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="not-added-lines.csv"' in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert [r[:3] for r in rows] == [
        ["line", "input", "status"],
        ["2", "in/listed", "already_listed"],
        ["3", "not a url", "invalid"],
        ["4", "in/new", "repeated"],
    ]
    # Only its member gets it; it goes with the next confirmation, and with the sweep.
    from tests.web_support import make_member, sign_in

    other = app.test_client()
    make_member(app, team.id, "other@example.com")
    sign_in(other, "other@example.com")
    assert other.get(link).status_code == 404
    html = preview(signed_in, urls="in/another\n").get_data(as_text=True)
    done = confirm(signed_in, pending_token(html)).get_data(as_text=True)
    assert "download-not-added" not in done  # everything was added
    assert signed_in.get(link).status_code == 404


def test_the_whole_new_list_is_browsable_by_page(app, signed_in, monkeypatch):
    monkeypatch.setattr(bulk, "NEW_PAGE_SIZE", 10)
    paste = "".join(f"https://www.linkedin.com/in/Person-{i}/\n" for i in range(25))
    html = preview(signed_in, urls=paste).get_data(as_text=True)
    token = pending_token(html)
    assert "See all 25 new profiles" in html
    page3 = signed_in.get(f"/bulk/new?token={token}&page=3").get_data(as_text=True)
    assert "21–25 of 25" in page3 and "← Previous" in page3 and "Next →" not in page3
    assert "https://<wbr>www.<wbr>linkedin.<wbr>com/<wbr>in/<wbr>Person-<wbr>20/" in page3
    assert "https://<wbr>linkedin.<wbr>com/<wbr>in/<wbr>person-<wbr>20<" in page3
    assert signed_in.get(f"/bulk/new?token={token}&page=4").status_code == 404
    assert signed_in.get("/bulk/new?token=nope").status_code == 404


def test_a_csv_reason_column_gives_each_rows_reason():
    data = (
        b"Name;Profile;Reason\n"
        b"Jane;linkedin.com/in/jane;Asked by email\n"
        b'"Doe; John";linkedin.com/in/john;"Said no; twice"\n'
        b"Max;linkedin.com/in/max;\n"
    )
    assert [(i.raw, i.reason) for i in items_from_csv(data)] == [
        ("linkedin.com/in/jane", "Asked by email"),
        ("linkedin.com/in/john", "Said no; twice"),
        ("linkedin.com/in/max", None),
    ]
    # Without a header naming it, no column is a reason.
    no_header = b"Jane;linkedin.com/in/jane;Asked by email\n"
    assert [i.reason for i in items_from_csv(no_header)] == [None]


def test_csv_reasons_are_kept_and_the_batch_reason_fills_the_rest(app, signed_in):
    data = b"profile,reason\nlinkedin.com/in/own-reason,Trade show\nlinkedin.com/in/no-reason,\n"
    html = preview(signed_in, file=(io.BytesIO(data), "people.csv"), reason="Batch").get_data(
        as_text=True
    )
    assert "Reason: Trade show" in html
    signed_in.post(
        "/bulk/confirm",
        data={
            "token": pending_token(html),
            "reason": "Batch",
            "csrf_token": token_for(signed_in, "/bulk"),
        },
    )
    with app.app_context():
        rows = dict(db.session.execute(select(DncEntry.url, DncEntry.reason)).all())
    assert rows == {
        "https://linkedin.com/in/own-reason": "Trade show",
        "https://linkedin.com/in/no-reason": "Batch",
    }
