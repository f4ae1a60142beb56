"""Normalize LinkedIn company-page URLs to one canonical form.

A company block names a company by its page, `https://linkedin.com/company/<slug>`:
this is what is stored, compared and returned. The slug is the page's name in its URL
(`acme-inc`) or its numeric id (`1035`, kept as it is: LinkedIn serves both).

The URL is read exactly as the person normalizer reads a profile URL (dnc_app.domain.normalize,
whose helpers this module shares): the same trimming, the same refusal of control,
invisible and whitespace characters, backslashes and bad percent-encoding, the same
schemes, hosts (`www.`, `m.`, country subdomains, a trailing dot), userinfo and port
rules, the same resolution of `.` and `..` path segments, and the same 2,048-character
cap. Then the path must be `/company/<slug>` (`/company` in any case; also schemeless
`company/<slug>`); the segments after the slug (`/about/`, `/people/`), the trailing
slash, the query and the fragment are dropped. A Sales Navigator company page,
`/sales/company/<number>`, names the company by the same numeric id as
`/company/<number>` and becomes that page: the company column of a Sales Navigator
export then matches a block of the company's number (other Sales Navigator pages, and
a Sales Navigator company link without a number, are refused).

The slug is percent-decoded (UTF-8), put in Unicode NFC and lowercased, at most 100
characters of letters, combining marks, digits, `-`, `_` and `.` (at least one letter
or digit; no leading or trailing dot, no `..`), without look-alike compatibility
characters. Everything else is refused with InvalidURL and a reason: a person profile
(say so: it belongs on the list), school and showcase pages, any other page.

Pure: no I/O, no Flask; linear in the input, which is bounded.
"""

from __future__ import annotations

import re
import unicodedata

from dnc_app.domain.normalize import (
    _AUTHORITY_END,
    _INVISIBLE_LETTERS,
    R_EMPTY,
    R_REPEATED_SLASH,
    InvalidURL,
    _is_lookalike,
    _percent_decode,
    _segment_name,
    _url_of_path,
    case_folded,
    trimmed_input,
)

__all__ = [
    "COMPANY_PREFIX",
    "MAX_SLUG_LENGTH",
    "InvalidURL",
    "normalize_company_url",
]

COMPANY_PREFIX = "https://linkedin.com/company/"
MAX_SLUG_LENGTH = 100

R_NOT_COMPANY = "Not a company page: expected a linkedin.com/company/<name> URL"
R_PERSON = "Not a company page: this is a person's profile (add the person to the list instead)"
R_SCHOOL = "Not a company page: school pages cannot be blocked"
R_SHOWCASE = "Not a company page: showcase pages cannot be blocked (use the company's own page)"
R_SLUG_MISSING = "The company name in the URL is missing"
R_SLUG_LONG = f"The company name in the URL is longer than {MAX_SLUG_LENGTH} characters"
R_SLUG_CHARS = (
    "The company name in the URL may only contain letters, digits, hyphens, underscores and dots"
)
R_SLUG_DOTS = "The company name in the URL cannot start or end with a dot or contain '..'"
R_SLUG_NO_ALNUM = "The company name in the URL must contain a letter or digit"
R_SALES = "Not a company page: Sales Navigator links other than a company page cannot be blocked"
R_SALES_COMPANY = (
    "Malformed Sales Navigator company URL: expected linkedin.com/sales/company/<number>"
)
R_SLUG_COMPAT = (
    "The company name in the URL contains look-alike characters (full-width, font, "
    "circled, superscript or ligature forms of letters)"
)

# First path segment (lowercased) -> reason, for pages that are not a company.
_PATH_REASONS = {
    "in": R_PERSON,
    "pub": R_PERSON,
    "sales": R_SALES,
    "school": R_SCHOOL,
    "edu": R_SCHOOL,
    "showcase": R_SHOWCASE,
}
_SLUG_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Nd"})
_SLUG_PUNCTUATION = frozenset("-_.")
_ASCII_SLUG = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.")

# Fast path: the common shapes in printable ASCII without '%', '.' after the host, '\'.
# Anything else takes the general path, which accepts a superset and gives the same
# result for these (checked by the tests). re.ASCII: without it IGNORECASE lets U+212A
# KELVIN SIGN match "k". The path after the slug excludes '.' so that dot segments
# always take the general path, which resolves them.
_FAST = re.compile(
    r"(?:(?:https?://)?(?:(?:www|m|[a-z]{2})\.)?linkedin\.com/|/)?company/"
    r"([a-z0-9][a-z0-9_-]*+)"
    r"(?:/[!\"$&-\-/->@-\[\]-~]*+)?"
    r"(?:[?#][!-$&-\[\]-~]*+)?",
    re.IGNORECASE | re.ASCII,
)


def normalize_company_url(raw: object) -> str:
    """Return the canonical 'https://linkedin.com/company/<slug>' or raise InvalidURL."""
    s = trimmed_input(raw)
    m = _FAST.fullmatch(s)
    if m is not None and len(m.group(1)) <= MAX_SLUG_LENGTH:
        return COMPANY_PREFIX + m.group(1).lower()
    return _normalize_general(s)


def _normalize_general(s: str) -> str:
    if not s:
        raise InvalidURL(R_EMPTY)
    end = _AUTHORITY_END.search(s)
    first = s if end is None else s[: end.start()]
    if first.isascii() and first.lower() == "company":
        s = "/" + s  # schemeless "company/<slug>": a path, like "in/<username>"
    return _url_of_path(s, _company_url)


def _company_url(segments: list[str]) -> str:
    first = _segment_name(segments[0])
    if first == "company":
        if len(segments) < 2 or segments[1] == "":
            if any(segments[2:]):
                raise InvalidURL(R_REPEATED_SLASH)
            raise InvalidURL(R_SLUG_MISSING)
        return COMPANY_PREFIX + _canonical_slug(segments[1])
    if first == "sales" and len(segments) > 1 and _segment_name(segments[1]) == "company":
        return _sales_company_url(segments)
    if first == "" and len(segments) > 1:
        raise InvalidURL(R_REPEATED_SLASH)
    raise InvalidURL(_PATH_REASONS.get(first, R_NOT_COMPANY))


def _sales_company_url(segments: list[str]) -> str:
    """/sales/company/<number>[/anything] -> /company/<number>: Sales Navigator names a
    company by its numeric id, the one its /company/<number> page has."""
    number = _percent_decode(segments[2]) if len(segments) > 2 else ""
    if not (number.isascii() and number.isdigit() and len(number) <= MAX_SLUG_LENGTH):
        raise InvalidURL(R_SALES_COMPANY)
    return COMPANY_PREFIX + number


def _canonical_slug(segment: str) -> str:
    """Decode, normalize and validate the slug segment (already bounded by the input cap)."""
    slug = case_folded(_percent_decode(segment))
    if len(slug) > MAX_SLUG_LENGTH:
        raise InvalidURL(R_SLUG_LONG)
    has_alnum = False
    for c in slug:
        if c in _ASCII_SLUG:
            has_alnum = has_alnum or c not in _SLUG_PUNCTUATION
        elif c in _INVISIBLE_LETTERS:
            raise InvalidURL(R_SLUG_CHARS)
        elif c.isascii() or unicodedata.category(c) not in _SLUG_CATEGORIES:
            raise InvalidURL(R_SLUG_CHARS)
        elif unicodedata.category(c)[0] != "M":
            has_alnum = True
    if slug.startswith(".") or slug.endswith(".") or ".." in slug:
        raise InvalidURL(R_SLUG_DOTS)
    if not has_alnum:
        raise InvalidURL(R_SLUG_NO_ALNUM)
    if not slug.isascii() and not unicodedata.is_normalized("NFKC", slug):
        if any(_is_lookalike(c) for c in set(slug) if not c.isascii()):
            raise InvalidURL(R_SLUG_COMPAT)
    return slug
