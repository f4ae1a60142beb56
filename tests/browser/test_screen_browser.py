"""Screen a prospect list in a real Chromium against a real gunicorn: upload with htmx
(progress bar), the counting steps and their progress, the counts, another column, both
downloads; and the same without JavaScript. The server counts in the smallest steps
(SCREEN_STEP_SECONDS=0: one chunk of 1,000 rows a step), so a file of a few thousand
rows takes several."""

from __future__ import annotations

import csv
import re

import pytest
from playwright.sync_api import expect

from tests.browser.support import screenshot
from tests.browser.test_accessibility import AXE, describe
from tests.browser.test_web_browser import sign_in, watch
from tests.web_support import add_entries, make_member

pytestmark = pytest.mark.live


def prospects(tmp_path, rows: int = 3000):
    lines = ["Name;Company;LinkedIn;Email"]
    for i in range(rows):
        url = (
            "https://www.linkedin.com/company/acme"
            if i % 1000 == 5
            else f"https://www.linkedin.com/in/person-{i:04d}/"
        )
        lines.append(f'"Person {i}";=cmd();{url};p{i}@example.com')
    path = tmp_path / "prospects.csv"
    path.write_bytes("\r\n".join(lines).encode())
    return path


def read_download(download) -> list[list[str]]:
    with open(download.path(), encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


@pytest.fixture
def server(app, team, live_server_factory, tmp_path):
    make_member(app, team.id)
    add_entries(app, team.id, ["linkedin.com/in/person-0001", "linkedin.com/in/person-0002"])
    return live_server_factory(BULK_UPLOAD_DIR=str(tmp_path / "uploads"), SCREEN_STEP_SECONDS="0")


def test_upload_see_the_counts_and_download_with_htmx(server, new_page, tmp_path):
    page = new_page(accept_downloads=True)
    problems = watch(page)
    sign_in(page, server.url, "/screen")
    page.evaluate("""window.progressSeen = [];
        document.addEventListener('htmx:xhr:progress', () => {
          const bar = document.querySelector('#screen-progress progress');
          if (bar) window.progressSeen.push(bar.value);
        });""")
    page.get_by_label("CSV file of prospects").set_input_files(prospects(tmp_path))
    page.get_by_role("button", name="Screen").click()
    expect(page.get_by_role("heading", name=re.compile("screened"))).to_have_text(
        "3,000 prospects screened"
    )
    counts = page.locator("#screen-counts")
    expect(counts).to_contain_text("2,995 may be contacted")
    expect(counts).to_contain_text("2 on the Do Not Contact list")
    expect(counts).to_contain_text("3 without a valid LinkedIn profile URL")
    expect(page.get_by_label("LinkedIn column")).to_have_value("2")
    assert page.url == server.url + "/screen"  # htmx swapped the panel in place
    assert max(page.evaluate("window.progressSeen")) == 100
    screenshot(page, "screen-counts")

    with page.expect_download() as info:
        page.get_by_role("link", name="Download the 2,995 rows that may be contacted").click()
    rows = read_download(info.value)
    assert rows[0] == ["Name", "Company", "LinkedIn", "Email", "dnc_status", "dnc_url"]
    assert len(rows) == 2996
    assert {row[4] for row in rows[1:]} == {"not_listed"}
    assert rows[1][1] == "'=cmd()"  # formula-safe
    with page.expect_download() as info:
        page.get_by_role("link", name="Download all rows with their status").click()
    rows = read_download(info.value)
    assert len(rows) == 3001
    assert rows[2][4:] == ["listed", "https://linkedin.com/in/person-0001"]
    assert rows[6][4:] == ["invalid", ""]

    # Another column: nothing in "Email" is a profile.
    page.get_by_label("LinkedIn column").select_option(label="Email")
    expect(page.locator("#screen-counts")).to_contain_text(
        "3,000 without a valid LinkedIn profile URL"
    )
    assert problems == []


def test_the_page_works_without_javascript(server, new_page, tmp_path):
    page = new_page(java_script_enabled=False, accept_downloads=True)
    sign_in(page, server.url, "/screen")
    steps = []
    page.on(
        "request",
        lambda request: steps.append(request.url) if "/progress?" in request.url else None,
    )
    # Three chunks: one a request, the progress page reloading itself after each.
    page.get_by_label("CSV file of prospects").set_input_files(prospects(tmp_path, 3000))
    page.get_by_role("button", name="Screen").click()
    expect(page.get_by_role("heading", name=re.compile("screened"))).to_have_text(
        "3,000 prospects screened"
    )
    assert len(steps) >= 2 and re.search(r"/screen/[\w-]{32}/progress\?column=2$", page.url)
    expect(page.locator("#screen-counts")).to_contain_text("2 on the Do Not Contact list")
    page.get_by_label("LinkedIn column").select_option(label="Email")
    page.get_by_role("button", name="Use this column").click()
    expect(page.locator("#screen-counts")).to_contain_text(
        "3,000 without a valid LinkedIn profile URL"
    )
    page.get_by_label("LinkedIn column").select_option(label="LinkedIn")
    page.get_by_role("button", name="Use this column").click()
    with page.expect_download() as info:
        page.get_by_role("link", name="Download the 2,995 rows that may be contacted").click()
    assert len(read_download(info.value)) == 2996
    screenshot(page, "screen-nojs")
    # Done: the file goes, and the form is back.
    page.get_by_role("button", name="Screen another file").click()
    expect(page).to_have_url(server.url + "/screen")
    expect(page.get_by_label("CSV file of prospects")).to_be_visible()
    assert list((tmp_path / "uploads").glob("screen/*/*/*")) == []


def assert_no_axe_violations(page) -> None:
    results = AXE.run(page)
    assert results.violations_count == 0, describe(results.response["violations"])


def test_a_large_file_shows_its_progress_then_the_counts(server, new_page, tmp_path):
    page = new_page()
    problems = watch(page)
    sign_in(page, server.url, "/screen")
    # The first step is held back, to look at the progress as it is first shown.
    held = []
    page.route("**/screen/*/progress?*", lambda route: held.append(route))
    page.get_by_label("CSV file of prospects").set_input_files(prospects(tmp_path, 20_000))
    page.get_by_role("button", name="Screen").click()
    heading = page.get_by_role("heading", name="Screening your prospects…")
    expect(heading).to_be_focused()
    bar = page.get_by_role("progressbar", name=re.compile("Screened"))
    expect(bar).to_have_accessible_name(re.compile(r"^Screened 1,000 of about [\d,]+ rows$"))
    assert 0 < int(bar.get_attribute("value")) < int(bar.get_attribute("max")) / 10
    screenshot(page, "screen-progress")
    assert_no_axe_violations(page)

    page.evaluate("""window.stepsSeen = [];
        document.addEventListener('htmx:afterSettle', () => {
          const text = document.getElementById('screen-count-text');
          if (text) window.stepsSeen.push(Number(text.dataset.counted));
        });""")
    held[0].continue_()
    page.unroute("**/screen/*/progress?*")  # lets through any step held meanwhile
    expect(page.get_by_role("heading", name=re.compile("screened"))).to_have_text(
        "20,000 prospects screened", timeout=60_000
    )
    counts = page.locator("#screen-counts")
    expect(counts).to_contain_text("19,978 may be contacted")
    expect(counts).to_contain_text("2 on the Do Not Contact list")
    expect(counts).to_contain_text("20 without a valid LinkedIn profile URL")
    seen = page.evaluate("window.stepsSeen")
    # Every step was shown, each further on; the milestones were read out, not each step.
    assert seen == list(range(2000, 20_000, 1000)) or seen == list(range(2000, 21_000, 1000))
    # (The percent is of the file's bytes, the rows of an estimate.)
    expect(page.locator("#live-status")).to_have_text(
        re.compile(r"^Screened (7[5-9]|8\d)%: 1\d,000 of about [\d,]+ rows$")
    )
    assert_no_axe_violations(page)
    assert problems == []


def fits(page, width: int) -> None:
    """No sideways scrolling (and if there is, the elements that stick out)."""
    scroll = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(
        """(width) => [...document.querySelectorAll('body *')]
        .filter(el => el.getBoundingClientRect().right > width + 1)
        .map(el => el.tagName + '.' + el.className + ' ' +
                   Math.round(el.getBoundingClientRect().right))""",
        width,
    )
    assert scroll <= width, (scroll, wide)


@pytest.mark.parametrize("width", [1280, 390])
def test_every_screening_state_fits_and_passes_axe(server, new_page, tmp_path, width):
    page = new_page(viewport={"width": width, "height": 844}, accept_downloads=True)
    problems = watch(page)
    sign_in(page, server.url, "/screen")
    fits(page, width)
    assert_no_axe_violations(page)

    # A refused file: the message, nothing kept.
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\xff\xfe" + b"a\x00" * 100 + b"\x00\xd8")
    page.get_by_label("CSV file of prospects").set_input_files(bad)
    page.get_by_role("button", name="Screen").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid UTF-16")
    fits(page, width)
    assert_no_axe_violations(page)
    assert list((tmp_path / "uploads").glob("screen/*/*/*")) == []

    # The progress, held at its first step.
    held = []
    page.route("**/screen/*/progress?*", lambda route: held.append(route))
    page.get_by_label("CSV file of prospects").set_input_files(prospects(tmp_path, 12_000))
    page.get_by_role("button", name="Screen").click()
    expect(page.get_by_role("heading", name="Screening your prospects…")).to_be_focused()
    fits(page, width)
    assert_no_axe_violations(page)
    held[0].continue_()
    page.unroute("**/screen/*/progress?*")  # lets through any step held meanwhile

    # The counts, with the longest labels.
    expect(page.get_by_role("heading", name=re.compile("screened"))).to_have_text(
        "12,000 prospects screened", timeout=60_000
    )
    link = page.get_by_role("link", name="Download the 11,986 rows that may be contacted")
    expect(link).to_be_visible()
    fits(page, width)
    assert_no_axe_violations(page)
    screenshot(page, f"screen-counts-{width}")

    # No column found: the question.
    page.get_by_role("button", name="Screen another file").click()
    expect(page.get_by_label("CSV file of prospects")).to_be_focused()
    assert list((tmp_path / "uploads").glob("screen/*/*/*")) == []
    plain = tmp_path / "plain.csv"
    plain.write_text("name,email\nJane,jane@example.com\n")
    page.get_by_label("CSV file of prospects").set_input_files(plain)
    page.get_by_role("button", name="Screen").click()
    expect(
        page.get_by_role("heading", name="Which column holds the LinkedIn URLs?")
    ).to_be_visible()
    fits(page, width)
    assert_no_axe_violations(page)
    assert problems == []
