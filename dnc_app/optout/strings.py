"""Every user-facing string of the public opt-out page, in one place (English first).

To translate the page, add a catalog with the same keys to CATALOGS and choose it with
the OPTOUT_LANGUAGE setting. Templates call `t("key", name=value)`; placeholders use
str.format. Reasons why a URL is not a LinkedIn profile come from the normalizer
(dnc_app/normalize.py), which words them for people.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app

ENGLISH = {
    "lang": "en",
    # The page
    "page_title": "Stop messages from {team}",
    "heading": "Stop messages from {team}",
    "intro": "Enter the address of your LinkedIn profile and {team} will not contact you again.",
    "intro_locked": "Press “Opt out” and {team} will not contact you again.",
    "what_happens_heading": "What happens",
    "what_happens_1": "{team} adds your profile to its Do Not Contact list and will not "
                      "contact you again.",
    "what_happens_2": "Your request is recorded permanently, so it cannot be forgotten.",
    "what_is_stored": "What is stored: your profile address, the reason if you give one, the "
                      "time of your request, and a one-way hash of your IP address (used only "
                      "to prevent abuse).",
    "team_message_heading": "A note from {team}",
    "privacy_link": "Privacy policy of {team}",
    "powered_by": "Do Not Contact list",
    # The form
    "url_label": "Your LinkedIn profile address",
    "url_hint": "For example: linkedin.com/in/your-name",
    "url_locked_label": "Your LinkedIn profile",
    "url_locked_hint": "This link was made for this profile. Press the button to opt out.",
    "reason_label": "Reason (optional)",
    "reason_hint": "Anything you want {team} to know. At most {max:,} characters.",
    "honeypot_label": "Leave this field empty",
    "submit": "Opt out",
    # Inline validation (htmx) and field errors
    "url_ok": "We will record: {url}",
    "url_missing": "Please enter the address of your LinkedIn profile.",
    "url_invalid": "{reason}. A profile address looks like linkedin.com/in/your-name.",
    "reason_too_long": "Please keep the reason to at most {max:,} characters.",
    "reason_invalid": "The reason contains characters that cannot be stored.",
    # Generic answer to a submission that failed a protection check (too fast,
    # expired, missing or wrong security token, honeypot filled). Deliberately
    # does not say which check failed.
    "retry": "We could not accept this request yet. Please check the details and press "
             "“Opt out” again.",
    "link_invalid": "This personal link is not valid (it may have been shortened or changed). "
                    "Please enter your profile address below.",
    # The receipt
    "receipt_title": "Request recorded",
    "receipt_heading": "Your request is recorded",
    "receipt_lead": "{team} will not contact you again at this profile.",
    "receipt_reference": "Reference",
    "receipt_profile": "Profile",
    "receipt_time": "Date and time",
    "receipt_keep": "Keep this reference. If you are contacted again, quote it to {team}.",
    "receipt_another": "Opt out another profile",
    "copy_reference": "Copy reference",
    "copied": "Copied",
    "print": "Print",
    # An address under /optout/ that names no team (mistyped, or the team is gone).
    "unknown_link_title": "This link is not valid",
    "unknown_link": "This opt-out link does not lead to any page. Please check the address "
                    "you were given, or ask the sender for their opt-out link.",
    # Problems (a whole-page answer)
    "too_many_title": "Too many requests",
    "too_many": "Too many requests from your network. Please wait {seconds} seconds and "
                "try again.",
    "too_large_title": "Request too large",
    "too_large": "This request is too large. Please shorten the reason and try again.",
    "back_to_form": "Back to the form",
    # Dates: "26 November 2026, 10:15 UTC"
    "datetime_format": "{day} {month} {year}, {hour:02d}:{minute:02d} UTC",
    "months": ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December"),
}

CATALOGS = {"en": ENGLISH}


def catalog() -> dict:
    return CATALOGS.get(current_app.config.get("OPTOUT_LANGUAGE", "en"), ENGLISH)


def t(key: str, **params) -> str:
    """The string for `key` in the page's language, with placeholders filled in."""
    text = catalog()[key]
    return text.format(**params) if params else text


def readable_datetime(value: datetime) -> str:
    strings = catalog()
    return strings["datetime_format"].format(
        day=value.day, month=strings["months"][value.month - 1], year=value.year,
        hour=value.hour, minute=value.minute,
    )
