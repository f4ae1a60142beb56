"""A team's look in Chromium: the live preview in Settings (colour and a chosen logo,
before saving), the form without JavaScript, the public page with the saved logo and
colour, and axe at both widths with extreme colours. Screenshots: artifacts/screenshots/.
"""

from __future__ import annotations

import base64
import re

import pytest
from playwright.sync_api import expect

from dnc_app.domain import branding
from dnc_app.domain.accounts.teams import update_team_settings
from dnc_app.extensions import db
from tests.branding_support import png
from tests.browser.support import screenshot
from tests.browser.test_accessibility import AXE, EMAIL, WIDTHS, describe, sign_in
from tests.browser.test_optout_browser import watch_console
from tests.support import TEST_ACTOR
from tests.web_support import make_member

pytestmark = pytest.mark.live

EXTREMES = ["#ffff00", "#000000", "#777777", "#ffffff"]


def rgb(colour: str) -> str:
    """#rrggbb as getComputedStyle writes it."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def css(locator, prop: str) -> str:
    return locator.evaluate(f"(el) => getComputedStyle(el).getPropertyValue('{prop}').trim()")


def set_look(app, team, accent: str | None, logo: bytes | None = None) -> None:
    with app.app_context():
        branding.save_look(team.id, accent=accent, logo=logo, actor=TEST_ACTOR)
    privacy_link(app, team)


def privacy_link(app, team) -> None:
    """A link on the form page (and in the preview), drawn in the accent's readable shade."""
    with app.app_context():
        update_team_settings(team.id, None, "https://acme.example/privacy", None, actor=TEST_ACTOR)
        db.session.remove()


def owner_page(app, team, server, new_page, **options):
    make_member(app, team.id, EMAIL)
    page = new_page(**options)
    sign_in(page, server.url)
    return page


def test_the_preview_follows_the_colour_and_a_chosen_logo(
    shared_server, app, team, new_page, tmp_path
):
    page = owner_page(app, team, shared_server, new_page, viewport=WIDTHS["desktop"])
    privacy_link(app, team)
    problems = watch_console(page)
    page.goto(f"{shared_server.url}/settings")
    button = page.locator(".look-preview-button")
    assert css(button, "background-color") == rgb(branding.DEFAULT_ACCENT)
    assert page.locator("[data-preview-on-accent]").inner_text() == "white"

    # A colour too light for white text or for links on white: black text, a darker link.
    page.locator("#accent_color").fill("#ffff00")
    expect(page.locator("[data-preview-on-accent]")).to_have_text("black")
    assert css(button, "background-color") == rgb("#ffff00")
    assert css(button, "color") == rgb("#000000")
    theme = branding.theme_for("#ffff00")
    assert page.locator("[data-preview-link]").inner_text() == theme.link  # as the server
    assert css(page.locator(".look-preview-link"), "color") == rgb(theme.link)
    assert page.locator("[data-preview-contrast]").inner_text() == "19.6"
    assert page.locator("[data-preview-state]").inner_text() == "(not saved yet)"

    # A chosen file shows before it is uploaded (a blob: URL, allowed for images only).
    logo_file = tmp_path / "acme-logo.png"
    logo_file.write_bytes(png(120, 40, (20, 120, 60)))
    page.locator("#logo").set_input_files(str(logo_file))
    logo = page.locator("[data-preview-logo]")
    expect(logo).to_be_visible()
    assert logo.get_attribute("src").startswith("blob:")
    page.wait_for_function("document.querySelector('[data-preview-logo]').naturalWidth === 120")
    screenshot(page, "look-settings-preview")

    # A file the server would refuse says so at once.
    svg_file = tmp_path / "logo.svg"
    svg_file.write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    page.locator("#logo").set_input_files(str(svg_file))
    expect(page.locator("[data-logo-error]")).to_contain_text("not a PNG, JPEG or WebP")
    page.locator("#logo").set_input_files(str(logo_file))

    with page.expect_navigation():
        page.get_by_role("button", name="Save logo and colour").click()
    expect(page.locator(".flashes")).to_contain_text("Saved.")
    assert page.locator("[data-preview-state]").inner_text() == "(as saved)"
    assert css(page.locator(".look-preview-button"), "background-color") == rgb("#ffff00")
    assert problems == [], "\n".join(problems)

    visitor = new_page(viewport=WIDTHS["phone"], is_mobile=True)
    visitor_problems = watch_console(visitor)
    visitor.goto(f"{shared_server.url}/optout/{team.slug}")
    image = visitor.get_by_role("img", name="Acme")
    expect(image).to_be_visible()
    visitor.wait_for_function("document.querySelector('.team-logo').naturalWidth === 120")
    opt_out = visitor.get_by_role("button", name="Opt out")
    assert css(opt_out, "background-color") == rgb("#ffff00")
    assert css(opt_out, "color") == rgb("#000000")
    assert css(visitor.locator("body"), "--brand-link") == theme.link
    screenshot(visitor, "look-public-page-phone")
    assert visitor_problems == [], "\n".join(visitor_problems)


def test_the_look_form_works_without_javascript(shared_server, app, team, new_page, tmp_path):
    page = owner_page(
        app, team, shared_server, new_page, java_script_enabled=False, viewport=WIDTHS["desktop"]
    )
    page.goto(f"{shared_server.url}/settings")
    logo_file = tmp_path / "logo.png"
    logo_file.write_bytes(png(64, 64))
    page.locator("#logo").set_input_files(str(logo_file))
    page.locator("#accent_color").fill("#000000")
    with page.expect_navigation():
        page.get_by_role("button", name="Save logo and colour").click()
    assert "Saved." in page.locator(".flashes").inner_text()
    # The preview shows the saved look (the team's theme stylesheet, no script).
    button = page.locator(".look-preview-button")
    assert css(button, "background-color") == rgb("#000000")
    assert css(button, "color") == rgb("#ffffff")
    assert page.locator("[data-preview-on-accent]").inner_text() == "white"
    assert page.locator("[data-preview-logo]").get_attribute("src").endswith("/logo?v=1")
    screenshot(page, "look-settings-no-js")

    # A refused file: the message, nothing stored.
    bad = tmp_path / "logo.png.svg"
    bad.write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    page.locator("#logo").set_input_files(str(bad))
    page.get_by_role("button", name="Save logo and colour").click()
    expect(page.locator("#logo-error")).to_contain_text("SVG logos are not accepted")

    with page.expect_navigation():
        page.get_by_role("button", name="Remove logo").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Use the default colour").click()
    assert page.locator("[data-preview-logo]").is_hidden()
    assert css(page.locator(".look-preview-button"), "background-color") == rgb(
        branding.DEFAULT_ACCENT
    )
    with app.app_context():
        look = branding.look_of(team.id)
        assert (look.accent, look.has_logo, look.version) == (None, False, 3)


@pytest.mark.parametrize("kind", ["jpeg", "webp"])
def test_chromiums_own_jpeg_and_webp_are_read_right(shared_server, new_page, kind):
    """Real files from a real encoder, not only hand-made headers."""
    page = new_page()
    page.goto(f"{shared_server.url}/login")
    data_url = page.evaluate(
        """(kind) => {
        const canvas = document.createElement('canvas');
        canvas.width = 321; canvas.height = 123;
        const context = canvas.getContext('2d');
        context.fillStyle = '#c03'; context.fillRect(0, 0, 321, 123);
        return canvas.toDataURL('image/' + kind, 0.9);
    }""",
        kind,
    )
    assert data_url.startswith(f"data:image/{kind};base64,")
    info = branding.inspect_logo(base64.b64decode(data_url.split(",", 1)[1]))
    assert (info.mime, info.width, info.height) == (f"image/{kind}", 321, 123)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("accent", EXTREMES)
def test_no_axe_violations_with_extreme_colours(shared_server, app, team, new_page, accent, width):
    set_look(app, team, accent, png(160, 48, (90, 90, 90)))
    page = owner_page(app, team, shared_server, new_page, viewport=WIDTHS[width])
    name = accent.lstrip("#")
    for path, shot in (("/settings", "settings"), (f"/optout/{team.slug}", "public")):
        page.goto(shared_server.url + path)
        page.wait_for_load_state("load")
        if shot == "public":
            assert page.locator("link[href*='theme.css']").count() == 1
            assert css(page.get_by_role("button", name="Opt out"), "background-color") == rgb(
                accent
            )
        screenshot(page, f"look-{shot}-{name}-{width}")
        results = AXE.run(page)
        assert results.violations_count == 0, describe(results.response["violations"])
    # The receipt of that page, too (focus moves to its heading: the ring in the accent).
    page.locator("#url").fill("linkedin.com/in/extreme-colours")
    page.get_by_role("button", name="Opt out").click()
    expect(page.locator("#optout-panel.receipt")).to_be_visible()
    assert re.search(r"OPT-", page.locator("[data-reference]").inner_text())
    screenshot(page, f"look-receipt-{name}-{width}")
    results = AXE.run(page)
    assert results.violations_count == 0, describe(results.response["violations"])


@pytest.mark.parametrize("accent", EXTREMES)
def test_no_axe_violations_in_dark_mode_with_extreme_colours(
    shared_server, app, team, new_page, accent
):
    """The dark page draws links in a lighter shade of the accent (theme.css)."""
    set_look(app, team, accent, png(160, 48, (90, 90, 90)))
    page = new_page(viewport=WIDTHS["phone"], color_scheme="dark")
    page.goto(f"{shared_server.url}/optout/{team.slug}")
    link = page.get_by_role("link", name="Privacy policy of Acme")
    assert css(link, "color") == rgb(branding.theme_for(accent).dark_link)
    screenshot(page, f"look-public-dark-{accent.lstrip('#')}-phone")
    results = AXE.run(page)
    assert results.violations_count == 0, describe(results.response["violations"])
