"""Who may use which team page: one decorator on every view, one helper for templates.

`@requires_role(Role.MEMBER)` replaces `@login_required`: a visitor who is not signed in
is sent to sign in; a member whose role is below the one required gets a 403 page (never
a redirect, which would loop). The role is read with the member on every request, so a
change applies at once. The decorator marks the view (`view.required_role`): the role
matrix test finds every team route and fails for one without a rule.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, render_template
from flask_login import current_user, login_required
from werkzeug.exceptions import Forbidden

from dnc_app.domain import members
from dnc_app.domain.entries import Entry
from dnc_app.domain.roles import Role, role_of

FORBIDDEN = "Your role in this team does not allow this. Ask an owner of the team."


def current_role() -> Role | None:
    if not current_user.is_authenticated:
        return None
    return role_of(current_user.role)


def can(required: Role | str) -> bool:
    """Whether the signed-in member's role allows what `required` may do (templates)."""
    role = current_role()
    return role is not None and role.allows(required)


def can_remove(entry: Entry) -> bool:
    """A member removes entries; only an owner removes a person's own opt-out."""
    return can(Role.OWNER) if entry.is_optout else can(Role.MEMBER)


def requires_role(required: Role | str) -> Callable:
    required = Role(required)

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def checked(*args, **kwargs):
            if not can(required):
                abort(403, description=FORBIDDEN)
            return view(*args, **kwargs)

        guarded = login_required(checked)
        guarded.required_role = required
        return guarded

    return decorate


def forbidden(exc: Forbidden):
    """A team page the member's role does not allow: the normal page (navigation, sign
    out), why, and who the team's owners are, to ask. Only a signed-in member of the team
    gets here (a visitor is sent to sign in first), so the owners are not shown to others."""
    owners = []
    if current_user.is_authenticated:
        owners = [
            user
            for user in members.list_members(current_user.team_id)
            if user.role == Role.OWNER.value and not user.disabled_at
        ]
    return render_template(
        "web/forbidden.html", message=exc.description or FORBIDDEN, owners=owners
    ), 403
