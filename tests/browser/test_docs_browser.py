"""The /docs pages in a real Chromium: code blocks that scroll can be reached and
scrolled with the keyboard (axe rule scrollable-region-focusable), under the real CSP."""

from __future__ import annotations

import pytest

from tests.browser.support import screenshot

pytestmark = pytest.mark.live

# Which <pre> elements scroll sideways, and whether each one can take the focus.
SCROLLING_PRE = """() => [...document.querySelectorAll('pre')]
    .filter(pre => pre.scrollWidth > pre.clientWidth)
    .map(pre => pre.tabIndex)"""


@pytest.mark.parametrize("path", ["/docs", "/docs/connect"])
def test_scrolling_code_blocks_take_the_keyboard_focus_and_scroll(live_server, new_page, path):
    page = new_page(viewport={"width": 700, "height": 900})
    problems: list[str] = []
    page.on(
        "console",
        lambda msg: (
            problems.append(msg.text)
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    page.goto(live_server.url + path)
    tab_indexes = page.evaluate(SCROLLING_PRE)
    assert tab_indexes, "no code block scrolls at this width: the check would prove nothing"
    assert all(index == 0 for index in tab_indexes), tab_indexes
    # Tab until a scrolling block has the focus, then scroll it with the arrow key.
    for _ in range(200):
        page.keyboard.press("Tab")
        if page.evaluate(
            "() => { const e = document.activeElement;"
            " return e.tagName === 'PRE' && e.scrollWidth > e.clientWidth; }"
        ):
            break
    else:
        pytest.fail("no scrolling code block was reached with Tab")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    # (Scrolling by key may be animated: wait for it.)
    page.wait_for_function("() => document.activeElement.scrollLeft > 0", timeout=3000)
    assert problems == []
    screenshot(page, "docs-connect" if path.endswith("connect") else "docs-reference")
