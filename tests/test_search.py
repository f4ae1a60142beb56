"""The list's search (`q`): the same rows as a plain substring filter, whichever way the
rows are found (the newest rows scanned, then the trigram index), on every page in both
directions, with the count capped; SQLite's trigram index kept in sync by its triggers."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from dnc_app import entries
from dnc_app.changelog import Source
from dnc_app.entries import listing
from dnc_app.extensions import db
from tests.support import TEST_ACTOR, downgrade_before

# Stored (normalized) URLs: lower case, letters, digits, `-`, `_` and `.`, any script.
PROFILES = ["in/jürgen", "in/a_b", "in/ab", "in/aab", "in/über", "in/ana-maría", "in/王小明",
            "in/ßtraße", "in/İstanbul", "in/a.b", "in/jean.luc", "in/under_score",
            "in/e-e-e", "in/acme", "in/xyzzy"] + [f"in/user-{i}" for i in range(12)]
# Terms as typed into the search box, including what LIKE and FTS5 treat specially.
TERMS = ["a", "b", "ab", "_", "a_b", "a_", "_b", "%", "a%b", "\\", "\\%", "'", '"', '"a"',
         "ü", "Ü", "ÜBER", "王", "王小", "ß", "SS", "straße", "İstan", "i̇stan", "í", "maría",
         "MARÍA", "user", "USER-1", "user-1", "user-11", "in/", "linkedin.com/in/",
         "https://www.linkedin.com/in/jürgen/", "nothing", "a b", "ab AND b", "user NEAR",
         "*", "user*", "(", "ab)", "-", "--", "e-e", "..", ".b", "a.b", "xyz", "zzy",
         "e-e-e-e", "company", "acme ", "^user", "user:1", "{in}", "[a]"]


def add_all(team_id: str, urls: list[str]) -> None:
    for url in urls:
        entries.add_entry(team_id, url, source=Source.CLI, actor=TEST_ACTOR)


def brute_force(app, team_id: str, q: str) -> list[str]:
    """The team's URLs containing the search form of `q`, newest first."""
    with app.app_context():
        stored = [e.url for e in entries.list_entries(team_id, limit=1000).entries]
    return [url for url in stored if q.lower() in url]


def every_page(team_id: str, where, limit: int) -> tuple[list[str], list[str]]:
    """All pages newest first following `older` cursors, then back following `newer`."""
    forward, cursors, page = [], [], listing.browse(team_id, where, limit=limit)
    forward += [e.url for e in page.entries]
    while page.older:
        cursors.append(page.older)
        page = listing.browse(team_id, where, limit=limit, older_than=page.older)
        forward += [e.url for e in page.entries]
    backward = [e.url for e in page.entries]
    while page.newer:
        page = listing.browse(team_id, where, limit=limit, newer_than=page.newer)
        backward = [e.url for e in page.entries] + backward
    return forward, backward


@pytest.fixture
def small_windows(monkeypatch):
    """Windows and cap small enough that a page and a count use the scan and the index."""
    monkeypatch.setattr(listing, "PAGE_WINDOW", 3)
    monkeypatch.setattr(listing, "COUNT_WINDOW", 4)
    monkeypatch.setattr(listing, "COUNT_CAP", 5)


@pytest.fixture
def searched(app, team, make_team):
    """The team's profiles, with another team's copies of them interleaved (older and
    newer), so that the index's matches include rows the team filter must drop."""
    other = make_team("Other", "other")
    with app.app_context():
        add_all(other.id, PROFILES[::2])
        add_all(team.id, PROFILES)
        add_all(other.id, PROFILES[1::2])
    return team


@pytest.mark.parametrize("term", TERMS)
def test_search_finds_what_a_substring_filter_finds(app, searched, small_windows, term):
    q = entries.search_term(term)
    expected = brute_force(app, searched.id, q)
    where = listing.ListFilter(q=q)
    with app.app_context():
        for limit in (2, 50):
            forward, backward = every_page(searched.id, where, limit)
            assert forward == expected and backward == expected
        page = listing.browse(searched.id, where, limit=2)
        assert (page.total, page.more) == ((len(expected), False) if len(expected) <= 5
                                           else (6, True))
        assert listing.count_matches(searched.id, where) == (
            min(len(expected), 6), len(expected) > 5)


def test_search_is_the_same_with_the_real_windows(app, searched):
    with app.app_context():
        for term in ("user", "a", "ab", "üb", "nothing", "user-1"):
            q = entries.search_term(term)
            forward, backward = every_page(searched.id, listing.ListFilter(q=q), 3)
            assert forward == backward == brute_force(app, searched.id, q)


def test_search_with_source_and_dates_keeps_every_filter(app, searched, small_windows):
    with app.app_context():
        entries.add_entry(searched.id, "in/user-api", source=Source.API, actor=TEST_ACTOR)
        where = listing.ListFilter(q="user", source=Source.API.value)
        forward, backward = every_page(searched.id, where, 1)
        assert forward == backward == ["https://linkedin.com/in/user-api"]
        assert listing.count_matches(searched.id, where) == (1, False)


def test_the_page_shows_a_capped_total_beyond_1000(app, signed_in, team):
    with app.app_context():
        entries.add_entries(team.id, [f"in/jane-{i}" for i in range(1001)] + ["in/john"],
                            source=Source.CLI, actor=TEST_ACTOR)
    html = signed_in.get("/entries?q=jane").get_data(as_text=True)
    assert "1,001+ entries match “jane”" in html and "1–50 of 1,001+" in html
    html = signed_in.get("/entries?q=jane-100").get_data(as_text=True)
    # jane-100 and jane-1000: exact, from the first page alone.
    assert re.search(r"\b2 entries match “jane-100”", html)
    assert "1–50 of 1,002" in signed_in.get("/entries").get_data(as_text=True)


# --------------------------------------------------------------------------- SQLite's index


def indexed_seqs(term: str) -> set[int]:
    """The rowids the FTS index alone answers for `term` (no LIKE re-check)."""
    from dnc_app.search import trigram_query

    found = set(db.session.execute(
        text("SELECT rowid FROM dnc_entry_fts WHERE dnc_entry_fts MATCH :q"),
        {"q": trigram_query(term)}).scalars())
    db.session.rollback()  # no read transaction left open before the next write
    return found


def stored_seqs(term: str) -> set[int]:
    return set(db.session.execute(text("SELECT seq FROM dnc_entry WHERE instr(url, :t) > 0"),
                                  {"t": term}).scalars())


def assert_in_sync(*terms: str) -> None:
    db.session.execute(text("INSERT INTO dnc_entry_fts(dnc_entry_fts) VALUES ('integrity-check')"))
    db.session.commit()
    for term in terms:
        assert indexed_seqs(term) == stored_seqs(term), term
    db.session.rollback()


@pytest.mark.database("sqlite")  # the FTS5 index is SQLite's (PostgreSQL: pg_trgm)
def test_a_nul_leaves_the_index_query_valid(app, searched, small_windows, monkeypatch):
    """The address refuses a NUL (400) before a search; the service copes anyway, with
    the scan's results (SQLite's LIKE reads its pattern up to the NUL)."""
    from dnc_app.search import trigram_query

    assert trigram_query('a\x00b"cd') == '"b""c" AND """cd"'
    assert trigram_query("ab\x00") is None
    with app.app_context():
        for q in ("user-1\x00", "\x00user", "ab\x00cd"):
            where = listing.ListFilter(q=q)
            found = every_page(searched.id, where, 2)
            with monkeypatch.context() as patch:
                patch.setattr(listing, "_trigram_query", lambda q: None)  # the scan alone
                assert found == every_page(searched.id, where, 2)


@pytest.mark.database("sqlite")  # the FTS5 index is SQLite's (PostgreSQL: pg_trgm)
def test_the_index_follows_every_write(app, team, make_team):
    with app.app_context():
        added = entries.add_entry(team.id, "in/solo-one", source=Source.CLI, actor=TEST_ACTOR)
        entries.add_entries(team.id, ["in/bulk-one", "in/bulk-two"], source=Source.CLI,
                            actor=TEST_ACTOR)
        assert_in_sync("solo-one", "bulk-", "in/")
        assert len(indexed_seqs("bulk-")) == 2
        entries.remove_entry(team.id, added.id, source=Source.CLI, actor=TEST_ACTOR)
        assert indexed_seqs("solo-one") == set()
        assert_in_sync("solo-one", "bulk-", "in/")
        # A team's rows leave the index with it (the foreign key's cascade).
        other = make_team("Gone", "gone")
        entries.add_entries(other.id, ["in/bulk-three"], source=Source.CLI, actor=TEST_ACTOR)
        assert len(indexed_seqs("bulk-")) == 3
        db.session.execute(text("DELETE FROM team WHERE id = :id"), {"id": other.id})
        db.session.commit()
        assert_in_sync("bulk-", "in/")
        assert len(indexed_seqs("bulk-")) == 2


@pytest.mark.database("sqlite")  # the FTS5 index is SQLite's (PostgreSQL: pg_trgm)
def test_the_index_drives_the_query(app, team):
    """The FTS table is the outer loop (its rowids come in order, the page stops early),
    not a probe per row of the team."""
    with app.app_context():
        span = listing._Span(before=10**9)
        stmt = listing._indexed([listing.sql.ENTRIES.c.seq],
                                listing._conditions(team.id, listing.ListFilter(q="user")),
                                span, '"use"').limit(5)
        compiled = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
        plan = [row[-1] for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))]
        assert plan[0].startswith("SCAN dnc_entry_fts VIRTUAL TABLE"), plan
        assert "INTEGER PRIMARY KEY" in plan[1], plan


@pytest.mark.database("sqlite")  # the FTS5 index is SQLite's (PostgreSQL: pg_trgm)
def test_migration_0015_indexes_existing_rows_and_goes_back(app, team):
    from flask_migrate import upgrade

    with app.app_context():
        entries.add_entries(team.id, ["in/kept-1", "in/kept-2"], source=Source.CLI,
                            actor=TEST_ACTOR)
        downgrade_before(app, "0015")
        assert not db.session.execute(text(
            "SELECT name FROM sqlite_master WHERE name LIKE 'dnc_entry_fts%'")).all()
        # Written without the index: the search scans, with the same results.
        entries.add_entries(team.id, [f"in/kept-{i}" for i in range(3, 25)], source=Source.CLI,
                            actor=TEST_ACTOR)
        expected = brute_force(app, team.id, "kept-1")
        assert [e.url for e in listing.browse(team.id, listing.ListFilter(q="kept-1")).entries
                ] == expected
        db.session.remove()
        upgrade()
        assert_in_sync("kept-", "kept-1", "in/")
        assert len(indexed_seqs("kept-")) == 24
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(listing, "PAGE_WINDOW", 2)  # the index answers most of the page
            assert [e.url for e in listing.browse(team.id, listing.ListFilter(q="kept-1"))
                    .entries] == expected

