"""The public opt-out page in the prospect's language (English, German, French, Spanish).

Chosen by the visitor's Accept-Language among those, English otherwise, unless the team
fixed one in its settings (or the installation did, with OPTOUT_LANGUAGE); `<html lang>`
and Content-Language match. The page, its errors, its receipt and its problem pages are
translated; the team pages stay English. The catalogues are complete, keep every
placeholder, and the compiled .mo files are those of the .po sources.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.dates import format_date
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from dnc_app import config
from dnc_app.config import ConfigError
from dnc_app.domain.accounts import AccountError
from dnc_app.domain.accounts.teams import update_team_settings
from dnc_app.http.optout.strings import LANGUAGES, MESSAGES
from tests.test_optout import HTMX, post_optout
from tests.web_support import TEST_ACTOR

TRANSLATIONS = config.resource_dir("translations")
# A phrase of the form page, its receipt and an error, in each language.
PAGE = {
    "en": "Stop messages from Acme",
    "de": "Keine Nachrichten mehr von Acme",
    "fr": "Ne plus recevoir de messages de Acme",
    "es": "No recibir más mensajes de Acme",
}
RECEIPT = {
    "en": "Your request is recorded",
    "de": "Ihre Anfrage ist eingegangen",
    "fr": "Votre demande est enregistrée",
    "es": "Su solicitud ha quedado registrada",
}
COMPANY = {
    "en": "company pages cannot be added",
    "de": "Das ist die Seite eines Unternehmens oder einer Hochschule",
    "fr": "C’est la page d’une entreprise",
    "es": "Es la página de una empresa",
}
TOO_MANY = {
    "en": "Too many requests",
    "de": "Zu viele Anfragen",
    "fr": "Trop de demandes",
    "es": "Demasiadas solicitudes",
}


@pytest.fixture
def app(make_app):
    return make_app(OPTOUT_MIN_SECONDS=0)


def _lang(text: str) -> str:
    return re.search(r'<html lang="([^"]+)"', text).group(1)


def _page(client, slug, accept: str | None):
    headers = {"Accept-Language": accept} if accept is not None else {}
    response = client.get(f"/optout/{slug}", headers=headers)
    assert response.status_code == 200
    return response


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "en"),
        ("en-GB,en;q=0.9", "en"),
        ("de-DE,de;q=0.9,en;q=0.5", "de"),
        ("de-AT", "de"),
        ("fr-CH, fr;q=0.9", "fr"),
        ("es-MX", "es"),
        ("ja, zh;q=0.8", "en"),
        ("ja, es;q=0.2, fr;q=0.4", "fr"),
        ("*", "en"),
        ("x" * 5000, "en"),
    ],
)
def test_the_page_speaks_the_visitors_language(client, team, accept, expected):
    response = _page(client, team.slug, accept)
    text = response.get_data(as_text=True)
    assert _lang(text) == expected
    assert response.headers["Content-Language"] == expected
    assert "Accept-Language" in response.headers["Vary"]
    assert PAGE[expected] in text


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_receipt_errors_and_limits_are_in_the_page_language(make_app, team, lang):
    app = make_app(OPTOUT_MIN_SECONDS=0, OPTOUT_RATE_LIMIT="2/minute")
    client = app.test_client()
    accept = {"Accept-Language": lang}
    invalid = post_optout(client, team.slug, "linkedin.com/company/acme", headers=accept)
    assert invalid.status_code == 400
    text = invalid.get_data(as_text=True)
    assert COMPANY[lang] in text and _lang(text) == lang
    receipt = post_optout(client, team.slug, "in/someone", headers=accept)
    text = receipt.get_data(as_text=True)
    month = format_date(datetime.now(UTC), "MMMM", locale=lang)  # the receipt's: today's
    assert receipt.status_code == 200 and RECEIPT[lang] in text and month in text
    assert _lang(text) == lang
    post_optout(client, team.slug, "in/someone-else", headers=accept)
    limited = post_optout(client, team.slug, "in/third", headers=accept)
    assert limited.status_code == 429
    text = limited.get_data(as_text=True)
    assert TOO_MANY[lang] in text and _lang(text) == lang


def test_numbers_and_dates_are_written_the_languages_way(app, client, team):
    german = _page(client, team.slug, "de").get_data(as_text=True)
    assert "Höchstens 1.000 Zeichen" in german
    english = _page(client, team.slug, "en").get_data(as_text=True)
    assert "At most 1,000 characters" in english
    receipt = post_optout(
        client, team.slug, "in/date-check", headers={"Accept-Language": "de"}
    ).get_data(as_text=True)
    assert re.search(r"\d{1,2}\. \w+ \d{4}, \d\d:\d\d Uhr UTC", receipt)


def test_the_htmx_answers_are_in_the_page_language(client, team):
    response = client.get(
        f"/optout/{team.slug}/validate",
        query_string={"url": "in/x y"},
        headers={**HTMX, "Accept-Language": "fr"},
    )
    assert "Une adresse de profil ressemble à" in response.get_data(as_text=True)
    receipt = post_optout(
        client, team.slug, "in/htmx-fr", headers={**HTMX, "Accept-Language": "fr"}
    )
    assert RECEIPT["fr"] in receipt.get_data(as_text=True)


def test_a_team_that_fixed_a_language_gets_it_whatever_the_browser(app, client, team):
    with app.app_context():
        update_team_settings(team.id, None, None, None, optout_language="fr", actor=TEST_ACTOR)
    assert _lang(_page(client, team.slug, "de").get_data(as_text=True)) == "fr"
    with app.app_context():
        update_team_settings(team.id, None, None, None, optout_language="", actor=TEST_ACTOR)
    assert _lang(_page(client, team.slug, "de").get_data(as_text=True)) == "de"


def test_the_installation_default_applies_unless_the_team_chose(make_app, team):
    app = make_app(OPTOUT_LANGUAGE="es")
    client = app.test_client()
    assert _lang(_page(client, team.slug, "de").get_data(as_text=True)) == "es"
    with app.app_context():
        update_team_settings(team.id, None, None, None, optout_language="auto", actor=TEST_ACTOR)
    assert _lang(_page(client, team.slug, "de").get_data(as_text=True)) == "de"


@pytest.mark.parametrize("value", ["xx", "german", "de-DE"])
def test_an_unknown_installation_language_refuses_to_start(value):
    with pytest.raises(ConfigError, match="OPTOUT_LANGUAGE"):
        config.Config({"OPTOUT_LANGUAGE": value, "SECRET_KEY": "k" * 40}).settings(Path("/tmp"))


def test_a_team_language_must_be_a_known_one(app, team):
    with app.app_context(), pytest.raises(AccountError):
        update_team_settings(team.id, None, None, None, optout_language="it", actor=TEST_ACTOR)


def test_an_owner_fixes_the_language_in_the_settings(app, signed_in, team):
    from tests.web_support import token_for

    token = token_for(signed_in)
    page = signed_in.get("/settings").get_data(as_text=True)
    assert 'name="optout_language"' in page and "Deutsch" in page
    response = signed_in.post(
        "/settings",
        data={
            "csrf_token": token,
            "display_name": "",
            "privacy_url": "",
            "optout_message": "",
            "optout_language": "de",
        },
    )
    assert response.status_code == 303
    assert _lang(_page(app.test_client(), team.slug, "fr").get_data(as_text=True)) == "de"
    refused = signed_in.post("/settings", data={"csrf_token": token, "optout_language": "it"})
    assert refused.status_code == 422


def test_the_team_pages_stay_english(client, team):
    response = client.get("/login", headers={"Accept-Language": "de"})
    assert 'lang="en"' in response.get_data(as_text=True)
    assert "Content-Language" not in response.headers


def test_an_unknown_team_is_answered_in_the_visitors_language(client):
    response = client.get("/optout/no-such-team", headers={"Accept-Language": "es"})
    assert response.status_code == 404
    text = response.get_data(as_text=True)
    assert _lang(text) == "es" and "Este enlace no es válido" in text


# --------------------------------------------------------------------------- catalogues


def _catalogue(lang: str):
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as source:
        return read_po(source)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_is_translated_with_its_placeholders(lang):
    catalogue = _catalogue(lang)
    for message_id in MESSAGES.values():
        message = catalogue[message_id]
        assert message is not None and message.string, (lang, message_id)
        assert not message.fuzzy, (lang, message_id)
        placeholders = set(re.findall(r"\{\w+\}", message_id))
        assert set(re.findall(r"\{\w+\}", message.string)) == placeholders, message_id


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_compiled_catalogue_is_the_source_compiled(lang):
    """The committed .mo matches its .po: edit the .po, then run pybabel compile
    (translations/README.md)."""
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.mo", "rb") as compiled:
        mo = {m.id: m.string for m in read_mo(compiled) if m.id}
    po = {m.id: m.string for m in _catalogue(lang) if m.id and not m.fuzzy}
    assert mo == po


def test_the_receipt_does_not_read_as_a_threat(client, team):
    for lang in LANGUAGES:
        text = _page(client, team.slug, lang).get_data(as_text=True)
        assert "cannot be forgotten" not in text and "permanently" not in text
