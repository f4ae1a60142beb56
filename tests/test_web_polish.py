"""Rough edges of the pages outside the list: /docs, the favicon, keys, check, audit,
bulk and the public page (issue 13, item 4)."""

from __future__ import annotations

import re


# --------------------------------------------------------------------------- /docs


def test_docs_code_blocks_take_the_focus_and_have_copy_buttons(client):
    html = client.get("/docs").get_data(as_text=True)
    blocks = re.findall(r"<pre[^>]*>", html)
    assert blocks and all('tabindex="0"' in pre for pre in blocks)
    assert html.count("data-copy-code") == len(blocks)
    # Every table scrolls inside a focusable region (wide tables on a phone).
    assert html.count("<table") == html.count('class="table-scroll" role="region" tabindex="0"')
    assert '<script src="/static/js/docs.js" defer></script>' in html


def test_docs_link_back_to_the_app(client):
    html = client.get("/docs").get_data(as_text=True)
    assert re.search(r'<a href="/">← Back to the app</a>', html)


# --------------------------------------------------------------------------- favicon


def test_favicon_is_served_and_named_by_the_pages(client, team):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.get_data(as_text=True).startswith("<svg")
    response.close()
    icon = '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'
    for path in ("/login", "/docs", f"/optout/{team.slug}", "/no-such-page"):
        assert icon in client.get(path).get_data(as_text=True), path
