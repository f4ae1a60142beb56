"""The list page's dashboard and filters: numbers that match the database, the weekly
chart by source and its links, filters (source, dates, search), pages with their range,
the duplicate message and the empty list."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from dnc_app.domain import dashboard, entries
from dnc_app.domain.changelog import Source
from dnc_app.domain.entries import listing
from dnc_app.domain.timeutil import utcnow
from dnc_app.extensions import db
from dnc_app.http.web import views
from dnc_app.storage.models import AuditEvent, DncEntry
from dnc_app.storage.timeorder import first_seq_at
from tests.support import TEST_ACTOR
from tests.web_support import HTMX, token_for

# A Wednesday: this week began on Monday 16 November 2026.
NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)


class Clock:
    """The services' clock, set by the test: entries are written at chosen times (in
    time order, as they would be)."""

    def __init__(self, monkeypatch):
        self.now = NOW
        monkeypatch.setattr("dnc_app.domain.entries.service.utcnow", lambda: self.now)
        monkeypatch.setattr("dnc_app.domain.changelog.utcnow", lambda: self.now)


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


def add_at(clock, team_id, when, name, source=Source.API):
    clock.now = when
    return entries.add_entry(team_id, f"linkedin.com/in/{name}", source=source, actor=TEST_ACTOR)


def remove_at(clock, team_id, when, entry):
    clock.now = when
    # As an owner: some of the removed entries are public opt-outs.
    entries.remove_entry(
        team_id,
        entry.id,
        reason="test",
        source=Source.WEB,
        actor=TEST_ACTOR,
        may_remove_optouts=True,
    )


def text(response) -> str:
    return response.get_data(as_text=True)


def row_urls(html: str) -> list[str]:
    return re.findall(r'class="profile-link" href="([^"]+)"', html)


# Days before NOW (oldest first) and the source of each entry added.
SCHEDULE = [
    (120, Source.API),  # before the 12 weeks: only in the total
    (84, Source.WEB),  # Wednesday 26 August: still before Monday 31 August
    (79, Source.WEB_BULK),  # Monday 31 August, 12:00: the first week shown
    (78, Source.WEB_BULK),
    (40, Source.PUBLIC_FORM),  # October: public, but not this month
    (31, Source.API),
    (20, Source.PUBLIC_FORM),  # 29 October
    (17.5, Source.PUBLIC_FORM),  # Sunday 1 November, 00:00: this month
    (10, Source.CLI),
    (8, Source.API),
    (6.9, Source.API),  # the last 7 days from here on
    (2.5, Source.PUBLIC_FORM),  # Monday 16 November, 00:00: this week
    (2, Source.WEB),
    (0.1, Source.PUBLIC_FORM),
]


def seed(app, clock, team_id):
    """The schedule's entries, then three of them removed (two within 30 days)."""
    with app.app_context():
        added = [
            add_at(clock, team_id, NOW - timedelta(days=days), f"p-{i}", source)
            for i, (days, source) in enumerate(SCHEDULE)
        ]
        for days, index in [(35, 0), (9, 4), (1, 12)]:
            remove_at(clock, team_id, NOW - timedelta(days=days), added[index])
        clock.now = NOW


def expected_numbers(team_id) -> tuple[dict, Counter]:
    """The numbers counted the slow and obvious way: every row of the team, in Python."""
    rows = db.session.execute(
        select(DncEntry.source, DncEntry.created_at).where(DncEntry.team_id == team_id)
    ).all()
    removals = (
        db.session.execute(
            select(AuditEvent.created_at).where(
                AuditEvent.team_id == team_id, AuditEvent.action == "remove"
            )
        )
        .scalars()
        .all()
    )
    mondays = dashboard.week_starts(NOW)
    bars: Counter = Counter()
    for source, created_at in rows:
        for monday in reversed(mondays):
            if created_at.date() >= monday:
                bars[(monday, source)] += 1
                break
    numbers = {
        "total": len(rows),
        "week": sum(created_at >= NOW - timedelta(days=7) for _, created_at in rows),
        "public": sum(
            source == "public_form" and created_at >= datetime(2026, 11, 1, tzinfo=UTC)
            for source, created_at in rows
        ),
        "removed": sum(at >= NOW - timedelta(days=30) for at in removals),
    }
    return numbers, bars


# --------------------------------------------------------------------------- the numbers


def test_the_dashboard_numbers_match_the_database(app, clock, make_team):
    team, other = make_team("Acme"), make_team("Other")
    seed(app, clock, team.id)
    seed(app, clock, other.id)  # another team's entries count only for it
    with app.app_context():
        shown = dashboard.read_dashboard(team.id, now=NOW)
        numbers, bars = expected_numbers(team.id)
    assert numbers == {"total": 11, "week": 3, "public": 3, "removed": 2}  # the schedule's
    assert (
        shown.total,
        shown.added_last_7_days,
        shown.public_this_month,
        shown.removed_last_30_days,
    ) == (numbers["total"], numbers["week"], numbers["public"], numbers["removed"])
    assert [week.start.isoformat() for week in shown.weeks][::11] == ["2026-08-31", "2026-11-16"]
    drawn = Counter(
        {
            (week.start, source): count
            for week in shown.weeks
            for source, count in week.by_source.items()
        }
    )
    assert drawn == bars
    assert sum(drawn.values()) == 10  # two are older than the 12 weeks
    assert shown.weeks[-1].by_source == {"public_form": 2}  # the Monday 00:00 one counts
    assert [s.value for s in shown.sources] == ["api", "web_bulk", "public_form", "cli"]


def test_an_empty_team_has_an_empty_dashboard(app, team):
    with app.app_context():
        shown = dashboard.read_dashboard(team.id, now=NOW)
    assert (
        shown.total,
        shown.added_last_7_days,
        shown.public_this_month,
        shown.removed_last_30_days,
        shown.busiest_week,
    ) == (0, 0, 0, 0, 0)
    assert len(shown.weeks) == 12 and shown.sources == []


def test_a_time_window_is_found_by_a_binary_search_of_the_seq_index(app, clock, team):
    with app.app_context():
        assert first_seq_at(DncEntry.__table__, team.id, NOW) == 0  # no rows
        added = [add_at(clock, team.id, NOW - timedelta(days=d), f"w-{d}") for d in (9, 5, 1)]
        seqs = [entry.seq for entry in added]

        def at(days: int):
            return first_seq_at(DncEntry.__table__, team.id, NOW - timedelta(days=days))

        assert (at(10), at(9), at(7), at(5), at(3), at(1), at(0)) == (
            seqs[0],
            seqs[0],
            seqs[1],
            seqs[1],
            seqs[2],
            seqs[2],
            seqs[2] + 1,
        )


def hour_counts(team_id=None) -> tuple[Counter, Counter]:
    """(kept by the triggers, counted from the entries in Python), zero rows left out."""
    from dnc_app.storage.models import EntryHourCount as H

    kept = Counter(
        {
            (t, hour, source): n
            for t, hour, source, n in db.session.execute(
                select(H.team_id, H.hour, H.source, H.entries)
            )
            if n
        }
    )
    counted = Counter(
        (t, dashboard.epoch_hour(created_at), source)
        for t, source, created_at in db.session.execute(
            select(DncEntry.team_id, DncEntry.source, DncEntry.created_at)
        )
    )
    return kept, counted


def test_the_hour_counts_follow_every_kind_of_write(app, clock, make_team):
    """Single adds, batches (PostgreSQL's one-statement bulk insert too), removals and a
    team's deletion (the cascade) all keep entry_hour_count equal to the entries."""
    from sqlalchemy import text as sql_text

    team, other, gone = make_team("Acme"), make_team("Other"), make_team("Gone")
    with app.app_context():
        seed(app, clock, team.id)
        for t in (other.id, gone.id):
            clock.now = NOW - timedelta(hours=5, minutes=30)
            entries.add_entries(
                t,
                [f"linkedin.com/in/b-{i}" for i in range(30)],
                source=Source.WEB_BULK,
                actor=TEST_ACTOR,
            )
        clock.now = NOW
        for entry_id in db.session.execute(
            select(DncEntry.id).where(DncEntry.team_id == other.id).limit(7)
        ).scalars():
            entries.remove_entry(other.id, entry_id, source=Source.API, actor=TEST_ACTOR)
        kept, counted = hour_counts()
        assert kept == counted and sum(counted.values()) == 11 + 23 + 30
        db.session.execute(sql_text("DELETE FROM team WHERE id = :t"), {"t": gone.id})
        db.session.commit()
        kept, counted = hour_counts()
        assert kept == counted and sum(counted.values()) == 11 + 23


def test_the_last_7_days_count_their_first_hour_from_the_entries(app, clock, team):
    """A week ago is not a whole hour: of the hour it falls in, only what came after it
    counts (from the entries; the whole hours after it from the hour counts)."""
    now = NOW + timedelta(minutes=30)
    week_ago = now - timedelta(days=7)
    with app.app_context():
        for minutes, name in [
            (-10, "before"),
            (10, "after"),
            (40, "next-hour"),
            (60 * 24 * 3, "later"),
        ]:
            add_at(clock, team.id, week_ago + timedelta(minutes=minutes), name)
        shown = dashboard.read_dashboard(team.id, now=now)
    assert shown.added_last_7_days == 3
    assert shown.total == 4


def test_migration_0013_counts_the_entries_already_there(app, clock, team):
    """Down to 0012 (no counts, no triggers), entries added meanwhile, up again: the
    backfill counts them and the triggers count from there on."""
    from flask_migrate import downgrade, upgrade

    with app.app_context():
        seed(app, clock, team.id)
        db.session.remove()
        downgrade(revision="0012")
        add_at(clock, team.id, NOW - timedelta(hours=1), "while-down")
        db.session.remove()
        upgrade()
        kept, counted = hour_counts()
        assert kept == counted and sum(counted.values()) == 12
        add_at(clock, team.id, NOW, "after-up")
        kept, counted = hour_counts()
        assert kept == counted and sum(counted.values()) == 13


# --------------------------------------------------------------------------- the page


def test_the_page_shows_the_numbers_the_chart_and_its_table(app, clock, signed_in, team):
    clock.now = utcnow()  # the page reads the real time
    base = clock.now
    with app.app_context():
        for i, (days, source) in enumerate(
            [(0, Source.API), (0, Source.API), (0, Source.PUBLIC_FORM), (7, Source.WEB_BULK)]
        ):
            add_at(clock, team.id, base - timedelta(days=days, seconds=4 - i), f"c-{i}", source)
        clock.now = base
    html = text(signed_in.get("/entries"))
    assert re.search(r'<strong id="stat-total">4</strong> on the list', html)
    assert re.search(r'<strong id="stat-week">3</strong> added in the last 7 days', html)
    assert re.search(r'<strong id="stat-removed">0</strong> removed', html)
    # Accessible: a titled, described group (not role="img": its bars are links, which an
    # image may not hold, axe nested-interactive), and a real table behind it.
    assert re.search(
        r'<svg class="chart-svg"[^>]*role="group" aria-labelledby="chart-title" '
        r'aria-describedby="chart-desc"',
        html,
    )
    assert '<title id="chart-title">Entries added per week, by source</title>' in html
    assert "the busiest week added 3" in html
    monday = (base - timedelta(days=base.weekday())).date()
    cells = dict(
        re.findall(
            r'data-week="' + monday.isoformat() + r'" data-source="(\w+)">(?:<a [^>]*>)?(\d+)', html
        )
    )
    assert cells == {"api": "2", "web_bulk": "0", "public_form": "1"}
    # The legend and the table use the sources' labels.
    assert "Public opt-out form" in html and "Bulk add" in html and "public_form<" not in html
    # Each bar segment links to the list filtered to its week and source.
    sunday = monday + timedelta(days=6)
    link = f"/entries?source=api&amp;from={monday.isoformat()}&amp;to={sunday.isoformat()}"
    assert re.search(
        r'<a href="' + re.escape(link) + r'" tabindex="-1"><rect class="bar-api"', html
    )
    filtered = text(signed_in.get(link.replace("&amp;", "&")))
    assert row_urls(filtered) == ["https://linkedin.com/in/c-1", "https://linkedin.com/in/c-0"]
    assert "2 entries from API, added" in filtered


# --------------------------------------------------------------------------- filters


@pytest.fixture
def listed(app, clock, team):
    with app.app_context():
        for i, (days, source, name) in enumerate(
            [
                (30, Source.API, "jane-old"),
                (20, Source.PUBLIC_FORM, "jane-public"),
                (10, Source.API, "john-api"),
                (5, Source.API, "jane-api"),
                (1, Source.WEB_BULK, "jane-bulk"),
            ]
        ):
            add_at(clock, team.id, NOW - timedelta(days=days), f"{name}-{i}", source)


def day(days: int) -> str:
    return (NOW - timedelta(days=days)).date().isoformat()


def names(html: str) -> list[str]:
    return [url.rsplit("/", 1)[1].rsplit("-", 1)[0] for url in row_urls(html)]


def test_the_list_filters_by_source_dates_and_search_together(app, signed_in, listed):
    assert names(text(signed_in.get("/entries?source=api"))) == ["jane-api", "john-api", "jane-old"]
    # Both dates included, whole days.
    assert names(text(signed_in.get(f"/entries?from={day(20)}&to={day(5)}"))) == [
        "jane-api",
        "john-api",
        "jane-public",
    ]
    assert names(text(signed_in.get(f"/entries?from={day(5)}"))) == ["jane-bulk", "jane-api"]
    assert names(text(signed_in.get(f"/entries?to={day(20)}"))) == ["jane-public", "jane-old"]
    both = text(signed_in.get(f"/entries?q=jane&source=api&from={day(40)}&to={day(2)}"))
    assert names(both) == ["jane-api", "jane-old"]
    assert "2 entries match “jane” from API, added" in both
    # The filters stay in the form (and so in the URL of the next search).
    assert '<option value="api" selected>API</option>' in both
    assert f'name="from" type="date" value="{day(40)}"' in both
    none = text(signed_in.get("/entries?source=cli"))
    assert names(none) == [] and "No entries from Command line." in none
    assert "Nothing here yet" not in none


def test_filters_answer_htmx_with_the_results_only(app, signed_in, listed):
    fragment = text(signed_in.get("/entries?source=web_bulk", headers=HTMX))
    assert fragment.startswith('<div id="entry-results"')
    assert names(fragment) == ["jane-bulk"]
    page = text(signed_in.get("/entries"))
    form = re.search(r'<form id="entry-search"[^>]*>', page).group(0)
    assert 'hx-trigger="submit, change from:#list-filters"' in form
    assert 'hx-sync="this:replace"' in form
    box = re.search(r'<input id="search-q"[^>]*>', page).group(0)
    assert 'hx-include="closest form"' in box


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=yesterday", "The “from” date must be a date like 2026-01-31."),
        ("to=2026-02-30", "The “to” date must be a date like 2026-01-31."),
        ("to=%FF" + "9" * 5000, "The “to” date must be a date like 2026-01-31."),
        ("from=2026-11-10&to=2026-11-01", "The “from” date is after the “to” date."),
        ("source=nowhere", "Choose a source from the list."),
    ],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_bad_filters_say_what_to_fix(app, signed_in, listed, query, message, htmx):
    response = signed_in.get(f"/entries?{query}", headers=HTMX if htmx else {})
    assert response.status_code == 422
    html = text(response)
    assert message in html
    assert row_urls(html) == []
    assert ("<!doctype html>" in html) is not htmx


def test_the_last_day_and_the_first_day_of_time_are_accepted(app, signed_in, listed):
    html = text(signed_in.get("/entries?from=0001-01-01&to=9999-12-31"))
    assert len(row_urls(html)) == 5


# --------------------------------------------------------------------------- pages


def test_pages_show_their_range_with_previous_and_next(app, signed_in, team, monkeypatch, clock):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    with app.app_context():
        for i in range(5):
            add_at(clock, team.id, NOW - timedelta(hours=10 - i), f"user{i}-x")
    first = text(signed_in.get("/entries"))
    assert "1–2 of 5" in first and 'rel="prev"' not in first
    second_url = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = text(signed_in.get(second_url))
    assert names(second) == ["user2", "user1"] and "3–4 of 5" in second
    # Previous from page 2 is the newest page itself.
    assert re.search(r'href="/entries" rel="prev"|rel="prev" href="/entries"', second)
    third = text(
        signed_in.get(
            re.search(r'rel="next" href="([^"]+)"', second).group(1).replace("&amp;", "&")
        )
    )
    assert names(third) == ["user0"] and "5–5 of 5" in third and 'rel="next"' not in third
    # Previous from page 3 goes back by keyset (newer than its first row).
    back_url = re.search(r'rel="prev" href="([^"]+)"', third).group(1).replace("&amp;", "&")
    assert "newer=" in back_url and "page=2" in back_url
    back = text(signed_in.get(back_url))
    assert names(back) == ["user2", "user1"] and "3–4 of 5" in back


def test_a_filtered_count_stops_at_the_cap(app, signed_in, team, monkeypatch, clock):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    monkeypatch.setattr(listing, "COUNT_CAP", 3)
    with app.app_context():
        for i in range(5):
            add_at(clock, team.id, NOW - timedelta(hours=10 - i), f"jane-{i}")
    html = text(signed_in.get("/entries?q=jane"))
    assert "4+ entries match “jane”" in html and "1–2 of 4+" in html
    assert "1–2 of 5" in text(signed_in.get("/entries"))  # the kept count: exact


def test_a_forged_page_link_is_refused_not_a_500(app, signed_in, listed):
    assert signed_in.get("/entries?newer=!!!").status_code == 400
    assert signed_in.get("/entries?cursor=czk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5").status_code == 400
    assert signed_in.get("/entries?cursor=czE&page=99999999999999").status_code == 200


# --------------------------------------------------------------------------- messages


def post_add(client, url, htmx):
    token = token_for(client)
    if htmx:
        return client.post("/entries", data={"url": url}, headers={**HTMX, "X-CSRFToken": token})
    return client.post("/entries", data={"url": url, "csrf_token": token})


@pytest.mark.parametrize("htmx", [False, True])
def test_a_duplicate_is_information_with_a_link_not_an_error(app, signed_in, team, htmx):
    assert post_add(signed_in, "linkedin.com/in/jane-doe", htmx).status_code in (200, 303)
    response = post_add(signed_in, "https://www.linkedin.com/in/Jane-Doe/", htmx)
    html = text(response)
    assert response.status_code == 422
    info = re.search(
        r'<p class="notice notice-info add-duplicate" id="add-url-info" '
        r'role="status">(.*?)</p>',
        html,
        re.S,
    ).group(1)
    assert re.search(r"Already protected</strong> since <time datetime=", info)
    assert 'href="/entries?q=https://linkedin.com/in/jane-doe">Show the entry' in info
    assert 'id="add-url-error"' not in html and 'aria-invalid="true"' not in html
    assert "Added https://linkedin.com/in/jane-doe" not in html
    if htmx:
        # The message area is emptied: the first add's "Added …" does not stay above.
        assert '<div id="flashes" hx-swap-oob="innerHTML"></div>' in html


def test_a_refused_add_empties_the_message_area_too(app, signed_in):
    html = text(post_add(signed_in, "https://evil.com/in/x", htmx=True))
    assert "Not a LinkedIn URL" in html
    assert '<div id="flashes" hx-swap-oob="innerHTML"></div>' in html


def test_the_empty_list_explains_the_other_ways_in(app, signed_in, team):
    html = text(signed_in.get("/entries"))
    empty = re.search(r'<div class="empty-list">(.*?)</div>', html, re.S).group(1)
    assert f'href="/optout/{team.slug}">public opt-out page</a>' in empty
    assert 'href="/docs">API</a>' in empty
    assert 'href="/bulk">Bulk add</a>' in empty
    searched = text(signed_in.get("/entries?q=nobody"))
    assert 'class="empty-list"' not in searched and "No entries match “nobody”." in searched


def test_the_address_keeps_only_the_filters_in_use(app, signed_in, listed):
    """A GET form sends its empty fields too: the list answers with the short address
    (a redirect without JavaScript, the URL htmx pushes with it)."""
    response = signed_in.get("/entries?q=jane&source=&from=&to=")
    assert response.status_code == 302 and response.headers["Location"] == "/entries?q=jane"
    fragment = signed_in.get("/entries?q=jane&source=&from=&to=", headers=HTMX)
    assert fragment.headers["HX-Push-Url"] == "/entries?q=jane"
    assert names(text(fragment)) == ["jane-bulk", "jane-api", "jane-public", "jane-old"]
    assert "HX-Push-Url" not in signed_in.get("/entries?q=jane", headers=HTMX).headers


# --------------------------------------------------------------------------- 12 months


def test_the_months_range_matches_the_database(app, clock, make_team):
    team, other = make_team("Acme"), make_team("Other")
    seed(app, clock, team.id)
    seed(app, clock, other.id)
    with app.app_context():
        # A year back, and on the first instant of a month, which counts in that month.
        add_at(clock, team.id, datetime(2025, 12, 1, tzinfo=UTC), "first-of-december", Source.CLI)
        add_at(clock, team.id, datetime(2025, 11, 30, 23, 59, tzinfo=UTC), "too-old")
        clock.now = NOW
        shown = dashboard.read_dashboard(team.id, now=NOW, span="months")
        rows = db.session.execute(
            select(DncEntry.source, DncEntry.created_at).where(DncEntry.team_id == team.id)
        ).all()
        weeks = dashboard.read_dashboard(team.id, now=NOW)
    assert shown.span == "months" and len(shown.periods) == 12
    assert [(p.start.isoformat(), p.end.isoformat()) for p in shown.periods][::11] == [
        ("2025-12-01", "2025-12-31"),
        ("2026-11-01", "2026-11-30"),
    ]
    expected: Counter = Counter()
    for source, created_at in rows:
        if created_at >= datetime(2025, 12, 1, tzinfo=UTC):
            expected[(created_at.date().replace(day=1), source)] += 1
    drawn = Counter(
        {(p.start, source): n for p in shown.periods for source, n in p.by_source.items()}
    )
    assert drawn == expected
    assert shown.periods[0].by_source == {"cli": 1}
    # The numbers above the chart do not depend on its range.
    assert (
        shown.total,
        shown.added_last_7_days,
        shown.public_this_month,
        shown.removed_last_30_days,
    ) == (weeks.total, weeks.added_last_7_days, weeks.public_this_month, weeks.removed_last_30_days)
    # Each source's total over the range, for the legend.
    assert dict((s.value, n) for s, n in shown.source_totals) == {
        source: sum(n for (_, s), n in expected.items() if s == source)
        for source in {s for _, s in expected}
    }


def test_the_range_is_a_link_without_javascript_and_a_swap_with_htmx(app, clock, signed_in, team):
    base = clock.now = utcnow()
    with app.app_context():
        add_at(clock, team.id, base - timedelta(days=100), "months-ago", Source.CLI)
        add_at(clock, team.id, base - timedelta(seconds=5), "today", Source.API)
    html = text(signed_in.get("/entries?source=api"))
    assert 'id="dashboard"' in html
    assert "Added per week, by source" in html and "removed entries are not counted" in html
    # The links keep the list's filters; the current range is marked.
    assert re.search(r'id="range-months" href="/entries\?source=api&amp;range=months"', html)
    assert re.search(
        r'id="range-weeks" href="[^"]+"\s+hx-get="/dashboard\?range=weeks"'
        r'[^>]*aria-current="true"',
        html,
    )
    legend = dict(re.findall(r'<li data-source="(\w+)">.*?<strong>(\d+)</strong>', html))
    assert legend == {"api": "1"}  # the CLI one is older than 12 weeks
    html = text(signed_in.get("/entries?range=months"))
    assert "Added per month, by source" in html
    assert dict(re.findall(r'<li data-source="(\w+)">.*?<strong>(\d+)</strong>', html)) == {
        "api": "1",
        "cli": "1",
    }
    # The choice is kept (a dashboard redrawn after an add keeps it).
    assert "Added per month" in text(signed_in.get("/entries"))
    resp = signed_in.get("/dashboard?range=weeks", headers=HTMX)
    assert resp.status_code == 200
    body = text(resp)
    assert body.lstrip().startswith('<section class="dashboard" id="dashboard"')
    assert "Added per week" in body and "<html" not in body
    # Without htmx the address is the list's.
    resp = signed_in.get("/dashboard?range=months")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/entries?range=months")
    # An unknown range is the one chosen before.
    assert "Added per month" in text(signed_in.get("/entries?range=<script>"))


def test_small_sources_stay_visible_beside_a_large_one(app, clock, team):
    from dnc_app.http.web import chart

    with app.app_context():
        shown = dashboard.read_dashboard(team.id, now=NOW)
    big = dashboard.Week(
        shown.weeks[-1].start, {"api": 4996, "web": 1, "cli": 1, "web_bulk": 1, "public_form": 1}
    )
    with app.test_request_context():
        drawn, top = chart.bars(dashboard.Dashboard(5000, 0, 0, 0, [*shown.weeks[:-1], big]))
    assert top == 5000
    heights = {s.source.value: s.height for s in drawn[-1].segments}
    assert heights["api"] == 99.92
    assert all(heights[s] == chart.MIN_SEGMENT for s in ("web", "cli", "web_bulk", "public_form"))
    assert min(s.y for s in drawn[-1].segments) >= 0  # within the drawing's room on top
