"""Every user-facing string of the public opt-out page, in one place, and its language.

The English text is the message id; the translations are gettext catalogues under
translations/<language>/LC_MESSAGES/messages.po (compiled to .mo next to them), read by
Flask-Babel. Templates call `t("key", name=value)`; placeholders use str.format, and a
number is written the way the page's language writes it. How to add a language:
translations/README.md.

The language: the team's choice in its settings, else the installation's
OPTOUT_LANGUAGE; either is one of LANGUAGES, or "auto": the best of LANGUAGES for the
visitor's Accept-Language, English when none fits. Team pages stay English.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app, g, request
from flask_babel import format_datetime, format_decimal, get_locale, gettext
from sqlalchemy.exc import SQLAlchemyError

from dnc_app.config import OPTOUT_LANGUAGES
from dnc_app.domain.accounts.teams import find_team_by_slug

AUTO = "auto"
# The languages of the public page, English first (the fallback).
LANGUAGES = tuple(code for code in OPTOUT_LANGUAGES if code != AUTO)
# Their names, each in its own language (the team's settings list them).
LANGUAGE_NAMES = {"en": "English", "de": "Deutsch", "fr": "Français", "es": "Español"}


def _(message: str) -> str:
    """Marks a message id for extraction (pybabel extract); translated when shown."""
    return message


MESSAGES = {
    # The page
    "page_title": _("Stop messages from {team}"),
    "heading": _("Stop messages from {team}"),
    "intro": _("Enter the address of your LinkedIn profile and {team} will not contact you again."),
    "intro_locked": _("Press “Opt out” and {team} will not contact you again."),
    "what_happens_heading": _("What happens"),
    "what_happens_1": _(
        "{team} adds your profile to its Do Not Contact list and will not contact you again."
    ),
    "what_happens_2": _(
        "{team} keeps your request, so you will not be contacted in later campaigns either."
    ),
    "what_is_stored": _(
        "What is stored: your profile address, the reason if you give one, "
        "the time of your request, and a one-way hash of your IP address "
        "(used only to prevent abuse)."
    ),
    "team_message_heading": _("A note from {team}"),
    "privacy_link": _("Privacy policy of {team}"),
    "powered_by": _("Do Not Contact list"),
    # The form
    "url_label": _("Your LinkedIn profile address"),
    "url_hint": _("For example: linkedin.com/in/your-name"),
    "url_locked_label": _("Your LinkedIn profile"),
    "url_locked_hint": _("This link was made for this profile. Press the button to opt out."),
    "reason_label": _("Reason (optional)"),
    "reason_hint": _("Anything you want {team} to know. At most {max} characters."),
    "honeypot_label": _("Leave this field empty"),
    "submit": _("Opt out"),
    # Inline validation (htmx) and field errors
    "url_ok": _("We will record: {url}"),
    "url_missing": _("Please enter the address of your LinkedIn profile."),
    "url_invalid": _("{reason}. A profile address looks like linkedin.com/in/your-name."),
    "reason_too_long": _("Please keep the reason to at most {max} characters."),
    "reason_invalid": _("The reason contains characters that cannot be stored."),
    # Generic answer to a submission that failed a protection check (too fast,
    # expired, missing or wrong security token, honeypot filled). Deliberately
    # does not say which check failed.
    "retry": _(
        "We could not accept this request yet. Please check the details and press “Opt out” again."
    ),
    "link_invalid": _(
        "This personal link is not valid (it may have been shortened or "
        "changed). Please enter your profile address below."
    ),
    # The receipt
    "receipt_title": _("Request recorded"),
    "receipt_heading": _("Your request is recorded"),
    "receipt_lead": _("{team} will not contact you again at this profile."),
    "receipt_reference": _("Reference"),
    "receipt_profile": _("Profile"),
    "receipt_time": _("Date and time"),
    "receipt_keep": _("Keep this reference. If you are contacted again, quote it to {team}."),
    "receipt_another": _("Opt out another profile"),
    "copy_reference": _("Copy reference"),
    "copied": _("Copied"),
    "print": _("Print"),
    # An address under /optout/ that names no team (mistyped, or the team is gone).
    "unknown_link_title": _("This link is not valid"),
    "unknown_link": _(
        "This opt-out link does not lead to any page. Please check the address "
        "you were given, or ask the sender for their opt-out link."
    ),
    # Problems (a whole-page answer)
    "too_many_title": _("Too many requests"),
    "too_many": _(
        "Too many requests from your network. Please wait {seconds} seconds and try again."
    ),
    "too_large_title": _("Request too large"),
    "too_large": _("This request is too large. Please shorten the reason and try again."),
    "back_to_form": _("Back to the form"),
    # Dates, as a Unicode (CLDR) pattern: "26 November 2026, 10:15 UTC".
    "datetime_format": _("d MMMM y, HH:mm 'UTC'"),
}


# Why a URL is not a profile, for the person: the normalizer's reasons (in English, for
# teams and tools) folded into a few that a visitor can act on, in their language.
_NOT_LINKEDIN = _("This is not a LinkedIn address")
_SHORT_LINK = _(
    "Short lnkd.in links cannot be used here: open the link and copy the "
    "address of the profile it leads to"
)
_ORGANISATION = _("This is the page of a company or school, not a person's profile")
_NOT_PROFILE = _("This link does not lead to a person's profile")
_NO_NAME = _("The address does not contain the profile name")
_TOO_LONG = _("The address is too long")
_NOT_VALID = _("This is not a valid address of a LinkedIn profile")
_ORGANISATION_PAGES = ("company pages", "school pages", "showcase pages")


def url_problem(reason: str) -> str:
    """Why the URL is not a profile, in the page's language (English: the normalizer's
    own, more precise words)."""
    if language() == "en":
        return reason
    if "lnkd.in" in reason:
        return gettext(_SHORT_LINK)
    if reason.startswith(
        (
            "Not a LinkedIn URL",
            "Malformed URL: ",
            "Only http",
            "URLs with",
            "Invalid port",
            "Non-default ports",
        )
    ):
        return gettext(_NOT_LINKEDIN)
    if any(page in reason for page in _ORGANISATION_PAGES):
        return gettext(_ORGANISATION)
    if reason.startswith("Not a person profile") or "are not supported" in reason:
        return gettext(_NOT_PROFILE)
    if reason.startswith("The profile username is missing"):
        return gettext(_NO_NAME)
    if "longer than" in reason and reason.startswith("The URL"):
        return gettext(_TOO_LONG)
    return gettext(_NOT_VALID)


def t(key: str, **params) -> str:
    """The string for `key` in the page's language, with placeholders filled in (numbers
    as the language writes them)."""
    text = gettext(MESSAGES[key])
    if not params:
        return text
    return text.format(
        **{
            name: format_decimal(value) if isinstance(value, int) else value
            for name, value in params.items()
        }
    )


def readable_datetime(value: datetime) -> str:
    """The date and time in the page's language, in UTC."""
    return format_datetime(value, t("datetime_format"))


def language() -> str:
    """The page's language (its `<html lang>`)."""
    return str(get_locale() or "en")


def choose_language(team_setting: str | None) -> str:
    """The language of a public page: the team's, else the installation's, else by the
    visitor's Accept-Language."""
    setting = team_setting or current_app.config["OPTOUT_LANGUAGE"]
    if setting in LANGUAGES:
        return setting
    return request.accept_languages.best_match(LANGUAGES, default="en")


def select_locale() -> str:
    """Flask-Babel's locale selector: public opt-out pages speak the visitor's language
    (g.optout_team_language is set when the page's team is found); everything else is
    English."""
    if request.blueprint != "optout":
        return "en"
    if "optout_team_language" not in g:
        g.optout_team_language = _team_language((request.view_args or {}).get("slug"))
    return choose_language(g.optout_team_language)


def _team_language(slug: object) -> str | None:
    if not isinstance(slug, str):
        return None
    try:
        team = find_team_by_slug(slug)
    except SQLAlchemyError:
        # The answer about the outage itself (a 503 page) is still written.
        return None
    return team.optout_language if team is not None else None
