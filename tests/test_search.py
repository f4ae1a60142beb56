"""The list's search (`q`): the same rows as a plain substring filter, whichever way the
rows are found (nothing read when no row can match, the newest rows scanned, then the
trigram index), on every page in both directions, with the count capped; SQLite's trigram
index of the usernames kept in sync by its triggers."""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from sqlalchemy import event, literal, select, text

from dnc_app.domain import entries
from dnc_app.domain.changelog import Source
from dnc_app.domain.entries import listing
from dnc_app.extensions import db
from dnc_app.storage.search import (
    BUCKET_BITS,
    EVERY,
    NONE,
    SQLITE_INDEXED_TEXT,
    username_fts_query,
    username_grams,
    username_search,
)
from dnc_app.storage.search import ascii_lower as search_ascii_lower
from tests.support import TEST_ACTOR, downgrade_before

# Stored (normalized) URLs: lower case, letters, digits, `-`, `_` and `.`, any script.
PROFILES = (
    [
        "in/jürgen",
        "in/a_b",
        "in/ab",
        "in/aab",
        "in/über",
        "in/ana-maría",
        "in/王小明",
        "in/ßtraße",
        "in/İstanbul",
        "in/a.b",
        "in/jean.luc",
        "in/under_score",
        "in/e-e-e",
        "in/acme",
        "in/xyzzy",
    ]
    + [f"in/user-{i}" for i in range(12)]
    + [
        # Member tokens and Sales Navigator leads keep their case (ASCII letters only).
        "in/ACoAAA7IcPoBXbqAQFGCjTLHAhmm13BgChs-P5g",
        "in/ACoAAB8xWzUser1_abcdefghijklmnopqrs0123",
        "linkedin.com/sales/lead/ACwAAA7IcPoBXbqAQFGCjTLHAhmm13BgChs_P5g,NAME_SEARCH,x",
        "linkedin.com/sales/people/ACwAABuser-1Kk",
        "linkedin.com/sales/lead/ACwAAlead",
    ]
)
# Terms as typed into the search box, including what LIKE and FTS5 treat specially.
TERMS = [
    "a",
    "b",
    "ab",
    "_",
    "a_b",
    "a_",
    "_b",
    "%",
    "a%b",
    "\\",
    "\\%",
    "'",
    '"',
    '"a"',
    "ü",
    "Ü",
    "ÜBER",
    "王",
    "王小",
    "ß",
    "SS",
    "straße",
    "İstan",
    "i̇stan",
    "í",
    "maría",
    "MARÍA",
    "user",
    "USER-1",
    "user-1",
    "user-11",
    "in/",
    "linkedin.com/in/",
    "https://www.linkedin.com/in/jürgen/",
    "nothing",
    "a b",
    "ab AND b",
    "user NEAR",
    "*",
    "user*",
    "(",
    "ab)",
    "-",
    "--",
    "e-e",
    "..",
    ".b",
    "a.b",
    "xyz",
    "zzy",
    "e-e-e-e",
    "company",
    "acme ",
    "^user",
    "user:1",
    "{in}",
    "[a]",
    # In the prefix `https://linkedin.com/in/` (every URL), across its end, beside it.
    "h",
    "k",
    "/",
    "//",
    ":",
    "n/",
    "/in/",
    "https://linkedin.com/in/",
    "in/a",
    "n/ab",
    "/in/u",
    "m/in/user-1",
    "com/in/a_b",
    "/ab",
    "x/ab",
    "in/ab/",
    "kedin",
    "linkedin.com/in/user-11",
    "https:/",
    "ab/",
    "/in/in/ab",
    # Tokens and leads, in any case, whole or in part, with their prefixes.
    "ACoAAA7IcPoBX",
    "acoaaa7icpobx",
    "CoAAB8",
    "chs-p5g",
    "ACwAA",
    "acw",
    "Aa",
    "sales",
    "lead",
    "SALES/LEAD/acwaab",
    "sales/lead/",
    "/lead/",
    "lead/acw",
    "com/sales",
    "https://linkedin.com/sales/lead/ACwAAA7IcPoBXbqAQFGCjTLHAhmm13BgChs_P5g",
    "linkedin.com/sales/lead/acwaaa7",
    "ales/",
    "s/l",
    "le",
    "d/a",
    "in/ACoAAB8",
    "/sales/people/ACwAAB",
    "user-1x",
    # Never in a username: '$' (the index's padding), '%', spaces, NUL.
    "$",
    "a$",
    "b$$",
    "user-1$",
    "$$",
    "%a",
    "a\x00",
    "\x00",
    "user-1\x00",
    # 1-2 characters in some usernames or in none.
    "q",
    "zq",
    "y",
    "yz",
    "ü",
    "王",
    "-1",
    "1",
    "r",
    "ç",
    "\U0010ffff",
]


def add_all(team_id: str, urls: list[str]) -> None:
    for url in urls:
        entries.add_entry(team_id, url, source=Source.CLI, actor=TEST_ACTOR)


def brute_force(app, team_id: str, q: str) -> list[str]:
    """The team's URLs containing the search form of `q`, newest first."""
    with app.app_context():
        stored = [e.url for e in entries.list_entries(team_id, limit=1000).entries]
    return [url for url in stored if q.lower() in ascii_lower(url)]


def ascii_lower(url: str) -> str:
    """What the search compares: a token's ASCII letters in any case (SQLite's LIKE)."""
    return "".join(c.lower() if c.isascii() else c for c in url)


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
    newer), so that the index's matches include rows the team filter must drop. SQLite:
    all of them in the index (it takes new entries in batches: see index_upto)."""
    other = make_team("Other", "other")
    with app.app_context():
        add_all(other.id, PROFILES[::2])
        add_all(team.id, PROFILES)
        add_all(other.id, PROFILES[1::2])
        if db.engine.dialect.name == "sqlite":
            index_upto(max_seq())
    return team


def max_seq() -> int:
    return db.session.execute(text("SELECT coalesce(max(seq), 0) FROM dnc_entry")).scalar_one()


def index_upto(seq: int) -> None:
    """SQLite: the index holds exactly the entries up to `seq` (its invariant, migration
    0017), as if its batches had stopped there."""
    db.session.execute(
        text("INSERT INTO dnc_entry_fts_username(dnc_entry_fts_username) VALUES ('delete-all')")
    )
    db.session.execute(
        text(
            "INSERT INTO dnc_entry_fts_username(rowid, username) "
            "SELECT seq, "
            + SQLITE_INDEXED_TEXT.format(row="dnc_entry")
            + " FROM dnc_entry WHERE seq <= :s"
        ),
        {"s": seq},
    )
    db.session.execute(text("UPDATE dnc_entry_fts_state SET indexed_upto = :s"), {"s": seq})
    db.session.commit()


def indexed_upto() -> int:
    return db.session.execute(text("SELECT indexed_upto FROM dnc_entry_fts_state")).scalar_one()


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
        assert (page.total, page.more) == (
            (len(expected), False) if len(expected) <= 5 else (6, True)
        )
        assert listing.count_matches(searched.id, where) == (
            min(len(expected), 6),
            len(expected) > 5,
        )


@pytest.mark.database("sqlite")  # the FTS5 index is SQLite's (PostgreSQL: 0018's)
def test_search_is_the_same_whatever_the_index_has_taken(app, searched, small_windows):
    """The index lags behind the newest entries (migration 0017): nothing, half or all of
    the team's entries in it, a search finds the same rows, newest first and back."""
    with app.app_context():
        seqs = sorted(db.session.execute(text("SELECT seq FROM dnc_entry")).scalars())
        for upto in (0, seqs[len(seqs) // 2], seqs[-1]):
            index_upto(upto)
            for term in TERMS:
                q = entries.search_term(term)
                where = listing.ListFilter(q=q)
                expected = brute_force(app, searched.id, q)
                assert every_page(searched.id, where, 2) == (expected, expected), (upto, term)
                assert listing.count_matches(searched.id, where) == (
                    min(len(expected), 6),
                    len(expected) > 5,
                ), (upto, term)


def test_a_window_lies_between_the_teams_own_rows(app, searched):
    """The scans' bounds are the team's rows (the other team's are older and newer), so
    no plan walks the other team's rows to reach them."""
    with app.app_context():
        seqs = sorted(
            db.session.execute(
                text("SELECT seq FROM dnc_entry WHERE team_id = :t"), {"t": searched.id}
            ).scalars()
        )
        span, edge = listing._window(searched.id, listing._Span(), 3)
        assert (span.after, span.before, edge) == (None, seqs[-1] + 1, seqs[-3])
        span, edge = listing._window(searched.id, listing._Span(ascending=True), 3)
        assert (span.after, span.before, edge) == (seqs[0] - 1, None, seqs[2])
        span, edge = listing._window(searched.id, listing._Span(before=seqs[2]), 5)
        assert (span.after, span.before, edge) == (seqs[0] - 1, seqs[1] + 1, None)
        assert listing._window(searched.id, listing._Span(before=seqs[0]), 5) is None


@pytest.mark.database("postgresql")
def test_postgresql_folds_the_ascii_letters_only(app):
    """lower() in the C collation: what SQLite's LIKE folds, whatever the locale."""
    texts = ["in/ACoAAB8xWzUser1_", "in/İstanbul-ÉÀ", "in/ǅungla-ßZ", "in/王小明-Q", "Z$%_\\"]
    with app.app_context():
        for url in texts:
            folded = db.session.execute(select(search_ascii_lower(literal(url)))).scalar_one()
            assert folded == ascii_lower(url)


@pytest.mark.database("postgresql")
def test_the_index_keys_fold_as_before_migration_0030(app):
    """0030's key function gives 0026's keys (so the index needs no rebuild): the ASCII
    letters lowered, every other character kept, for profiles, tokens and leads."""
    from flask_migrate import upgrade

    urls = [
        "https://linkedin.com/in/ACoAAB8xWzUser1_",
        "https://linkedin.com/in/İstanbul-ÉÀ-ǅungla-ßZ",
        "https://linkedin.com/in/王小明-Q",
        "https://linkedin.com/sales/lead/ACwAAZ9,NAME_SEARCH,Xy",
    ]
    keys = text("SELECT dnc_entry_search_keys('t1', 40000, :url)")
    with app.app_context():
        now = [db.session.execute(keys, {"url": url}).scalar_one() for url in urls]
        downgrade_before(app, "0030")
        before = [db.session.execute(keys, {"url": url}).scalar_one() for url in urls]
        db.session.remove()
        upgrade()
    assert now == before
    assert now[0][:3] == ["t1:1:a", "t1:1:ac", "t1:1:aco"]  # the token's letters lowered
    assert now[1][:3] == ["t1:1:İ", "t1:1:İs", "t1:1:İst"]  # every other character kept
    assert now[3][:3] == ["t1:1:s", "t1:1:sa", "t1:1:sal"]  # a lead: from `sales/lead/`


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
        entries.add_entries(
            team.id,
            [f"in/jane-{i}" for i in range(1001)] + ["in/john"],
            source=Source.CLI,
            actor=TEST_ACTOR,
        )
    html = signed_in.get("/entries?q=jane").get_data(as_text=True)
    assert "1,001+ entries match “jane”" in html and "1–50 of 1,001+" in html
    html = signed_in.get("/entries?q=jane-100").get_data(as_text=True)
    # jane-100 and jane-1000: exact, from the first page alone.
    assert re.search(r"\b2 entries match “jane-100”", html)
    assert "1–50 of 1,002" in signed_in.get("/entries").get_data(as_text=True)


# --------------------------------------------------------------------------- what a term asks


@pytest.mark.parametrize(
    ("term", "wanted"),
    [
        # (a) a piece of the prefix: every URL.
        ("k", EVERY),
        ("HTTPS", EVERY),
        ("/", EVERY),
        ("linkedin.com/in/", EVERY),
        (":/", EVERY),
        # (b) a '/': what precedes its last '/' must end the prefix, the rest starts the username.
        ("in/ab", username_search("ab")),
        ("/AB", username_search("ab")),
        ("https://linkedin.com/in/jo", username_search("jo")),
        ("m/in/j", username_search("j")),
        ("x/ab", NONE),
        ("in/ab/", NONE),
        ("/in/in/ab", NONE),
        ("www.linkedin.com/in/a", NONE),
        # (c) no '/': anywhere in the username.
        ("Ab", username_search("ab")),
        ("us", username_search("us")),
        ("王小", username_search("王小")),
        # Never in a username.
        ("a$", NONE),
        ("$", NONE),
        ("a%", NONE),
        ("a b", NONE),
        ("a\x00", NONE),
        ("\x00", NONE),
        ("a\u00a0", NONE),
        ("a\u2028", NONE),
        ("a\ud800", NONE),
        ("in/a$", NONE),
    ],
)
def test_what_a_term_asks_of_the_username(term, wanted):
    assert username_search(term) == wanted
    assert username_search("Ab").text == "ab"


def test_the_terms_after_a_prefix_skip_surrogates_and_end_at_the_last_code_point():
    from dnc_app.storage.search import _after_prefix

    assert (_after_prefix("ab"), _after_prefix("\ud7ff"), _after_prefix("a\U0010ffff")) == (
        "ac",
        "\ue000",
        None,
    )


def test_a_term_that_cannot_match_reads_nothing(app, searched, small_windows):
    """No statement at all, on either database, for a term no URL can hold."""
    where = listing.ListFilter(q="x/user")
    with app.app_context(), statements() as seen:
        assert listing.browse(searched.id, where, limit=2).entries == []
        assert listing.count_matches(searched.id, where) == (0, False)
        assert entries.list_entries(searched.id, q="user$").entries == []
    assert seen == []


# --------------------------------------------------------------------------- SQLite's index


@contextmanager
def statements(with_params: bool = False):
    """The SQL statements run meanwhile (a list, filled as they run), or (statement,
    parameters) pairs."""
    seen: list = []

    def record(conn, cursor, statement, params, *args):
        seen.append((statement, params) if with_params else statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def indexed_seqs(username: str) -> set[int]:
    """The rowids the FTS index alone answers for a username's text (no LIKE re-check)."""
    query = username_fts_query(db.session.connection(), username)
    found = (
        set()
        if query is None
        else set(
            db.session.execute(
                text(
                    "SELECT rowid FROM dnc_entry_fts_username WHERE dnc_entry_fts_username MATCH :q"
                ),
                {"q": query},
            ).scalars()
        )
    )
    db.session.rollback()  # no read transaction left open before the next write
    return found


def stored_seqs(username: str) -> set[int]:
    return set(
        db.session.execute(
            text("SELECT seq FROM dnc_entry WHERE instr(substr(url, 25) || '$$', :t) > 0"),
            {"t": username},
        ).scalars()
    )


def indexed_rows() -> int:
    """How many rows the index holds: each has one term ending with the `$$` padding."""
    return db.session.execute(
        text(
            "SELECT coalesce(sum(doc), 0) FROM dnc_entry_fts_username_terms "
            "WHERE substr(term, 2) = '$$'"
        )
    ).scalar_one()


def assert_in_sync(*usernames: str) -> None:
    """The index holds exactly the entries up to its position (migration 0017)."""
    db.session.execute(
        text(
            "INSERT INTO dnc_entry_fts_username(dnc_entry_fts_username) VALUES ('integrity-check')"
        )
    )
    db.session.commit()
    upto = indexed_upto()
    for username in usernames:
        assert indexed_seqs(username) == {s for s in stored_seqs(username) if s <= upto}, username
    assert (
        indexed_rows()
        == db.session.execute(
            text("SELECT count(*) FROM dnc_entry WHERE seq <= :s"), {"s": upto}
        ).scalar_one()
    )
    db.session.rollback()


@pytest.mark.database("sqlite")  # the FTS5 index is SQLite's (PostgreSQL: 0018's)
def test_a_nul_leaves_the_index_query_valid(app, searched, small_windows, monkeypatch):
    """The address refuses a NUL (400) before a search; the service copes anyway: no URL
    holds a NUL, so nothing is found (SQLite's LIKE alone would read its pattern only up
    to the NUL)."""
    from dnc_app.storage.search import trigram_query

    assert trigram_query('a\x00b"cd') == '"b""c" AND """cd"'
    assert trigram_query("ab\x00") is None
    with app.app_context():
        for q in ("user-1\x00", "\x00user", "ab\x00cd"):
            where = listing.ListFilter(q=q)
            found = every_page(searched.id, where, 2)
            assert found == ([], []) == (brute_force(app, searched.id, q),) * 2
            with monkeypatch.context() as patch:  # the scan alone
                patch.setattr(listing, "_search", lambda q: listing._Search(q))
                assert every_page(searched.id, where, 2) != found  # the LIKE's own answer


@pytest.mark.database("sqlite")  # the FTS5 index is SQLite's (PostgreSQL: 0018's)
def test_short_terms_use_the_index_and_read_no_entry_when_it_has_none(app, searched, small_windows):
    with app.app_context():
        for term, found in (("y", "xyzzy"), ("zy", "xyzzy"), ("ü", "über")):
            with statements() as seen:
                page = listing.browse(searched.id, listing.ListFilter(q=term), limit=50)
            assert found in page.entries[0].url
            assert any("FROM dnc_entry_fts_username_terms" in s for s in seen), seen
            assert any("MATCH" in s for s in seen), seen
        # The trigrams that start with "u" (in jean.luc, i̇stanbul, under_score, user-…;
        # über starts with another letter), in the index's order.
        assert username_fts_query(db.session.connection(), "u") == (
            '"uc$" OR "ul$" OR "und" OR "use"'
        )
        with statements() as seen:
            assert listing.browse(searched.id, listing.ListFilter(q="zq"), limit=2).entries == []
        # The newest rows are read (the window), then the index's terms, then nothing.
        assert not any("MATCH" in s for s in seen), seen
        assert sum("FROM dnc_entry_fts_username_terms" in s for s in seen) == 1, seen


@pytest.mark.database("sqlite")  # the FTS5 index is SQLite's (PostgreSQL: 0018's)
def test_the_index_follows_every_write(app, team, make_team):
    with app.app_context():
        index_upto(max_seq() + 100)  # entries are indexed as they are written
        added = entries.add_entry(team.id, "in/solo-one", source=Source.CLI, actor=TEST_ACTOR)
        entries.add_entries(
            team.id, ["in/bulk-one", "in/bulk-two"], source=Source.CLI, actor=TEST_ACTOR
        )
        assert_in_sync("solo-one", "bulk-", "o", "ne", "e$")
        assert len(indexed_seqs("bulk-")) == 2
        entries.remove_entry(team.id, added.id, source=Source.CLI, actor=TEST_ACTOR)
        assert indexed_seqs("solo-one") == set()
        assert_in_sync("solo-one", "bulk-", "o", "so")
        # A URL changed in place (no service does it; the trigger covers it).
        db.session.execute(
            text(
                "UPDATE dnc_entry SET url = 'https://linkedin.com/in/swapped' "
                "WHERE url LIKE '%bulk-two'"
            )
        )
        db.session.commit()
        assert_in_sync("bulk-", "swapped", "tw", "w")
        # A team's rows leave the index with it (the foreign key's cascade).
        other = make_team("Gone", "gone")
        entries.add_entries(other.id, ["in/bulk-three"], source=Source.CLI, actor=TEST_ACTOR)
        assert len(indexed_seqs("bulk-")) == 2
        db.session.execute(text("DELETE FROM team WHERE id = :id"), {"id": other.id})
        db.session.commit()
        assert_in_sync("bulk-", "thr", "e")
        assert len(indexed_seqs("bulk-")) == 1


@pytest.mark.database("sqlite")  # the FTS5 index is SQLite's (PostgreSQL: 0018's)
def test_a_removal_of_many_keeps_the_index_and_the_hour_counts(app, team):
    """No delete trigger (migration 0029): the service takes the removed entries out of the
    index and the hour counts, indexed or not, erased or not, in one statement each."""
    from tests.test_dashboard import hour_counts

    with app.app_context():
        added = entries.add_entries(
            team.id, [f"in/many-{i}" for i in range(8)], source=Source.CLI, actor=TEST_ACTOR
        )
        ids = [item.entry_id for item in added.items]
        index_upto(max_seq() - 3)  # the last three are past the index's position
        entries.erase_entry(team.id, ids[2], source=Source.CLI, actor=TEST_ACTOR)
        result = entries.remove_entries(
            team.id,
            ids=[ids[1], ids[2], ids[5], ids[6], ids[1]],
            reason="Done",
            source=Source.CLI,
            actor=TEST_ACTOR,
            may_remove_optouts=True,  # the erased one too
        )
        assert [item.status for item in result.items] == ["removed"] * 4 + ["not_found"]
        assert_in_sync("many-", "y-1", "y-5", "6", "y")
        assert len(indexed_seqs("many-")) == 3 and len(stored_seqs("many-")) == 4
        kept, counted = hour_counts()
        assert kept == counted and sum(counted.values()) == 4
        # A team's removal takes its entries out of the index (a trigger on the team).
        db.session.execute(text("DELETE FROM team WHERE id = :id"), {"id": team.id})
        db.session.commit()
        assert_in_sync("many-", "y")
        assert indexed_seqs("many-") == set()


@pytest.mark.database("sqlite")  # the FTS5 index is SQLite's (PostgreSQL: 0018's)
def test_migration_0029_goes_back_to_the_delete_triggers(app, team):
    from flask_migrate import upgrade

    def triggers() -> set[str]:
        return set(
            db.session.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
            .scalars()
            .all()
        )

    deleting = {"dnc_entry_count_delete", "dnc_entry_fts_username_delete"}
    with app.app_context():
        index_upto(max_seq() + 100)
        add_kept(team.id, range(1, 7))
        assert not deleting & triggers() and "dnc_entry_fts_username_team_delete" in triggers()
        downgrade_before(app, "0029")
        assert deleting <= triggers() and "dnc_entry_fts_username_team_delete" not in triggers()
        # The old triggers keep the index for a DELETE by hand.
        db.session.execute(text("DELETE FROM dnc_entry WHERE url LIKE '%kept-2'"))
        db.session.commit()
        assert_in_sync("kept-", "t-2")
        db.session.remove()
        upgrade()
        assert not deleting & triggers()
        entries.remove_entries(
            team.id, urls=["in/kept-3", "in/kept-4"], source=Source.CLI, actor=TEST_ACTOR
        )
        assert_in_sync("kept-", "t-3", "t-4")
        assert len(indexed_seqs("kept-")) == 3


# Migration 0017: the index takes the entries past its position once they are this many.
LAG = 1000


@pytest.mark.database("sqlite")  # the FTS5 index is SQLite's (PostgreSQL: 0018's)
def test_the_index_takes_new_entries_in_batches(app, team):
    def add(*names: str):
        return entries.add_entries(
            team.id, [f"in/{name}" for name in names], source=Source.CLI, actor=TEST_ACTOR
        )

    with app.app_context():
        start = max_seq()
        index_upto(start)
        add(*(f"batch-{i}" for i in range(LAG - 1)))
        assert indexed_upto() == start and indexed_seqs("batch-") == set()
        # Not in the index yet, found all the same (the entries past it are scanned).
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(listing, "PAGE_WINDOW", 2)
            found = [e.url for e in listing.browse(team.id, listing.ListFilter(q="ch-99")).entries]
        assert found == brute_force(app, team.id, "ch-99") and len(found) == 10
        # The LAG-th entry takes all of them into the index, in its own transaction.
        last = entries.add_entry(team.id, "in/the-last", source=Source.CLI, actor=TEST_ACTOR)
        assert indexed_upto() == last.seq == start + LAG
        assert len(indexed_seqs("batch-")) == LAG - 1
        assert_in_sync("batch-", "the-last", "9")
        # SQLite gives the newest entry's seq again after its removal: indexed at once.
        entries.remove_entry(team.id, last.id, source=Source.CLI, actor=TEST_ACTOR)
        reused = entries.add_entry(team.id, "in/reused", source=Source.CLI, actor=TEST_ACTOR)
        assert reused.seq == last.seq and indexed_seqs("reused") == {reused.seq}
        assert_in_sync("the-last", "reused")
        # Past the position: not indexed, and its removal leaves the index alone (a
        # contentless index told to delete a row it lacks would fail its integrity check).
        newer = entries.add_entry(team.id, "in/newer", source=Source.CLI, actor=TEST_ACTOR)
        assert indexed_seqs("newer") == set()
        entries.remove_entry(team.id, newer.id, source=Source.CLI, actor=TEST_ACTOR)
        assert_in_sync("newer", "reused", "batch-")
        # One statement crossing the position: indexed up to the row that reached it.
        before = max_seq()
        assert before == indexed_upto()
        add(*(f"cross-{i}" for i in range(LAG + 500)))
        assert indexed_upto() == before + LAG and max_seq() == before + LAG + 500
        assert_in_sync("cross-", "batch-", "5")


@pytest.mark.database("sqlite")  # the FTS5 index is SQLite's (PostgreSQL: 0018's)
def test_the_index_drives_the_query(app, team):
    """The FTS table is the outer loop (its rowids come in order, the page stops early),
    not a probe per row of the team."""
    with app.app_context():
        span = listing._Span(before=10**9)
        stmt = listing._indexed(
            team.id,
            [listing.sql.ENTRIES.c.seq],
            listing._conditions(team.id, listing.ListFilter(q="user")),
            span,
            '"use"',
            limit=5,
        )
        compiled = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
        plan = [row[-1] for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))]
        assert plan[0].startswith("SCAN dnc_entry_fts_username VIRTUAL TABLE"), plan
        assert "INTEGER PRIMARY KEY" in plan[1], plan


def fts_names() -> set[str]:
    """The FTS tables, their shadow tables and triggers in the schema."""
    return {
        row[0]
        for row in db.session.execute(
            text("SELECT name FROM sqlite_master WHERE name LIKE 'dnc_entry_fts%'")
        )
    }


def later_entry_columns(present: bool) -> None:
    """Below migration 0021 the app's entry statements still read `protected` (and below
    0027 `aliases` and the identifiers' table): add them while these tests work at an
    older revision, and drop them before upgrading again."""
    db.session.remove()
    if present:
        db.session.execute(
            text("ALTER TABLE dnc_entry ADD COLUMN protected BOOLEAN NOT NULL DEFAULT false")
        )
        db.session.execute(text("ALTER TABLE dnc_entry ADD COLUMN aliases TEXT"))
        db.session.execute(
            text(
                "CREATE TABLE dnc_identifier (team_id VARCHAR(40), sha256 VARCHAR(64), "
                "entry_seq BIGINT, url VARCHAR(255), created_at TIMESTAMP, "
                "PRIMARY KEY (team_id, sha256))"
            )
        )
    else:
        db.session.execute(text("ALTER TABLE dnc_entry DROP COLUMN protected"))
        db.session.execute(text("ALTER TABLE dnc_entry DROP COLUMN aliases"))
        db.session.execute(text("DROP TABLE dnc_identifier"))
    db.session.commit()
    db.session.remove()


def add_kept(team_id: str, numbers) -> None:
    entries.add_entries(
        team_id, [f"in/kept-{i}" for i in numbers], source=Source.CLI, actor=TEST_ACTOR
    )


@pytest.mark.database("sqlite")  # the FTS5 index is SQLite's (PostgreSQL: 0018's)
def test_migration_0015_indexes_existing_rows_and_goes_back(app, team):
    from flask_migrate import upgrade

    with app.app_context():
        add_kept(team.id, (1, 2))
        downgrade_before(app, "0015")
        later_entry_columns(True)
        assert not fts_names()
        # Written without the index: the search scans, with the same results.
        add_kept(team.id, range(3, 25))
        expected = brute_force(app, team.id, "kept-1")
        assert [
            e.url for e in listing.browse(team.id, listing.ListFilter(q="kept-1")).entries
        ] == expected
        later_entry_columns(False)
        upgrade()
        assert_in_sync("kept-", "kept-1", "k", "-2")
        assert len(indexed_seqs("kept-")) == 24
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(listing, "PAGE_WINDOW", 2)  # the index answers most of the page
            assert [
                e.url for e in listing.browse(team.id, listing.ListFilter(q="kept-1")).entries
            ] == expected


def old_index_seqs(term: str) -> set[int]:
    """What 0015's index of whole URLs answers for a term of 3 characters or more."""
    from dnc_app.storage.search import trigram_query

    return set(
        db.session.execute(
            text("SELECT rowid FROM dnc_entry_fts WHERE dnc_entry_fts MATCH :q"),
            {"q": trigram_query(term)},
        ).scalars()
    )


@pytest.mark.database("sqlite")  # the FTS5 index is SQLite's (PostgreSQL: 0018's)
def test_migration_0016_replaces_0015s_index_and_goes_back(app, team):
    from flask_migrate import upgrade

    with app.app_context():
        add_kept(team.id, (1, 2))
        downgrade_before(app, "0016")
        later_entry_columns(True)
        names = fts_names()
        assert "dnc_entry_fts" in names and "dnc_entry_fts_insert" in names
        assert not {name for name in names if name.startswith("dnc_entry_fts_username")}
        # 0015's index holds the rows written under 0016, and its triggers index new ones.
        add_kept(team.id, (3,))
        db.session.execute(
            text("INSERT INTO dnc_entry_fts(dnc_entry_fts) VALUES ('integrity-check')")
        )
        assert len(old_index_seqs("in/kept-")) == 3
        # The code of this revision finds no index of its own there: it scans.
        for term in ("k", "t-2", "3"):
            assert [
                e.url for e in listing.browse(team.id, listing.ListFilter(q=term)).entries
            ] == brute_force(app, team.id, term)
        db.session.remove()
        later_entry_columns(False)
        upgrade()
        assert not fts_names() & {
            "dnc_entry_fts",
            "dnc_entry_fts_insert",
            "dnc_entry_fts_delete",
            "dnc_entry_fts_update",
            "dnc_entry_fts_data",
        }
        assert_in_sync("kept-", "t-3", "3", "kep")
        assert len(indexed_seqs("-")) == 3


@pytest.mark.database("sqlite")  # the FTS5 index is SQLite's (PostgreSQL: 0018's)
def test_migration_0017_goes_back_to_an_index_of_every_entry(app, team):
    from flask_migrate import upgrade

    with app.app_context():
        index_upto(max_seq())
        add_kept(team.id, (1, 2, 3))  # past the position: not in the index
        assert indexed_seqs("kept-") == set()
        downgrade_before(app, "0017")
        later_entry_columns(True)
        names = fts_names()
        assert "dnc_entry_fts_state" not in names and "dnc_entry_fts_username_insert" in names
        # 0016's index holds every entry, and its triggers take new ones one by one.
        add_kept(team.id, (4,))
        db.session.execute(
            text(
                "INSERT INTO dnc_entry_fts_username(dnc_entry_fts_username) "
                "VALUES ('integrity-check')"
            )
        )
        assert (
            indexed_rows()
            == db.session.execute(text("SELECT count(*) FROM dnc_entry")).scalar_one()
        )
        assert len(indexed_seqs("kept-")) == 4
        db.session.remove()
        later_entry_columns(False)
        upgrade()
        assert indexed_upto() == max_seq()
        assert_in_sync("kept-", "t-4", "4")


# ----------------------------------------------------------------------- PostgreSQL's index


def seq_bucket() -> int:
    """The bucket (migration 0018) of the next seq."""
    return db.session.execute(
        text("SELECT last_value >> :bits FROM dnc_entry_seq_seq"), {"bits": BUCKET_BITS}
    ).scalar_one()


def jump_to_bucket(bucket: int) -> None:
    db.session.execute(
        text("SELECT setval('dnc_entry_seq_seq', :seq)"), {"seq": bucket << BUCKET_BITS}
    )
    db.session.commit()


@pytest.fixture
def spread(app, team, make_team):
    """PostgreSQL: the team's profiles spread over the index's buckets, one or two empty
    buckets between groups, each beside another team's copy in the same bucket."""
    other = make_team("Other", "other")
    with app.app_context():
        for i, profile in enumerate(PROFILES):
            if i % 4 == 0:
                jump_to_bucket(seq_bucket() + 2 + i % 8 // 4)
            add_all(other.id, [profile])
            add_all(team.id, [profile])
        buckets = db.session.execute(
            text("SELECT count(DISTINCT seq >> :bits) FROM dnc_entry WHERE team_id = :t"),
            {"bits": BUCKET_BITS, "t": team.id},
        ).scalar_one()
        assert buckets == len(range(0, len(PROFILES), 4))
    return team


@pytest.mark.database("postgresql")
@pytest.mark.parametrize("term", TERMS)
def test_search_across_buckets_finds_what_a_substring_filter_finds(
    app, spread, small_windows, term
):
    q = entries.search_term(term)
    expected = brute_force(app, spread.id, q)
    where = listing.ListFilter(q=q)
    with app.app_context():
        for limit in (1, 2, 50):
            assert every_page(spread.id, where, limit) == (expected, expected)
        assert listing.count_matches(spread.id, where) == (min(len(expected), 6), len(expected) > 5)
        page = entries.list_entries(spread.id, q=q, limit=2, offset=1)
        assert [e.url for e in page.entries] == expected[1:3]
        first = entries.list_entries(spread.id, q=q, limit=2)
        assert (first.total, first.total_exact) == (min(len(expected), 6), len(expected) <= 5)


def search_dates_cases(app, team_id: str):
    """The team's entries newest first, and date ranges cut at some of them."""
    with app.app_context():
        stored = entries.list_entries(team_id, limit=1000).entries
    times = [e.created_at for e in stored]
    return stored, [
        (times[20], None),
        (None, times[6]),
        (times[22], times[3]),
        (times[0], None),
        (None, times[-1]),
    ]


def dated_brute_force(stored, q: str, since, until) -> list[str]:
    return [
        e.url
        for e in stored
        if q.lower() in ascii_lower(e.url)
        and (since is None or e.created_at >= since)
        and (until is None or e.created_at < until)
    ]


def assert_dated_searches_find_a_scans_rows(app, team_id: str, term: str) -> None:
    """Every page both ways and the count, for `term` within each of the date ranges."""
    stored, cases = search_dates_cases(app, team_id)
    with app.app_context():
        for since, until in cases:
            where = listing.ListFilter(q=entries.search_term(term), since=since, until=until)
            expected = dated_brute_force(stored, where.q, since, until)
            assert every_page(team_id, where, 2) == (expected, expected), (since, until)
            assert listing.count_matches(team_id, where) == (
                min(len(expected), 6),
                len(expected) > 5,
            ), (since, until)


@pytest.mark.parametrize("term", ["user", "a", "-1", "u", "zq", "in/", "ü"])
def test_search_with_dates_reads_their_range(app, searched, small_windows, term):
    assert_dated_searches_find_a_scans_rows(app, searched.id, term)


@pytest.mark.database("postgresql")
@pytest.mark.parametrize("term", ["user", "a", "-1", "u", "zq", "e-e"])
def test_search_with_dates_across_buckets(app, spread, small_windows, term):
    assert_dated_searches_find_a_scans_rows(app, spread.id, term)


@pytest.mark.database("postgresql")
def test_the_search_reads_the_index_bucket_by_bucket(app, spread, small_windows):
    """The newest bucket first, each through the GIN index, and never a scan of the
    entries (the key function is costly, so the planner keeps to the index)."""
    with app.app_context(), statements(with_params=True) as seen:
        page = listing.browse(spread.id, listing.ListFilter(q="user-1"), limit=2)
    assert [e.url for e in page.entries] == brute_force(app, spread.id, "user-1")[:2]
    seen = [(statement, params) for statement, params in seen if "bucket_edge" in statement]
    assert seen
    with app.app_context():
        for statement, params in seen:
            plan = (
                db.session.connection()
                .exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, params)
                .scalar_one()
            )
            loop = next(n for n in plan_nodes(plan[0]["Plan"]) if n["Node Type"] == "Nested Loop")
            outer, inner = loop["Plans"]
            # The buckets: the recursive walk of the team's index.
            assert any(
                n["Node Type"] == "CTE Scan" and n.get("CTE Name") == "bucket_edge"
                for n in plan_nodes(outer)
            ), outer
            scans = {
                (n["Node Type"], n.get("Index Name") or n.get("Relation Name"))
                for n in plan_nodes(inner)
                if "Scan" in n["Node Type"]
            }
            assert scans == {
                ("Bitmap Heap Scan", "dnc_entry"),
                ("Bitmap Index Scan", "ix_dnc_entry_search"),
            }, scans


def plan_nodes(node):
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)


@pytest.mark.database("postgresql")
def test_the_index_keys_are_the_username_substrings_by_team_and_bucket(app):
    username = "jürgen-a"
    seq = (5 << BUCKET_BITS) + 3
    with app.app_context():
        keys = db.session.execute(
            text("SELECT dnc_entry_search_keys('team_x', :seq, :url)"),
            {"seq": seq, "url": f"https://linkedin.com/in/{username}"},
        ).scalar_one()
        assert set(keys) == {
            f"team_x:5:{username[i : i + n]}"
            for n in (1, 2, 3)
            for i in range(len(username) - n + 1)
        }
        wanted = db.session.execute(
            text("SELECT dnc_entry_search_query('team_x', 5, :g)"), {"g": username_grams("rgen-")}
        ).scalar_one()
        assert wanted == ["team_x:5:rge", "team_x:5:gen", "team_x:5:en-"]


@pytest.mark.parametrize(
    ("username", "grams"),
    [
        ("q", ["q"]),
        ("zq", ["zq"]),
        ("abc", ["abc"]),
        ("abab", ["aba", "bab"]),
        ("aaaa", ["aaa"]),
        ("王小明", ["王小明"]),
        ("bench-0099", ["ben", "enc", "nch", "ch-", "h-0", "-00", "009", "099"]),
    ],
)
def test_the_grams_a_term_asks_of_the_index(username, grams):
    assert username_grams(username) == grams


@pytest.mark.database("postgresql")
def test_connections_run_without_jit_and_with_a_small_pending_list(app):
    """A bucket-by-bucket search has a high estimated cost: JIT would compile it (50-100 ms)
    for a query of 1-2 ms; and it reads the index's pending list once per bucket."""
    with app.app_context():
        assert db.session.execute(text("SHOW jit")).scalar_one() == "off"
        assert db.session.execute(text("SHOW gin_pending_list_limit")).scalar_one() == "64kB"


def merge_pending_list() -> int:
    """How many pages of new entries the search index had yet to merge (it merges them)."""
    pages = db.session.execute(
        text("SELECT gin_clean_pending_list('ix_dnc_entry_search'::regclass)")
    ).scalar_one()
    db.session.commit()
    return pages


@pytest.mark.database("postgresql")
def test_a_bulk_add_leaves_its_rows_merged_into_the_index(app, team):
    with app.app_context():
        merge_pending_list()
        entries.add_entry(team.id, "in/one-by-one", source=Source.CLI, actor=TEST_ACTOR)
        assert merge_pending_list() == 1  # a single add leaves its keys pending
        result = entries.add_entries(
            team.id,
            [f"in/bulk-{i}-person" for i in range(300)],
            source=Source.CLI,
            actor=TEST_ACTOR,
        )
        assert result.added == 300
        assert merge_pending_list() == 0
        assert db.session.execute(text("SHOW gin_pending_list_limit")).scalar_one() == "64kB"
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(listing, "PAGE_WINDOW", 2)
            assert [
                e.url for e in listing.browse(team.id, listing.ListFilter(q="-29")).entries
            ] == brute_force(app, team.id, "-29")


def pg_schema() -> set[str]:
    return set(
        db.session.execute(
            text(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'dnc_entry' UNION "
                "SELECT proname FROM pg_proc WHERE proname LIKE 'dnc_entry_search%'"
            )
        ).scalars()
    )


@pytest.mark.database("postgresql")
def test_migration_0018_indexes_existing_rows_and_goes_back(app, team):
    from flask_migrate import upgrade

    ours = {"ix_dnc_entry_search", "dnc_entry_search_keys", "dnc_entry_search_query"}
    with app.app_context():
        add_kept(team.id, (1, 2))
        assert ours <= pg_schema() and "ix_dnc_entry_url_trgm" not in pg_schema()
        downgrade_before(app, "0018")
        assert not ours & pg_schema()
        has_trgm = (
            db.session.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).first()
            is not None
        )
        assert ("ix_dnc_entry_url_trgm" in pg_schema()) == has_trgm
        jump_to_bucket(seq_bucket() + 3)
        later_entry_columns(True)
        add_kept(team.id, range(3, 25))  # written without the index
        later_entry_columns(False)
        upgrade()
        assert ours <= pg_schema() and "ix_dnc_entry_url_trgm" not in pg_schema()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(listing, "PAGE_WINDOW", 2)  # the index answers most of the page
            for term in ("kept-1", "t-2", "k", "2"):
                assert [
                    e.url for e in listing.browse(team.id, listing.ListFilter(q=term)).entries
                ] == brute_force(app, team.id, term)


def test_migration_0026_indexes_tokens_and_leads_and_goes_back(app, team, small_windows):
    """Down, the indexes hold 0016-0018's text again; up, the index answers for tokens
    (any case) and leads as a scan would."""
    from flask_migrate import upgrade

    people = [
        "in/john-kept",
        "in/ACoAAA7IcPoBXbqAQFGCjTLHAhmm13BgChs-P5g",
        "linkedin.com/sales/lead/ACwAAA7IcPoBXbqAQFGCjTLHAhmm13BgChs_P5g,NAME,x",
    ]
    terms = ("acoaaa7", "ACOAAA7", "sales/lead/acw", "kept", "P5g", "lead", "cw")
    lead_url = "https://linkedin.com/sales/lead/ACwAAB"
    with app.app_context():
        add_all(team.id, people + [f"in/filler-{i}" for i in range(8)])
        sqlite = db.engine.dialect.name == "sqlite"
        if sqlite:
            index_upto(max_seq())
        downgrade_before(app, "0026")
        if sqlite:  # the old text starts inside a lead's path, its token's case kept
            for gram in ("sal", "acw"):
                assert (
                    db.session.execute(
                        text(
                            "SELECT count(*) FROM dnc_entry_fts_username "
                            f"WHERE dnc_entry_fts_username MATCH '\"{gram}\"'"
                        )
                    ).scalar_one()
                    == 0
                )
        else:
            keys = db.session.execute(
                text("SELECT dnc_entry_search_keys('t', 0, :u)"), {"u": lead_url}
            ).scalar_one()
            assert "t:0:ead" in keys and "t:0:acw" not in keys
        db.session.remove()
        upgrade()
        if not sqlite:
            keys = db.session.execute(
                text("SELECT dnc_entry_search_keys('t', 0, :u)"), {"u": lead_url}
            ).scalar_one()
            assert {"t:0:sal", "t:0:lea", "t:0:acw"} <= set(keys)
        for term in terms:
            where = listing.ListFilter(q=entries.search_term(term))
            expected = brute_force(app, team.id, where.q)
            assert expected, term
            assert every_page(team.id, where, 2) == (expected, expected), term


@pytest.mark.database("postgresql")
def test_the_search_reads_only_the_buckets_that_hold_the_teams_rows(app, spread, small_windows):
    """Empty buckets between the team's groups (other teams' rows, or none) cost no read
    of the search index: the walk of the team's index skips them."""
    with app.app_context():
        held = db.session.execute(
            text(
                "SELECT count(DISTINCT seq >> :bits), max(seq) >> :bits, min(seq) >> :bits "
                "FROM dnc_entry WHERE team_id = :t"
            ),
            {"bits": BUCKET_BITS, "t": spread.id},
        ).one()
        count, newest, oldest = held
        assert count < newest - oldest + 1  # there are empty ones between
        with statements(with_params=True) as seen:
            assert listing.count_matches(spread.id, listing.ListFilter(q="nobody-here")) == (
                0,
                False,
            )
        (statement, params), *_ = [s for s in seen if "bucket_edge" in s[0]]
        plan = (
            db.session.connection()
            .exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params)
            .scalar_one()
        )
        db.session.rollback()
    loop = next(n for n in plan_nodes(plan[0]["Plan"]) if n["Node Type"] == "Nested Loop")
    _outer, inner = loop["Plans"]
    assert inner["Actual Loops"] == count  # one read of the index per bucket held
