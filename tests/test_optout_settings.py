"""The team settings page of the public opt-out page, and `update_team_settings`."""

from __future__ import annotations

import re

import pytest

from dnc_app.domain.accounts import AccountError
from dnc_app.domain.accounts.teams import get_team, update_team_settings
from tests.support import TEST_ACTOR
from tests.test_optout import HTMX, hidden_fields
from tests.web_support import token_for


def test_settings_need_a_signed_in_member(app, client, team):
    # A valid CSRF token (from the public page), so that only the sign-in check refuses.
    token = hidden_fields(client.get(f"/optout/{team.slug}").get_data(as_text=True))["csrf_token"]
    for response in (
        client.get("/settings"),
        client.post("/settings", data={"csrf_token": token, "display_name": "X"}),
        client.post("/settings/personal-link", data={"csrf_token": token, "profile_url": "in/x"}),
    ):
        assert response.status_code in (302, 303, 401)
        assert "Public opt-out page" not in response.get_data(as_text=True)
    with app.app_context():
        assert get_team(team.id).display_name is None


def test_settings_page_shows_the_public_link_with_a_copy_button(signed_in, team):
    response = signed_in.get("/settings")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    public_url = f"http://localhost/optout/{team.slug}"
    assert f'value="{public_url}" readonly' in text
    assert f'<button type="button" data-copy="{public_url}">Copy</button>' in text
    assert 'name="display_name"' in text and 'name="privacy_url"' in text
    assert 'name="optout_message"' in text
    assert "flask --app app optout link --team acme" in text


def test_settings_are_saved_and_shown_on_the_public_page(app, signed_in, team):
    response = signed_in.post(
        "/settings",
        data={
            "csrf_token": token_for(signed_in),
            "display_name": "  Acme Outreach ",
            "privacy_url": "https://acme.example/privacy",
            "optout_message": "We are sorry.",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/settings")
    page = signed_in.get("/settings").get_data(as_text=True)
    assert "Settings saved." in page
    assert 'value="Acme Outreach"' in page
    with app.app_context():
        stored = get_team(team.id)
        assert (stored.display_name, stored.privacy_url, stored.optout_message) == (
            "Acme Outreach",
            "https://acme.example/privacy",
            "We are sorry.",
        )
    public = signed_in.get(f"/optout/{team.slug}").get_data(as_text=True)
    assert "Stop messages from Acme Outreach" in public
    assert 'href="https://acme.example/privacy"' in public and "We are sorry." in public
    # Empty values clear the settings: the team name is shown again.
    signed_in.post(
        "/settings",
        data={
            "csrf_token": token_for(signed_in),
            "display_name": "",
            "privacy_url": "",
            "optout_message": "",
        },
    )
    with app.app_context():
        stored = get_team(team.id)
        assert (stored.display_name, stored.privacy_url, stored.optout_message) == (
            None,
            None,
            None,
        )
        assert stored.public_name == "Acme"


@pytest.mark.parametrize(
    "privacy_url",
    [
        "javascript:alert(1)",
        "ftp://acme.example/p",
        "acme.example/privacy",
        "https://",
        "https://acme.example/a b",
        "https://acme.example:99999/",
        "x" * 2049,
    ],
)
def test_invalid_privacy_link_is_refused(app, signed_in, team, privacy_url):
    response = signed_in.post(
        "/settings",
        data={
            "csrf_token": token_for(signed_in),
            "display_name": "New name",
            "privacy_url": privacy_url,
            "optout_message": "",
        },
    )
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert re.search(r'<p class="field-error" id="privacy_url-error" role="alert">', text)
    assert 'aria-invalid="true"' in text
    with app.app_context():
        stored = get_team(team.id)
        assert stored.display_name is None and stored.privacy_url is None


def test_settings_need_the_csrf_token(app, signed_in, team):
    response = signed_in.post("/settings", data={"display_name": "No token"})
    assert response.status_code == 400
    with app.app_context():
        assert get_team(team.id).display_name is None


def test_personal_link_form_makes_a_working_link(signed_in, team):
    response = signed_in.post(
        "/settings/personal-link",
        data={
            "csrf_token": token_for(signed_in),
            "profile_url": "https://www.linkedin.com/in/Recipient-One/",
        },
    )
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    link = re.search(r'value="([^"]+)" readonly[^>]*data-personal-link>', text, re.S).group(1)
    assert link.startswith(f"http://localhost/optout/{team.slug}/p/")
    assert f'<button type="button" data-copy="{link}">Copy</button>' in text
    page = signed_in.get(link.removeprefix("http://localhost")).get_data(as_text=True)
    assert "https://linkedin.com/in/recipient-one" in page


def test_personal_link_form_with_htmx_returns_the_result_only(signed_in, team):
    response = signed_in.post(
        "/settings/personal-link",
        headers=HTMX,
        data={"csrf_token": token_for(signed_in), "profile_url": "linkedin.com/in/recipient-two"},
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert text.lstrip().startswith('<div id="personal-link-result"')
    assert "data-personal-link" in text and "<html" not in text


@pytest.mark.parametrize("htmx", [False, True])
def test_personal_link_form_explains_a_bad_url(signed_in, team, htmx):
    response = signed_in.post(
        "/settings/personal-link",
        headers=HTMX if htmx else {},
        data={
            "csrf_token": token_for(signed_in),
            "profile_url": "https://linkedin.com/company/acme",
        },
    )
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "company pages cannot be added" in text and 'role="alert"' in text
    assert "data-personal-link" not in text


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("x" * 201, None, None), "Display name"),
        ((None, "mailto:a@b.c", None), "https://"),
        ((None, None, "m" * 1001), "Message"),
    ],
)
def test_update_team_settings_validates(app, team, args, error):
    with app.app_context():
        with pytest.raises(AccountError, match=error):
            update_team_settings(team.id, *args, actor=TEST_ACTOR)
        with pytest.raises(AccountError, match="Team not found"):
            update_team_settings("team_missing", None, None, None, actor=TEST_ACTOR)
