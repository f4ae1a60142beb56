"""Links given out (settings page, `optout link`) come from PUBLIC_BASE_URL, never from the
request's Host header; TRUSTED_HOSTS refuses other hosts (issue 9, item 9)."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from tests.web_support import make_member, sign_in, token_for

EVIL = "evil.example"


class HostClient(FlaskClient):
    """A test client whose every request names `host` (its cookies follow that host)."""

    host = "localhost"

    def open(self, *args, **kwargs):
        kwargs["headers"] = {**dict(kwargs.get("headers") or {}), "Host": self.host}
        return super().open(*args, **kwargs)


def member_client(app, team, host="localhost"):
    make_member(app, team.id)
    app.test_client_class = HostClient
    client = app.test_client()
    client.host = host
    sign_in(client)
    return client


def personal_link(client):
    return client.post(
        "/settings/personal-link",
        data={
            "csrf_token": token_for(client, "/settings"),
            "profile_url": "https://www.linkedin.com/in/recipient/",
        },
    )


def test_links_use_public_base_url_whatever_host_the_request_names(make_app, team):
    app = make_app(PUBLIC_BASE_URL="https://dnc.example.com")
    client = member_client(app, team, EVIL)
    page = client.get("/settings").get_data(as_text=True)
    assert f'value="https://dnc.example.com/optout/{team.slug}" readonly' in page
    made = personal_link(client)
    assert made.status_code == 200
    text = made.get_data(as_text=True)
    assert re.search(rf'value="https://dnc\.example\.com/optout/{team.slug}/p/[^"]+"', text)
    assert "evil.example" not in page + text


def test_in_production_without_public_base_url_no_link_is_built_from_the_host(make_app, team):
    app = make_app(TESTING=False, PUBLIC_BASE_URL=None, TRUSTED_HOSTS=None)
    assert not app.debug
    client = member_client(app, team, EVIL)
    response = client.get("/settings")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "evil.example" not in page and "/optout/" not in page
    assert 'id="no-base-url"' in page and "PUBLIC_BASE_URL" in page
    made = personal_link(client)
    assert made.status_code == 422
    text = made.get_data(as_text=True)
    assert "PUBLIC_BASE_URL" in text and "evil.example" not in text
    assert "data-personal-link" not in text


def test_trusted_hosts_refuse_other_hosts_and_vouch_for_their_own(make_app, team):
    app = make_app(TESTING=False, PUBLIC_BASE_URL=None, TRUSTED_HOSTS=["dnc.example.com"])
    client = member_client(app, team, "dnc.example.com")
    page = client.get("/settings").get_data(as_text=True)
    # The request's host was checked against TRUSTED_HOSTS: links may use it.
    assert f'value="http://dnc.example.com/optout/{team.slug}" readonly' in page
    client.host = EVIL
    for method, path in [
        ("GET", "/settings"),
        ("GET", f"/optout/{team.slug}"),
        ("GET", "/login"),
        ("POST", "/login"),
        ("GET", "/healthz"),
    ]:
        response = client.open(path, method=method)
        assert response.status_code == 400, path
        assert "evil.example" not in response.get_data(as_text=True)
    api = client.get("/v1/verify", headers={"Authorization": f"Bearer {team.api_key}"})
    assert api.status_code == 400 and api.json["error"] == "bad_request"


def test_settings_from_the_environment(app_from_environment, monkeypatch):
    monkeypatch.setenv("PUBLIC_BASE_URL", " https://dnc.example.com/ ")
    monkeypatch.setenv("TRUSTED_HOSTS", "dnc.example.com, 10.0.0.5 ,")
    settings = app_from_environment().config
    assert settings["PUBLIC_BASE_URL"] == "https://dnc.example.com"
    assert settings["TRUSTED_HOSTS"] == ["dnc.example.com", "10.0.0.5"]
    monkeypatch.delenv("PUBLIC_BASE_URL")
    monkeypatch.delenv("TRUSTED_HOSTS")
    settings = app_from_environment().config
    assert settings["PUBLIC_BASE_URL"] is None and settings["TRUSTED_HOSTS"] is None


@pytest.mark.parametrize(
    "bad",
    [
        "dnc.example.com",
        "https://dnc.example.com/dnc",
        "ftp://dnc.example.com",
        "https://",
        "https://a.b/?x=1",
        "https://user@dnc.example.com",
    ],
)
def test_a_public_base_url_that_is_not_an_origin_is_refused_at_start(
    app_from_environment, monkeypatch, bad
):
    monkeypatch.setenv("PUBLIC_BASE_URL", bad)
    with pytest.raises(ValueError, match="PUBLIC_BASE_URL must be like"):
        app_from_environment()


def test_optout_link_uses_the_configured_public_base_url(make_app, team):
    app = make_app(PUBLIC_BASE_URL="https://dnc.example.com")
    result = app.test_cli_runner().invoke(
        args=["optout", "link", "--team", team.slug, "linkedin.com/in/cli-person"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"https://dnc.example.com/optout/{team.slug}/p/")
