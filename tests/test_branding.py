"""A team's look on its public page: the logo (types from bytes, sizes from headers), the
accent colour (contrast maths), the settings form that sets them, and the public page,
theme stylesheet and logo that show them."""

from __future__ import annotations

import io
import itertools
import re
import time

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from dnc_app.domain import branding, changelog
from dnc_app.domain.branding import colours, images
from dnc_app.http.security import CONTENT_SECURITY_POLICY
from tests.branding_support import (
    GIF,
    SVG,
    jpeg_header,
    png,
    webp_extended,
    webp_lossless,
    webp_lossy,
)
from tests.roles_support import client_as, make_world
from tests.support import TEST_ACTOR
from tests.test_optout import HTMX
from tests.web_support import token_for

SAMPLES = {
    "png": (png(40, 20), "image/png", (40, 20)),
    "jpeg": (jpeg_header(300, 120), "image/jpeg", (300, 120)),
    "jpeg-progressive": (jpeg_header(64, 48, frame=0xC2), "image/jpeg", (64, 48)),
    "webp-lossy": (webp_lossy(320, 100), "image/webp", (320, 100)),
    "webp-lossless": (webp_lossless(2048, 16), "image/webp", (2048, 16)),
    "webp-extended": (webp_extended(500, 200), "image/webp", (500, 200)),
}

# --------------------------------------------------------------------------- images


@pytest.mark.parametrize("name", SAMPLES)
def test_type_and_size_come_from_the_bytes(name):
    data, mime, size = SAMPLES[name]
    info = branding.inspect_logo(data)
    assert (info.mime, (info.width, info.height), info.size) == (mime, size, len(data))


@pytest.mark.parametrize("name", SAMPLES)
def test_every_truncation_is_refused_with_a_message_or_read_right(name):
    """Each prefix of a file is refused (damaged or unknown) or, once the sizes are in
    it, read right: never another exception (IndexError, struct errors), never a wrong
    size."""
    data, _mime, size = SAMPLES[name]
    refused = 0
    for end in range(len(data)):
        try:
            info = branding.inspect_logo(data[:end])
        except branding.ImageRefused as exc:
            assert exc.message
            refused += 1
        else:
            assert (info.width, info.height) == size, end
    assert refused >= 20


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty"),
        (SVG, "SVG logos are not accepted"),
        (b"\xef\xbb\xbf  \n<svg viewBox='0 0 1 1'></svg>", "SVG logos are not accepted"),
        (GIF, "must be a PNG, JPEG or WebP image"),
        (b"%PDF-1.7\n" + bytes(100), "must be a PNG, JPEG or WebP image"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "must be a PNG, JPEG or WebP image"),
        (png(15, 40), "15 × 40 pixels: each side must be 16 to 2,048 pixels"),
        (webp_extended(2049, 100), "2049 × 100 pixels"),
        (jpeg_header(0, 100), "0 × 100 pixels"),
        (b"\x89PNG\r\n\x1a\n" + bytes(8) + b"IDAT" + bytes(8), "PNG image cannot be read"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 " + bytes(20), "WebP image cannot be read"),
    ],
)
def test_refusals_say_why(data, message):
    with pytest.raises(branding.ImageRefused, match=re.escape(message)):
        branding.inspect_logo(data)


def test_larger_than_256_kib_is_refused_before_it_is_read():
    data = png(40, 20) + bytes(images.MAX_LOGO_BYTES)
    with pytest.raises(branding.ImageRefused, match=r"at most 256 KiB \(this file is 257 KiB\)"):
        branding.inspect_logo(data)


@pytest.mark.parametrize(
    "body",
    [
        b"\xff" * (images.MAX_LOGO_BYTES - 2),  # fill bytes only
        b"\xff\xd0" * ((images.MAX_LOGO_BYTES - 2) // 2),  # standalone markers only
        b"\xff\xe1\x00\x02" * ((images.MAX_LOGO_BYTES - 2) // 4),  # 65,000 empty segments
        b"\xff\xe1\xff\xff" + bytes(100),  # a segment longer than the file
        b"\xff\xe1\x00\x00" + bytes(100),  # a length below its own size
        b"\xff\xc0\x00\x11\x08\x00",  # a frame header cut short
        b"\xff\xe0\x00\x04\x00\x00" + b"\x00" * 1000,  # no marker after a segment
    ],
)
def test_hostile_jpeg_headers_cost_one_pass_and_are_refused(body):
    started = time.perf_counter()
    with pytest.raises(branding.ImageRefused, match="JPEG image cannot be read"):
        branding.inspect_logo(b"\xff\xd8" + body)
    assert time.perf_counter() - started < 1.0


def test_type_is_never_taken_from_the_name_or_the_declared_type(app, owner, team):
    # A GIF named logo.png and declared image/png: refused; a PNG named logo.gif: a PNG.
    response = post_look(owner, logo=(GIF, "logo.png", "image/png"))
    assert response.status_code == 422
    assert "must be a PNG, JPEG or WebP image" in response.get_data(as_text=True)
    assert post_look(owner, logo=(png(40, 20), "logo.gif", "image/gif")).status_code == 303
    with app.app_context():
        assert branding.look_of(team.id).logo_type == "image/png"


# --------------------------------------------------------------------------- colours


def test_contrast_maths_matches_wcag():
    assert colours.contrast("#ffffff", "#000000") == pytest.approx(21.0)
    assert colours.contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert colours.contrast("#0b57d0", "#ffffff") == pytest.approx(6.39, abs=0.01)
    assert colours.luminance("#ff0000") == pytest.approx(0.2126)
    assert colours.contrast("#123456", "#123456") == 1.0


@pytest.mark.parametrize(
    ("accent", "text"),
    [
        ("#ffff00", "#000000"),
        ("#000000", "#ffffff"),
        ("#777777", "#000000"),
        ("#ffffff", "#000000"),
        ("#0b57d0", "#ffffff"),
        ("#757575", "#ffffff"),
        ("#767676", "#000000"),
    ],
)
def test_text_on_the_accent_is_black_or_white_whichever_contrasts_more(accent, text):
    assert colours.text_on(accent) == text


def test_every_accent_gives_readable_colours():
    """On a grid of colours (and the extremes): the button's text reaches 4.5:1, links
    4.5:1 and the ring 3:1 on the light surfaces and on the dark ones; the link is the
    accent itself whenever the accent is readable."""
    steps = ["00", "33", "77", "99", "cc", "ff"]
    for r, g, b in itertools.product(steps, repeat=3):
        accent = f"#{r}{g}{b}"
        theme = colours.theme_for(accent)
        assert theme.on_accent_contrast >= 4.5, accent
        assert colours.contrast(theme.hover, theme.on_accent) >= 4.5, accent
        for surfaces, link, ring in (
            (colours.LIGHT_SURFACES, theme.link, theme.ring),
            (colours.DARK_SURFACES, theme.dark_link, theme.dark_ring),
        ):
            for surface in surfaces:
                assert colours.contrast(link, surface) >= 4.5, (accent, surface)
                assert colours.contrast(ring, surface) >= 3.0, (accent, surface)
        if all(colours.contrast(accent, s) >= 4.5 for s in colours.LIGHT_SURFACES):
            assert theme.link == accent


def test_a_light_accent_is_darkened_only_as_far_as_needed():
    theme = colours.theme_for("#ffff00")
    assert theme.link != "#ffff00"
    one_step_lighter = colours.mix("#ffff00", "#000000", 0)  # the search's previous shade
    assert colours.contrast(one_step_lighter, "#f6f7f9") < 4.5
    # The shade keeps the hue: red and green equal, no blue.
    assert theme.link[1:3] == theme.link[3:5] and theme.link[5:] == "00"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("#0B57D0", "#0b57d0"),
        (" #ff0000 ", "#ff0000"),
        ("#000000", "#000000"),
    ],
)
def test_colours_are_normalized(value, expected):
    assert colours.normalize_colour(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "red",
        "#fff",
        "#gggggg",
        "#0b57d0ff",
        "0b57d0",
        "#0b57d",
        "#" + "f" * 10_000,
        "#ff000\n",
        "rgb(1,2,3)",
    ],
)
def test_other_colours_are_refused(value):
    with pytest.raises(branding.InvalidColour):
        colours.normalize_colour(value)


# --------------------------------------------------------------------------- the service


def test_an_unchanged_look_records_nothing_and_the_default_colour_stays_the_default(app, team):
    with app.app_context():
        branding.save_look(team.id, accent=branding.DEFAULT_ACCENT, actor=TEST_ACTOR)
        branding.reset_accent(team.id, actor=TEST_ACTOR)
        branding.remove_logo(team.id, actor=TEST_ACTOR)
        assert branding.look_of(team.id) is None
        assert settings_changes(team.id) == []
        branding.save_look(team.id, accent="#FF0000", actor=TEST_ACTOR)
        branding.save_look(team.id, accent="#ff0000", actor=TEST_ACTOR)
        assert branding.look_of(team.id).version == 1
        assert settings_changes(team.id) == ["Accent colour: #ff0000"]


def test_a_refused_logo_or_colour_stores_nothing(app, team):
    with app.app_context():
        with pytest.raises(branding.ImageRefused):
            branding.save_look(team.id, accent="#ff0000", logo=SVG, actor=TEST_ACTOR)
        with pytest.raises(branding.InvalidColour):
            branding.save_look(team.id, accent="red", logo=png(40, 20), actor=TEST_ACTOR)
        assert branding.look_of(team.id) is None and settings_changes(team.id) == []


# --------------------------------------------------------------------------- the settings form


@pytest.fixture
def owner(signed_in):
    """The first member of a team is its owner."""
    return signed_in


def post_look(client, *, token: str | None = None, **fields):
    """POST the form as a browser does. The body is encoded here, in memory: the test
    client would spool a large one to a temp file it never closes."""
    data = {"csrf_token": token or token_for(client, "/settings"), **fields}
    if isinstance(data.get("logo"), tuple):
        content, name, mime = data["logo"]
        data["logo"] = FileStorage(io.BytesIO(content), filename=name, content_type=mime)
    boundary, body = encode_multipart(data)
    return client.post(
        "/settings/look", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def settings_changes(team_id: str) -> list[str]:
    return [r.reason for r in changelog.read_from(team_id) if r.action == "settings_changed"]


def test_owner_sets_the_logo_and_colour_and_the_public_page_shows_them(app, owner, team):
    response = post_look(owner, accent_color="#FFFF00", logo=(png(40, 20), "acme.png", "image/png"))
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/settings")
    with app.app_context():
        look = branding.look_of(team.id)
        assert (look.accent, look.logo_type, look.logo_width, look.logo_height, look.version) == (
            "#ffff00",
            "image/png",
            40,
            20,
            1,
        )
        assert settings_changes(team.id) == [
            "Accent colour: #ffff00; Logo: uploaded (PNG, 40 × 20 pixels, 1 KiB)"
        ]
    settings = owner.get("/settings").get_data(as_text=True)
    assert "Saved. The public page shows its new look now." in settings
    assert 'value="#ffff00"' in settings and "Now: PNG, 40 × 20 pixels, 1 KiB." in settings
    assert f'href="/optout/{team.slug}/theme.css?v=1"' in settings
    # The preview, as saved: the computed text colour and the readable shade for links.
    assert re.search(
        r"Text on the button:\s*<strong data-preview-on-accent>black</strong>", settings
    )
    assert "(a readable shade of #ffff00)" in settings

    public = owner.get(f"/optout/{team.slug}").get_data(as_text=True)
    assert f'<link rel="stylesheet" href="/optout/{team.slug}/theme.css?v=1">' in public
    assert re.search(
        rf'<img class="team-logo" src="/optout/{team.slug}/logo\?v=1"\s+'
        r'alt="Acme" width="40" height="20">',
        public,
    )
    assert "Settings changed" in owner.get("/audit").get_data(as_text=True)


def test_the_theme_stylesheet_is_cacheable_by_version(app, owner, team):
    post_look(owner, accent_color="#777777")
    response = owner.get(f"/optout/{team.slug}/theme.css?v=1")
    assert response.status_code == 200 and response.mimetype == "text/css"
    css = response.get_data(as_text=True)
    assert "--brand-accent: #777777;" in css and "--brand-on-accent: #000000;" in css
    assert "--brand-link: #717171;" in css  # 4.48:1 on the page: one shade darker
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    etag = response.headers["ETag"]
    assert owner.get(f"/optout/{team.slug}/theme.css").headers["Cache-Control"] == "no-cache"
    assert owner.get(f"/optout/{team.slug}/theme.css?v=0").headers["Cache-Control"] == "no-cache"
    again = owner.get(f"/optout/{team.slug}/theme.css", headers={"If-None-Match": etag})
    assert again.status_code == 304
    # A new colour: a new version, a new URL and tag.
    post_look(owner, accent_color="#000000")
    response = owner.get(f"/optout/{team.slug}/theme.css?v=2")
    assert "--brand-on-accent: #ffffff;" in response.get_data(as_text=True)
    assert response.headers["ETag"] != etag


def test_the_logo_is_served_as_an_image_and_nothing_else(app, owner, team):
    data = png(64, 32)
    post_look(owner, logo=(data, "logo.png", "image/png"))
    response = owner.get(f"/optout/{team.slug}/logo?v=1")
    assert response.status_code == 200 and response.data == data
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == (
        "default-src 'none'; frame-ancestors 'none'; sandbox"
    )
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Cross-Origin-Resource-Policy"] == "same-origin"
    assert owner.get(f"/optout/{team.slug}/logo").headers["Cache-Control"] == "no-cache"


def test_no_logo_and_no_team_answer_alike(app, client, owner, team):
    def answer(path):
        response = client.get(path)
        return (
            response.status_code,
            response.get_data(),
            response.headers["Content-Type"],
            response.headers["Cache-Control"],
        )

    unknown = answer("/optout/no-such-team/logo")
    assert unknown[0] == 404
    assert answer(f"/optout/{team.slug}/logo") == unknown
    assert answer(f"/optout/{team.slug}/theme.css") == unknown
    assert answer("/optout/no-such-team/theme.css") == unknown
    assert answer("/optout/" + "x" * 200 + "/logo") == unknown
    # Set, then removed and reset: the same 404 again.
    post_look(owner, accent_color="#ff0000", logo=(png(40, 20), "logo.png", "image/png"))
    assert client.get(f"/optout/{team.slug}/logo?v=1").status_code == 200
    assert post_look(owner, action="remove_logo").status_code == 303
    assert post_look(owner, action="reset_accent").status_code == 303
    assert answer(f"/optout/{team.slug}/logo") == unknown
    assert answer(f"/optout/{team.slug}/theme.css") == unknown
    public = client.get(f"/optout/{team.slug}").get_data(as_text=True)
    assert "team-logo" not in public and "theme.css" not in public
    with app.app_context():
        assert settings_changes(team.id)[-2:] == ["Logo: removed", "Accent colour: (default)"]


def test_the_logo_shows_on_the_form_and_receipt_not_on_the_invalid_link_page(app, owner, team):
    post_look(owner, accent_color="#ff0000", logo=(png(40, 20), "logo.png", "image/png"))
    bad_link = owner.get(f"/optout/{team.slug}/p/not-a-token").get_data(as_text=True)
    assert "team-logo" in bad_link  # the team's form, with a notice
    unknown = owner.get("/optout/no-such-team").get_data(as_text=True)
    assert "team-logo" not in unknown and "theme.css" not in unknown
    # The htmx panel is swapped into a page that already has them.
    panel = owner.get(f"/optout/{team.slug}", headers=HTMX).get_data(as_text=True)
    assert "team-logo" not in panel


@pytest.mark.parametrize(
    ("fields", "message", "status"),
    [
        ({"logo": (SVG, "logo.svg", "image/svg+xml")}, "SVG logos are not accepted", 422),
        ({"logo": (SVG, "logo.png", "image/png")}, "SVG logos are not accepted", 422),
        ({"logo": (GIF, "logo.gif", "image/gif")}, "must be a PNG, JPEG or WebP image", 422),
        (
            {"logo": (png(40, 20) + bytes(260 * 1024), "big.png", "image/png")},
            "at most 256 KiB (this file is 261 KiB)",
            422,
        ),
        (
            {"logo": (png(40, 20) + bytes(2 * 1024 * 1024), "huge.png", "image/png")},
            "at most 256 KiB",
            413,
        ),
        ({"logo": (png(4000, 20), "wide.png", "image/png")}, "4000 × 20 pixels", 422),
        ({"accent_color": "red"}, "The accent colour must be a colour like #0b57d0.", 422),
        ({"accent_color": "#" + "f" * 5000}, "The accent colour must be a colour like", 422),
    ],
)
def test_refused_uploads_and_colours_say_why_and_store_nothing(
    app, owner, team, fields, message, status
):
    response = post_look(owner, **{"accent_color": "#00ff00", **fields})
    assert response.status_code == status
    html = response.get_data(as_text=True)
    assert message in html and 'role="alert"' in html and 'aria-invalid="true"' in html
    with app.app_context():
        assert branding.look_of(team.id) is None and settings_changes(team.id) == []


def test_the_look_needs_the_csrf_token(app, owner, team):
    response = owner.post("/settings/look", data={"accent_color": "#ff0000"})
    assert response.status_code == 400
    with app.app_context():
        assert branding.look_of(team.id) is None


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_and_viewers_cannot_change_the_look(app, client, team, role):
    make_world(app, team.id)
    as_role = client_as(app, role)
    token = token_for(as_role, "/account")
    response = post_look(
        as_role, token=token, accent_color="#ff0000", logo=(png(40, 20), "logo.png", "image/png")
    )
    assert response.status_code == 403
    assert as_role.get("/settings").status_code == 403
    with app.app_context():
        assert branding.look_of(team.id) is None


def test_only_the_settings_page_allows_blob_images(owner, team):
    response = owner.get("/settings")
    policy = response.headers["Content-Security-Policy"]
    assert policy == CONTENT_SECURITY_POLICY.replace("img-src 'self'", "img-src 'self' blob:")
    assert "unsafe" not in policy
    for path in ("/entries", f"/optout/{team.slug}"):
        assert owner.get(path).headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
