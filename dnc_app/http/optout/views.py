"""The public opt-out page: `/optout/<slug>`, personal links, inline URL check, receipt.

No answer of these pages depends on whether a profile is on the team's list: a new
opt-out and one already listed get the same receipt (same status, same content apart
from the reference and time, and the same work: one audit record each).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import (
    Response,
    abort,
    current_app,
    g,
    make_response,
    render_template,
    request,
    url_for,
)
from flask_limiter import RateLimitExceeded
from limits import parse_many
from werkzeug.exceptions import RequestEntityTooLarge

from dnc_app import metrics
from dnc_app.domain import branding, entries
from dnc_app.domain.accounts.teams import find_team_by_slug
from dnc_app.domain.changelog import Actor, ActorType, Source
from dnc_app.domain.timeutil import isoformat, utcnow
from dnc_app.extensions import configured, csrf, limiter
from dnc_app.http.clientaddr import client_key
from dnc_app.http.errors import rate_limit_reset
from dnc_app.http.optout import bp, links
from dnc_app.http.optout.forms import OptOutForm, issue_started
from dnc_app.http.optout.strings import language, readable_datetime, t, url_problem
from dnc_app.http.web.htmx import is_htmx
from dnc_app.storage.limitstore import hit_with_window
from dnc_app.storage.models import Team

# Receipt references: Crockford's base32 (no I, L, O, U), easy to read out and type.
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_REFERENCE_LENGTH = 10


# --------------------------------------------------------------------------- helpers


def _keyed_hash(purpose: str, value: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{purpose}|{value}".encode(), hashlib.sha256).hexdigest()


def client_ip_hash() -> str:
    """HMAC-SHA256 of the client IP keyed with the app secret: the raw IP is never stored."""
    if "optout_ip_hash" not in g:
        g.optout_ip_hash = _keyed_hash("optout-ip", request.remote_addr or "")
    return g.optout_ip_hash


def _ip_key() -> str:
    # The client's IPv4 address or IPv6 /64 (one subscriber's whole IPv6 block shares a
    # budget), hashed: the rate-limit store holds no raw IPs either.
    return "optout-ip:" + _keyed_hash("optout-client", client_key(request.remote_addr))[:32]


def over_team_threshold(team_id: str) -> bool:
    """Counts this submission against the team's OPTOUT_TEAM_REVIEW_THRESHOLD; True
    when it is beyond (the entry is then listed and flagged for review, never refused)."""
    if not limiter.enabled:
        return False
    over = False
    for limit in parse_many(current_app.config["OPTOUT_TEAM_REVIEW_THRESHOLD"]):
        # Every window is counted (no short-circuit), like a route's limits.
        over |= not limiter.limiter.hit(limit, "optout-team-review", team_id)
    return over


def count_accepted_submission() -> float | None:
    """Count an accepted submission against OPTOUT_RATE_LIMIT (per client address; a
    typo or an invalid URL is not an attempt). None when counted; else the time (epoch
    seconds) when the next one will be, and nothing is counted."""
    if not limiter.enabled:
        return None
    strategy, key = limiter.limiter, _ip_key()
    limits = parse_many(current_app.config["OPTOUT_RATE_LIMIT"])
    # Every window is tested before any is counted: a refused submission uses none.
    refused = [item for item in limits if not strategy.test(item, _SUBMIT_SCOPE, key)]
    if refused:
        return max(
            strategy.get_window_stats(item, _SUBMIT_SCOPE, key).reset_time for item in refused
        )
    for item in limits:
        window = hit_with_window(strategy, item, _SUBMIT_SCOPE, key)
        if not window.counted:  # another request of this address took the last place
            return window.reset
    return None


# Per client IP, each with a scope of its own: never the team's API budgets. Every
# request of the page, a submission too, counts against OPTOUT_PAGE_LIMIT (what bounds
# the work of invalid submissions); accepted ones against OPTOUT_RATE_LIMIT as well.
_SUBMIT_SCOPE = "optout-submit"
page_limit = limiter.shared_limit(
    configured("OPTOUT_PAGE_LIMIT"), scope="optout-page", key_func=_ip_key
)
validate_limit = limiter.shared_limit(
    configured("OPTOUT_VALIDATE_LIMIT"), scope="optout-validate", key_func=_ip_key
)
# The logo and theme of a page: a budget of their own, as large as the pages' (a browser
# keeps them for a year, so a person fetches each once).
asset_limit = limiter.shared_limit(
    configured("OPTOUT_PAGE_LIMIT"), scope="optout-asset", key_func=_ip_key
)
# A versioned URL never changes its content: browsers keep it for a year.
IMMUTABLE = "public, max-age=31536000, immutable"
# The logo is an image and nothing else: no script, no style, no frame, even if opened.
LOGO_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"


def new_reference() -> str:
    return "OPT-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(_REFERENCE_LENGTH))


def find_team(slug: str) -> Team:
    """The team of a public page, or the app's plain 404 (the same for every unknown slug)."""
    team = find_team_by_slug(slug)
    # The page's language follows the team's setting (strings.select_locale): no second query.
    g.optout_team_language = team.optout_language if team is not None else None
    if team is None:
        # A page that says the link is not valid (not the team sign-in), without the slug.
        body, status, _headers = render_problem(
            404, t("unknown_link_title"), t("unknown_link"), back=False
        )
        abort(make_response(body, status))
    return team


def render_form(
    team: Team,
    form: OptOutForm,
    *,
    status: int = 200,
    notice: str | None = None,
    errors: dict | None = None,
    locked_url: str | None = None,
):
    # Every rendering starts a new clock and empties the honeypot (a person whose browser
    # filled it in by mistake can then simply press the button again).
    form.started.data = issue_started(team.slug)
    form.website.data = ""
    context = {
        "team": team,
        "team_name": team.public_name,
        "form": form,
        "notice": notice,
        "errors": errors or {},
        "locked_url": locked_url,
        "max_reason": entries.MAX_REASON_LENGTH,
        "look": _look(team),
    }
    template = "optout/_panel.html" if is_htmx() else "optout/page.html"
    return render_template(template, **context), status


def render_receipt(team: Team, reference: str, url: str, when):
    context = {
        "team": team,
        "team_name": team.public_name,
        "reference": reference,
        "url": url,
        "when_iso": isoformat(when),
        "when_readable": readable_datetime(when),
        "look": _look(team),
    }
    template = "optout/_receipt.html" if is_htmx() else "optout/receipt.html"
    return render_template(template, **context), 200


def _look(team: Team) -> branding.Look | None:
    # The whole page shows the logo and links the theme; an htmx panel needs neither.
    return None if is_htmx() else branding.look_of(team.id)


def render_problem(
    status: int, title: str, message: str, headers: dict | None = None, back: bool = True
):
    slug = (request.view_args or {}).get("slug") if back else None
    back_url = url_for("optout.page", slug=slug) if slug else None
    template = "optout/_problem.html" if is_htmx() else "optout/problem.html"
    body = render_template(template, title=title, message=message, back=back_url)
    return body, status, headers or {}


# --------------------------------------------------------------------------- hooks


@bp.before_request
def cap_request_size() -> None:
    # The form is a URL and a short reason: a larger body is refused before it is read.
    request.max_content_length = current_app.config["OPTOUT_MAX_CONTENT_LENGTH"]


@bp.after_request
def no_store(response):
    # Forms carry a CSRF token and receipts a person's details: never cached. (Only the
    # logo and the theme say how they may be cached.)
    response.headers.setdefault("Cache-Control", "no-store")
    response.vary.add("HX-Request")
    if response.mimetype == "text/html":
        # Its language may follow the visitor's Accept-Language.
        response.vary.add("Accept-Language")
        response.headers["Content-Language"] = language()
    return response


@bp.context_processor
def strings():
    return {"t": t, "lang": language()}


@bp.errorhandler(RateLimitExceeded)
def too_many_requests(_exc):
    slug = (request.view_args or {}).get("slug")
    team = find_team_by_slug(slug) if request.endpoint in _FORM_ENDPOINTS else None
    if team is not None:
        return render_limited(team, _submitted_form(), None)
    _reset, retry_after = rate_limit_reset()
    return render_problem(
        429,
        t("too_many_title"),
        t("too_many", seconds=retry_after),
        {"Retry-After": str(retry_after)},
    )


# The routes whose 429 is the team's page with the form as the person left it.
_FORM_ENDPOINTS = frozenset({"optout.page", "optout.personal_link", "optout.submit"})


def _submitted_form() -> OptOutForm:
    """The form as submitted (a POST), else empty."""
    if request.method != "POST":
        return OptOutForm(formdata=None)
    try:
        return OptOutForm()
    except RequestEntityTooLarge:
        return OptOutForm(formdata=None)


def render_limited(team: Team, form: OptOutForm, reset: float | None):
    """429: the team's page (its logo and colour) with what the person typed, and when
    they may send it."""
    _reset, retry_after = rate_limit_reset(reset)
    token = form.token.data
    locked_url = links.read_token(team.slug, token) if token else None
    body, status = render_form(
        team, form, notice=t("too_many", seconds=retry_after), locked_url=locked_url, status=429
    )
    return body, status, {"Retry-After": str(retry_after)}


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_exc):
    return render_problem(413, t("too_large_title"), t("too_large"))


# --------------------------------------------------------------------------- views


@bp.get("/<slug>")
@page_limit
def page(slug: str):
    team = find_team(slug)
    return render_form(team, OptOutForm(formdata=None))


@bp.get("/<slug>/p/<token>")
@page_limit
def personal_link(slug: str, token: str):
    team = find_team(slug)
    url = links.read_token(slug, token)
    if url is None:
        return render_form(team, OptOutForm(formdata=None), notice=t("link_invalid"), status=400)
    form = OptOutForm(formdata=None, token=token)
    return render_form(team, form, locked_url=url)


@bp.get("/<slug>/validate")
@validate_limit
def validate(slug: str):
    """Inline check of the URL field (htmx): the normalized URL, or why it is not a profile.

    Pure: it does not look at the list, so it tells nothing about who is on it.
    """
    find_team(slug)
    raw = request.args.get("url", "")
    context: dict[str, str | None] = {"url": None, "error": None}
    if raw.strip():
        try:
            context["url"] = entries.normalize(raw)
        except entries.InvalidURL as exc:
            context["error"] = t("url_invalid", reason=url_problem(exc.reason))
    return render_template("optout/_url_feedback.html", **context)


# CSRF is checked by the form itself (same Flask-WTF token) rather than before the view,
# so that the size cap and the rate limit apply first and every failed check of a
# submission gets the same answer.
@csrf.exempt
@bp.post("/<slug>")
@page_limit
def submit(slug: str):
    team = find_team(slug)
    form = OptOutForm()  # reads the body: 413 above OPTOUT_MAX_CONTENT_LENGTH

    locked_url = None
    if form.token.data:
        locked_url = links.read_token(slug, form.token.data)
        if locked_url is None:
            return render_form(
                team, OptOutForm(formdata=None), notice=t("link_invalid"), status=400
            )

    if not (locked_url or (form.url.data or "").strip()):
        # An empty field is said first, even in the first seconds: there is nothing to
        # protect yet (nothing is stored) and a person who pressed too early can fix it.
        return render_form(team, form, errors={"url": t("url_missing")}, status=400)

    if not form.passes_protection(slug):
        # Honeypot filled, too fast, too old, or a missing/invalid CSRF token: nothing is
        # stored and the answer does not say which. A fake receipt would tell a person
        # whose browser filled the honeypot that they opted out when they did not.
        return render_form(team, form, notice=t("retry"), locked_url=locked_url, status=400)

    errors = {}
    raw_url = locked_url or (form.url.data or "")
    url = None
    if not raw_url.strip():
        errors["url"] = t("url_missing")
    else:
        try:
            url = entries.normalize(raw_url)
        except entries.InvalidURL as exc:
            errors["url"] = t("url_invalid", reason=url_problem(exc.reason))
    reason = form.reason.data or ""
    if len(reason.strip()) > entries.MAX_REASON_LENGTH:
        errors["reason"] = t("reason_too_long", max=entries.MAX_REASON_LENGTH)
    if errors or url is None:
        return render_form(team, form, errors=errors, locked_url=locked_url, status=400)

    refused_until = count_accepted_submission()
    if refused_until is not None:
        return render_limited(team, form, refused_until)
    reference = new_reference()
    when = utcnow()
    actor = Actor(ActorType.PUBLIC, None, "public opt-out form", ip_hash=client_ip_hash())
    try:
        entries.add_entry(
            team.id,
            url,
            reason=reason,
            source=Source.PUBLIC_FORM,
            actor=actor,
            reference=reference,
            record_duplicate=True,
            needs_review=over_team_threshold(team.id),
        )
        repeated = False
    except entries.AlreadyListed:
        repeated = True  # recorded as a repeated request; answered exactly like a new one
    except entries.InvalidReason:
        return render_form(
            team, form, errors={"reason": t("reason_invalid")}, locked_url=locked_url, status=400
        )
    if metrics.enabled(current_app):
        metrics.record_public_optout(repeated)
    return render_receipt(team, reference, url, when)


# --------------------------------------------------------------------------- the team's look


def _not_found() -> Response:
    # The same answer for an unknown team and a team without a logo (or colour).
    return Response(
        "Not found\n", 404, mimetype="text/plain", headers={"Cache-Control": "no-store"}
    )


def _cached(response: Response, version: int) -> Response:
    """Kept for a year when asked for at the current version; revalidated otherwise."""
    current = request.args.get("v") == str(version)
    response.headers["Cache-Control"] = IMMUTABLE if current else "no-cache"
    response.set_etag(f"v{version}")
    response.make_conditional(request)  # in place: a 304 when the browser has it
    return response


@bp.get("/<slug>/theme.css")
@asset_limit
def theme(slug: str):
    found = branding.theme_for_slug(slug)
    if found is None:
        return _not_found()
    accent, version = found
    css = branding.colours.theme_css(
        branding.theme_for(accent), f"Accent colour {accent}, version {version}"
    )
    return _cached(Response(css, mimetype="text/css"), version)


@bp.get("/<slug>/logo")
@asset_limit
def logo(slug: str):
    found = branding.logo_for_slug(slug)
    if found is None:
        return _not_found()
    response = Response(
        found.data,
        mimetype=found.mime,
        headers={
            "Content-Security-Policy": LOGO_POLICY,
            "Cross-Origin-Resource-Policy": "same-origin",
            "Content-Disposition": "inline",
        },
    )
    return _cached(response, found.version)
