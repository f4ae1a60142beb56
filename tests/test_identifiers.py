"""A member-token URL (`/in/ACoAA…`, case kept) and a Sales Navigator lead
(`/sales/lead/ACwAA…`) go everywhere a profile URL goes: add, batch, check, screen by URL
and by SHA-256, the list's search, the export, the public opt-out form, the bulk-add page
and the CSV screening page."""

from __future__ import annotations

import csv
import hashlib
import io

import pytest

from tests.test_optout import post_optout
from tests.test_web_bulk import confirm, pending_token, preview
from tests.test_web_screen import counts_of, download, upload

TOKEN = "ACoAAA7IcPoBXbqAyFuCjYLHAhmm13BgChs-P5g"
MEMBER = f"https://linkedin.com/in/{TOKEN}"
LEAD_TOKEN = "ACwAAAEuHH8BZcLrT0-TJNvBPN3gAt6Ob0VPJ1w"
LEAD = f"https://linkedin.com/sales/lead/{LEAD_TOKEN}"
# As a team's tools hold them.
MEMBER_AS_SENT = f"https://www.linkedin.com/in/{TOKEN}/?miniProfileUrn=x"
LEAD_AS_SENT = f"https://www.linkedin.com/sales/lead/{LEAD_TOKEN},NAME_SEARCH,1Ab2?_ntb=x"
PEOPLE_AS_SENT = f"https://www.linkedin.com/sales/people/{LEAD_TOKEN},OUT_OF_NETWORK,q"
FORMS = [(MEMBER_AS_SENT, MEMBER), (LEAD_AS_SENT, LEAD)]


@pytest.fixture
def app(make_app, tmp_path):
    # No minimum time on the public form: these tests submit at once.
    return make_app(BULK_UPLOAD_DIR=str(tmp_path / "uploads"), OPTOUT_MIN_SECONDS=0)


def api_add(client, team, url):
    return client.post("/v1/dnc", json={"url": url}, headers=team.headers)


def check(client, team, url):
    return client.get("/v1/dnc/check", query_string={"url": url}, headers=team.headers).get_json()[
        "data"
    ]


def sha(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


@pytest.mark.parametrize(("sent", "stored"), FORMS)
def test_add_check_and_a_second_add_use_the_stored_form(client, team, sent, stored):
    resp = api_add(client, team, sent)
    assert resp.status_code == 201 and resp.get_json()["data"]["url"] == stored
    assert check(client, team, stored)["onList"]
    assert check(client, team, sent)["entry"]["url"] == stored
    assert api_add(client, team, stored).status_code == 409


def test_a_lowercased_token_is_another_identifier(client, team):
    api_add(client, team, MEMBER)
    assert not check(client, team, MEMBER.lower())["onList"]
    assert api_add(client, team, MEMBER.lower()).status_code == 201


def test_every_sales_navigator_page_of_a_lead_is_the_lead(client, team):
    api_add(client, team, LEAD_AS_SENT)
    for sent in (
        PEOPLE_AS_SENT,
        LEAD.replace("/lead/", "/profile/") + ",x",
        "linkedin.com/SALES/LEAD/" + LEAD_TOKEN,
    ):
        assert check(client, team, sent)["entry"]["url"] == LEAD
    resp = client.get(
        "/v1/dnc/check", query_string={"url": "linkedin.com/sales/company/1"}, headers=team.headers
    )
    assert resp.status_code == 400 and resp.get_json()["error"] == "invalid_url"
    assert "other than a lead" in resp.get_json()["message"]


def test_batch_and_screen_by_url_and_by_digest(client, team):
    resp = client.post(
        "/v1/dnc/batch",
        headers=team.headers,
        json={"entries": [{"url": MEMBER_AS_SENT}, {"url": PEOPLE_AS_SENT}, {"url": LEAD_AS_SENT}]},
    )
    assert [d["status"] for d in resp.get_json()["data"]["details"]] == [
        "added",
        "added",
        "duplicate",
    ]
    assert [d["url"] for d in resp.get_json()["data"]["details"]] == [MEMBER, LEAD, LEAD]
    screened = client.post(
        "/v1/dnc/screen",
        headers=team.headers,
        json={"urls": [MEMBER_AS_SENT, LEAD_AS_SENT, MEMBER.lower(), "in/nobody"]},
    ).get_json()["data"]
    assert [r["onList"] for r in screened["results"]] == [True, True, False, False]
    by_digest = client.post(
        "/v1/dnc/screen",
        headers=team.headers,
        json={"sha256": [sha(MEMBER), sha(LEAD).upper(), sha(MEMBER.lower())]},
    ).get_json()["data"]
    assert [r["onList"] for r in by_digest["results"]] == [True, True, False]
    assert [r["url"] for r in by_digest["results"]][:2] == [MEMBER, LEAD]


LEADING = "https://linkedin.com/in/leading-light"


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        (TOKEN, {MEMBER}),
        (TOKEN.lower(), {MEMBER}),
        ("7icpobx", {MEMBER}),
        ("ACwAAAEuHH8B", {LEAD}),
        ("sales/lead/acwaaaeu", {LEAD}),
        ("lead", {LEAD, LEADING}),
        ("/lead/", {LEAD}),
        (LEAD, {LEAD}),
        (MEMBER, {MEMBER}),
        ("in/acoaaa7", {MEMBER}),
        ("in/acwaa", set()),
    ],
)
def test_the_list_search_finds_tokens_and_leads(client, team, term, expected):
    for url in (MEMBER, LEAD, "in/john-doe", LEADING):
        api_add(client, team, url)
    found = {
        e["url"]
        for e in client.get("/v1/dnc", query_string={"q": term}, headers=team.headers).get_json()[
            "data"
        ]["entries"]
    }
    assert found == expected


@pytest.mark.parametrize(("sent", "stored"), FORMS)
def test_the_list_page_searches_a_pasted_url_in_its_stored_form(
    client, signed_in, team, sent, stored
):
    for url in (MEMBER, LEAD, "in/john-doe"):
        api_add(client, team, url)
    html = signed_in.get("/entries", query_string={"q": sent}).get_data(as_text=True)
    assert stored in html and "john-doe" not in html
    assert ({MEMBER, LEAD} - {stored}).pop() not in html


def test_the_export_keeps_the_stored_forms(client, signed_in, team):
    api_add(client, team, MEMBER_AS_SENT)
    api_add(client, team, LEAD_AS_SENT)
    rows = list(csv.reader(io.StringIO(signed_in.get("/export.csv").get_data(as_text=True))))
    urls = {cell for row in rows for cell in row}
    assert {MEMBER, LEAD} <= urls


@pytest.mark.parametrize(("sent", "stored"), FORMS)
def test_the_public_form_takes_a_token_or_a_lead(app, client, team, sent, stored):
    response = post_optout(client, team.slug, sent, reason="Please stop.")
    assert response.status_code == 200
    assert stored in response.get_data(as_text=True)
    assert check(client, team, stored)["onList"]


def test_the_bulk_page_adds_pasted_tokens_and_leads(app, signed_in, client, team):
    html = preview(
        signed_in, urls=f"{MEMBER_AS_SENT}\n{LEAD_AS_SENT}\n{PEOPLE_AS_SENT}\n"
    ).get_data(as_text=True)
    assert "Done: 2 profiles added" in confirm(signed_in, pending_token(html)).get_data(
        as_text=True
    )
    assert check(client, team, MEMBER)["onList"] and check(client, team, LEAD)["onList"]


def test_the_csv_screening_page_matches_tokens_and_leads(app, signed_in, client, team):
    api_add(client, team, MEMBER)
    api_add(client, team, LEAD)
    data = (
        "name,profile\n"
        f"Ann,{MEMBER_AS_SENT}\n"
        f'Bob,"{PEOPLE_AS_SENT}"\n'
        f"Cy,{LEAD_AS_SENT}\n"  # unquoted: its commas split the row, the lead stays whole
        f"Di,{MEMBER.lower()}\n"
    ).encode()
    html = upload(signed_in, data).get_data(as_text=True)
    assert counts_of(html)["listed"] == 3
    rows = download(signed_in, html, "all")
    assert [row[-2:] for row in rows[1:4]] == [
        ["listed", MEMBER],
        ["listed", LEAD],
        ["listed", LEAD],
    ]
