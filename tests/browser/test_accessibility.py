"""axe-core on every page and state of the app, at desktop and phone widths: zero violations.

The pages are a table of rows (name, path, setup, act): `setup` puts data in place
through the service layer before the visit, `act` brings the page into the state to scan
(a submitted form, a new key, …). Add a row for each new page or state.

axe is injected with Playwright's `evaluate`, which runs in the page's main world
through the DevTools protocol: the page's Content-Security-Policy (script-src 'self')
does not apply to it (checked by `test_axe_runs_under_the_page_csp`), so the pages are
scanned with their real CSP, no `bypass_csp`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from dnc_app.domain import companies, entries
from tests.browser.support import screenshot
from tests.live import LiveServer
from tests.support import TEST_ACTOR
from tests.web_support import PASSWORD, add_entries, make_member

pytestmark = pytest.mark.live

EMAIL = "member@example.com"
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
AXE = Axe()


@dataclass(frozen=True)
class Visit:
    """What a row's setup and act can use."""

    app: object
    team: object
    page: Page
    base: str


@dataclass(frozen=True)
class Row:
    name: str
    path: str  # `{slug}` is the team's slug
    signed_in: bool = True
    setup: Callable[[Visit], None] | None = None
    act: Callable[[Visit], None] | None = None


# --------------------------------------------------------------------------- setups and acts


def some_entries(visit: Visit) -> None:
    add_entries(
        visit.app,
        visit.team.id,
        [f"linkedin.com/in/person-{i}-with-a-rather-long-name" for i in range(12)],
    )
    add_entries(visit.app, visit.team.id, ["linkedin.com/in/from-the-form"], source="public_form")


def a_removed_entry(visit: Visit) -> None:
    entry = add_entries(visit.app, visit.team.id, ["linkedin.com/in/gone-again"])[0]
    with visit.app.app_context():
        entries.remove_entry(
            visit.team.id, entry.id, reason="Added by mistake", source="web", actor=TEST_ACTOR
        )


def submit_bad_url(visit: Visit) -> None:
    page = visit.page
    page.get_by_label("LinkedIn profile URL").fill("linkedin.com/company/acme")
    page.get_by_role("button", name="Add to list").click()
    expect(page.locator("#add-url-error")).to_be_visible()


def submit(field: str, value: str, button: str, outcome: str) -> Callable[[Visit], None]:
    """Fill the field (a CSS selector), press the button, wait for the outcome (CSS)."""

    def act(visit: Visit) -> None:
        visit.page.locator(field).fill(value)
        visit.page.get_by_role("button", name=button).click()
        expect(visit.page.locator(outcome).first).to_be_visible()

    return act


def check(url: str) -> Callable[[Visit], None]:
    return submit("#check-url", url, "Check", "#check-result .verdict, #check-result [role=alert]")


def bulk_preview(visit: Visit) -> None:
    page = visit.page
    page.get_by_label("Paste URLs, one per line").fill(
        "linkedin.com/in/person-0-with-a-rather-long-name\n"
        "https://www.linkedin.com/in/new-person/\nlinkedin.com/company/acme\nnot a url\n"
    )
    page.get_by_role("button", name=re.compile("^Preview")).click()
    expect(page.get_by_role("heading", name=re.compile("Preview: 4 URLs"))).to_be_visible()


def some_blocks(visit: Visit) -> None:
    with visit.app.app_context():
        companies.add_block(
            visit.team.id,
            "company/acme",
            name="Acme Inc.",
            reason="Existing customer",
            until=companies.today().isoformat(),
            source="cli",
            actor=TEST_ACTOR,
        )
        companies.add_block(visit.team.id, "company/1035", source="cli", actor=TEST_ACTOR)


def companies_preview(visit: Visit) -> None:
    page = visit.page
    page.get_by_label("Company page URLs, one per line").fill(
        "linkedin.com/company/acme\nlinkedin.com/in/john\n"
    )
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("heading", name=re.compile("^Preview: 1 valid"))).to_be_visible()


def open_a_block_removal(visit: Visit) -> None:
    page = visit.page
    page.get_by_role("link", name=re.compile("^Remove… Acme")).click()
    expect(page.locator("tr.confirm-row")).to_be_visible()


def open_the_new_list(visit: Visit) -> None:
    page = visit.page
    page.get_by_label("Paste URLs, one per line").fill(
        "".join(f"linkedin.com/in/new-person-{i}\n" for i in range(30))
    )
    page.get_by_role("button", name=re.compile("^Preview")).click()
    link = page.get_by_role("link", name=re.compile("See all 30 new profiles"))
    page.goto(visit.base + link.get_attribute("href"))


def a_bulk_add(visit: Visit) -> None:
    with visit.app.app_context():
        entries.add_entries(
            visit.team.id,
            [f"linkedin.com/in/bulk-{i}" for i in range(30)],
            reasons=["Trade show"] * 30,
            source="web_bulk",
            actor=TEST_ACTOR,
        )


def open_the_operation(visit: Visit) -> None:
    visit.page.locator("details.operation summary").first.click()
    expect(visit.page.locator("details.operation .operation-rows").first).to_be_visible()


def create_key(visit: Visit) -> None:
    visit.page.get_by_label(re.compile("^Name")).fill("HubSpot sync")
    visit.page.get_by_role("button", name="Create key").click()
    expect(visit.page.locator(".new-key")).to_be_visible()


def opt_out(url: str) -> Callable[[Visit], None]:
    return submit("#url", url, "Opt out", "#optout-panel.receipt, #optout-panel [role=alert]")


def a_disabled_webhook(visit: Visit) -> None:
    from dnc_app.events.webhooks import endpoints as webhook_endpoints
    from dnc_app.extensions import db

    with visit.app.app_context():
        visit.app.config["WEBHOOK_ALLOW_PRIVATE"] = True  # the URL is never called
        endpoint, _ = webhook_endpoints.create_endpoint(
            visit.team.id, "http://127.0.0.1:9/hook", description="CRM"
        )
        webhook_endpoints.disable(endpoint, "The endpoint answered 410 Gone")
        db.session.commit()


def submit_bad_webhook_description(visit: Visit) -> None:
    page = visit.page
    page.get_by_label("Endpoint URL").fill("https://crm.example.com/hook")
    page.get_by_label("Description").fill("CRM \x1b")
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.locator("#webhook-description-error")).to_be_visible()


ERASABLE = "linkedin.com/in/erasable-person"


def an_entry_to_erase(visit: Visit) -> None:
    some_entries(visit)
    add_entries(visit.app, visit.team.id, [ERASABLE])


def an_erased_entry(visit: Visit) -> None:
    an_entry_to_erase(visit)
    with visit.app.app_context():
        entry = entries.find_by_url(visit.team.id, ERASABLE)
        entries.erase_entry(visit.team.id, entry.id, source="web", actor=TEST_ACTOR)


def open_the_erasure(visit: Visit) -> None:
    with visit.app.app_context():
        entry_id = entries.find_by_url(visit.team.id, ERASABLE).id
    visit.page.goto(f"{visit.base}/entries/{entry_id}/erase")
    expect(visit.page.get_by_role("button", name="Erase their personal data")).to_be_visible()


def erase(visit: Visit) -> None:
    open_the_erasure(visit)
    visit.page.get_by_role("button", name="Erase their personal data").click()
    expect(visit.page.get_by_role("heading", name="Personal data erased")).to_be_visible()


# --------------------------------------------------------------------------- the table

ROWS = [
    Row("sign-in", "/login", signed_in=False),
    Row("list-empty", "/entries"),
    Row("list-full", "/entries", setup=some_entries),
    Row("add-error", "/entries", act=submit_bad_url),
    Row("check-form", "/check"),
    Row(
        "check-listed",
        "/check",
        setup=some_entries,
        act=check("linkedin.com/in/person-1-with-a-rather-long-name"),
    ),
    Row("check-not-listed", "/check", act=check("linkedin.com/in/nobody-here")),
    Row("check-removed", "/check", setup=a_removed_entry, act=check("linkedin.com/in/gone-again")),
    Row("check-error", "/check", act=check("linkedin.com/company/acme")),
    Row("erase-confirm", "/entries", setup=an_entry_to_erase, act=open_the_erasure),
    Row("erase-done", "/entries", setup=an_entry_to_erase, act=erase),
    Row("list-with-erased", "/entries", setup=an_erased_entry),
    Row("check-erased", "/check", setup=an_erased_entry, act=check(ERASABLE)),
    Row("bulk", "/bulk"),
    Row("bulk-preview", "/bulk", setup=some_entries, act=bulk_preview),
    Row("bulk-new-list", "/bulk", act=open_the_new_list),
    Row("keys", "/keys"),
    Row("keys-new-key", "/keys", act=create_key),
    Row("audit", "/audit", setup=some_entries),
    Row("audit-bulk-operation", "/audit", setup=a_bulk_add, act=open_the_operation),
    Row("screening", "/screen"),
    Row("companies", "/companies", setup=some_blocks),
    Row("companies-preview", "/companies", act=companies_preview),
    Row("companies-remove-confirm", "/companies", setup=some_blocks, act=open_a_block_removal),
    Row("settings", "/settings"),
    Row("members", "/members"),
    Row("webhooks", "/webhooks", setup=a_disabled_webhook),
    Row("webhooks-description-error", "/webhooks", act=submit_bad_webhook_description),
    Row("account", "/account"),
    Row("public-form", "/optout/{slug}", signed_in=False),
    Row(
        "public-receipt",
        "/optout/{slug}",
        signed_in=False,
        act=opt_out("linkedin.com/in/jane-public"),
    ),
    Row(
        "public-error", "/optout/{slug}", signed_in=False, act=opt_out("linkedin.com/company/acme")
    ),
    Row("public-unknown-team", "/optout/no-such-team", signed_in=False),
    Row("docs", "/docs", signed_in=False),
    Row("not-found", "/no-such-page", signed_in=False),
]


def sign_in(page: Page, base: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/entries$"))


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        lines.extend(
            f"    {node['target']}: {node['failureSummary']}" for node in violation["nodes"][:5]
        )
    return "\n".join(lines)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_no_axe_violations(row: Row, width: str, shared_server: LiveServer, app, team, new_page):
    page = new_page(viewport=WIDTHS[width])
    visit = Visit(app, team, page, shared_server.url)
    if row.signed_in:
        make_member(app, team.id, EMAIL)
        sign_in(page, shared_server.url)
    if row.setup:
        row.setup(visit)
    page.goto(shared_server.url + row.path.format(slug=team.slug))
    page.wait_for_load_state("load")
    if row.act:
        row.act(visit)
    screenshot(page, f"axe-{row.name}-{width}")
    results = AXE.run(page)
    assert results.violations_count == 0, describe(results.response["violations"])


def test_axe_runs_under_the_page_csp(shared_server: LiveServer, team, new_page):
    """The page's CSP refuses inline and injected scripts, yet axe runs (no bypass_csp)."""
    page = new_page()
    response = page.goto(f"{shared_server.url}/optout/{team.slug}")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    refused = page.evaluate("""() => new Promise((resolve) => {
        document.addEventListener('securitypolicyviolation', () => resolve(true));
        const script = document.createElement('script');
        script.textContent = 'window.__inline = 1';
        document.head.append(script);
        setTimeout(() => resolve(false), 1000);
    })""")
    assert refused is True and page.evaluate("window.__inline") is None
    results = AXE.run(page)
    assert page.evaluate("typeof window.axe.run") == "function"
    assert results.response["testEngine"]["name"] == "axe-core"
