"""The company-page normalizer: accepted spellings, refusals with their reason, hostile
input in bounded time."""

from __future__ import annotations

import time

import pytest

from dnc_app.domain.company_url import (
    _FAST,
    R_NOT_COMPANY,
    R_PERSON,
    R_SALES,
    R_SALES_COMPANY,
    R_SCHOOL,
    R_SHOWCASE,
    R_SLUG_CHARS,
    R_SLUG_COMPAT,
    R_SLUG_DOTS,
    R_SLUG_LONG,
    R_SLUG_MISSING,
    R_SLUG_NO_ALNUM,
    _normalize_general,
    normalize_company_url,
)
from dnc_app.domain.normalize import (
    _TRIM,
    R_BACKSLASH,
    R_CONTROL,
    R_DOT_SEGMENTS,
    R_EMPTY,
    R_HOST,
    R_INVISIBLE,
    R_NOT_STRING,
    R_PERCENT,
    R_PERCENT_UTF8,
    R_PORT,
    R_PORT_INVALID,
    R_REPEATED_SLASH,
    R_SCHEME,
    R_SPACES,
    R_TOO_LONG,
    R_USERINFO,
    InvalidURL,
)

ACME = "https://linkedin.com/company/acme"

ACCEPTED = [
    ("https://www.linkedin.com/company/acme/", ACME),
    ("https://linkedin.com/company/acme", ACME),
    ("http://linkedin.com/company/acme", ACME),
    ("linkedin.com/company/acme", ACME),
    ("www.linkedin.com/company/acme", ACME),
    ("company/acme", ACME),
    ("/company/acme", ACME),
    ("//linkedin.com/company/acme", ACME),
    ("LINKEDIN.COM/COMPANY/ACME", ACME),
    ("HTTPS://WWW.LinkedIn.Com/Company/Acme/", ACME),
    ("https://uk.linkedin.com/company/acme", ACME),
    ("https://de.linkedin.com/company/acme", ACME),
    ("https://m.linkedin.com/company/acme", ACME),
    ("https://linkedin.com./company/acme", ACME),
    ("https://linkedin.com:443/company/acme", ACME),
    ("http://linkedin.com:80/company/acme", ACME),
    ("https://www.linkedin.com/company/acme?trk=public_profile#about", ACME),
    ("https://www.linkedin.com/company/acme/about/", ACME),
    ("https://www.linkedin.com/company/acme/people/?keywords=x", ACME),
    ("https://www.linkedin.com/company/acme/jobs", ACME),
    ("  https://www.linkedin.com/company/acme/ \n", ACME),
    ("\ufeffhttps://www.linkedin.com/company/acme\u00a0", ACME),
    ("linkedin.com/company/Acme-Inc", "https://linkedin.com/company/acme-inc"),
    ("linkedin.com/company/acme_inc.co", "https://linkedin.com/company/acme_inc.co"),
    ("linkedin.com/company/1035", "https://linkedin.com/company/1035"),
    ("https://www.linkedin.com/company/1035/about/", "https://linkedin.com/company/1035"),
    ("linkedin.com/company/%41cme", ACME),
    ("linkedin.com/company/über", "https://linkedin.com/company/über"),
    ("linkedin.com/company/%C3%BCber", "https://linkedin.com/company/über"),
    ("linkedin.com/company/%c3%9cBER", "https://linkedin.com/company/über"),
    ("linkedin.com/company/u\u0308ber", "https://linkedin.com/company/über"),
    ("linkedin.com/company/other/../acme", ACME),
    ("linkedin.com/company/./acme", "https://linkedin.com/company/acme"),
    ("linkedin.com/in/x/../../company/acme", ACME),
    ("linkedin.com/company/" + "a" * 100, "https://linkedin.com/company/" + "a" * 100),
    # Sales Navigator's company page: the same numeric id as /company/<number>.
    ("https://www.linkedin.com/sales/company/1035", "https://linkedin.com/company/1035"),
    ("https://www.linkedin.com/sales/company/1035/", "https://linkedin.com/company/1035"),
    (
        "https://www.linkedin.com/sales/company/1035/people?_ntb=x#y",
        "https://linkedin.com/company/1035",
    ),
    ("HTTP://M.LINKEDIN.COM/Sales/Company/%31035", "https://linkedin.com/company/1035"),
    ("/sales/company/1035", "https://linkedin.com/company/1035"),
]


@pytest.mark.parametrize(("raw", "expected"), ACCEPTED)
def test_accepted_spellings_have_one_canonical_form(raw, expected):
    assert normalize_company_url(raw) == expected
    # Idempotent: the canonical form reads as itself.
    assert normalize_company_url(expected) == expected
    # The fast path and the general one agree.
    assert _normalize_general(raw.strip(_TRIM)) == expected


REFUSED = [
    ("https://www.linkedin.com/in/john", R_PERSON),
    ("in/john", R_PERSON),
    ("linkedin.com/pub/john/1/2/3", R_PERSON),
    ("linkedin.com/company/acme/../../in/john", R_PERSON + R_DOT_SEGMENTS),
    ("linkedin.com/school/harvard", R_SCHOOL),
    ("linkedin.com/showcase/acme-cloud", R_SHOWCASE),
    ("linkedin.com/feed/", R_NOT_COMPANY),
    ("https://www.linkedin.com/sales/lead/ACwAAA7IcPoBXbqAyFuCjYLHAhmm13BgChs-P5g", R_SALES),
    ("https://www.linkedin.com/sales/search/company?query=x", R_SALES),
    ("https://www.linkedin.com/sales/company/acme", R_SALES_COMPANY),
    ("https://www.linkedin.com/sales/company/", R_SALES_COMPANY),
    ("https://www.linkedin.com/sales/company", R_SALES_COMPANY),
    ("https://www.linkedin.com/sales/company/1035,x", R_SALES_COMPANY),
    ("https://www.linkedin.com/sales/company/\u0661\u0662", R_SALES_COMPANY),  # Arabic digits
    ("https://www.linkedin.com/sales/company/" + "1" * 101, R_SALES_COMPANY),
    ("linkedin.com", R_NOT_COMPANY),
    ("linkedin.com/", R_NOT_COMPANY),
    ("linkedin.com/companies/acme", R_NOT_COMPANY),
    ("linkedin.com/company", R_SLUG_MISSING),
    ("linkedin.com/company/", R_SLUG_MISSING),
    ("linkedin.com/company//acme", R_REPEATED_SLASH),
    ("linkedin.com//company/acme", R_REPEATED_SLASH),
    ("https://linkedin.com.evil.com/company/acme", R_HOST),
    ("https://evil.com/company/acme", R_HOST),
    ("https://evillinkedin.com/company/acme", R_HOST),
    ("https://linkedin.co/company/acme", R_HOST),
    ("https://www.uk.linkedin.com/company/acme", R_HOST),
    ("https://127.0.0.1/company/acme", R_HOST),
    ("https://lіnkedin.com/company/acme", R_HOST),  # Cyrillic i
    ("https://user@linkedin.com/company/acme", R_USERINFO),
    ("https://user:pw@linkedin.com/company/acme", R_USERINFO),
    ("user:pw@linkedin.com/company/acme", R_USERINFO),
    ("https://linkedin.com:8443/company/acme", R_PORT),
    ("http://linkedin.com:443/company/acme", R_PORT),
    ("https://linkedin.com:0443/company/acme", R_PORT),
    ("https://linkedin.com:/company/acme", R_PORT_INVALID),
    ("https://linkedin.com:x/company/acme", R_PORT_INVALID),
    ("ftp://linkedin.com/company/acme", R_SCHEME),
    ("javascript:alert(1)//linkedin.com/company/acme", R_SCHEME),
    ("linkedin.com/company/ac\x00me", R_CONTROL),
    ("linkedin.com/company/acme\n/x", R_CONTROL),
    ("linkedin.com/company/ac\u200bme", R_INVISIBLE),
    ("linkedin.com/company/ac me", R_SPACES),
    ("linkedin.com\\company\\acme", R_BACKSLASH),
    ("linkedin.com/company/a%zz", R_PERCENT),
    ("linkedin.com/company/acme?x=%", R_PERCENT),
    ("linkedin.com/company/%ff%fe", R_PERCENT_UTF8),
    ("linkedin.com/company/a%2Fb", R_SLUG_CHARS),
    ("linkedin.com/company/a%2525", R_SLUG_CHARS),
    ("linkedin.com/company/a%3Cscript%3E", R_SLUG_CHARS),
    ("linkedin.com/company/a,b", R_SLUG_CHARS),
    ("linkedin.com/company/\u3164", R_SLUG_CHARS),
    ("linkedin.com/company/.acme", R_SLUG_DOTS),
    ("linkedin.com/company/ac..me", R_SLUG_DOTS),
    ("linkedin.com/company/---", R_SLUG_NO_ALNUM),
    ("linkedin.com/company/ａｃｍｅ", R_SLUG_COMPAT),
    ("linkedin.com/company/" + "a" * 101, R_SLUG_LONG),
    ("", R_EMPTY),
    ("   ", R_EMPTY),
    ("linkedin.com/company/" + "a" * 2100, R_TOO_LONG),
]


@pytest.mark.parametrize(("raw", "reason"), REFUSED)
def test_everything_else_is_refused_with_a_reason(raw, reason):
    with pytest.raises(InvalidURL) as caught:
        normalize_company_url(raw)
    assert caught.value.reason == reason
    assert caught.value.code == "invalid_url"


def test_the_common_shapes_take_the_fast_path():
    fast = [raw for raw, _ in ACCEPTED if _FAST.fullmatch(raw.strip())]
    assert len(fast) >= 15
    for raw in (
        "https://www.linkedin.com/company/acme/",
        "company/1035",
        "linkedin.com/company/a-b",
    ):
        assert _FAST.fullmatch(raw)
    # Dot segments, encodings, ports and a trailing-dot host never do.
    for raw in (
        "linkedin.com/company/a/../b",
        "linkedin.com/company/%41",
        "linkedin.com./company/a",
    ):
        assert _FAST.fullmatch(raw) is None


@pytest.mark.parametrize("raw", [None, 42, b"linkedin.com/company/acme", ["x"], {"url": "x"}])
def test_a_value_that_is_not_a_string_is_refused(raw):
    with pytest.raises(InvalidURL) as caught:
        normalize_company_url(raw)
    assert caught.value.reason == R_NOT_STRING


HOSTILE = [
    "linkedin.com/company/" + "%" * 2000,
    "linkedin.com/company/" + "%41" * 600,
    "linkedin.com/company/" + "../" * 600,
    "linkedin.com/company//" + "a/" * 1000,
    "linkedin.com/company/" + "ü" * 2000,
    "linkedin.com/company/" + "\u0301" * 2000,
    "/" * 2048,
    "@" * 2048,
    ":" * 2048,
    "linkedin.com" + ":" * 2000,
    "company/" + "ﬁ" * 2000,
]


@pytest.mark.parametrize("raw", HOSTILE)
def test_hostile_input_is_refused_quickly(raw):
    started = time.perf_counter()
    for _ in range(20):
        with pytest.raises(InvalidURL):
            normalize_company_url(raw)
    # Generous (a shared machine): quadratic work on 2,000 characters would take far longer.
    assert time.perf_counter() - started < 1.0
