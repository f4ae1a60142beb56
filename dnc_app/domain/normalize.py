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
  person; NFC, not NFKC, so that ordinary letters keep their spelling).  The
  stored form is the *decoded*, readable Unicode form, e.g.
  ``https://linkedin.com/in/jürgen`` (not percent-encoded).  Normalization is
  idempotent.
* Member tokens: a username that is exactly a LinkedIn member token (``ACoAA``
  then 34 letters, digits, ``-`` or ``_``, 39 characters in all) keeps its case:
  the token is case-sensitive, its lowercased form names nobody.  Anything else
  (another length, a lowercased ``acoaa…``) is an ordinary username, lowercased.
* Sales Navigator leads: ``/sales/lead/<token>,…``, ``/sales/people/<token>,…``
  and ``/sales/profile/<token>,…`` (the segment percent-decoded, everything from
  its first comma dropped; the token starts with ``ACwAA`` and holds only
  letters, digits, ``-`` and ``_``, at most 100 characters; case kept) become
  ``https://linkedin.com/sales/lead/<token>``.  It names the person by another
  identifier than the profile and cannot be converted to it.  Other Sales
  Navigator pages are refused with a reason.
* Allowed username characters: Unicode letters (L*), combining marks (Mn, Mc),
  decimal digits (Nd), ``-``, ``_`` and ``.``; at least one letter or digit; no
  leading/trailing dot and no ``..``.  Look-alikes are rejected: characters
  (or parts of their canonical decomposition) with a compatibility decomposition
  tag (``<wide>``, ``<narrow>``, ``<font>``, ``<circle>``, ``<super>``, ``<sub>``,
  ``<small>``, ``<square>``, ``<fraction>``, ``<vertical>``, Arabic presentation
  forms ``<isolated>``/``<initial>``/``<medial>``/``<final>``, and ``<compat>``
  such as ligatures ``ﬁ``, long ``ſ``, ``ĳ``, micro sign, Greek symbol variants).
  Exception: the ``<compat>`` letters that are ordinary letters of their script,
  typed by its keyboards (Thai ``ำ``, Lao ``ຳ`` ``ໜ`` ``ໝ``, Armenian ``և``,
  Arabic ``ٵ``-``ٸ``, Tibetan ``ཷ`` ``ཹ``, Hangul compatibility jamo) are
  accepted.  Invisible letters and marks (Hangul fillers, variation selectors,
  combining grapheme joiner, Khmer inherent vowels) are rejected.  Mixed-script
  look-alikes that are distinct characters are *not* folded (they may be a
  different person).  ``/in/me`` (LinkedIn's alias of whoever is signed in) is
  rejected.
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
* Path: first, ``.`` and ``..`` segments (also spelled ``%2E``, ``.%2e`` ...) are
  resolved as a browser does (WHATWG URL / RFC 3986 remove_dot_segments), so
  ``/in/alice/../bob`` is ``bob`` and ``/in/a/../../company/x`` a company page; a
  refusal of such a path says that the dot segments were resolved.  Then
  ``/in/<username>`` (``/in`` in any case; also behind the mobile-lite, e-mail and
  public-profile prefixes ``/mwlite/``, ``/comm/``, ``/public-profile/``; also
  schemeless ``in/<username>`` or ``/in/<username>``).  Segments after the
  username, the trailing slash, the query string and the fragment are dropped.
  Legacy ``/pub/NAME/A/B/C`` links (A, B, C: 1-3 hex digits) become
  ``/in/NAME-CBA``, the profile LinkedIn redirects them to, with B and C padded
  to three digits (``/pub/x/a7/576/b50`` -> ``/in/x-b50576a7``); other ``/pub/``
  shapes and the ``/pub/dir/`` people directory are rejected.  Company, school,
  showcase, group, post/feed, job, event, Learning and ``/profile/view`` links,
  Sales Navigator pages other than a lead, Recruiter (``/talent/``, ``/recruiter/``)
  links, and any other path are rejected with a reason naming the kind of link.
  Empty segments before the username (``/in//john``, ``//in/john``) are
  rejected; an empty username (``in/``) is rejected.  ``lnkd.in`` short links
  are rejected (they cannot be resolved without a network request).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from urllib.parse import unquote_to_bytes

__all__ = [
    "CANONICAL_PREFIX",
    "LEAD_PREFIX",
    "MAX_INPUT_LENGTH",
    "MAX_USERNAME_LENGTH",
    "InvalidURL",
    "normalize_linkedin_url",
]

MAX_INPUT_LENGTH = 2048
MAX_USERNAME_LENGTH = 100
CANONICAL_PREFIX = "https://linkedin.com/in/"
LEAD_PREFIX = "https://linkedin.com/sales/lead/"


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
R_SHORT_LINK = (
    f"{R_HOST} (lnkd.in short links cannot be followed here: open the link and "
    "use the profile URL it leads to)"
)
R_PORT_INVALID = "Invalid port in the URL"
R_PORT = "Non-default ports are not accepted"
R_NOT_PROFILE = "Not a person profile: expected a linkedin.com/in/<username> URL"
R_REPEATED_SLASH = "Malformed URL path: repeated slashes"
R_SALES = (
    "Sales Navigator pages other than a lead are not accepted: use a lead URL "
    f"(linkedin.com/sales/lead/ACwAA…) or {_USE_PROFILE}"
)
R_SALES_TOKEN = (
    "Malformed Sales Navigator lead URL: expected linkedin.com/sales/lead/<token>, "
    "the token starting with ACwAA (letters, digits, '-' and '_')"
)
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
    "The profile username contains look-alike characters (full-width, font, circled, "
    "superscript or ligature forms of letters)"
)
R_SIGNED_IN_ALIAS = (
    "Not a person profile: /in/me is LinkedIn's alias of whoever is signed in; "
    "use the profile's own URL (linkedin.com/in/<username>)"
)
R_PUB_SHAPE = "Malformed old-style /pub/ link: expected linkedin.com/pub/<name>/<a>/<b>/<c>"
R_PUB_ID = (
    "Malformed old-style /pub/ link: the three parts after the name must be "
    "1 to 3 hexadecimal digits each"
)
R_PUB_DIRECTORY = "Not a person profile: people directory (/pub/dir/) links cannot be added"
R_DOT_SEGMENTS = (
    " (read after resolving the '.' and '..' dot segments in the path, as a browser does)"
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
# The path after the username excludes '.' so that dot segments ("/in/a/../b")
# always take the general path, which resolves them.
_FAST = re.compile(
    r"(?:(?:https?://)?(?:(?:www|m|[a-z]{2})\.)?linkedin\.com/|/)?in/"
    r"([_-]*+[a-z0-9][a-z0-9_-]*+)"
    r"(?:/[!\"$&-\-/->@-\[\]-~]*+)?"
    r"(?:[?#][!-$&-\[\]-~]*+)?",
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
_SHORT_LINK_HOSTS = frozenset({"lnkd.in", "www.lnkd.in"})
_SIGNED_IN_ALIAS = "me"
# LinkedIn's member token, the other spelling of a profile's /in/ URL: case-sensitive.
_MEMBER_TOKEN = re.compile(r"ACoAA[A-Za-z0-9_-]{34}", re.ASCII)
_MEMBER_TOKEN_LENGTH = 39
# Sales Navigator's person pages, all of one lead, and the lead token they start with.
_SALES_LEAD_PAGES = frozenset({"lead", "people", "profile"})
_LEAD_TOKEN = re.compile(r"ACwAA[A-Za-z0-9_-]+", re.ASCII)

# Every spelling of the '.' and '..' path segments that a browser resolves.
_SINGLE_DOT = frozenset({".", "%2e", "%2E"})
_DOUBLE_DOT = frozenset(a + b for a in _SINGLE_DOT for b in _SINGLE_DOT)
_DOT_SEGMENTS = _SINGLE_DOT | _DOUBLE_DOT

# Path prefixes in front of "/in/<username>" that still show that person's profile:
# mobile lite, links in LinkedIn's e-mails, the public-profile view.
_PROFILE_PATH_PREFIXES = frozenset({"mwlite", "comm", "public-profile"})
_PUB_ID_PART = re.compile(r"[0-9a-f]{1,3}", re.ASCII | re.IGNORECASE)

# <compat> characters that are ordinary letters of their script, typed by its
# keyboards (every other character with a compatibility decomposition is a
# look-alike of a plainer spelling: width, font, circled, super/subscript forms,
# Latin ligatures, long s, Arabic presentation forms, ...).
_ORDINARY_COMPAT_LETTERS = frozenset(
    "\u0587"  # Armenian ech-yiwn
    "\u0675\u0676\u0677\u0678"  # Arabic high hamza letters (Kazakh, Uyghur)
    "\u0e33"  # Thai sara am
    "\u0eb3\u0edc\u0edd"  # Lao vowel sign am, ho no, ho mo
    "\u0f77\u0f79"  # Tibetan vocalic rr, ll
    + "".join(chr(cp) for cp in range(0x3131, 0x318F) if cp != 0x3164)  # Hangul jamo
)
# Letters and marks that render as nothing: a username with one would look
# identical to the username without it.
_INVISIBLE_LETTERS = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u3164\uffa0"
    + "".join(chr(cp) for cp in range(0xFE00, 0xFE10))
    + "".join(chr(cp) for cp in range(0xE0100, 0xE01F0))
)


# --- public API ----------------------------------------------------------------


def trimmed_input(raw: object) -> str:
    """The input as a string of bounded length, trimmed of white space and invisible
    characters at either end (profile and company URLs alike), or InvalidURL."""
    if not isinstance(raw, str):
        raise InvalidURL(R_NOT_STRING)
    if len(raw) > MAX_INPUT_LENGTH:
        raise InvalidURL(R_TOO_LONG)
    return raw.strip(_TRIM)


def case_folded(name: str) -> str:
    """A decoded path segment lowercased; one that is not ASCII in NFC before and after
    (a lowercase letter may compose where its capital did not)."""
    if name.isascii():
        return name.lower()
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).lower())


def normalize_linkedin_url(raw: object) -> str:
    """Return the canonical 'https://linkedin.com/in/<username>' or raise InvalidURL(reason)."""
    s = trimmed_input(raw)
    m = _FAST.fullmatch(s)
    if m is not None:
        username = m.group(1)
        if len(username) == _MEMBER_TOKEN_LENGTH and _MEMBER_TOKEN.fullmatch(username):
            return CANONICAL_PREFIX + username
        username = username.lower()
        if len(username) <= MAX_USERNAME_LENGTH and username != _SIGNED_IN_ALIAS:
            return CANONICAL_PREFIX + username
    return _normalize_general(s)


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
        if host in _SHORT_LINK_HOSTS:
            raise InvalidURL(R_SHORT_LINK)
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
    return _url_of_path(s, _profile_url)


def _url_of_path(s: str, url_of: Callable[[list[str]], str]) -> str:
    """Check the characters, scheme, host and port of a trimmed URL, and return
    `url_of(its path segments)`, the dot segments resolved (also company pages')."""
    _check_characters(s)
    scheme, authority, path = _split(s)
    if authority is not None:
        _check_host_and_port(authority, scheme)
    segments = path[1:].split("/")
    resolved = _resolve_dot_segments(segments)
    if resolved is None:
        return url_of(segments)
    try:
        return url_of(resolved)
    except InvalidURL as exc:
        raise InvalidURL(exc.reason + R_DOT_SEGMENTS) from None


def _resolve_dot_segments(segments: list[str]) -> list[str] | None:
    """The path segments with '.' and '..' resolved as a browser does (WHATWG URL
    path state), or None if there are none.  Linear: one pass, list pops."""
    if _DOT_SEGMENTS.isdisjoint(segments):
        return None
    resolved: list[str] = []
    last = len(segments) - 1
    for i, segment in enumerate(segments):
        if segment in _DOUBLE_DOT:
            if resolved:
                resolved.pop()
        elif segment not in _SINGLE_DOT:
            resolved.append(segment)
            continue
        if i == last:  # "/in/x/.." is the directory "/in/", not "/in"
            resolved.append("")
    return resolved


def _profile_url(segments: list[str]) -> str:
    """The canonical URL for a path (its segments, after the leading '/')."""
    if segments == [""]:
        raise InvalidURL(R_NOT_PROFILE)
    first = _segment_name(segments[0])
    if first in _PROFILE_PATH_PREFIXES and len(segments) > 1 and segments[1]:
        segments = segments[1:]
        first = _segment_name(segments[0])
    if first == "in":
        return _in_profile_url(segments)
    if first == "pub":
        return _pub_profile_url(segments)
    if first == "sales":
        return _sales_lead_url(segments)
    if first == "":
        raise InvalidURL(R_REPEATED_SLASH)
    raise InvalidURL(_PATH_REASONS.get(first, R_NOT_PROFILE))


def _in_profile_url(segments: list[str]) -> str:
    """/in/<username>[/anything]"""
    if len(segments) < 2 or segments[1] == "":
        if any(segments[2:]):
            raise InvalidURL(R_REPEATED_SLASH)
        raise InvalidURL(R_USERNAME_MISSING)
    return CANONICAL_PREFIX + _canonical_username(segments[1])


def _sales_lead_url(segments: list[str]) -> str:
    """/sales/{lead,people,profile}/<token>,…[/anything] -> /sales/lead/<token>."""
    if len(segments) < 3 or _segment_name(segments[1]) not in _SALES_LEAD_PAGES:
        raise InvalidURL(R_SALES)
    token = _percent_decode(segments[2]).partition(",")[0]
    if len(token) > MAX_USERNAME_LENGTH or _LEAD_TOKEN.fullmatch(token) is None:
        raise InvalidURL(R_SALES_TOKEN)
    return LEAD_PREFIX + token


def _pub_profile_url(segments: list[str]) -> str:
    """Legacy /pub/NAME/A/B/C[/anything] -> /in/NAME-CBA, where LinkedIn redirects it;
    B and C lost their leading zeros in the /pub/ form."""
    parts = segments[1:5]
    if len(parts) < 4 or not all(parts):
        if parts and _segment_name(parts[0]) == "dir":
            raise InvalidURL(R_PUB_DIRECTORY)
        raise InvalidURL(R_PUB_SHAPE)
    name, a, b, c = parts
    if _segment_name(name) == "dir":
        raise InvalidURL(R_PUB_DIRECTORY)
    if not (_PUB_ID_PART.fullmatch(a) and _PUB_ID_PART.fullmatch(b) and _PUB_ID_PART.fullmatch(c)):
        raise InvalidURL(R_PUB_ID)
    member_id = (c.zfill(3) + b.zfill(3) + a).lower()
    return CANONICAL_PREFIX + _canonical_username(f"{name}-{member_id}")


def _canonical_username(segment: str) -> str:
    """Decode, normalize and validate one username path segment."""
    name = _percent_decode(segment)
    if len(name) == _MEMBER_TOKEN_LENGTH and _MEMBER_TOKEN.fullmatch(name):
        return name
    name = case_folded(name)
    if len(name) > MAX_USERNAME_LENGTH:
        raise InvalidURL(R_USERNAME_LONG)
    if name == _SIGNED_IN_ALIAS:
        raise InvalidURL(R_SIGNED_IN_ALIAS)
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
        if c in _INVISIBLE_LETTERS:
            problems.add(R_USERNAME_INVISIBLE)
        elif cat in _LETTER_MARK_DIGIT:
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
    # NFKC leaves every name without compatibility characters unchanged: the
    # common case needs no per-character look-up.
    if not unicodedata.is_normalized("NFKC", name) and any(
        _is_lookalike(c) for c in set(_NON_ASCII.findall(name))
    ):
        raise InvalidURL(R_USERNAME_COMPAT)


def _is_lookalike(c: str) -> bool:
    """True if `c`, or a part of its canonical decomposition (the 'ſ' in 'ẛ'), is a
    compatibility variant of plainer letters rather than an ordinary letter."""
    for part in unicodedata.normalize("NFD", c):
        tag = unicodedata.decomposition(part)
        if tag.startswith("<") and part not in _ORDINARY_COMPAT_LETTERS:
            return True
    return False
