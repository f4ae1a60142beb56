"""What every template can use: filters for times, numbers and the change log's labels,
and the input limits (so a `maxlength` says the same as the server)."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask

from .changelog import Action, Source
from .entries import MAX_QUERY_LENGTH, MAX_URL_LENGTH
from .timeutil import isoformat


def iso_filter(value: datetime | None) -> str:
    return isoformat(value) or ""


def when_filter(value: datetime | None) -> str:
    """Readable UTC time; the page script shows it in the reader's own time zone."""
    if value is None:
        return "—"
    return value.strftime("%-d %b %Y, %H:%M UTC")


def day_filter(value: date) -> str:
    return value.strftime("%-d %b %Y")


def short_day_filter(value: date) -> str:
    return value.strftime("%-d %b")


def thousands_filter(value: int) -> str:
    return f"{value:,}"


def init_app(app: Flask) -> None:
    app.add_template_filter(iso_filter, "iso")
    app.add_template_filter(when_filter, "when")
    app.add_template_filter(thousands_filter, "thousands")
    app.add_template_filter(day_filter, "day")
    app.add_template_filter(short_day_filter, "short_day")
    app.add_template_filter(Source.label_of, "source_label")
    app.add_template_filter(Action.label_of, "action_label")
    app.add_template_global(MAX_URL_LENGTH, "MAX_URL_LENGTH")
    app.add_template_global(MAX_QUERY_LENGTH, "MAX_QUERY_LENGTH")
