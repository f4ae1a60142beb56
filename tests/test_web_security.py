"""Security headers, CSRF on every form, htmx fragments vs. full pages, friendly errors."""

from __future__ import annotations

import re

import pytest

from dnc_app.http.security import CONTENT_SECURITY_POLICY
from tests.web_support import HTMX, add_entries, token_for

PAGES = ["/entries", "/entries?q=abc", "/check", "/bulk", "/keys", "/audit", "/settings"]


def test_the_csp_allows_no_inline_script_or_style():
    directives = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert directives["base-uri"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("path", ["/login", "/static/css/app.css", "/healthz", "/nope"])
def test_security_headers_on_every_response(client, path):
    response = client.get(path)
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in response.headers
    response.close()  # a static file response holds the file open


def test_hsts_only_over_https(client):
    response = client.get("/login", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_no_inline_script_style_or_handlers(signed_in, path):
    """What the CSP would block: scripts without src, style attributes or elements, on*=."""
    html = signed_in.get(path).get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"<style\b", html)
    assert not re.search(r"\sstyle\s*=", html)
    assert not re.search(r"\son[a-z]+\s*=", html)
    assert "includeIndicatorStyles&#34;:false" in html or '"includeIndicatorStyles":false' in html


@pytest.mark.parametrize("path", PAGES)
def test_team_pages_are_not_cached_and_vary_on_htmx(signed_in, path):
    response = signed_in.get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "HX-Request" in response.headers["Vary"]


@pytest.mark.parametrize(
    ("path", "fragment_id"),
    [("/entries", "entry-results"), ("/audit", "audit-results")],
)
def test_htmx_gets_a_fragment_and_a_browser_the_whole_page(signed_in, path, fragment_id):
    full = signed_in.get(path).get_data(as_text=True)
    assert full.startswith("<!doctype html>") and f'id="{fragment_id}"' in full
    fragment = signed_in.get(path, headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment and "<nav" not in fragment.split(f'id="{fragment_id}"')[0]
    assert fragment.lstrip().startswith(f'<div id="{fragment_id}"')
    # The back button after a history cache miss asks with HX-Request too: whole page.
    restore = signed_in.get(path, headers={**HTMX, "HX-History-Restore-Request": "true"})
    assert restore.get_data(as_text=True).startswith("<!doctype html>")


def _post_targets(app, team_id):
    entry = add_entries(app, team_id, ["linkedin.com/in/csrf-target"])[0]
    return [
        ("/entries", {"url": "linkedin.com/in/new-one"}),
        ("/entries/validate", {"url": "linkedin.com/in/x"}),
        ("/check", {"url": "linkedin.com/in/x"}),
        (f"/entries/{entry.id}/remove", {"reason": "because"}),
        ("/bulk/preview", {"urls": "linkedin.com/in/bulk"}),
        ("/bulk/confirm", {"token": "x" * 32}),
        ("/keys", {"name": "k"}),
        ("/logout", {}),
    ]


@pytest.mark.parametrize("with_htmx", [False, True])
def test_every_form_refuses_a_post_without_the_csrf_token(app, signed_in, team, with_htmx):
    headers = HTMX if with_htmx else {}
    for path, data in _post_targets(app, team.id):
        response = signed_in.post(path, data=data, headers=headers)
        assert response.status_code == 400, path
        assert "CSRF" in response.get_data(as_text=True), path
    # Nothing changed: the entry is still there and no entry was added.
    page = signed_in.get("/entries").get_data(as_text=True)
    assert "csrf-target" in page and "new-one" not in page


def test_a_wrong_csrf_token_in_the_htmx_header_is_refused(signed_in):
    response = signed_in.post(
        "/entries", data={"url": "linkedin.com/in/x"}, headers={**HTMX, "X-CSRFToken": "forged"}
    )
    assert response.status_code == 400


def test_the_csrf_header_is_accepted_for_htmx(signed_in):
    token = token_for(signed_in)
    response = signed_in.post(
        "/entries/validate",
        data={"url": "linkedin.com/in/x"},
        headers={**HTMX, "X-CSRFToken": token},
    )
    assert response.status_code == 200
    assert "https://linkedin.com/in/x" in response.get_data(as_text=True)


def test_errors_are_friendly_pages(signed_in):
    response = signed_in.get("/entries/dnc_doesnotexist/remove")
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "<title>Not Found" in body and "not on your list" in body
    assert "Traceback" not in body
    bad_cursor = signed_in.get("/entries?cursor=%%%")
    assert bad_cursor.status_code == 400
    assert "page link is not valid" in bad_cursor.get_data(as_text=True)
