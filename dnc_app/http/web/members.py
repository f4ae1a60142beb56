"""The team's members (owners only): invite, change a role, remove; and the invitation
page where an invited person sets their password and is signed in."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from dnc_app.domain import members
from dnc_app.domain.accounts import AccountError
from dnc_app.domain.accounts.teams import get_team
from dnc_app.domain.roles import Role
from dnc_app.events.notifications import mail
from dnc_app.http.optout import links
from dnc_app.http.web import bp
from dnc_app.http.web.access import requires_role
from dnc_app.http.web.auth import start_session
from dnc_app.http.web.forms import AcceptInviteForm, ConfirmForm, InviteForm, RoleForm
from dnc_app.http.web.signed_in import actor, team_id

INVALID = 422
INVITE_NOT_VALID = "This invitation link is not valid or has expired."


def _sole_owner(team: list) -> int | None:
    """The id of the team's only enabled owner, if it has just one: that owner's role and
    removal are not offered (the service refuses them too)."""
    owners = [user.id for user in team if user.role == Role.OWNER.value and not user.disabled_at]
    return owners[0] if len(owners) == 1 else None


def _page(form: InviteForm, status: int = 200, **context):
    team = members.list_members(team_id())
    return render_template(
        "web/members.html",
        form=form,
        members=team,
        sole_owner=_sole_owner(team),
        invites=members.pending_invites(team_id()),
        role_form=RoleForm(formdata=None),
        confirm_form=ConfirmForm(formdata=None),
        roles=list(Role),
        **context,
    ), status


def _member_or_404(user_id: int):
    user = members.get_member(team_id(), user_id)
    if user is None:  # another team's member is unknown here, like a made-up id
        abort(404, description="No such member in your team.")
    return user


@bp.get("/members", endpoint="members")
@requires_role(Role.OWNER)
def members_page():
    return _page(InviteForm(formdata=None))


def _invite_link(token: str) -> str:
    # PUBLIC_BASE_URL when it is set (like the settings page's links), so a link made
    # through an internal address works outside; else the owner's own request names this
    # site. An email needs PUBLIC_BASE_URL (below).
    path = url_for("web.accept_invite", token=token)
    base = current_app.config.get("PUBLIC_BASE_URL")
    return base + path if base else url_for("web.accept_invite", token=token, _external=True)


def _email_invite(email: str, token: str) -> bool:
    link = links.public_url("web.accept_invite", token=token)
    if not mail.enabled() or link is None:
        return False
    team = current_user.team
    return mail.send(
        email,
        f"You are invited to {team.name} on Do Not Contact",
        f"{current_user.email} invited you to the team {team.name}.\n\n"
        f"Open this link to set your password and sign in:\n{link}\n\n"
        "It can be used once and expires in "
        f"{current_app.config['INVITE_MAX_AGE_DAYS']} days.\n",
    )


@bp.post("/members/invite")
@requires_role(Role.OWNER)
def invite_member():
    form = InviteForm()
    if not form.validate():
        return _page(form, INVALID)
    max_age = timedelta(days=current_app.config["INVITE_MAX_AGE_DAYS"])
    try:
        invite, token = members.create_invite(
            team_id(), form.email.data, form.role.data, actor=actor(), max_age=max_age
        )
    except AccountError as exc:
        form.email.errors.append(str(exc))
        return _page(form, INVALID)
    # The link is in this response only: never stored, never in a redirect or the session.
    return _page(
        InviteForm(formdata=None),
        new_invite=invite,
        invite_link=_invite_link(token),
        emailed=_email_invite(invite.email, token),
    )


@bp.post("/members/invites/<invite_id>/withdraw")
@requires_role(Role.OWNER)
def withdraw_invite(invite_id: str):
    try:
        members.withdraw_invite(team_id(), invite_id, actor=actor())
    except AccountError as exc:
        abort(404, description=str(exc))
    flash("Invitation withdrawn: its link no longer works.", "success")
    return redirect(url_for("web.members"), 303)


@bp.post("/members/<int:user_id>/role")
@requires_role(Role.OWNER)
def change_member_role(user_id: int):
    user = _member_or_404(user_id)
    form = RoleForm()
    if not form.validate():
        abort(400, description="Choose owner, member or viewer.")
    try:
        members.change_role(team_id(), user.id, form.role.data, actor=actor())
    except AccountError as exc:
        flash(str(exc), "error")
    else:
        flash(f"{user.email} is now {form.role.data}; their sessions ended.", "success")
    return redirect(url_for("web.members"), 303)


@bp.get("/members/<int:user_id>/remove")
@requires_role(Role.OWNER)
def remove_member_confirm(user_id: int):
    return render_template(
        "web/member_remove.html", user=_member_or_404(user_id), form=ConfirmForm(formdata=None)
    )


@bp.post("/members/<int:user_id>/remove")
@requires_role(Role.OWNER)
def remove_member(user_id: int):
    user = _member_or_404(user_id)
    try:
        email = members.remove_member(team_id(), user.id, actor=actor())
    except AccountError as exc:
        flash(str(exc), "error")
    else:
        flash(
            f"Removed {email}. Their sessions ended; the audit trail keeps what they did.",
            "success",
        )
    return redirect(url_for("web.members"), 303)


# --------------------------------------------------------------------------- invitation


def _invite_or_404(token: str):
    invite = members.find_invite(token)
    if invite is None:  # unknown, used or expired: one answer, which tells nothing more
        abort(404, description=INVITE_NOT_VALID)
    return invite


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept_invite(token: str):
    invite = _invite_or_404(token)
    form = AcceptInviteForm()
    if form.validate_on_submit():
        try:
            user = members.accept_invite(token, form.password.data)
        except members.InviteNotValid:
            abort(404, description=INVITE_NOT_VALID)
        except AccountError as exc:
            form.password.errors.append(str(exc))
        else:
            start_session(user)
            flash(f"Welcome to {user.team.name}. You are signed in as {user.email}.", "success")
            return redirect(url_for("web.entries"), 303)
    status = INVALID if form.is_submitted() else 200
    return render_template(
        "web/invite.html", invite=invite, form=form, team=get_team(invite.team_id)
    ), status
