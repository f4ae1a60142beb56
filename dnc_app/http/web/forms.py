"""Forms of the team pages (Flask-WTF: every form carries the CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    StringField,
    TextAreaField,
)
from wtforms.validators import AnyOf, DataRequired, EqualTo, Length, ValidationError

from dnc_app.domain.accounts import AccountError
from dnc_app.domain.accounts.teams import (
    MAX_DISPLAY_NAME_LENGTH,
    MAX_OPTOUT_MESSAGE_LENGTH,
    MAX_PRIVACY_URL_LENGTH,
    check_privacy_url,
)
from dnc_app.domain.accounts.users import MIN_PASSWORD_LENGTH
from dnc_app.domain.entries import MAX_REASON_LENGTH, MAX_URL_LENGTH
from dnc_app.domain.entries.aliases import MAX_ALIASES
from dnc_app.domain.roles import Role
from dnc_app.http.optout.strings import AUTO, LANGUAGE_NAMES


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def email_field(missing: str) -> StringField:
    """An email address: required, trimmed, as long as the account's column allows."""
    return StringField(
        "Email", validators=[DataRequired(missing), Length(max=254)], filters=[_strip]
    )


class LoginForm(FlaskForm):
    email = email_field("Enter your email address.")
    password = PasswordField(
        "Password", validators=[DataRequired("Enter your password."), Length(max=1024)]
    )
    next = HiddenField()


MAX_PASSWORD_LENGTH = 1024


def new_password_field(label: str, missing: str) -> PasswordField:
    """A password being chosen: required, of an accepted length."""
    return PasswordField(
        label,
        validators=[
            DataRequired(missing),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=MAX_PASSWORD_LENGTH,
                message=f"Use {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH:,} characters.",
            ),
        ],
    )


def confirm_password_field(label: str, missing: str, of: str, differs: str) -> PasswordField:
    """The password chosen in field `of`, typed again."""
    return PasswordField(label, validators=[DataRequired(missing), EqualTo(of, differs)])


class ResetPasswordForm(FlaskForm):
    """A new password, twice (also the password reset page's form)."""

    new_password = new_password_field("New password", "Enter a new password.")
    confirm_password = confirm_password_field(
        "New password again",
        "Enter the new password again.",
        of="new_password",
        differs="The two new passwords are not the same.",
    )


class PasswordForm(ResetPasswordForm):
    current_password = PasswordField(
        "Current password",
        validators=[DataRequired("Enter your current password."), Length(max=MAX_PASSWORD_LENGTH)],
    )


class NotificationsForm(FlaskForm):
    optouts = BooleanField("Email me when a person opts out on the public page")
    endpoints = BooleanField("Email me when a webhook endpoint is disabled")


class ChatWebhookForm(FlaskForm):
    url = StringField("Incoming-webhook URL", validators=[Length(max=2048)], filters=[_strip])


class ResetRequestForm(FlaskForm):
    email = email_field("Enter your email address.")


class AddEntryForm(FlaskForm):
    url = StringField(
        "LinkedIn profile URL",
        validators=[DataRequired("Enter a LinkedIn profile URL."), Length(max=MAX_URL_LENGTH)],
        filters=[_strip],
    )
    reason = StringField(
        "Reason (optional)", validators=[Length(max=MAX_REASON_LENGTH)], filters=[_strip]
    )


class CheckForm(FlaskForm):
    url = StringField(
        "LinkedIn profile URL",
        validators=[DataRequired("Enter a LinkedIn profile URL."), Length(max=MAX_URL_LENGTH)],
        filters=[_strip],
    )


class RemoveForm(FlaskForm):
    reason = StringField(
        "Why is it removed?",
        validators=[
            DataRequired("Say why the entry is removed: the audit trail keeps it."),
            Length(max=MAX_REASON_LENGTH),
        ],
        filters=[_strip],
    )


class BulkForm(FlaskForm):
    urls = TextAreaField("Paste URLs, one per line")
    file = FileField("…or upload a CSV file")
    # One reason for every profile of the batch (checked by entries.clean_reason).
    reason = StringField("Reason for all of them (optional)", filters=[_strip])


class ScreenForm(FlaskForm):
    file = FileField("CSV file of prospects")


class BulkConfirmForm(FlaskForm):
    token = HiddenField(validators=[DataRequired()])
    reason = HiddenField(filters=[_strip])


class ApiKeyForm(FlaskForm):
    name = StringField("Name (what uses this key)", validators=[Length(max=100)], filters=[_strip])
    allow_optout_removal = BooleanField("May remove people's own opt-outs")


class ConfirmForm(FlaskForm):
    """A button that only needs the CSRF token (revoke a key, sign out)."""


# --------------------------------------------------------------------------- settings


def _privacy_url(_form, field) -> None:
    if field.data:
        try:
            check_privacy_url(field.data)
        except AccountError as exc:
            raise ValidationError(str(exc)) from None


# The public page's language, as the team's settings offer it.
LANGUAGE_CHOICES = [
    ("", "The installation’s default"),
    (AUTO, "The visitor’s browser language"),
    *LANGUAGE_NAMES.items(),
]


class SettingsForm(FlaskForm):
    display_name = StringField(
        "Display name",
        validators=[Length(max=MAX_DISPLAY_NAME_LENGTH)],
        filters=[_strip],
    )
    privacy_url = StringField(
        "Privacy policy link (optional)",
        validators=[Length(max=MAX_PRIVACY_URL_LENGTH), _privacy_url],
        filters=[_strip],
    )
    optout_message = TextAreaField(
        "Message on the page (optional)",
        validators=[Length(max=MAX_OPTOUT_MESSAGE_LENGTH)],
        filters=[_strip],
    )
    # A <select> of LANGUAGE_CHOICES (written by the template: wtforms' SelectField
    # changes how it takes choices between versions).
    optout_language = StringField(
        "Language of the page",
        validators=[
            AnyOf(
                [value for value, _label in LANGUAGE_CHOICES],
                message="Choose one of the languages listed.",
            )
        ],
        default="",
    )


class PersonalLinkForm(FlaskForm):
    profile_url = StringField(
        "LinkedIn profile URL", validators=[Length(max=MAX_URL_LENGTH)], filters=[_strip]
    )


# --------------------------------------------------------------------------- members

# The page renders the <select> of roles itself (the choices are the Role values).
ROLE_FIELD = {
    "validators": [AnyOf([role.value for role in Role], "Choose owner, member or viewer.")]
}


class InviteForm(FlaskForm):
    email = email_field("Enter the person's email address.")
    role = StringField("Role", default=Role.MEMBER.value, **ROLE_FIELD)


class RoleForm(FlaskForm):
    role = StringField("Role", **ROLE_FIELD)


class AcceptInviteForm(FlaskForm):
    password = new_password_field("Choose a password", "Choose a password.")
    confirm_password = confirm_password_field(
        "The password again",
        "Enter the password again.",
        of="password",
        differs="The two passwords are not the same.",
    )


class WebhookForm(FlaskForm):
    url = StringField(
        "Endpoint URL",
        validators=[DataRequired("Enter the URL to send to."), Length(max=2048)],
        filters=[_strip],
    )
    description = StringField(
        "Description (optional)", validators=[Length(max=500)], filters=[_strip]
    )
    added = BooleanField("Entry added (dnc.entry.added)", default=True)
    removed = BooleanField("Entry removed (dnc.entry.removed)", default=True)
    erased = BooleanField("Personal data erased (dnc.entry.erased)", default=True)
    updated = BooleanField("Alias added (dnc.entry.updated)", default=True)

    def events(self) -> list[str]:
        return [
            name
            for name, on in (
                ("dnc.entry.added", self.added.data),
                ("dnc.entry.removed", self.removed.data),
                ("dnc.entry.erased", self.erased.data),
                ("dnc.entry.updated", self.updated.data),
            )
            if on
        ]


class LookForm(FlaskForm):
    """The public page's logo and accent colour (checked by dnc_app.domain.branding)."""

    logo = FileField("Logo")
    accent_color = StringField("Accent colour", validators=[Length(max=20)], filters=[_strip])


# Ten URLs of at most 2,048 characters, one per line.
MAX_ALIASES_FIELD = MAX_ALIASES * (MAX_URL_LENGTH + 2)


class AliasForm(FlaskForm):
    urls = TextAreaField(
        "Other identifiers of this person, one per line",
        validators=[
            DataRequired("Enter at least one LinkedIn URL."),
            Length(max=MAX_ALIASES_FIELD, message="That is more than ten URLs."),
        ],
    )

    def lines(self) -> list[str]:
        return [line.strip() for line in (self.urls.data or "").splitlines() if line.strip()]
