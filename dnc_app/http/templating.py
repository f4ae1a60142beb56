"""What every template can use: filters for times, numbers and the change log's labels,
and the input limits (so a `maxlength` says the same as the server)."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask
from markupsafe import Markup, escape

from dnc_app.domain.changelog import Action, ActorType, Source
from dnc_app.domain.entries import MAX_QUERY_LENGTH, MAX_REASON_LENGTH, MAX_URL_LENGTH
from dnc_app.domain.timeutil import isoformat


def iso_filter(value: datetime | None) -> str:
    return isoformat(value) or ""


def when_filter(value: datetime | None) -> str:
    """Readable UTC time; the page script shows it in the reader's own time zone."""
    if value is None:
        return "—"
    return value.strftime("%-d %b %Y, %H:%M UTC")


def time_tag_filter(value: datetime | None) -> Markup:
    """A <time> element: machine-readable UTC, readable text (the page script localises it)."""
    if value is None:
        return Markup("—")
    return Markup('<time datetime="{}">{}</time>').format(iso_filter(value), when_filter(value))


def day_filter(value: date) -> str:
    return value.strftime("%-d %b %Y")


def short_day_filter(value: date) -> str:
    return value.strftime("%-d %b")


def thousands_filter(value: int) -> str:
    return f"{value:,}"


# Where a long URL or email may wrap: after these, never mid-word.
_BREAK_AFTER = frozenset("/.@-_?&=")


def breakable_filter(value: object) -> Markup:
    """Escaped text with a <wbr> after each run of URL or email separators (so `//`
    stays whole); one pass, linear."""
    text = str(value or "")
    out = []
    for i, char in enumerate(text):
        out.append(str(escape(char)))
        if char in _BREAK_AFTER and text[i + 1 : i + 2] not in _BREAK_AFTER:
            out.append("<wbr>")
    return Markup("".join(out))


def actor_text(event) -> str:
    """Who made a change, as the audit trail shows it: a member's email, the API key, the
    command line; for the public form only that (its IP hash is not shown)."""
    if event.actor_type == ActorType.PUBLIC:
        return "Public form" if event.source == Source.PUBLIC_FORM else event.actor_label
    return event.actor_label or event.actor_type


def init_app(app: Flask) -> None:
    app.add_template_filter(breakable_filter, "breakable")
    app.add_template_filter(actor_text, "actor_text")
    app.add_template_filter(iso_filter, "iso")
    app.add_template_filter(when_filter, "when")
    app.add_template_filter(time_tag_filter, "time_tag")
    app.add_template_filter(thousands_filter, "thousands")
    app.add_template_filter(day_filter, "day")
    app.add_template_filter(short_day_filter, "short_day")
    app.add_template_filter(Source.label_of, "source_label")
    app.add_template_filter(Action.label_of, "action_label")
    app.jinja_env.globals.update(
        MAX_URL_LENGTH=MAX_URL_LENGTH,
        MAX_QUERY_LENGTH=MAX_QUERY_LENGTH,
        MAX_REASON_LENGTH=MAX_REASON_LENGTH,
    )
