"""Roles on every team route: (route, method, role) -> allowed or 403.

The table below names the least role of every team route. A test reads the app's URL map
and fails for a route that is not in it (a new page must get a rule), and another checks
that each view carries the same rule (`requires_role`)."""

from __future__ import annotations

import pytest

from dnc_app.domain.roles import Role
from tests.roles_support import make_world
from tests.web_support import PASSWORD, csrf_from, sign_in

# (endpoint, method) -> the least role that may use it.
ROUTES = {
    ("web.entries", "GET"): "viewer",
    ("web.entry_row", "GET"): "viewer",
    ("web.dashboard_panel", "GET"): "viewer",
    ("web.check", "GET"): "viewer",
    ("web.check", "POST"): "viewer",
    ("web.validate_url", "POST"): "viewer",
    ("web.account", "GET"): "viewer",
    ("web.change_password", "POST"): "viewer",
    ("web.notifications", "POST"): "viewer",
    ("web.add_entry", "POST"): "member",
    ("web.remove_confirm", "GET"): "member",
    ("web.remove_entry", "POST"): "member",
    ("web.remove_many_paste", "GET"): "member",
    ("web.remove_many_confirm", "POST"): "member",
    ("web.remove_many_done", "POST"): "member",
    ("web.erase_confirm", "GET"): "owner",
    ("web.erase_entry", "POST"): "owner",
    ("web.mark_reviewed", "POST"): "member",
    ("web.bulk", "GET"): "member",
    ("web.bulk_preview", "POST"): "member",
    ("web.bulk_confirm", "POST"): "member",
    ("web.bulk_lines_csv", "GET"): "member",
    ("web.bulk_not_added_csv", "GET"): "member",
    ("web.bulk_new", "GET"): "member",
    ("web.export_csv", "GET"): "member",
    ("web.audit", "GET"): "member",
    ("web.audit_csv", "GET"): "member",
    ("web.screen", "GET"): "member",
    ("web.screen_upload", "POST"): "member",
    ("web.screen_column", "GET"): "member",
    ("web.screen_progress", "GET"): "member",
    ("web.screen_download", "GET"): "member",
    ("web.screen_done", "POST"): "member",
    ("web.keys", "GET"): "owner",
    ("web.create_key", "POST"): "owner",
    ("web.key_row", "GET"): "owner",
    ("web.revoke_confirm", "GET"): "owner",
    ("web.revoke_key", "POST"): "owner",
    ("web.webhooks", "GET"): "owner",
    ("web.create_webhook", "POST"): "owner",
    ("web.webhook", "GET"): "owner",
    ("web.enable_webhook", "POST"): "owner",
    ("web.disable_webhook", "POST"): "owner",
    ("web.test_webhook_page", "POST"): "owner",
    ("web.redeliver_webhook", "POST"): "owner",
    ("web.rotate_webhook", "POST"): "owner",
    ("web.recover_webhook", "POST"): "owner",
    ("web.delete_webhook_page", "POST"): "owner",
    ("web.settings", "GET"): "owner",
    ("web.save_settings", "POST"): "owner",
    ("web.settings_personal_link", "POST"): "owner",
    ("web.save_look", "POST"): "owner",
    ("web.save_chat_webhook", "POST"): "owner",
    ("web.members", "GET"): "owner",
    ("web.invite_member", "POST"): "owner",
    ("web.withdraw_invite", "POST"): "owner",
    ("web.change_member_role", "POST"): "owner",
    ("web.remove_member_confirm", "GET"): "owner",
    ("web.remove_member", "POST"): "owner",
    ("web.entry_evidence", "GET"): "viewer",
    ("web.entry_evidence_json", "GET"): "viewer",
    ("web.add_aliases", "POST"): "member",
    ("web.company_blocks", "GET"): "viewer",
    ("web.company_row", "GET"): "viewer",
    ("web.preview_companies", "POST"): "member",
    ("web.add_companies", "POST"): "member",
    ("web.company_remove_confirm", "GET"): "member",
    ("web.remove_company", "POST"): "member",
}
# Pages for everyone (sign-in, sign-out, the invitation link).
PUBLIC = {
    ("web.index", "GET"),
    ("web.login", "GET"),
    ("web.login", "POST"),
    ("web.logout", "POST"),
    ("web.accept_invite", "GET"),
    ("web.accept_invite", "POST"),
    ("web.reset_request", "GET"),
    ("web.reset_request", "POST"),
    ("web.reset_password", "GET"),
    ("web.reset_password", "POST"),
}
ROLES = ["owner", "member", "viewer"]


def web_routes(app) -> dict[tuple[str, str], object]:
    """Every (endpoint, method) of the team pages, with its URL rule."""
    return {
        (rule.endpoint, method): rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("web.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_every_team_route_has_a_role_rule(app):
    routes = set(web_routes(app))
    missing = routes - set(ROUTES) - PUBLIC
    assert not missing, f"team routes without a role rule (add them to ROUTES): {missing}"
    assert not (set(ROUTES) | PUBLIC) - routes, "rules for routes that no longer exist"


def test_each_view_enforces_the_role_of_the_table(app):
    for (endpoint, _method), role in ROUTES.items():
        view = app.view_functions[endpoint]
        assert getattr(view, "required_role", None) == Role(role), endpoint
    for endpoint, _method in PUBLIC:
        assert getattr(app.view_functions[endpoint], "required_role", None) is None


def _url(app, rule, world) -> str:
    values = {
        "entry_id": world.entry_id,
        "key_id": world.key_id,
        "user_id": world.target_id,
        "invite_id": world.invite_id,
        "token": "no-such-staged-file",
        "webhook_id": "whk_nosuchendpoint",
        "block_id": "cmp_nosuchblock",
    }
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **{k: values[k] for k in rule.arguments})


def _request(app, client, method: str, url: str):
    if method == "GET":
        return client.get(url)
    token = csrf_from(client.get("/account").get_data(as_text=True))
    return client.post(url, data={"csrf_token": token})


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("endpoint", "method"), sorted(ROUTES))
def test_role_matrix(app, client, team, endpoint, method, role):
    world = make_world(app, team.id)
    assert sign_in(client, f"{role}@example.com", PASSWORD).status_code == 303
    url = _url(app, web_routes(app)[endpoint, method], world)
    response = _request(app, client, method, url)
    allowed = Role(role).allows(ROUTES[endpoint, method])
    if allowed:
        assert response.status_code != 403, (endpoint, role)
        assert response.status_code < 500
        assert "/login" not in response.headers.get("Location", ""), (endpoint, role)
    else:
        assert response.status_code == 403, (endpoint, role, response.status_code)
        body = response.get_data(as_text=True)
        assert "Your role in this team does not allow this" in body


@pytest.mark.parametrize(("endpoint", "method"), sorted(ROUTES))
def test_signed_out_visitors_are_sent_to_sign_in(app, client, team, endpoint, method):
    world = make_world(app, team.id)
    url = _url(app, web_routes(app)[endpoint, method], world)
    if method == "GET":
        response = client.get(url)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]
    else:
        # A POST without a session has no valid CSRF token either: refused before the view.
        response = client.post(url)
        assert response.status_code in (302, 400)
