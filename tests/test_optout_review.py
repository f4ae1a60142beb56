"""A flood of the public form (issue 9, item 6): clients are limited by IPv4 address or
IPv6 /64, and beyond a team's threshold public opt-outs are still listed but flagged for
the team to review, with a notice on its list page."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from dnc_app.domain import entries
from dnc_app.domain.entries import review
from dnc_app.extensions import db
from dnc_app.http.clientaddr import client_key
from dnc_app.storage.models import DncEntry
from tests.test_optout import HTMX, mask, post_optout
from tests.web_support import TEST_ACTOR, make_member, sign_in, token_for


# Beyond the cases in test_web_auth (the sign-in limits use the same key).
@pytest.mark.parametrize(
    ("remote_addr", "key"),
    [
        ("::ffff:c000:201", "192.0.2.1"),  # IPv4 on a dual-stack socket, in hex
        ("2001:DB8:1:2::9", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        ("::1", "::/64"),
        ("x" * 10_000, "x" * 64),  # bounded keys in the limit store
    ],
)
def test_client_key(remote_addr, key):
    assert client_key(remote_addr) == key


def submit_from(client, slug, url, addr, **kwargs):
    return post_optout(client, slug, url, environ={"REMOTE_ADDR": addr}, **kwargs)


def test_the_per_client_limit_covers_an_ipv6_64_and_ipv4_mapped_addresses(make_app, team):
    app = make_app(OPTOUT_MIN_SECONDS=0, OPTOUT_RATE_LIMIT="2/minute")
    client = app.test_client()
    assert submit_from(client, team.slug, "in/v6-a", "2001:db8:1:2::1").status_code == 200
    assert submit_from(client, team.slug, "in/v6-b", "2001:db8:1:2::2").status_code == 200
    # Another address of the same /64 is the same client; the next /64 is another.
    assert submit_from(client, team.slug, "in/v6-c", "2001:db8:1:2:ffff::9").status_code == 429
    assert submit_from(client, team.slug, "in/v6-c", "2001:db8:1:3::1").status_code == 200

    assert submit_from(client, team.slug, "in/v4-a", "192.0.2.7").status_code == 200
    assert submit_from(client, team.slug, "in/v4-b", "::ffff:192.0.2.7").status_code == 200
    assert submit_from(client, team.slug, "in/v4-c", "192.0.2.7").status_code == 429
    assert submit_from(client, team.slug, "in/v4-c", "192.0.2.8").status_code == 200


def flags(app, team_id: str) -> dict[str, bool]:
    with app.app_context():
        rows = db.session.execute(
            select(DncEntry.url, DncEntry.needs_review).where(DncEntry.team_id == team_id)
        ).all()
        db.session.remove()
    return {url.removeprefix("https://linkedin.com/in/"): flag for url, flag in rows}


def receipt(response, n: int) -> str:
    return mask(response.get_data(as_text=True)).replace(f"person-{n}", "person-N")


@pytest.fixture
def flood_app(make_app):
    return make_app(
        OPTOUT_MIN_SECONDS=0, OPTOUT_RATE_LIMIT="100/minute", OPTOUT_TEAM_REVIEW_THRESHOLD="2/hour"
    )


def test_beyond_the_team_threshold_opt_outs_are_listed_and_flagged(flood_app, team, make_team):
    client = flood_app.test_client()
    answers = [
        submit_from(
            client, team.slug, f"in/person-{n}", f"198.51.100.{n}", headers=HTMX if n % 2 else None
        )
        for n in range(5)
    ]
    assert [a.status_code for a in answers] == [200] * 5
    # Every one is listed; the ones beyond two per hour are flagged.
    assert flags(flood_app, team.id) == {
        "person-0": False,
        "person-1": False,
        "person-2": True,
        "person-3": True,
        "person-4": True,
    }
    # The person's receipt is the same either way (apart from reference, time and URL).
    assert receipt(answers[0], 0) == receipt(answers[2], 2)
    assert receipt(answers[1], 1) == receipt(answers[3], 3)
    # A repeated request is answered alike and changes nothing.
    again = submit_from(client, team.slug, "in/person-0", "198.51.100.9")
    assert receipt(again, 0) == receipt(answers[2], 2)
    assert flags(flood_app, team.id)["person-0"] is False

    # The threshold is the team's own.
    other = make_team("Other")
    assert submit_from(client, other.slug, "in/elsewhere", "203.0.113.1").status_code == 200
    assert flags(flood_app, other.id) == {"elsewhere": False}


def test_the_team_sees_flagged_entries_and_marks_them_reviewed(flood_app, team):
    public = flood_app.test_client()
    for n in range(4):
        submit_from(public, team.slug, f"in/person-{n}", f"198.51.100.{n}")
    make_member(flood_app, team.id)
    member = flood_app.test_client()
    sign_in(member)

    page = member.get("/entries").get_data(as_text=True)
    assert "2 public opt-outs to review" in page
    assert 'href="/entries?review=1"' in page
    assert page.count("badge-review") == 2

    flagged = member.get("/entries?review=1").get_data(as_text=True)
    rows = re.findall(r'class="profile-link" href="([^"]+)"', flagged)
    assert rows == ["https://linkedin.com/in/person-3", "https://linkedin.com/in/person-2"]
    assert "2 entries flagged for review." in flagged
    through = re.search(r'name="through" value="(\d+)"', flagged).group(1)

    # One more arrives after the member looked: it stays flagged.
    submit_from(public, team.slug, "in/person-late", "198.51.100.77")
    done = member.post(
        "/entries/reviewed", data={"csrf_token": token_for(member), "through": through}
    )
    assert done.status_code == 303
    assert flags(flood_app, team.id) == {
        "person-0": False,
        "person-1": False,
        "person-2": False,
        "person-3": False,
        "person-late": True,
    }
    page = member.get("/entries").get_data(as_text=True)
    assert "Marked 2 entries as reviewed." in page
    assert "1 public opt-out to review" in page

    assert (
        member.post(
            "/entries/reviewed", data={"csrf_token": token_for(member), "through": "²"}
        ).status_code
        == 400
    )
    assert (
        member.post("/entries/reviewed", data={"through": through}).status_code == 400
    )  # no CSRF token


def test_a_team_without_flagged_entries_sees_no_notice(app, client, team):
    make_member(app, team.id)
    sign_in(client)
    page = client.get("/entries").get_data(as_text=True)
    assert "review-notice" not in page and "badge-review" not in page
    assert "No entries are flagged for review." in client.get("/entries?review=1").get_data(
        as_text=True
    )


def test_the_service_stores_the_flag_and_counts_it(app, team, make_team):
    other = make_team("Other")
    with app.app_context():
        entry = entries.add_entry(
            team.id, "in/flagged", source="public_form", actor=TEST_ACTOR, needs_review=True
        )
        entries.add_entry(team.id, "in/plain", source="api", actor=TEST_ACTOR)
        entries.add_entry(
            other.id, "in/flagged", source="public_form", actor=TEST_ACTOR, needs_review=True
        )
        assert entry.needs_review is True
        assert review.count_flagged(team.id) == 1
        assert [e.url for e in review.list_flagged(team.id).entries] == [
            "https://linkedin.com/in/flagged"
        ]
        assert (
            review.mark_reviewed(team.id, review.newest_flagged_seq(team.id), actor=TEST_ACTOR) == 1
        )
        assert review.count_flagged(team.id) == 0 and review.count_flagged(other.id) == 1


def test_the_threshold_setting(app_from_environment, monkeypatch):
    assert app_from_environment().config["OPTOUT_TEAM_REVIEW_THRESHOLD"] == "50/hour;300/day"
    monkeypatch.setenv("OPTOUT_TEAM_REVIEW_THRESHOLD", "5/minute")
    assert app_from_environment().config["OPTOUT_TEAM_REVIEW_THRESHOLD"] == "5/minute"
