"""Tests for dnc_app.normalize: the single LinkedIn profile URL normalizer."""

from __future__ import annotations

import unicodedata

import pytest

from dnc_app import normalize as normalize_module
from dnc_app.normalize import (
    CANONICAL_PREFIX,
    MAX_INPUT_LENGTH,
    MAX_USERNAME_LENGTH,
    InvalidURL,
    canonical_url,
    normalize_linkedin_url,
)

JOHN = "https://linkedin.com/in/john"
JURGEN = "https://linkedin.com/in/jürgen"

ACCEPTED = [
    # The contract's table.
    ("https://www.linkedin.com/in/john/", JOHN),
    ("LINKEDIN.COM/IN/JOHN", JOHN),
    ("linkedin.com/in/john", JOHN),
    ("in/john", JOHN),
    ("https://uk.linkedin.com/in/john?trk=abc#top", JOHN),
    # Schemes and scheme case.
    ("https://linkedin.com/in/john", JOHN),
    ("http://linkedin.com/in/john", JOHN),
    ("http://www.linkedin.com/in/john/", JOHN),
    ("HTTPS://WWW.LINKEDIN.COM/IN/JOHN/", JOHN),
    ("hTtPs://LinkedIn.Com/In/John", JOHN),
    ("//linkedin.com/in/john", JOHN),
    ("//www.linkedin.com/in/john/", JOHN),
    # Schemeless and path-only forms.
    ("www.linkedin.com/in/john", JOHN),
    ("www.linkedin.com/in/john/", JOHN),
    ("/in/john", JOHN),
    ("/in/john/", JOHN),
    ("IN/JOHN", JOHN),
    ("In/John/", JOHN),
    ("in/john?trk=x", JOHN),
    # Subdomains: www, mobile, country codes.
    ("https://m.linkedin.com/in/john", JOHN),
    ("https://de.linkedin.com/in/john", JOHN),
    ("https://FR.linkedin.com/in/john/", JOHN),
    ("https://br.linkedin.com/in/john?originalSubdomain=br", JOHN),
    ("uk.linkedin.com/in/john", JOHN),
    # Trailing dot on the host (fully-qualified form of the same host).
    ("https://linkedin.com./in/john", JOHN),
    ("https://www.linkedin.com./in/john", JOHN),
    # Default ports.
    ("https://linkedin.com:443/in/john", JOHN),
    ("http://linkedin.com:80/in/john", JOHN),
    ("linkedin.com:443/in/john", JOHN),
    ("https://www.linkedin.com:443/in/john/", JOHN),
    # Query strings and fragments are dropped.
    ("https://linkedin.com/in/john?", JOHN),
    ("https://linkedin.com/in/john#", JOHN),
    ("https://linkedin.com/in/john#experience", JOHN),
    ("https://linkedin.com/in/john/?locale=en_US", JOHN),
    ("https://linkedin.com/in/john?utm_source=share&utm_medium=member_desktop", JOHN),
    ("https://linkedin.com/in/john?x=%C3%BC&y=%2F", JOHN),
    ("https://linkedin.com/in/john?q=a@b.com", JOHN),
    ("https://linkedin.com/in/john?next=https://evil.com", JOHN),
    ("https://linkedin.com/in/john?q=%41%2b", JOHN),
    # Extra path segments after the username are dropped.
    ("https://www.linkedin.com/in/john/details/experience/", JOHN),
    ("https://linkedin.com/in/john/recent-activity/all/", JOHN),
    ("https://linkedin.com/in/john/overlay/contact-info/", JOHN),
    ("https://linkedin.com/in/john/en", JOHN),
    ("https://linkedin.com/in/john//", JOHN),
    ("https://linkedin.com/in/john/@evil.com", JOHN),
    ("https://www.linkedin.com/mwlite/in/john", JOHN),
    # Surrounding whitespace is trimmed.
    ("  https://www.linkedin.com/in/john/  ", JOHN),
    ("\thttps://linkedin.com/in/john\n", JOHN),
    ("\r\nin/john\r\n", JOHN),
    ("\u00a0linkedin.com/in/john\u00a0", JOHN),
    ("\ufeffhttps://linkedin.com/in/john", JOHN),
    ("\u200bin/john\u3000", JOHN),
    # Usual username shapes.
    ("https://www.linkedin.com/in/john-doe-123/", "https://linkedin.com/in/john-doe-123"),
    ("https://linkedin.com/in/John_Doe", "https://linkedin.com/in/john_doe"),
    ("https://linkedin.com/in/john.doe", "https://linkedin.com/in/john.doe"),
    ("https://linkedin.com/in/j", "https://linkedin.com/in/j"),
    ("https://linkedin.com/in/123", "https://linkedin.com/in/123"),
    ("https://linkedin.com/in/-john-", "https://linkedin.com/in/-john-"),
    ("https://linkedin.com/in/in", "https://linkedin.com/in/in"),
    ("https://linkedin.com/in/company", "https://linkedin.com/in/company"),
    (
        "https://www.linkedin.com/in/ACoAAAbCdEfGhIjK",
        "https://linkedin.com/in/acoaaabcdefghijk",
    ),
    # Percent-encoded and raw non-ASCII usernames.
    ("https://linkedin.com/in/jürgen", JURGEN),
    ("https://linkedin.com/in/j%C3%BCrgen", JURGEN),
    ("https://linkedin.com/in/j%c3%bcrgen", JURGEN),
    ("https://linkedin.com/in/J%C3%9CRGEN", JURGEN),
    ("https://linkedin.com/in/JÜRGEN/", JURGEN),
    ("https://linkedin.com/in/ju\u0308rgen", JURGEN),  # decomposed ü (NFD)
    ("https://linkedin.com/in/ju%CC%88rgen", JURGEN),  # decomposed, percent-encoded
    ("https://linkedin.com/in/j%C3%BCrgen/details/", JURGEN),
    ("in/jürgen", JURGEN),
    ("https://linkedin.com/in/%6A%6F%68%6E", JOHN),  # encoded ASCII letters
    ("https://linkedin.com/in/john%2Ddoe", "https://linkedin.com/in/john-doe"),
    ("https://linkedin.com/in/john%2edoe", "https://linkedin.com/in/john.doe"),
    ("https://linkedin.com/%69n/john", JOHN),
    (
        "https://linkedin.com/in/mar%C3%ADa-garc%C3%ADa",
        "https://linkedin.com/in/maría-garcía",
    ),
    ("https://linkedin.com/in/%E4%B8%AD%E6%96%87", "https://linkedin.com/in/中文"),
    ("https://linkedin.com/in/中文", "https://linkedin.com/in/中文"),
    ("https://linkedin.com/in/Ωmega", "https://linkedin.com/in/ωmega"),
    ("https://linkedin.com/in/дмитрий", "https://linkedin.com/in/дмитрий"),
    ("https://linkedin.com/in/ДМИТРИЙ", "https://linkedin.com/in/дмитрий"),
    ("https://linkedin.com/in/देवनागरी", "https://linkedin.com/in/देवनागरी"),
    ("https://linkedin.com/in/straße", "https://linkedin.com/in/straße"),
    ("https://linkedin.com/in/\u212aevin", "https://linkedin.com/in/kevin"),  # KELVIN SIGN ~ K
    # Legacy /pub/ links become the /in/ profile LinkedIn redirects them to (SPEC §1;
    # this row was a refusal before the contract changed).
    ("https://www.linkedin.com/pub/john-doe/1/23/456", "https://linkedin.com/in/john-doe-4560231"),
    # Already canonical.
    (JOHN, JOHN),
    (JURGEN, JURGEN),
]

REJECTED = [
    # Not a string / empty / too long are tested separately too.
    ("", "empty"),
    ("   ", "empty"),
    ("\t\n", "empty"),
    # Not a person profile.
    ("https://www.linkedin.com/company/acme", "company pages"),
    ("https://linkedin.com/company/acme/", "company pages"),
    ("https://www.linkedin.com/school/mit/", "school pages"),
    ("https://www.linkedin.com/showcase/acme-labs/", "showcase pages"),
    ("https://www.linkedin.com/groups/12345/", "group pages"),
    ("https://www.linkedin.com/feed/", "posts and feed"),
    ("https://www.linkedin.com/feed/update/urn:li:activity:1/", "posts and feed"),
    ("https://www.linkedin.com/posts/john_activity-1", "posts and feed"),
    ("https://www.linkedin.com/pulse/some-article", "articles"),
    ("https://www.linkedin.com/jobs/view/123/", "job links"),
    ("https://www.linkedin.com/events/123/", "event links"),
    ("https://www.linkedin.com/learning/python", "LinkedIn Learning"),
    ("https://www.linkedin.com/profile/view?id=123", "Old-style"),
    ("https://www.linkedin.com/sales/lead/ACwAAA,NAME_SEARCH,abc", "Sales Navigator"),
    ("https://www.linkedin.com/sales/people/ACwAAA,NAME_SEARCH", "Sales Navigator"),
    ("https://www.linkedin.com/talent/profile/AEMAAA", "Recruiter"),
    ("https://www.linkedin.com/", "Not a person profile"),
    ("https://www.linkedin.com", "Not a person profile"),
    ("linkedin.com", "Not a person profile"),
    ("https://www.linkedin.com/john", "Not a person profile"),
    ("https://www.linkedin.com/\u0131n/john", "Not a person profile"),  # dotless i
    ("https://linkedin.com/?/in/john", "Not a person profile"),
    ("https://linkedin.com#/in/john", "Not a person profile"),
    # Missing username / repeated slashes.
    ("linkedin.com/in/", "username is missing"),
    ("linkedin.com/in", "username is missing"),
    ("in/", "username is missing"),
    ("in", "username is missing"),
    ("https://linkedin.com/in/?id=john", "username is missing"),
    ("https://linkedin.com/in//john", "repeated slashes"),
    ("https://linkedin.com//in/john", "repeated slashes"),
    # Other and look-alike hosts.
    ("https://linkedin.com.evil.com/in/john", "host must be linkedin.com"),
    ("evil.com/in/john", "host must be linkedin.com"),
    ("https://evil.com/in/john", "host must be linkedin.com"),
    ("https://evillinkedin.com/in/john", "host must be linkedin.com"),
    ("https://linkedin.co/in/john", "host must be linkedin.com"),
    ("https://linkedin.com.cn/in/john", "host must be linkedin.com"),
    ("https://www.uk.linkedin.com/in/john", "host must be linkedin.com"),
    ("https://abc.linkedin.com/in/john", "host must be linkedin.com"),
    ("https://lnkd.in/john", "host must be linkedin.com"),
    ("https://evil.com/linkedin.com/in/john", "host must be linkedin.com"),
    ("https://evil.com#@linkedin.com/in/john", "host must be linkedin.com"),
    ("https://evil.com?@linkedin.com/in/john", "host must be linkedin.com"),
    ("https://108.174.10.10/in/john", "host must be linkedin.com"),
    ("https://[::1]/in/john", "host must be linkedin.com"),
    ("https://linkedın.com/in/john", "host must be linkedin.com"),  # dotless i
    ("https://lin\u212aedin.com/in/john", "host must be linkedin.com"),  # KELVIN SIGN
    ("https://xn--linkedn-xva.com/in/john", "host must be linkedin.com"),
    ("https://linkedin.com../in/john", "host must be linkedin.com"),
    ("john", "host must be linkedin.com"),
    ("https:///in/john", "host name is missing"),
    ("https://", "host name is missing"),
    # Userinfo.
    ("https://user@linkedin.com/in/john", "user info"),
    ("https://user:pass@linkedin.com/in/john", "user info"),
    ("https://linkedin.com@evil.com/in/john", "user info"),
    ("user@linkedin.com/in/john", "user info"),
    ("user:pass@linkedin.com/in/john", "user info"),
    # Schemes.
    ("ftp://linkedin.com/in/john", "Only http and https"),
    ("javascript:alert(1)//linkedin.com/in/john", "Only http and https"),
    ("mailto:john@linkedin.com", "Only http and https"),
    ("data:text/html,<b>hi</b>", "Only http and https"),
    ("file:///in/john", "Only http and https"),
    ("https:linkedin.com/in/john", "expected '//'"),
    ("https:/linkedin.com/in/john", "expected '//'"),
    # Ports.
    ("https://linkedin.com:8080/in/john", "Non-default ports"),
    ("https://linkedin.com:80/in/john", "Non-default ports"),
    ("http://linkedin.com:443/in/john", "Non-default ports"),
    ("linkedin.com:8443/in/john", "Non-default ports"),
    ("https://linkedin.com:0443/in/john", "Non-default ports"),
    ("https://linkedin.com:/in/john", "Invalid port"),
    ("https://linkedin.com:https/in/john", "Invalid port"),
    ("https://linkedin.com:443:443/in/john", "Invalid port"),
    # Backslashes.
    ("https:\\\\linkedin.com\\in\\john", "backslashes"),
    ("https://linkedin.com\\@evil.com/in/john", "backslashes"),
    ("https://linkedin.com/in/john\\", "backslashes"),
    # Control, invisible and whitespace characters inside.
    ("https://linkedin.com/in/jo\x00hn", "control characters"),
    ("https://linkedin.com/in/jo\thn", "control characters"),
    ("https://linkedin.com/in/jo\nhn", "control characters"),
    ("https://linkedin.com/in/john\x7f", "control characters"),
    ("https://linkedin.com/in/john\x85", "control characters"),
    ("\x00in/john", "control characters"),
    ("https://linkedin.com/in/jo\u200bhn", "invisible formatting characters"),
    ("https://linkedin.com/in/\u202enhoj", "invisible formatting characters"),
    ("https://linkedin.com/in/jo\u00adhn", "invisible formatting characters"),
    ("https://linkedin.com/in/john doe", "spaces"),
    ("https://linkedin.com/in/john\u00a0doe", "spaces"),
    ("https://linkedin.com/in/john?q=a b", "spaces"),
    ("https://linkedin.com/in/jo\ud800hn", "invalid characters"),
    # Percent-encoding.
    ("https://linkedin.com/in/j%zzrgen", "Invalid percent-encoding"),
    ("https://linkedin.com/in/john%", "Invalid percent-encoding"),
    ("https://linkedin.com/in/john%4", "Invalid percent-encoding"),
    ("https://linkedin.com/in/john?discount=50%", "Invalid percent-encoding"),
    ("https://linkedin.com/in/j%FCrgen", "Invalid percent-encoding"),  # Latin-1, not UTF-8
    ("https://linkedin.com/in/j%C3", "Invalid percent-encoding"),  # truncated UTF-8
    ("https://linkedin.com/in/%ED%A0%80", "Invalid percent-encoding"),  # encoded surrogate
    ("https://linkedin.com/in/j%2525rgen", "double percent-encoding"),
    ("https://linkedin.com/in/j%25C3%25BCrgen", "double percent-encoding"),
    ("https://linkedin.com/in/john%2Fadmin", "encoded '/'"),
    ("https://linkedin.com/in/john%20doe", "username contains spaces"),
    ("https://linkedin.com/in/john%00", "username contains control characters"),
    ("https://linkedin.com/in/john%0A", "username contains control characters"),
    ("https://linkedin.com/in/%E2%80%8Bjohn", "username contains invisible"),
    # Username characters and shape.
    ("https://linkedin.com/in/john@evil.com", "may only contain"),
    ("https://linkedin.com/in/@john", "may only contain"),
    ("https://linkedin.com/in/john;jsessionid=1", "may only contain"),
    ("https://linkedin.com/in/john+doe", "may only contain"),
    ("https://linkedin.com/in/john~doe", "may only contain"),
    ("https://linkedin.com/in/<script>", "may only contain"),
    ("https://linkedin.com/in/john's", "may only contain"),
    ("https://linkedin.com/in/john%3Cb%3E", "may only contain"),
    ("https://linkedin.com/in/john\u2122", "may only contain"),
    ("https://linkedin.com/in/\U0001f600", "may only contain"),
    ("https://linkedin.com/in/..", "dot"),
    ("https://linkedin.com/in/.", "dot"),
    ("https://linkedin.com/in/%2e%2e", "dot"),
    ("https://linkedin.com/in/../company/acme", "dot"),
    ("https://linkedin.com/in/.john", "dot"),
    ("https://linkedin.com/in/john.", "dot"),
    ("https://linkedin.com/in/john..doe", "dot"),
    ("https://linkedin.com/in/-", "letter or digit"),
    ("https://linkedin.com/in/_-_", "letter or digit"),
    ("https://linkedin.com/in/ｊｏｈｎ", "look-alike"),  # full-width
    ("https://linkedin.com/in/ﬁona", "look-alike"),  # ligature
    ("https://linkedin.com/in/\u017fam", "look-alike"),  # long s
    # Lengths.
    ("in/" + "a" * 101, "longer than 100 characters"),
    ("https://linkedin.com/in/" + "a" * 2040, "longer than 2,048 characters"),
]


@pytest.mark.parametrize(("raw", "expected"), ACCEPTED)
def test_accepted(raw, expected):
    assert normalize_linkedin_url(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), ACCEPTED)
def test_idempotent(raw, expected):
    once = normalize_linkedin_url(raw)
    assert normalize_linkedin_url(once) == once


@pytest.mark.parametrize(("raw", "expected"), ACCEPTED)
def test_fast_path_agrees_with_general_path(raw, expected):
    # The regex fast path must never change the outcome.
    trimmed = raw.strip(normalize_module._TRIM)
    assert normalize_module._normalize_general(trimmed) == expected


@pytest.mark.parametrize(("raw", "reason"), REJECTED)
def test_rejected(raw, reason):
    with pytest.raises(InvalidURL) as excinfo:
        normalize_linkedin_url(raw)
    assert reason in str(excinfo.value)
    assert excinfo.value.reason == str(excinfo.value)
    assert excinfo.value.code == "invalid_url"


def test_case_table_sizes():
    assert len(ACCEPTED) >= 60
    assert len(REJECTED) >= 40


def test_output_is_canonical_shape():
    for raw, _ in ACCEPTED:
        out = normalize_linkedin_url(raw)
        assert out.startswith(CANONICAL_PREFIX)
        username = out[len(CANONICAL_PREFIX) :]
        assert username
        assert "/" not in username and "%" not in username
        assert username == username.lower()
        assert unicodedata.is_normalized("NFC", username)


def test_jurgen_forms_identical():
    forms = [
        "https://www.linkedin.com/in/jürgen",
        "https://www.linkedin.com/in/j%C3%BCrgen",
        "https://www.linkedin.com/in/j%c3%bcrgen",
        "linkedin.com/in/ju\u0308rgen",
        "in/JÜRGEN/",
    ]
    results = {normalize_linkedin_url(f) for f in forms}
    assert results == {JURGEN}


def test_invalid_url_is_value_error():
    with pytest.raises(ValueError):
        normalize_linkedin_url("https://example.com/")


@pytest.mark.parametrize("value", [None, 42, 3.5, b"in/john", ["in/john"], {"u": "in/john"}, True])
def test_non_string_raises_invalid_url(value):
    with pytest.raises(InvalidURL, match="must be a string"):
        normalize_linkedin_url(value)


def test_str_subclass_accepted():
    class MyStr(str):
        pass

    result = normalize_linkedin_url(MyStr("in/John"))
    assert result == JOHN
    assert type(result) is str


def test_input_length_boundary():
    prefix = "https://linkedin.com/in/john?q="
    at_limit = prefix + "x" * (MAX_INPUT_LENGTH - len(prefix))
    assert len(at_limit) == 2048
    assert normalize_linkedin_url(at_limit) == JOHN
    with pytest.raises(InvalidURL, match="longer than 2,048 characters"):
        normalize_linkedin_url(at_limit + "x")


def test_input_length_counts_surrounding_whitespace():
    url = "in/john"
    assert normalize_linkedin_url(" " * (MAX_INPUT_LENGTH - len(url)) + url) == JOHN
    with pytest.raises(InvalidURL, match="longer than 2,048"):
        normalize_linkedin_url(" " * (MAX_INPUT_LENGTH - len(url) + 1) + url)


def test_username_length_boundary():
    assert MAX_USERNAME_LENGTH == 100
    name = "a" * 100
    assert normalize_linkedin_url("https://linkedin.com/in/" + name) == CANONICAL_PREFIX + name
    assert normalize_linkedin_url(f"https://linkedin.com/in/{name}/details/") == (
        CANONICAL_PREFIX + name
    )
    with pytest.raises(InvalidURL, match="longer than 100 characters"):
        normalize_linkedin_url("https://linkedin.com/in/" + name + "a")


def test_username_length_counts_decoded_characters():
    # 100 'ü' are 600 characters percent-encoded but 100 characters decoded.
    encoded = "%C3%BC" * 100
    assert normalize_linkedin_url("in/" + encoded) == CANONICAL_PREFIX + "ü" * 100
    assert normalize_linkedin_url("in/" + "u\u0308" * 100) == CANONICAL_PREFIX + "ü" * 100
    with pytest.raises(InvalidURL, match="longer than 100 characters"):
        normalize_linkedin_url("in/" + encoded + "%C3%BC")
    with pytest.raises(InvalidURL, match="longer than 100 characters"):
        normalize_linkedin_url("in/" + "%41" * 101)


def test_canonical_url():
    assert canonical_url("John") == JOHN
    assert canonical_url("j%C3%BCrgen") == JURGEN
    assert canonical_url("jürgen") == JURGEN
    for bad, reason in [
        ("", "missing"),
        ("john/doe", "may only contain"),
        ("john?x", "may only contain"),
        ("a" * 101, "longer than 100"),
        ("j%zz", "percent-encoding"),
        (None, "must be a string"),
    ]:
        with pytest.raises(InvalidURL, match=reason):
            canonical_url(bad)


def test_no_typeerror_for_weird_strings():
    # A grab bag of odd inputs: every one either normalizes or raises InvalidURL.
    weird = [
        "%",
        "%%",
        "//",
        "///",
        ":",
        "::",
        "@",
        "?",
        "#",
        "/in/%",
        "https://linkedin.com:99999999999999999999/in/x",
        "in/" + "%" * 10,
        "https://linkedin.com/in/" + "-" * 2000,
        "\ud800",
        "in/\udfff",
        "http://" + "a." * 1000,
        "in/" + "a" * 2045,
    ]
    for raw in weird:
        try:
            out = normalize_linkedin_url(raw)
        except InvalidURL as exc:
            assert exc.reason
        else:
            assert out.startswith(CANONICAL_PREFIX)
