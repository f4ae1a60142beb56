"""The public opt-out page, end to end through the Flask test client on the real database.

Every case of issue 5: new, already listed (the same answer), invalid URL, honeypot,
too fast, expired, tampered, missing CSRF, rate-limited, oversized body, unknown team,
personal links (valid and tampered), the htmx variants, and what is stored (entry and
audit record with source public_form, the IP only as a salted hash, the receipt
reference) or not stored (the abuse cases: entries and audit records are counted).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import re

import pytest
from sqlalchemy import func, select

from dnc_app.domain import entries as dnc_list
from dnc_app.domain.accounts.teams import create_team, update_team_settings
from dnc_app.extensions import db
from dnc_app.http.optout import forms, links
from dnc_app.storage.models import AuditEvent, DncEntry
from tests.support import TEST_SECRET
from tests.web_support import TEST_ACTOR

HTMX = {"HX-Request": "true"}
REFERENCE_RE = re.compile(r"OPT-[0-9A-HJKMNP-TV-Z]{10}")
ISO_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
READABLE_RE = re.compile(r"\d{1,2} [A-Z][a-z]+ \d{4}, \d\d:\d\d UTC")
_HIDDEN_RE = re.compile(r'<input[^>]*name="(csrf_token|started|token)"[^>]*value="([^"]*)"')
RETRY_TEXT = "We could not accept this request yet"
LINK_INVALID_TEXT = "This personal link is not valid"


# --------------------------------------------------------------------------- helpers


def hidden_fields(page_html: str) -> dict[str, str]:
    """The hidden inputs of the opt-out form (CSRF token, signed start time, link token)."""
    return {name: html.unescape(value) for name, value in _HIDDEN_RE.findall(page_html)}


def open_form(client, path: str, environ: dict | None = None) -> tuple[str, dict[str, str]]:
    response = client.get(path, environ_base=environ or {})
    assert response.status_code in (200, 400), response.status_code
    text = response.get_data(as_text=True)
    return text, hidden_fields(text)


def post_optout(
    client,
    slug: str,
    url: str = "",
    *,
    reason: str = "",
    website: str = "",
    fields: dict[str, str] | None = None,
    headers: dict | None = None,
    environ: dict | None = None,
    **overrides,
):
    """Open the page, then submit the form as a browser would (with its hidden fields)."""
    if fields is None:
        _page, fields = open_form(client, f"/optout/{slug}", environ)
    data = {**fields, "url": url, "reason": reason, "website": website, **overrides}
    return client.post(
        f"/optout/{slug}", data=data, headers=headers or {}, environ_base=environ or {}
    )


def mask(text: str) -> str:
    """An answer with the parts that differ between two receipts masked."""
    text = REFERENCE_RE.sub("OPT-XXXXXXXXXX", text)
    text = ISO_RE.sub("ISO-TIME", text)
    return READABLE_RE.sub("READABLE-TIME", text)


def mask_tokens(text: str) -> str:
    """A form with its per-rendering tokens (CSRF, signed start time) masked."""
    return re.sub(r'(name="(?:csrf_token|started)"[^>]*value=")[^"]*"', r'\1TOKEN"', text)


def counts(app) -> tuple[int, int]:
    """(entries, audit records) in the database."""
    with app.app_context():
        entries = db.session.execute(select(func.count()).select_from(DncEntry)).scalar_one()
        audits = db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
        db.session.remove()
    return entries, audits


def reference_of(text: str) -> str:
    found = REFERENCE_RE.findall(text)
    assert len(set(found)) == 1, found
    return found[0]


def ip_hash(ip: str) -> str:
    return hmac.new(TEST_SECRET.encode(), f"optout-ip|{ip}".encode(), hashlib.sha256).hexdigest()


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def app(make_app):
    # No minimum time: these tests submit at once. The real default is tested below.
    return make_app(OPTOUT_MIN_SECONDS=0)


@pytest.fixture
def strict_app(make_app):
    """The real defaults (2 s minimum, 5/minute per IP)."""
    return make_app()


# --------------------------------------------------------------------------- the page


def test_page_has_team_name_form_and_explanation(client, team):
    response = client.get(f"/optout/{team.slug}")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "Stop messages from Acme" in text
    assert '<label for="url">' in text and 'name="url"' in text
    assert '<label for="reason">' in text and 'name="reason"' in text
    assert 'name="csrf_token"' in text and 'name="started"' in text
    assert "will not contact you again" in text
    # What the person gets, not a warning that they cannot be forgotten.
    assert "so you will not be contacted in later campaigns either" in text
    assert "permanently" not in text and "forgotten" not in text
    assert "one-way hash of your IP address" in text
    # The honeypot: off-screen, skipped by keyboard and screen readers, never autofilled.
    honeypot = re.search(r'<div class="hp" aria-hidden="true">.*?</div>', text, re.S).group(0)
    assert 'tabindex="-1"' in honeypot and 'autocomplete="off"' in honeypot
    assert 'name="website"' in honeypot
    # Inline validation is announced politely; the field points at it.
    assert 'id="url-feedback" class="feedback" aria-live="polite"' in text
    assert 'aria-describedby="url-hint url-feedback"' in text
    assert response.headers["Cache-Control"] == "no-store"


def test_page_is_standalone_and_csp_clean(client, team):
    text = client.get(f"/optout/{team.slug}").get_data(as_text=True)
    # Its own small layout: none of the team pages' navigation.
    for team_path in ('href="/settings"', 'href="/login"', 'href="/logout"', 'href="/entries'):
        assert team_path not in text
    assert "optout.css" in text
    # CSP without 'unsafe-inline': no inline scripts, styles or handlers.
    assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", text)
    assert "<style" not in text and " style=" not in text
    assert not re.search(r"\son[a-z]+=", text)
    assert (
        """<meta name="htmx-config" content='{"includeIndicatorStyles":false,"""
        """"defaultSettleDelay":0}'>"""
    ) in text


def test_page_shows_team_settings(app, client, team):
    with app.app_context():
        update_team_settings(
            team.id,
            "Acme Sales",
            "https://acme.example/privacy",
            "Sorry for the message.\nWe will not write again.",
            actor=TEST_ACTOR,
        )
    text = client.get(f"/optout/{team.slug}").get_data(as_text=True)
    assert "Stop messages from Acme Sales" in text
    assert 'href="https://acme.example/privacy"' in text
    assert "Privacy policy of Acme Sales" in text
    assert "Sorry for the message.\nWe will not write again." in text


def test_team_message_is_escaped(app, client, team):
    with app.app_context():
        update_team_settings(
            team.id, "<b>Acme</b>", None, "<script>alert(1)</script>", actor=TEST_ACTOR
        )
    text = client.get(f"/optout/{team.slug}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<b>Acme</b>" not in text


# --------------------------------------------------------------------------- new / already listed


def test_new_optout_is_stored_with_receipt_and_audit(app, client, team):
    response = post_optout(
        client,
        team.slug,
        " https://www.linkedin.com/in/Jane-Doe/?trk=x ",
        reason="Not interested, thanks.",
        environ={"REMOTE_ADDR": "203.0.113.7"},
    )
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "Your request is recorded" in text
    assert "https://linkedin.com/in/jane-doe" in text
    reference = reference_of(text)
    iso = ISO_RE.search(text).group(0)
    assert READABLE_RE.search(text)
    assert f'<time datetime="{iso}">' in text
    with app.app_context():
        entry = dnc_list.find_by_url(team.id, "linkedin.com/in/jane-doe")
        assert entry is not None
        assert entry.source == "public_form"
        assert entry.reason == "Not interested, thanks."
        events = (
            db.session.execute(select(AuditEvent).where(AuditEvent.url == entry.url))
            .scalars()
            .all()
        )
        assert len(events) == 1
        event = events[0]
        assert event.action == "add" and event.source == "public_form"
        assert event.actor_type == "public"
        assert event.reference == reference
        assert event.reason == "Not interested, thanks."
        # The IP only as a salted hash: HMAC with the app secret, never the address.
        assert event.ip_hash == ip_hash("203.0.113.7")
        assert event.ip_hash != hashlib.sha256(b"203.0.113.7").hexdigest()
        stored = " ".join(str(getattr(event, c.key)) for c in AuditEvent.__table__.columns)
        assert "203.0.113.7" not in stored


def test_ip_hash_differs_per_ip_and_per_secret(make_app, team):
    app_a = make_app(OPTOUT_MIN_SECONDS=0)
    app_b = make_app(OPTOUT_MIN_SECONDS=0, SECRET_KEY="another-secret")
    for app, ip in ((app_a, "198.51.100.1"), (app_a, "198.51.100.2"), (app_b, "198.51.100.1")):
        response = post_optout(
            app.test_client(), team.slug, "in/hash-test", environ={"REMOTE_ADDR": ip}
        )
        assert response.status_code == 200
    with app_a.app_context():
        hashes = (
            db.session.execute(
                select(AuditEvent.ip_hash)
                .where(AuditEvent.source == "public_form")
                .order_by(AuditEvent.id)
            )
            .scalars()
            .all()
        )
    assert len(hashes) == 3 and len(set(hashes)) == 3
    assert hashes[0] == ip_hash("198.51.100.1")


# Headers whose value must differ between any two answers, whatever the list holds:
# - X-Request-ID: a fresh random id per request (it ties a log line to an answer);
# - X-RateLimit-Reset: a clock reading (when the window frees), compared within a second.
# Every other header, and the order and number of all of them, must be the same.
_PER_REQUEST_HEADERS = {"X-Request-ID"}


def header_shape(response) -> list[tuple[str, str]]:
    """The answer's headers in order, with the per-request values masked."""
    shaped = []
    for name, value in response.headers.items():
        if name in _PER_REQUEST_HEADERS or name == "X-RateLimit-Reset":
            value = "<per request>"
        elif name == "Set-Cookie":
            # A session cookie carries a freshly signed value: its name and flags count.
            cookie_name, _sep, rest = value.partition("=")
            value = cookie_name + "=<signed>;" + rest.partition(";")[2]
        shaped.append((name, value))
    return shaped


def assert_same_answer(first, second, first_text: str, second_text: str) -> None:
    """Status, body (references and times masked) and every header are the same."""
    assert first.status_code == second.status_code
    assert mask(first_text) == mask(second_text)
    assert header_shape(first) == header_shape(second)
    resets = [
        int(r.headers["X-RateLimit-Reset"])
        for r in (first, second)
        if "X-RateLimit-Reset" in r.headers
    ]
    assert not resets or max(resets) - min(resets) <= 1


@pytest.mark.parametrize("htmx", [False, True], ids=["full-page", "htmx"])
@pytest.mark.parametrize("listed_by", ["public_form", "api"])
def test_already_listed_gets_the_identical_answer(app, client, team, htmx, listed_by):
    """A person already listed (by their own earlier request, or by the team) and a person
    not listed get the same answer, from two addresses with budgets of their own."""
    listed, fresh = "https://linkedin.com/in/already-aaa", "https://linkedin.com/in/not-yet-bbb"
    headers = HTMX if htmx else {}
    if listed_by == "api":
        assert client.post("/v1/dnc", json={"url": listed}, headers=team.headers).status_code == 201
    else:
        assert (
            post_optout(
                app.test_client(), team.slug, listed, environ={"REMOTE_ADDR": "198.51.100.9"}
            ).status_code
            == 200
        )
    second = post_optout(
        app.test_client(),
        team.slug,
        listed,
        headers=headers,
        environ={"REMOTE_ADDR": "198.51.100.1"},
    )
    first = post_optout(
        app.test_client(),
        team.slug,
        fresh,
        headers=headers,
        environ={"REMOTE_ADDR": "198.51.100.2"},
    )
    first_text = first.get_data(as_text=True).replace(fresh, "URL")
    second_text = second.get_data(as_text=True).replace(listed, "URL")
    assert first.status_code == 200
    assert reference_of(first_text) != reference_of(second_text)
    assert_same_answer(first, second, first_text, second_text)
    if htmx:
        assert "<html" not in first_text and 'class="panel receipt"' in first_text
    with app.app_context():
        actions = db.session.execute(
            select(AuditEvent.action, AuditEvent.reference)
            .where(AuditEvent.url == listed, AuditEvent.team_id == team.id)
            .order_by(AuditEvent.id)
        ).all()
        entries = db.session.execute(
            select(func.count())
            .select_from(DncEntry)
            .where(DncEntry.url == listed, DncEntry.team_id == team.id)
        ).scalar_one()
        protected = db.session.execute(
            select(DncEntry.protected).where(DncEntry.url == listed)
        ).scalar_one()
    assert entries == 1 and protected
    # The request is recorded too, with the reference the person was given: it made the
    # team's entry their own, or it repeats their own.
    expected = "opted_out" if listed_by == "api" else "add_duplicate"
    assert actions[-1] == (expected, reference_of(second_text))


def test_the_identical_answer_check_sees_an_extra_header(app, team):
    """The comparison above fails for an answer with one header more (or changed)."""
    url = "https://linkedin.com/in/header-check"
    first = post_optout(app.test_client(), team.slug, url, environ={"REMOTE_ADDR": "198.51.100.3"})
    second = post_optout(app.test_client(), team.slug, url, environ={"REMOTE_ADDR": "198.51.100.4"})
    texts = [r.get_data(as_text=True) for r in (first, second)]
    assert_same_answer(first, second, *texts)
    second.headers["X-Listed"] = "1"
    with pytest.raises(AssertionError):
        assert_same_answer(first, second, *texts)
    del second.headers["X-Listed"]
    second.headers["Vary"] = "Cookie"
    with pytest.raises(AssertionError):
        assert_same_answer(first, second, *texts)


def accounts_team(app, name: str):
    with app.app_context():
        team = create_team(name)
        db.session.remove()
        return team


# --------------------------------------------------------------------------- invalid input


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "Please enter the address of your LinkedIn profile."),
        ("   ", "Please enter the address of your LinkedIn profile."),
        ("https://www.linkedin.com/company/acme", "company pages cannot be added"),
        ("https://linkedin.com.evil.com/in/john", "the host must be linkedin.com"),
        ("https://evil.com/in/john", "the host must be linkedin.com"),
        ("javascript:alert(1)", ""),
        ("https://linkedin.com/in/" + "a" * 101, "longer than 100 characters"),
    ],
)
def test_invalid_url_is_a_field_error_and_stores_nothing(app, client, team, url, message):
    before = counts(app)
    response = post_optout(client, team.slug, url, reason="keep me")
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert message in text
    assert 'aria-invalid="true"' in text
    assert re.search(r'<p class="feedback-error" role="alert"', text)
    assert "keep me" in text  # what the person typed is kept
    assert not REFERENCE_RE.search(text)
    assert counts(app) == before


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("x" * 1001, "at most 1,000 characters"),
        ("bad \x00 byte", "cannot be stored"),
    ],
)
def test_invalid_reason_is_a_field_error_and_stores_nothing(app, client, team, reason, message):
    before = counts(app)
    response = post_optout(client, team.slug, "in/valid-person", reason=reason)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert message in text
    assert 'id="reason-error" role="alert"' in text
    assert counts(app) == before


def test_invalid_url_with_htmx_returns_the_form_fragment(client, team):
    response = post_optout(client, team.slug, "linkedin.com/company/acme", headers=HTMX)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "<html" not in text
    assert text.lstrip().startswith('<section id="optout-panel"')
    assert "company pages cannot be added" in text


# --------------------------------------------------------------------------- abuse cases


def _started_from_the_past(app, slug: str, seconds_ago: float, monkeypatch) -> str:
    real_now = forms._now_ms()
    with app.test_request_context():
        monkeypatch.setattr(forms, "_now_ms", lambda: real_now - int(seconds_ago * 1000))
        value = forms.issue_started(slug)
        monkeypatch.undo()
    return value


def _tamper(value: str) -> str:
    position = len(value) // 2
    return value[:position] + ("A" if value[position] != "A" else "B") + value[position + 1 :]


ABUSE_CASES = [
    "honeypot",
    "too_fast",
    "expired",
    "tampered_time",
    "other_team_time",
    "missing_time",
    "missing_csrf",
    "wrong_csrf",
]


def _abusive_submission(case, app, client, team, other_slug, monkeypatch):
    _page, fields = open_form(client, f"/optout/{team.slug}")
    url = "https://linkedin.com/in/abuse-victim"
    if case == "honeypot":
        return post_optout(client, team.slug, url, website="http://spam.example", fields=fields)
    if case == "too_fast":
        app.config["OPTOUT_MIN_SECONDS"] = 2.0  # the real default
        return post_optout(client, team.slug, url, fields=fields)
    if case == "expired":
        old = _started_from_the_past(app, team.slug, 4 * 3600 + 1, monkeypatch)
        return post_optout(client, team.slug, url, fields={**fields, "started": old})
    if case == "tampered_time":
        return post_optout(
            client, team.slug, url, fields={**fields, "started": _tamper(fields["started"])}
        )
    if case == "other_team_time":
        _page, other_fields = open_form(client, f"/optout/{other_slug}")
        return post_optout(
            client, team.slug, url, fields={**fields, "started": other_fields["started"]}
        )
    if case == "missing_time":
        return post_optout(
            client, team.slug, url, fields={k: v for k, v in fields.items() if k != "started"}
        )
    if case == "missing_csrf":
        return post_optout(
            client, team.slug, url, fields={k: v for k, v in fields.items() if k != "csrf_token"}
        )
    if case == "wrong_csrf":
        return post_optout(
            client, team.slug, url, fields={**fields, "csrf_token": _tamper(fields["csrf_token"])}
        )
    raise AssertionError(case)


@pytest.mark.parametrize("case", ABUSE_CASES)
def test_abuse_cases_store_nothing_and_get_the_generic_answer(
    app, client, team, make_team, monkeypatch, case
):
    other = make_team("Other", "other-team")
    before = counts(app)
    response = _abusive_submission(case, app, client, team, other.slug, monkeypatch)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert RETRY_TEXT in text
    assert 'role="alert" id="form-notice"' in text
    assert not REFERENCE_RE.search(text)
    assert 'class="panel receipt"' not in text
    # A fresh form to press again: a new signed start time, the honeypot emptied.
    fresh = hidden_fields(text)
    assert fresh["started"] and fresh["csrf_token"]
    assert re.search(r'name="website" type="text" tabindex="-1" autocomplete="off" value=""', text)
    assert counts(app) == before


def test_abuse_answers_do_not_say_which_check_failed(app, make_team, monkeypatch):
    team = make_team("Acme")
    other = make_team("Other", "other-team")
    app.config["OPTOUT_RATE_LIMIT"] = "100/minute"
    answers = set()
    for case in ABUSE_CASES:
        app.config["OPTOUT_MIN_SECONDS"] = 0
        client = app.test_client()
        response = _abusive_submission(case, app, client, team, other.slug, monkeypatch)
        answers.add((response.status_code, mask_tokens(response.get_data(as_text=True))))
    assert len(answers) == 1, "the answers differ between the protection checks"


def test_too_fast_then_accepted_after_the_minimum_time(strict_app, team, monkeypatch):
    client = strict_app.test_client()
    _page, fields = open_form(client, f"/optout/{team.slug}")
    url = "https://linkedin.com/in/quick-person"
    response = post_optout(client, team.slug, url, fields=fields)
    assert response.status_code == 400 and RETRY_TEXT in response.get_data(as_text=True)
    # The same form, sent 2.5 s after it was rendered (the clock moved on), is accepted.
    real_now = forms._now_ms()
    monkeypatch.setattr(forms, "_now_ms", lambda: real_now + 2500)
    response = post_optout(client, team.slug, url, fields=fields)
    assert response.status_code == 200
    assert "Your request is recorded" in response.get_data(as_text=True)


def test_default_protection_settings(strict_app):
    assert strict_app.config["OPTOUT_MIN_SECONDS"] == 2
    assert strict_app.config["OPTOUT_MAX_AGE_SECONDS"] == 4 * 3600
    assert strict_app.config["OPTOUT_RATE_LIMIT"] == "5/minute;30/day"
    assert strict_app.config["OPTOUT_MAX_CONTENT_LENGTH"] == 16 * 1024


def test_settings_from_the_environment(app_from_environment, monkeypatch):
    monkeypatch.setenv("OPTOUT_MIN_SECONDS", "0.25")
    monkeypatch.setenv("OPTOUT_RATE_LIMIT", "7/minute")
    app = app_from_environment()
    assert app.config["OPTOUT_MIN_SECONDS"] == 0.25
    assert app.config["OPTOUT_RATE_LIMIT"] == "7/minute"


def test_form_open_for_hours_is_still_accepted(app, client, team, monkeypatch):
    # Within the maximum age (here 3 h 59 min) both the start time and CSRF are valid.
    old = _started_from_the_past(app, team.slug, 4 * 3600 - 60, monkeypatch)
    _page, fields = open_form(client, f"/optout/{team.slug}")
    response = post_optout(client, team.slug, "in/slow-reader", fields={**fields, "started": old})
    assert response.status_code == 200


# --------------------------------------------------------------------------- rate limits


def test_rate_limited_per_ip_with_a_friendly_page(strict_app, team, monkeypatch):
    strict_app.config["OPTOUT_MIN_SECONDS"] = 0
    client = strict_app.test_client()
    for n in range(5):
        response = post_optout(client, team.slug, f"in/person-{n}")
        assert response.status_code == 200, n
    before = counts(strict_app)
    response = post_optout(client, team.slug, "in/person-6", reason="Please stop")
    assert response.status_code == 429
    text = response.get_data(as_text=True)
    assert "Too many requests" in text and "Please wait" in text
    assert int(response.headers["Retry-After"]) >= 1
    # The team's page, with the form as the person left it: they send it again later.
    assert "Stop messages from Acme" in text and "optout.css" in text
    assert 'value="in/person-6"' in text and ">Please stop</textarea>" in text
    assert 'role="alert"' in text
    assert counts(strict_app) == before
    # Another client IP has its own budget.
    response = post_optout(client, team.slug, "in/person-7", environ={"REMOTE_ADDR": "10.9.9.9"})
    assert response.status_code == 200


def test_only_accepted_submissions_count_against_the_limit(make_app, team):
    """Typos, empty fields and invalid URLs are not attempts: five of them, then the
    five accepted opt-outs the limit allows, and only then a 429."""
    app = make_app(OPTOUT_MIN_SECONDS=0, OPTOUT_RATE_LIMIT="5/minute")
    client = app.test_client()
    for typo in ("", "linkedin.com/company/acme", "linkdin.com/in/ann", "in/", "in/a b"):
        assert post_optout(client, team.slug, typo).status_code == 400, typo
    for n in range(5):
        assert post_optout(client, team.slug, f"in/accepted-{n}").status_code == 200, n
    assert post_optout(client, team.slug, "in/accepted-6").status_code == 429
    # Over the limit, a typo still gets its own answer (what to correct), not a 429.
    assert post_optout(client, team.slug, "linkedin.com/company/acme").status_code == 400


def test_the_429_page_keeps_the_teams_branding(make_app, team):
    from dnc_app.domain import branding
    from tests.branding_support import png

    app = make_app(OPTOUT_MIN_SECONDS=0, OPTOUT_RATE_LIMIT="1/minute")
    with app.app_context():
        branding.save_look(team.id, accent="#0a7d53", logo=png(120, 40), actor=TEST_ACTOR)
    client = app.test_client()
    assert post_optout(client, team.slug, "in/first").status_code == 200
    response = post_optout(client, team.slug, "https://www.linkedin.com/in/second/")
    assert response.status_code == 429
    text = response.get_data(as_text=True)
    assert f"/optout/{team.slug}/logo?v=" in text and 'class="team-logo"' in text
    assert f"/optout/{team.slug}/theme.css?v=" in text
    assert 'value="https://www.linkedin.com/in/second/"' in text


def test_a_personal_link_over_the_limit_keeps_its_profile(make_app, team):
    app = make_app(OPTOUT_MIN_SECONDS=0, OPTOUT_RATE_LIMIT="1/minute")
    client = app.test_client()
    assert post_optout(client, team.slug, "in/first").status_code == 200
    with app.app_context():
        token = links.make_token(team.slug, "in/linked-person")
    page = client.get(f"/optout/{team.slug}/p/{token}").get_data(as_text=True)
    response = post_optout(client, team.slug, fields=hidden_fields(page))
    assert response.status_code == 429
    text = response.get_data(as_text=True)
    assert "https://linkedin.com/in/linked-person" in text and 'name="token"' in text


def test_rate_limited_with_htmx_gets_a_fragment(make_app, team):
    app = make_app(OPTOUT_MIN_SECONDS=0, OPTOUT_RATE_LIMIT="1/minute")
    client = app.test_client()
    assert post_optout(client, team.slug, "in/one", headers=HTMX).status_code == 200
    response = post_optout(client, team.slug, "in/two", headers=HTMX)
    assert response.status_code == 429
    text = response.get_data(as_text=True)
    assert "<html" not in text and 'id="optout-panel"' in text and "Too many requests" in text


def test_public_optouts_never_use_the_team_api_budget(make_app, team):
    app = make_app(OPTOUT_MIN_SECONDS=0, OPTOUT_RATE_LIMIT="100/minute")
    client = app.test_client()
    for n in range(12):
        assert post_optout(client, team.slug, f"in/public-{n}").status_code == 200
    # The team's API key still has its whole write budget of 30 per minute.
    for n in range(30):
        response = client.post("/v1/dnc", json={"url": f"in/api-{n}"}, headers=team.headers)
        assert response.status_code == 201, (n, response.get_json())
    response = client.post("/v1/dnc", json={"url": "in/api-31"}, headers=team.headers)
    assert response.status_code == 429


def test_a_flood_of_public_requests_does_not_block_the_api(make_app, team):
    app = make_app(OPTOUT_MIN_SECONDS=0)
    client = app.test_client()
    statuses = [post_optout(client, team.slug, f"in/flood-{n}").status_code for n in range(8)]
    assert statuses.count(429) == 3
    response = client.post("/v1/dnc", json={"url": "in/api-after-flood"}, headers=team.headers)
    assert response.status_code == 201


# --------------------------------------------------------------------------- request size


def test_oversized_body_is_refused_and_stores_nothing(app, client, team):
    before = counts(app)
    _page, fields = open_form(client, f"/optout/{team.slug}")
    response = client.post(
        f"/optout/{team.slug}",
        data={**fields, "url": "in/big-body", "reason": "x" * (17 * 1024), "website": ""},
    )
    assert response.status_code == 413
    text = response.get_data(as_text=True)
    assert "Request too large" in text and "optout.css" in text
    assert counts(app) == before


def test_oversized_body_with_htmx_gets_a_fragment(app, client, team):
    _page, fields = open_form(client, f"/optout/{team.slug}")
    response = client.post(
        f"/optout/{team.slug}",
        headers=HTMX,
        data={**fields, "url": "in/big-body", "reason": "x" * (17 * 1024)},
    )
    assert response.status_code == 413
    text = response.get_data(as_text=True)
    assert "<html" not in text and 'id="optout-panel"' in text and "Request too large" in text


def test_body_just_under_the_cap_is_read(app, client, team):
    _page, fields = open_form(client, f"/optout/{team.slug}")
    response = client.post(
        f"/optout/{team.slug}",
        data={**fields, "url": "in/near-cap", "reason": "x" * (14 * 1024), "website": ""},
    )
    # Read and answered (the reason is too long for the list, which is a field error).
    assert response.status_code == 400
    assert "at most 1,000 characters" in response.get_data(as_text=True)


# --------------------------------------------------------------------------- unknown team


@pytest.mark.parametrize("method", ["get", "post", "validate"])
def test_unknown_team_is_a_plain_404_the_same_for_every_slug(app, client, team, method):
    before = counts(app)
    bodies = set()
    for slug in ("no-such-team", "another-missing", "x" * 300):
        if method == "get":
            response = client.get(f"/optout/{slug}")
        elif method == "post":
            _page, fields = open_form(client, f"/optout/{team.slug}")
            response = client.post(f"/optout/{slug}", data={**fields, "url": "in/john"})
        else:
            response = client.get(f"/optout/{slug}/validate?url=in/john")
        assert response.status_code == 404
        text = response.get_data(as_text=True)
        assert slug not in text
        assert "<html" in text.lower()
        bodies.add(text)
    assert len(bodies) == 1
    assert counts(app) == before


# --------------------------------------------------------------------------- personal links


def _link_token(app, slug: str, url: str) -> str:
    with app.test_request_context():
        return links.make_token(slug, url)


def test_personal_link_prefills_and_locks_the_url(app, client, team):
    token = _link_token(app, team.slug, "https://www.linkedin.com/in/Link-Person/")
    response = client.get(f"/optout/{team.slug}/p/{token}")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert '<p class="locked-url" data-locked-url>https://linkedin.com/in/link-person</p>' in text
    # No editable URL field: the URL travels only as the signed token (and a hidden copy).
    assert '<input id="url"' not in text
    assert '<input type="hidden" name="url" value="https://linkedin.com/in/link-person">' in text
    assert hidden_fields(text)["token"] == token


def test_personal_link_opts_out_with_one_click(app, client, team):
    token = _link_token(app, team.slug, "linkedin.com/in/link-person")
    _page, fields = open_form(client, f"/optout/{team.slug}/p/{token}")
    # Even a changed URL field cannot redirect the opt-out: the token's URL is used.
    response = post_optout(client, team.slug, "linkedin.com/in/somebody-else", fields=fields)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "https://linkedin.com/in/link-person" in text
    with app.app_context():
        entry = dnc_list.find_by_url(team.id, "linkedin.com/in/link-person")
        assert entry is not None and entry.source == "public_form"
        assert dnc_list.find_by_url(team.id, "linkedin.com/in/somebody-else") is None


@pytest.mark.parametrize("kind", ["tampered", "other_team", "truncated", "garbage"])
def test_invalid_personal_link_shows_a_message_and_the_ordinary_form(
    app, client, team, make_team, kind
):
    token = _link_token(app, team.slug, "linkedin.com/in/link-person")
    if kind == "tampered":
        # Another profile's payload with the original signature.
        other = _link_token(app, team.slug, "linkedin.com/in/other-person")
        token = other.split(".")[0] + "." + token.split(".")[1]
    elif kind == "other_team":
        other_team = make_team("Other", "other-team")
        token = _link_token(app, other_team.slug, "linkedin.com/in/link-person")
    elif kind == "truncated":
        token = token[:-5]
    else:
        token = "not-a-token"
    response = client.get(f"/optout/{team.slug}/p/{token}")
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert LINK_INVALID_TEXT in text
    assert '<input id="url" name="url" type="text"' in text  # the ordinary, empty form
    assert "link-person" not in text
    assert "token" not in hidden_fields(text)


def test_tampered_link_token_in_a_submission_stores_nothing(app, client, team):
    token = _link_token(app, team.slug, "linkedin.com/in/link-person")
    _page, fields = open_form(client, f"/optout/{team.slug}/p/{token}")
    before = counts(app)
    response = post_optout(client, team.slug, "", fields={**fields, "token": _tamper(token)})
    assert response.status_code == 400
    assert LINK_INVALID_TEXT in response.get_data(as_text=True)
    assert counts(app) == before


def test_link_tokens_need_no_database(make_app):
    app = make_app()
    with app.test_request_context():
        token = links.make_token("acme", "https://uk.linkedin.com/in/J%C3%BCrgen/")
        assert links.read_token("acme", token) == "https://linkedin.com/in/jürgen"
        assert links.read_token("other", token) is None
        assert links.read_token("acme", token + "x") is None
        assert links.link_path("acme", token) == f"/optout/acme/p/{token}"
        with pytest.raises(dnc_list.InvalidURL):
            links.make_token("acme", "https://linkedin.com/company/acme")
    with make_app(SECRET_KEY="rotated").test_request_context():
        assert links.read_token("acme", token) is None


def test_cli_prints_a_working_personal_link(app, client, team):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "optout",
            "link",
            "--team",
            team.slug,
            "--base-url",
            "https://dnc.example/",
            "https://www.linkedin.com/in/cli-person/",
        ]
    )
    assert result.exit_code == 0, result.output
    link = result.output.strip()
    assert link.startswith(f"https://dnc.example/optout/{team.slug}/p/")
    path = link.removeprefix("https://dnc.example")
    text = client.get(path).get_data(as_text=True)
    assert "https://linkedin.com/in/cli-person" in text
    # By team id too; a bad URL or team is an error.
    assert runner.invoke(args=["optout", "link", "--team", team.id, "in/x"]).exit_code == 0
    bad_url = runner.invoke(args=["optout", "link", "--team", team.slug, "evil.com/in/x"])
    assert bad_url.exit_code != 0 and "host must be linkedin.com" in bad_url.output
    bad_team = runner.invoke(args=["optout", "link", "--team", "nope", "in/x"])
    assert bad_team.exit_code != 0 and "No team" in bad_team.output


# --------------------------------------------------------------------------- inline validation


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("linkedin.com/in/John", 'data-valid="true">We will record: https://linkedin.com/in/john'),
        ("https://www.linkedin.com/in/j%C3%BCrgen/", "https://linkedin.com/in/jürgen"),
        ("https://linkedin.com/company/acme", 'data-valid="false">Not a person profile'),
        ("https://evil.com/in/john", "the host must be linkedin.com"),
        ("", ""),
    ],
)
def test_inline_validation_fragment(client, team, raw, expected):
    response = client.get(f"/optout/{team.slug}/validate", query_string={"url": raw}, headers=HTMX)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "<html" not in text
    assert expected in text
    if not raw:
        assert text.strip() == ""


def test_inline_validation_does_not_reveal_the_list(client, team):
    url = "https://linkedin.com/in/listed-person"
    before = client.get(f"/optout/{team.slug}/validate", query_string={"url": url}).data
    client.post("/v1/dnc", json={"url": url}, headers=team.headers)
    after = client.get(f"/optout/{team.slug}/validate", query_string={"url": url}).data
    assert before == after


def test_htmx_page_request_gets_the_panel_only(client, team):
    response = client.get(f"/optout/{team.slug}", headers=HTMX)
    text = response.get_data(as_text=True)
    assert "<html" not in text and text.lstrip().startswith('<section id="optout-panel"')
    assert "Vary" in response.headers and "HX-Request" in response.headers["Vary"]


def test_the_page_budget_bounds_invalid_submissions_and_keeps_what_was_typed(make_app, team):
    """Invalid submissions are free of the opt-out limit, not of the page's: a flood of
    them is refused with the page budget, on the team's page with the typed text."""
    app = make_app(OPTOUT_MIN_SECONDS=0, OPTOUT_PAGE_LIMIT="3/minute")
    client = app.test_client()
    _page, fields = open_form(client, f"/optout/{team.slug}")  # 1
    for n in range(2):  # 2, 3
        response = post_optout(client, team.slug, "in/", fields=fields)
        assert response.status_code == 400, n
    response = post_optout(client, team.slug, "linkedin.com/in/typed-here", fields=fields)
    assert response.status_code == 429
    text = response.get_data(as_text=True)
    assert 'value="linkedin.com/in/typed-here"' in text and "Stop messages from Acme" in text
