"""Normalize LinkedIn person-profile URLs to one canonical form.

Every URL that enters the system goes through :func:`normalize_linkedin_url`; the
result, ``https://linkedin.com/in/<username>``, is what is stored, compared and
returned.  Anything that is not unambiguously a person profile on linkedin.com is
rejected with :class:`InvalidURL`, whose ``reason`` (also ``str(exc)``) is a short
plain-English sentence that can be shown to end users.  The module is pure: no
I/O, no Flask.

Decisions (each one deliberate; "reject rather than guess"):

* Input type: anything that is not a ``str`` raises ``InvalidURL("URL must be a
  string")``, never ``TypeError``.
* Length: the *raw* input (before trimming) may be at most 2,048 characters; the
  username, measured in characters after decoding and normalization, at most 100.
* Trimming: surrounding whitespace is removed: ASCII space, tab, CR, LF, VT, FF,
  Unicode spaces (NBSP, U+2000-U+200A, U+202F, U+205F, U+3000, U+1680), line and
  paragraph separators, plus the invisible U+200B, U+2060 and U+FEFF (BOM) that
  copy/paste leaves behind.  Nothing else is trimmed.
* Inside the URL (after trimming), anywhere, including query and fragment:
  control characters (C0, DEL, C1; so also tabs/newlines) are rejected, then
  lone surrogates, then invisible format characters (category Cf: zero-width
  characters, bidi overrides, soft hyphen, ZWJ/ZWNJ), then any whitespace.
  Backslashes are rejected everywhere (browsers read them as "/").
* Percent-encoding: every ``%`` in the input must start a ``%XX`` hex escape
  (malformed escapes anywhere, even in the dropped query, are rejected).  The
  username is percent-decoded as UTF-8 (invalid UTF-8 is rejected).  A ``%`` left
  after decoding (double encoding such as ``%2525``) is rejected; a decoded ``/``
  is rejected.  Raw and percent-encoded forms of the same characters normalize
  to the same value.
* Canonical username: percent-decode, Unicode NFC, ``str.lower()``, NFC again
  (so composed/decomposed ``ü`` and ``%C3%BC``/``%c3%bc`` are all the same
  person).  The stored form is the *decoded*, readable Unicode form, e.g.
  ``https://linkedin.com/in/jürgen`` (not percent-encoded).  Normalization is
  idempotent.  (LinkedIn member-id URLs like ``/in/ACoAA…`` are lowercased too,
  as the contract requires.)
* Allowed username characters: Unicode letters (L*), combining marks (Mn, Mc),
  decimal digits (Nd), ``-``, ``_`` and ``.``; at least one letter or digit; no
  leading/trailing dot and no ``..``.  Characters whose NFKC form differs
  (full-width letters, ligatures, superscripts, long s, ...) are rejected as
  look-alikes.  Mixed-script look-alikes that are distinct characters are *not*
  folded (they may be a different person).
* Scheme: ``http`` and ``https`` (any case) followed by ``//``; no scheme means
  ``https``; protocol-relative ``//linkedin.com/in/u`` is accepted as https.
  Every other scheme (``javascript:``, ``ftp://``, ``mailto:``, ...) is
  rejected, as are ``https:linkedin.com`` / ``https:/linkedin.com``.
* Host: only ASCII; exactly ``linkedin.com`` or one label in front of it that is
  ``www``, ``m`` or any two ASCII letters (country subdomains such as ``uk.``,
  ``de.``).  ``www.uk.linkedin.com``, IP addresses, IDN/homograph hosts,
  ``linkedin.com.evil.com``, ``evillinkedin.com``, ``linkedin.co`` are rejected.
  A single trailing dot (``linkedin.com.``, the fully-qualified form of the same
  host) is accepted.
* Userinfo (any ``@`` in the authority) is rejected.
* Ports: only the scheme's default port is accepted, written exactly (``:443``
  for https or no scheme, ``:80`` for http); other ports, ``0443``, an empty
  port and non-numeric ports are rejected.
* Path: ``/in/<username>`` (``/in`` in any case, also ``/mwlite/in/<username>``
  and schemeless ``in/<username>`` or ``/in/<username>``).  Segments after the
  username, the trailing slash, the query string and the fragment are dropped.
  Company, school, showcase, group, post/feed, job, event, Learning, old
  ``/pub/`` and ``/profile/view`` links, Sales Navigator (``/sales/``) and
  Recruiter (``/talent/``) links, and any other path are rejected with a reason
  naming the kind of link.  Empty segments before the username (``/in//john``,
  ``//in/john``) are rejected; an empty username (``in/``) is rejected.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote_to_bytes

__all__ = [
    "CANONICAL_PREFIX",
    "MAX_INPUT_LENGTH",
    "MAX_USERNAME_LENGTH",
    "InvalidURL",
    "canonical_url",
    "normalize_linkedin_url",
]

MAX_INPUT_LENGTH = 2048
MAX_USERNAME_LENGTH = 100
CANONICAL_PREFIX = "https://linkedin.com/in/"


class InvalidURL(ValueError):
    """Raised with a human-readable reason (str(exc)) that says why the input is not accepted."""

    code = "invalid_url"

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


# --- reasons -----------------------------------------------------------------

_USE_PROFILE = "use the public profile URL (linkedin.com/in/…)"

R_NOT_STRING = "URL must be a string"
R_EMPTY = "The URL is empty"
R_TOO_LONG = f"The URL is longer than {MAX_INPUT_LENGTH:,} characters"
R_CONTROL = "The URL contains control characters"
R_SURROGATE = "The URL contains invalid characters"
R_INVISIBLE = "The URL contains invisible formatting characters"
R_SPACES = "The URL contains spaces"
R_BACKSLASH = "The URL contains backslashes"
R_PERCENT = "Invalid percent-encoding in the URL"
R_PERCENT_UTF8 = "Invalid percent-encoding in the URL: not valid UTF-8"
R_SCHEME = "Only http and https URLs are accepted"
R_USERINFO = "URLs with user info (user@host) are not accepted"
R_NO_HOST = "Malformed URL: the host name is missing"
R_HOST = "Not a LinkedIn URL: the host must be linkedin.com"
R_PORT_INVALID = "Invalid port in the URL"
R_PORT = "Non-default ports are not accepted"
R_NOT_PROFILE = "Not a person profile: expected a linkedin.com/in/<username> URL"
R_REPEATED_SLASH = "Malformed URL path: repeated slashes"
R_SALES = f"Sales Navigator links are not supported: {_USE_PROFILE}"
R_USERNAME_MISSING = "The profile username is missing"
R_USERNAME_LONG = f"The profile username is longer than {MAX_USERNAME_LENGTH} characters"
R_USERNAME_CONTROL = "The profile username contains control characters"
R_USERNAME_INVISIBLE = "The profile username contains invisible formatting characters"
R_USERNAME_SPACES = "The profile username contains spaces"
R_USERNAME_PERCENT = (
    "The profile username contains '%' after decoding (double percent-encoding is not accepted)"
)
R_USERNAME_SLASH = "The profile username contains an encoded '/'"
R_USERNAME_DOTS = "The profile username cannot start or end with a dot or contain '..'"
R_USERNAME_NO_ALNUM = "The profile username must contain a letter or digit"
R_USERNAME_CHARS = (
    "The profile username may only contain letters, digits, hyphens, underscores and dots"
)
R_USERNAME_COMPAT = (
    "The profile username contains look-alike characters (such as full-width letters)"
)


def _not_profile(what: str) -> str:
    return f"Not a person profile: {what} cannot be added"


# First path segment (lowercased) -> reason, for well-known non-profile pages.
_PATH_REASONS = {
    "company": _not_profile("company pages"),
    "school": _not_profile("school pages"),
    "edu": _not_profile("school pages"),
    "showcase": _not_profile("showcase pages"),
    "groups": _not_profile("group pages"),
    "feed": _not_profile("posts and feed links"),
    "posts": _not_profile("posts and feed links"),
    "pulse": _not_profile("articles"),
    "jobs": _not_profile("job links"),
    "events": _not_profile("event links"),
    "newsletters": _not_profile("newsletter links"),
    "learning": _not_profile("LinkedIn Learning links"),
    "search": _not_profile("search result links"),
    "mynetwork": _not_profile("network pages"),
    "messaging": _not_profile("messaging links"),
    "notifications": _not_profile("notification links"),
    "pub": f"Old-style /pub/ profile links are not supported: {_USE_PROFILE}",
    "profile": f"Old-style /profile/ links are not supported: {_USE_PROFILE}",
    "sales": R_SALES,
    "talent": f"LinkedIn Recruiter links are not supported: {_USE_PROFILE}",
    "recruiter": f"LinkedIn Recruiter links are not supported: {_USE_PROFILE}",
}

# --- patterns ----------------------------------------------------------------

# Fast path: printable ASCII without '%' and '\' in the common shapes.  Anything it
# does not match goes to the general path, which accepts a superset and produces
# the same result for these inputs (checked by the tests).  re.ASCII matters:
# without it IGNORECASE lets e.g. U+212A KELVIN SIGN match "k" and U+0131 match "i".
_FAST = re.compile(
    r"(?:(?:https?://)?(?:(?:www|m|[a-z]{2})\.)?linkedin\.com/|/)?in/"
    r"([_-]*+[a-z0-9][a-z0-9_-]*+)"
    r"(?:[/?#][!-$&-\[\]-~]*)?",
    re.IGNORECASE | re.ASCII,
)

_TRIM = (
    " \t\n\r\v\f"
    "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
    "\u200b\u2060\ufeff"
)

_PRINTABLE_ASCII = re.compile(r"[!-~]*", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})", re.ASCII)
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):", re.ASCII)
_PORT_LIKE = re.compile(r"(?!//)[0-9]*(?:[/?#]|\Z)", re.ASCII)
_USERINFO_LIKE = re.compile(r"(?!//)[^/?#]*@")
_HOST = re.compile(r"(?:(?:www|m|[a-z]{2})\.)?linkedin\.com", re.ASCII)
_AUTHORITY_END = re.compile(r"[/?#]")
_PATH_END = re.compile(r"[?#]")
_ASCII_USERNAME = re.compile(r"[a-z0-9_.\-]+", re.ASCII)
_HAS_ALNUM_ASCII = re.compile(r"[a-z0-9]", re.ASCII)

_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_NOT_ASCII_USERNAME = re.compile(r"[^a-z0-9_.\-]", re.ASCII)
_USERNAME_PROBLEM_ORDER = (
    R_USERNAME_CONTROL,
    R_USERNAME_INVISIBLE,
    R_USERNAME_SPACES,
    R_USERNAME_PERCENT,
    R_USERNAME_SLASH,
    R_USERNAME_CHARS,
)
_LETTER_MARK_DIGIT = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Nd"})
_DEFAULT_PORT = {"https": "443", "http": "80"}


# --- public API ----------------------------------------------------------------


def normalize_linkedin_url(raw: str) -> str:
    """Return the canonical 'https://linkedin.com/in/<username>' or raise InvalidURL(reason)."""
    if not isinstance(raw, str):
        raise InvalidURL(R_NOT_STRING)
    if len(raw) > MAX_INPUT_LENGTH:
        raise InvalidURL(R_TOO_LONG)
    s = raw.strip(_TRIM)
    m = _FAST.fullmatch(s)
    if m is not None:
        username = m.group(1)
        if len(username) <= MAX_USERNAME_LENGTH:
            return CANONICAL_PREFIX + username.lower()
    return _normalize_general(s)


def canonical_url(username: str) -> str:
    """Return the canonical profile URL for one username (raw or percent-encoded).

    The username goes through the same validation and normalization as the username
    part of a URL; raises InvalidURL if it is not acceptable.
    """
    if not isinstance(username, str):
        raise InvalidURL("Username must be a string")
    if len(username) > MAX_INPUT_LENGTH:
        raise InvalidURL(R_USERNAME_LONG)
    if _BAD_PERCENT.search(username):
        raise InvalidURL(R_PERCENT)
    if not username:
        raise InvalidURL(R_USERNAME_MISSING)
    if _AUTHORITY_END.search(username):  # a raw '/', '?' or '#'
        raise InvalidURL(R_USERNAME_CHARS)
    return CANONICAL_PREFIX + _canonical_username(username)


# --- general path ----------------------------------------------------------------


def _check_characters(s: str) -> None:
    """Reject control, invalid, invisible and whitespace characters and backslashes."""
    if _PRINTABLE_ASCII.fullmatch(s) is None:
        if _CONTROL.search(s):
            raise InvalidURL(R_CONTROL)
        categories = {unicodedata.category(c) for c in set(_NON_ASCII.findall(s))}
        if "Cs" in categories:
            raise InvalidURL(R_SURROGATE)
        if "Cf" in categories:
            raise InvalidURL(R_INVISIBLE)
        if " " in s or categories & {"Zs", "Zl", "Zp"}:
            raise InvalidURL(R_SPACES)
    if "\\" in s:
        raise InvalidURL(R_BACKSLASH)
    if "%" in s and _BAD_PERCENT.search(s):
        raise InvalidURL(R_PERCENT)


def _percent_decode(segment: str) -> str:
    if "%" not in segment:
        return segment
    try:
        return unquote_to_bytes(segment).decode("utf-8")
    except UnicodeError:
        raise InvalidURL(R_PERCENT_UTF8) from None


def _check_host_and_port(authority: str, scheme: str) -> None:
    if not authority:
        raise InvalidURL(R_NO_HOST)
    if "@" in authority:
        raise InvalidURL(R_USERINFO)
    host, sep, port = authority.partition(":")
    if not host.isascii():
        raise InvalidURL(R_HOST)
    host = host.lower()
    if host.endswith("."):
        host = host[:-1]
    if _HOST.fullmatch(host) is None:
        raise InvalidURL(R_NO_HOST if not host else R_HOST)
    if sep:
        if not port.isascii() or not port.isdigit():
            raise InvalidURL(R_PORT_INVALID)
        if port != _DEFAULT_PORT[scheme]:
            raise InvalidURL(R_PORT)


def _split(s: str) -> tuple[str, str | None, str]:
    """Split into (scheme, authority or None, path) -- query and fragment dropped."""
    scheme = "https"
    m = _SCHEME.match(s)
    if m is not None:
        name = m.group(1).lower()
        after = s[m.end() :]
        if name in _DEFAULT_PORT:
            if not after.startswith("//"):
                raise InvalidURL(f"Malformed URL: expected '//' after '{name}:'")
            scheme, rest = name, after[2:]
        elif _PORT_LIKE.match(after):
            rest = s  # "linkedin.com:443/in/u": a host and port, not a scheme
        elif name != "mailto" and _USERINFO_LIKE.match(after):
            raise InvalidURL(R_USERINFO)  # "user:password@linkedin.com/in/u"
        else:
            raise InvalidURL(R_SCHEME)
    elif s.startswith("//"):
        rest = s[2:]  # protocol-relative
    else:
        end = _AUTHORITY_END.search(s)
        first = s if end is None else s[: end.start()]
        if s.startswith("/") or (first.isascii() and first.lower() == "in"):
            path = s if s.startswith("/") else "/" + s
            pe = _PATH_END.search(path)
            return scheme, None, path if pe is None else path[: pe.start()]
        rest = s
    end = _AUTHORITY_END.search(rest)
    if end is None:
        return scheme, rest, ""
    authority = rest[: end.start()]
    path = rest[end.start() :]
    pe = _PATH_END.search(path)
    return scheme, authority, path if pe is None else path[: pe.start()]


def _segment_name(segment: str) -> str:
    """Lowercased, percent-decoded name of a path segment (a never-matching marker if
    it is not ASCII, so that e.g. a Kelvin sign cannot lowercase into a known name)."""
    name = _percent_decode(segment)
    return name.lower() if name.isascii() else "\x00"


def _normalize_general(s: str) -> str:
    if not s:
        raise InvalidURL(R_EMPTY)
    _check_characters(s)
    scheme, authority, path = _split(s)
    if authority is not None:
        _check_host_and_port(authority, scheme)
    if path in ("", "/"):
        raise InvalidURL(R_NOT_PROFILE)
    segments = path[1:].split("/")
    first = _segment_name(segments[0])
    if first == "mwlite" and len(segments) > 1 and _segment_name(segments[1]) == "in":
        segments = segments[1:]
        first = "in"
    if first != "in":
        if first == "":
            raise InvalidURL(R_REPEATED_SLASH)
        raise InvalidURL(_PATH_REASONS.get(first, R_NOT_PROFILE))
    if len(segments) < 2 or segments[1] == "":
        if any(segments[2:]):
            raise InvalidURL(R_REPEATED_SLASH)
        raise InvalidURL(R_USERNAME_MISSING)
    return CANONICAL_PREFIX + _canonical_username(segments[1])


def _canonical_username(segment: str) -> str:
    """Decode, normalize and validate one username path segment."""
    name = _percent_decode(segment)
    if name.isascii():
        name = name.lower()
    else:
        name = unicodedata.normalize("NFC", name)
        name = unicodedata.normalize("NFC", name.lower())
    if len(name) > MAX_USERNAME_LENGTH:
        raise InvalidURL(R_USERNAME_LONG)
    if _ASCII_USERNAME.fullmatch(name) is None:
        _check_username_characters(name)
    else:
        _check_dots(name)
        if _HAS_ALNUM_ASCII.search(name) is None:
            raise InvalidURL(R_USERNAME_NO_ALNUM)
    return name


def _check_dots(name: str) -> None:
    if name.startswith(".") or name.endswith(".") or ".." in name:
        raise InvalidURL(R_USERNAME_DOTS)


def _check_username_characters(name: str) -> None:
    """Validate a lowercased NFC username that is not plain [a-z0-9_.-]."""
    has_alnum = _HAS_ALNUM_ASCII.search(name) is not None
    problems = set()
    for c in set(_NOT_ASCII_USERNAME.findall(name)):
        cat = unicodedata.category(c)
        if cat in _LETTER_MARK_DIGIT:
            if cat[0] != "M":
                has_alnum = True
        elif cat == "Cc":
            problems.add(R_USERNAME_CONTROL)
        elif cat == "Cf":
            problems.add(R_USERNAME_INVISIBLE)
        elif c.isspace() or cat[0] == "Z":
            problems.add(R_USERNAME_SPACES)
        elif c == "%":
            problems.add(R_USERNAME_PERCENT)
        elif c == "/":
            problems.add(R_USERNAME_SLASH)
        else:
            problems.add(R_USERNAME_CHARS)
    if problems:  # report the most specific problem
        raise InvalidURL(next(r for r in _USERNAME_PROBLEM_ORDER if r in problems))
    _check_dots(name)
    if not has_alnum:
        raise InvalidURL(R_USERNAME_NO_ALNUM)
    if unicodedata.normalize("NFKC", name) != name:
        raise InvalidURL(R_USERNAME_COMPAT)
