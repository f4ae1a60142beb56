"""The public opt-out page in each of its languages, in Chromium at phone width (390 px),
with htmx and without JavaScript (the page's scripts refused, so its forms post as plain
HTML forms; axe itself still runs): the browser's language picks the page's (`<html lang>`),
an invalid URL is explained and the receipt is given in it, and axe finds nothing on the
form, the error or the receipt. Also a team that fixed its language: a German browser then
reads the team's French page.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from dnc_app.domain.accounts.teams import update_team_settings
from tests.browser.support import screenshot
from tests.browser.test_accessibility import describe
from tests.support import TEST_ACTOR

pytestmark = pytest.mark.live

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
AXE = Axe()
# The browser's locale, and the page's heading, button, error and receipt in that language.
LANGUAGES = {
    "en": (
        "en-GB",
        "Stop messages from Acme",
        "Opt out",
        "company pages cannot be added",
        "Your request is recorded",
    ),
    "de": (
        "de-DE",
        "Keine Nachrichten mehr von Acme",
        "Abmelden",
        "Das ist die Seite eines Unternehmens",
        "Ihre Anfrage ist eingegangen",
    ),
    "fr": (
        "fr-FR",
        "Ne plus recevoir de messages de Acme",
        "Me désinscrire",
        "C’est la page d’une entreprise",
        "Votre demande est enregistrée",
    ),
    "es": (
        "es-ES",
        "No recibir más mensajes de Acme",
        "Darme de baja",
        "Es la página de una empresa",
        "Su solicitud ha quedado registrada",
    ),
}


def assert_axe_clean(page) -> None:
    results = AXE.run(page)
    assert results.violations_count == 0, describe(results.response["violations"])


def assert_fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("script", [True, False], ids=["htmx", "no-js"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_page_in_the_browsers_language(shared_server, team, new_page, lang, script):
    locale, heading, button, error, receipt = LANGUAGES[lang]
    page = new_page(**PHONE, locale=locale)
    if not script:
        page.route("**/*.js", lambda route: route.abort())
    page.goto(f"{shared_server.url}/optout/{team.slug}")
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("h1").inner_text() == heading
    assert page.evaluate("typeof window.htmx") == ("object" if script else "undefined")
    assert_fits(page)
    assert_axe_clean(page)

    page.locator("#url").fill("linkedin.com/company/acme")
    page.get_by_role("button", name=button).click()
    expect(page.locator(".feedback-error[role=alert]")).to_contain_text(error)
    assert page.locator("html").get_attribute("lang") == lang
    assert_fits(page)
    assert_axe_clean(page)

    page.locator("#url").fill(f"linkedin.com/in/prospect-{lang}")
    page.get_by_role("button", name=button).click()
    expect(page.locator("#optout-panel.receipt h2")).to_have_text(receipt)
    assert_fits(page)
    screenshot(page, f"optout-{lang}-{'htmx' if script else 'no-js'}-receipt-phone")
    assert_axe_clean(page)


def test_a_team_that_fixed_its_language(shared_server, app, team, new_page):
    with app.app_context():
        update_team_settings(team.id, None, None, None, optout_language="fr", actor=TEST_ACTOR)
    page = new_page(**PHONE, locale="de-DE")
    page.goto(f"{shared_server.url}/optout/{team.slug}")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("h1").inner_text() == LANGUAGES["fr"][1]
    assert_axe_clean(page)
