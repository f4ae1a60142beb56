"""htmx requests: a fragment for the part of the page being swapped, the whole page
otherwise (the page includes the fragment, so both show the same thing)."""

from __future__ import annotations

from flask import redirect, render_template, request


def is_htmx() -> bool:
    """An htmx request that wants a fragment. A history restore (back button after the
    cache missed) and a boosted link or form (hx-boost: htmx swaps the body) are sent with
    HX-Request too, but must get the whole page."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-History-Restore-Request") != "true"
        and headers.get("HX-Boosted") != "true"
    )


def render(page_template: str, fragment_template: str | None = None, status: int = 200, **context):
    """The fragment for htmx requests, the whole page otherwise."""
    template = fragment_template if fragment_template and is_htmx() else page_template
    return render_template(template, **context), status


def fragment_only(fragment_template: str, page_url: str, **context):
    """A route that serves only a fragment (a row put back, a panel): the fragment for
    htmx, and a visit of its URL in the browser goes to `page_url`, the page it is part of."""
    if not is_htmx():
        return redirect(page_url)
    return render_template(fragment_template, **context)
