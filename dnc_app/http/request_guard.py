"""Refuse request text the app cannot read or the database cannot store.

- A query string that is not UTF-8 (raw bytes, not percent-escapes): werkzeug decodes
  it strictly when `request.args` is first read, so any view would fail with a 500.
  Refused for the whole app, with the envelope under /v1.
- NUL in the path or the query (before the view) of the team pages and the public pages,
  and in a form value (when the form is parsed): PostgreSQL refuses NUL
  in text, so a slug, an entry id, a search or an email with one was a 500 there.
  Refused with the 400 page. The JSON API validates its own parameters and answers with
  its documented codes (e.g. `invalid_url`).

Lone surrogates cannot come through the path, the query or a form: werkzeug decodes
percent-escapes and bodies as UTF-8 with errors replaced (U+FFFD) or kept as `%XX`
text, so only NUL needs refusing here. JSON bodies (`"\\ud800"`) can carry them; the
service layer refuses them field by field.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, abort, request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest
from werkzeug.formparser import FormDataParser

from dnc_app.http.errors import envelope, is_api_request

NUL = "\x00"
UNDECODABLE_QUERY = "The query string is not valid UTF-8."


def refuse_undecodable_query():
    try:
        request.query_string.decode()
    except UnicodeDecodeError:
        if is_api_request():
            return envelope("invalid_parameter", None, UNDECODABLE_QUERY, 400)
        abort(400, description=UNDECODABLE_QUERY)
    return None


def _has_nul(values: MultiDict) -> bool:
    return any(NUL in key or NUL in value for key, value in values.items(multi=True))


def refuse_nul_in_address() -> None:
    if NUL in request.path or _has_nul(request.args):
        abort(400, description="The address contains a character that is not allowed.")


# The team pages and the public pages: the path and the query of every request, and the
# values of every form except those that refuse a NUL themselves with the answer they owe:
# the public form (a field error, "cannot be stored"), the sign-in form (the one generic
# error, which tells nothing about the account) and the bulk confirmation (its own
# "not valid" page for any malformed token).
GUARDED_BLUEPRINTS = ("web", "optout")
CHECK_THEIR_OWN_FIELDS = {"optout.submit", "web.login", "web.bulk_confirm"}


class _NulRefusingParser(FormDataParser):
    """werkzeug's form parser, then a look at the fields it found (uploaded files are not
    form values)."""

    def parse(self, *args: Any, **kwargs: Any) -> tuple[Any, MultiDict, MultiDict]:
        stream, form, files = super().parse(*args, **kwargs)
        if _has_nul(form):
            raise BadRequest("The form contains a character that is not allowed.")
        return stream, form, files


class GuardedRequest(Request):
    """Checks form values when the form is parsed, whenever a view or hook first reads it
    (a view may raise the form size limit before that, as the bulk paste does)."""

    def make_form_data_parser(self) -> FormDataParser:
        if self.blueprint in GUARDED_BLUEPRINTS and self.endpoint not in CHECK_THEIR_OWN_FIELDS:
            self.form_data_parser_class = _NulRefusingParser
        return super().make_form_data_parser()


def register(app: Flask) -> None:
    """Call after the blueprints are registered: their own hooks (e.g. the public
    form's body-size cap) then run first."""
    app.request_class = GuardedRequest
    app.before_request(refuse_undecodable_query)
    for name in GUARDED_BLUEPRINTS:
        app.before_request_funcs.setdefault(name, []).append(refuse_nul_in_address)
