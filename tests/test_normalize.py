"""Tests for dnc_app.domain.normalize: the single LinkedIn profile URL normalizer."""

from __future__ import annotations

import random
import re
import unicodedata

import pytest

from dnc_app.domain import normalize as normalize_module
from dnc_app.domain.normalize import (
    CANONICAL_PREFIX,
    LEAD_PREFIX,
    MAX_INPUT_LENGTH,
    MAX_USERNAME_LENGTH,
    InvalidURL,
    normalize_linkedin_url,
)

JOHN = "https://linkedin.com/in/john"
JURGEN = "https://linkedin.com/in/jürgen"
MEMBER_TOKEN = "ACoAAA7IcPoBXbqAyFuCjYLHAhmm13BgChs-P5g"
MEMBER = "https://linkedin.com/in/" + MEMBER_TOKEN
LEAD_TOKEN = "ACwAAA7IcPoBXbqAyFuCjYLHAhmm13BgChs_P5g"
LEAD = "https://linkedin.com/sales/lead/" + LEAD_TOKEN

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
    # Not 39 characters: an ordinary username, lowercased.
    (
        "https://www.linkedin.com/in/ACoAAAbCdEfGhIjK",
        "https://linkedin.com/in/acoaaabcdefghijk",
    ),
    (f"in/{MEMBER_TOKEN}x", f"https://linkedin.com/in/{MEMBER_TOKEN.lower()}x"),
    # A member token keeps its case (it is case-sensitive), whatever surrounds it.
    (f"https://www.linkedin.com/in/{MEMBER_TOKEN}/", MEMBER),
    (f"HTTPS://WWW.LINKEDIN.COM/IN/{MEMBER_TOKEN}", MEMBER),
    (f"in/{MEMBER_TOKEN}?trk=x#top", MEMBER),
    (f"https://uk.linkedin.com/in/{MEMBER_TOKEN}/details/experience/", MEMBER),
    (f"https://linkedin.com/in/%41%43{MEMBER_TOKEN[2:]}", MEMBER),
    (f"https://linkedin.com/in/john/../{MEMBER_TOKEN}", MEMBER),
    # A lowercased token is an ordinary username (it names nobody, but it is not refused).
    (f"in/{MEMBER_TOKEN.lower()}", f"https://linkedin.com/in/{MEMBER_TOKEN.lower()}"),
    # Sales Navigator lead, people and profile pages: one lead form, case kept.
    (f"https://www.linkedin.com/sales/lead/{LEAD_TOKEN},NAME_SEARCH,Ab1?_ntb=x", LEAD),
    (f"https://www.linkedin.com/sales/people/{LEAD_TOKEN},NAME_SEARCH,xyz", LEAD),
    (f"https://www.linkedin.com/sales/profile/{LEAD_TOKEN},OUT_OF_NETWORK,x", LEAD),
    (f"linkedin.com/SALES/LEAD/{LEAD_TOKEN}", LEAD),
    (f"https://linkedin.com/sales/lead/{LEAD_TOKEN}", LEAD),
    (f"https://linkedin.com/sales/lead/{LEAD_TOKEN}/", LEAD),
    (f"https://linkedin.com/sales/lead/{LEAD_TOKEN}%2CNAME_SEARCH%2Cx", LEAD),
    (f"https://linkedin.com/sales/lead/{LEAD_TOKEN},a,b/extra#f", LEAD),
    (f"https://linkedin.com/sales/x/../lead/{LEAD_TOKEN},a", LEAD),
    (
        "https://www.linkedin.com/sales/lead/ACwAAB,NAME_SEARCH",
        "https://linkedin.com/sales/lead/ACwAAB",
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
    # Legacy /pub/ links become the /in/ profile LinkedIn redirects them to
    # (this row was a refusal before the contract changed).
    ("https://www.linkedin.com/pub/john-doe/1/23/456", "https://linkedin.com/in/john-doe-4560231"),
    # Already canonical.
    (JOHN, JOHN),
    (JURGEN, JURGEN),
]

BOB = "https://linkedin.com/in/bob-jones"
JOHN_DOE = "https://linkedin.com/in/john-doe"

# Issue 9 item 12 and real-world shapes (LinkedIn share links, e-mails, mobile apps,
# exports of CRMs and scrapers).
ACCEPTED_REAL_WORLD = [
    # '.' and '..' segments are resolved as a browser does, in every spelling.
    ("https://www.linkedin.com/in/alice-smith/../bob-jones", BOB),
    ("https://www.linkedin.com/in/alice-smith/%2E%2E/bob-jones", BOB),
    ("https://www.linkedin.com/in/alice-smith/%2e%2e/bob-jones/", BOB),
    ("https://www.linkedin.com/in/alice-smith/.%2E/bob-jones", BOB),
    ("https://www.linkedin.com/in/alice-smith/%2e./bob-jones", BOB),
    ("https://www.linkedin.com/in/./bob-jones", BOB),
    ("https://www.linkedin.com/in/%2E/bob-jones", BOB),
    ("https://www.linkedin.com/./in/bob-jones", BOB),
    ("https://www.linkedin.com/../in/bob-jones", BOB),  # '..' above the root stays there
    ("https://www.linkedin.com/company/acme/../../in/bob-jones", BOB),
    ("in/alice-smith/../bob-jones", BOB),
    ("/in/alice-smith/../bob-jones?trk=x", BOB),
    ("https://www.linkedin.com/in/bob-jones/.", BOB),
    ("https://www.linkedin.com/in/bob-jones/details/..", BOB),
    ("https://www.linkedin.com/in/bob-jones/details/experience/../../", BOB),
    ("https://www.linkedin.com/in/bob-jones?next=/in/alice/../x", BOB),  # query: no path
    ("https://www.linkedin.com/in/bob-jones#/../../company/x", BOB),  # fragment: no path
    ("https://www.linkedin.com/in/bob-jones/..;/..;/company/acme", BOB),  # not dot segments
    ("https://www.linkedin.com/in/bob-jones/...", BOB),  # '...' is an ordinary segment
    # Legacy /pub/NAME/A/B/C -> /in/NAME-CBA.
    (
        "https://www.linkedin.com/pub/john-doe/1a/2b3/4c5",
        "https://linkedin.com/in/john-doe-4c52b31a",
    ),
    (
        "https://sy.linkedin.com/pub/krzysztof-marzec/a7/576/b50?trk=biz_employee_pub",
        "https://linkedin.com/in/krzysztof-marzec-b50576a7",
    ),
    (
        "http://uk.linkedin.com/pub/John-Doe/1A/2B3/4C5/",
        "https://linkedin.com/in/john-doe-4c52b31a",
    ),
    ("linkedin.com/pub/jane-doe/b/a1/2c", "https://linkedin.com/in/jane-doe-02c0a1b"),
    ("https://www.linkedin.com/pub/john-doe/0/7/a", "https://linkedin.com/in/john-doe-00a0070"),
    (
        "https://www.linkedin.com/pub/john-doe/1a/2b3/4c5/en",
        "https://linkedin.com/in/john-doe-4c52b31a",
    ),
    (
        "https://www.linkedin.com/pub/j%C3%BCrgen/12/345/678",
        "https://linkedin.com/in/jürgen-67834512",
    ),
    (
        "https://www.linkedin.com/pub/a/../john-doe/1a/2b3/4c5",
        "https://linkedin.com/in/john-doe-4c52b31a",
    ),
    # Letters that NFKC changes but that are ordinary letters of their script.
    ("https://th.linkedin.com/in/สมชาย-ทำดี", "https://linkedin.com/in/สมชาย-ทำดี"),  # Thai ำ
    (
        "https://th.linkedin.com/in/%E0%B8%97%E0%B8%B3%E0%B8%94%E0%B8%B5",
        "https://linkedin.com/in/ทำดี",
    ),
    ("https://la.linkedin.com/in/ຄຳ-ໜ້ອຍ", "https://linkedin.com/in/ຄຳ-ໜ້ອຍ"),  # Lao ຳ, ໜ
    ("https://am.linkedin.com/in/Գևորգ-Աբրահամյան", "https://linkedin.com/in/գևորգ-աբրահամյան"),
    ("https://kz.linkedin.com/in/ٵلماس", "https://linkedin.com/in/ٵلماس"),  # Arabic high hamza
    ("https://kr.linkedin.com/in/김민준", "https://linkedin.com/in/김민준"),
    ("in/\u1100\u1161\u11a8", "https://linkedin.com/in/각"),  # conjoining jamo compose (NFC)
    ("in/ㅋㅋ-kim", "https://linkedin.com/in/ㅋㅋ-kim"),  # Hangul compatibility jamo
    # Other scripts, raw and percent-encoded.
    (
        "https://www.linkedin.com/in/%E7%8E%8B%E5%B0%8F%E6%98%8E-1a2b3c4d/",
        "https://linkedin.com/in/王小明-1a2b3c4d",
    ),
    ("https://jp.linkedin.com/in/山田太郎", "https://linkedin.com/in/山田太郎"),
    ("https://ru.linkedin.com/in/Иван-Петров-123", "https://linkedin.com/in/иван-петров-123"),
    ("https://ru.linkedin.com/in/%D0%98%D0%B2%D0%B0%D0%BD", "https://linkedin.com/in/иван"),
    ("https://gr.linkedin.com/in/Γιώργος", "https://linkedin.com/in/γιώργος"),
    ("https://ae.linkedin.com/in/محمد-علي", "https://linkedin.com/in/محمد-علي"),
    ("https://il.linkedin.com/in/דוד-כהן", "https://linkedin.com/in/דוד-כהן"),
    ("https://in.linkedin.com/in/தமிழ்-செல்வன்", "https://linkedin.com/in/தமிழ்-செல்வன்"),
    ("https://vn.linkedin.com/in/nguy%E1%BB%85n-an", "https://linkedin.com/in/nguyễn-an"),
    (
        "https://vn.linkedin.com/in/nguye\u0302\u0303n-an",
        "https://linkedin.com/in/nguyễn-an",
    ),  # NFD
    # Usual shapes of today's profile links.
    ("https://www.linkedin.com/in/john-doe-12345678", "https://linkedin.com/in/john-doe-12345678"),
    (
        "https://www.linkedin.com/in/john-doe-a1b2c3d4/?originalSubdomain=uk",
        "https://linkedin.com/in/john-doe-a1b2c3d4",
    ),
    (
        "https://www.linkedin.com/in/ACoAAA8BYqEBCGLg_vT_ca6mMEqkpp9nVffJ3hc",
        "https://linkedin.com/in/ACoAAA8BYqEBCGLg_vT_ca6mMEqkpp9nVffJ3hc",
    ),
    (
        "https://www.linkedin.com/sales/lead/ACwAAAEuHH8BZcLrT0-TJNvBPN3gAt6Ob0VPJ1w,"
        "NAME_SEARCH,1Ab2?_ntb=ZpAkPxIgS9C_RvRe1KSvHA%3D%3D",
        "https://linkedin.com/sales/lead/ACwAAAEuHH8BZcLrT0-TJNvBPN3gAt6Ob0VPJ1w",
    ),
    ("https://www.linkedin.com/in/john-doe/en", JOHN_DOE),
    ("https://www.linkedin.com/in/john-doe/detail/recent-activity/", JOHN_DOE),
    ("https://www.linkedin.com/in/john-doe/recent-activity/shares/", JOHN_DOE),
    ("https://www.linkedin.com/in/john-doe/overlay/contact-info/", JOHN_DOE),
    ("https://www.linkedin.com/in/john-doe/details/skills/?detailScreenTabIndex=0", JOHN_DOE),
    ("https://www.linkedin.com/in/john-doe/details/experience/1234/multiple-positions/", JOHN_DOE),
    ("https://www.linkedin.com/in/john-doe/edit/intro/", JOHN_DOE),
    ("https://www.linkedin.com/in/john-doe/#experience", JOHN_DOE),
    ("https://www.linkedin.com/mwlite/in/john-doe", JOHN_DOE),
    ("https://www.linkedin.com/comm/in/john-doe?midToken=AQE&trk=eml-email", JOHN_DOE),
    ("https://www.linkedin.com/public-profile/in/john-doe", JOHN_DOE),
    ("https://m.linkedin.com/in/john-doe?_l=en_US", JOHN_DOE),
    (
        "https://www.linkedin.com/in/john-doe?lipi=urn%3Ali%3Apage%3Ad_flagship3_profile_view_base%3B5x%2Bq",
        JOHN_DOE,
    ),
    (
        "https://www.linkedin.com/in/john-doe/?utm_source=share&utm_campaign=share_via"
        "&utm_content=profile&utm_medium=android_app",
        JOHN_DOE,
    ),
    ("HTTPS://LinkedIn.com/in/x", "https://linkedin.com/in/x"),
    ("HTTPS://WWW.LINKEDIN.COM:443/IN/JOHN-DOE/", JOHN_DOE),
    ("http://www.linkedin.com:80/in/john-doe", JOHN_DOE),
    ("https://in.linkedin.com/in/priya-patel", "https://linkedin.com/in/priya-patel"),
    ("https://cn.linkedin.com/in/wei-zhang", "https://linkedin.com/in/wei-zhang"),
    ("https://www.linkedin.com./in/john-doe", JOHN_DOE),
    ("https://linkedin.com/in/me-myself", "https://linkedin.com/in/me-myself"),  # not the alias
    ("https://linkedin.com/in/me2", "https://linkedin.com/in/me2"),
    ("https://linkedin.com/in/mé", "https://linkedin.com/in/mé"),
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
    # Sales Navigator: only a lead (lead, people, profile pages) with an ACwAA token.
    ("https://www.linkedin.com/sales/company/1035", "other than a lead"),
    ("https://www.linkedin.com/sales/search/people?query=x", "other than a lead"),
    ("https://www.linkedin.com/sales/home", "other than a lead"),
    ("https://www.linkedin.com/sales/", "other than a lead"),
    ("https://www.linkedin.com/sales/lead", "other than a lead"),
    ("https://www.linkedin.com/sales/lists/people/123", "other than a lead"),
    ("https://www.linkedin.com/sales/lead/", "Malformed Sales Navigator lead"),
    ("https://www.linkedin.com/sales/lead/,NAME_SEARCH", "Malformed Sales Navigator lead"),
    ("https://www.linkedin.com/sales/lead/ACwAA,NAME_SEARCH", "Malformed Sales Navigator lead"),
    ("https://www.linkedin.com/sales/lead/acwaab1,NAME_SEARCH", "Malformed Sales Navigator lead"),
    ("https://www.linkedin.com/sales/lead/ACoAAB1,NAME_SEARCH", "Malformed Sales Navigator lead"),
    ("https://www.linkedin.com/sales/lead/ACwAA%2FB1,x", "Malformed Sales Navigator lead"),
    ("https://www.linkedin.com/sales/lead/ACwAAB%2E1,x", "Malformed Sales Navigator lead"),
    ("https://www.linkedin.com/sales/lead/ACwAAB%C3%BC,x", "Malformed Sales Navigator lead"),
    ("https://www.linkedin.com/sales/lead/ACwAAB1$,x", "Malformed Sales Navigator lead"),
    ("https://www.linkedin.com/sales/lead/ACwAAB1%,x", "percent-encoding"),
    ("https://www.linkedin.com/sales/lead/ACwAA" + "b" * 96, "Malformed Sales Navigator lead"),
    ("https://linkedin.com.evil.com/sales/lead/ACwAAB1", "host must be linkedin.com"),
    ("https://user@linkedin.com/sales/lead/ACwAAB1", "user info"),
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


NOT_PERSON = "Not a person profile"
DOTS = "dot segments"
LOOKALIKE = "look-alike"

REJECTED_REAL_WORLD = [
    # Dot segments never leave another profile's username (or a non-profile) in place.
    ("https://www.linkedin.com/in/john-doe/../../company/acme", "company pages"),
    ("https://www.linkedin.com/in/john-doe/../../company/acme", DOTS),
    ("https://www.linkedin.com/in/john-doe/%2E%2E/%2E%2E/company/acme", "company pages"),
    ("https://www.linkedin.com/in/john-doe/%2e%2e/%2e./company/acme/", "company pages"),
    ("https://www.linkedin.com/in/john-doe/.%2E/.%2e/sales/people/x", "Sales Navigator"),
    ("in/john-doe/../../feed/", "posts and feed"),
    ("https://www.linkedin.com/in/john-doe/..", "username is missing"),
    ("https://www.linkedin.com/in/john-doe/%2e%2e/", "username is missing"),
    ("https://www.linkedin.com/in/john-doe/../../", NOT_PERSON),
    ("https://www.linkedin.com/in/john-doe/../../../../etc/passwd", NOT_PERSON),
    ("https://www.linkedin.com/in/john-doe/../me", "signed in"),
    ("https://www.linkedin.com/in/x/../../pub/dir/john/doe", "directory"),
    ("https://www.linkedin.com/in/.%2E", DOTS),
    # /in/me is whoever is signed in.
    ("https://www.linkedin.com/in/me", "alias of whoever is signed in"),
    ("https://www.linkedin.com/in/me/", "signed in"),
    ("https://www.linkedin.com/in/ME/detail/contact-info/", "signed in"),
    ("linkedin.com/in/me?trk=nav_responsive_tab_profile", "signed in"),
    ("https://www.linkedin.com/in/%6D%65", "signed in"),
    ("in/me", NOT_PERSON),
    # Legacy /pub/ links of the wrong shape.
    ("https://www.linkedin.com/pub/john-doe", "Malformed old-style /pub/"),
    ("https://www.linkedin.com/pub/john-doe/1a/2b3", "Malformed old-style /pub/"),
    ("https://www.linkedin.com/pub/john-doe/1a//4c5", "expected linkedin.com/pub/<name>"),
    ("https://www.linkedin.com/pub/", "Malformed old-style /pub/"),
    ("https://www.linkedin.com/pub/john-doe/1g/2b3/4c5", "hexadecimal"),
    ("https://www.linkedin.com/pub/john-doe/1a/2b34/4c5", "hexadecimal"),
    ("https://www.linkedin.com/pub/john-doe/%31/2/3", "hexadecimal"),
    ("https://www.linkedin.com/pub/john-doe/-1/2/3", "hexadecimal"),
    ("https://www.linkedin.com/pub/dir/john/doe", "directory"),
    ("https://www.linkedin.com/pub/dir/", "directory"),
    ("https://www.linkedin.com/pub/john%20doe/1/2/3", "spaces"),
    ("https://www.linkedin.com/pub/me/../../in/me", "signed in"),
    # Real look-alikes: width, font, super/subscript, presentation and ligature forms.
    ("https://linkedin.com/in/ｊｏｈｎ-doe", LOOKALIKE),  # <wide>
    ("https://linkedin.com/in/ﾊﾅｺ", LOOKALIKE),  # <narrow> katakana
    ("https://linkedin.com/in/\U0001d423\U0001d428\U0001d421\U0001d427", LOOKALIKE),  # <font>
    ("https://linkedin.com/in/john\u207f", LOOKALIKE),  # <super> ⁿ
    ("https://linkedin.com/in/j\u02b0ohn", LOOKALIKE),  # <super> ʰ
    ("https://linkedin.com/in/j\u2092hn", LOOKALIKE),  # <sub> ₒ
    ("https://linkedin.com/in/\u00aana", LOOKALIKE),  # <super> ª
    ("https://linkedin.com/in/\ufe8d\ufee0\ufef4", LOOKALIKE),  # Arabic presentation forms
    ("https://linkedin.com/in/\ufefb", LOOKALIKE),  # lam-alef ligature form
    ("https://linkedin.com/in/\u0133sbrand", LOOKALIKE),  # ĳ
    ("https://linkedin.com/in/\u00b5-chen", LOOKALIKE),  # micro sign
    ("https://linkedin.com/in/\u1e9b", LOOKALIKE),  # ẛ = ſ + dot: look inside
    ("https://linkedin.com/in/\u2135", LOOKALIKE),  # alef symbol
    ("https://linkedin.com/in/\ufb13", LOOKALIKE),  # Armenian presentation ligature
    ("https://linkedin.com/in/\u03d0eta", LOOKALIKE),  # Greek beta symbol
    ("https://linkedin.com/in/%EF%BD%8A%EF%BD%8F%EF%BD%88%EF%BD%8E", LOOKALIKE),  # encoded ｊｏｈｎ
    ("https://linkedin.com/in/ⓙⓞⓗⓝ", "may only contain"),  # circled: symbols
    # Invisible letters and marks.
    ("https://linkedin.com/in/john\ufe0f", "invisible"),
    ("https://linkedin.com/in/john%EF%B8%8F", "invisible"),
    ("https://linkedin.com/in/\u3164", "invisible"),
    ("https://linkedin.com/in/jo\u034fhn", "invisible"),
    ("https://linkedin.com/in/\u115fjohn", "invisible"),
    ("https://linkedin.com/in/john\U000e0100", "invisible"),
    # Short links, other hosts, IDN look-alikes.
    ("https://lnkd.in/dA1b2C3", "lnkd.in short links"),
    ("lnkd.in/dA1b2C3", "lnkd.in short links"),
    ("https://www.lnkd.in/dA1b2C3", "host must be linkedin.com"),
    ("https://www.linkedin.cn/in/john", "host must be linkedin.com"),
    ("https://xn--linkdin-fxa.com/in/john", "host must be linkedin.com"),
    ("https://www.xn--lnkedin-9ya.com/in/john", "host must be linkedin.com"),
    ("https://linkedin.com%2eevil.com/in/john", "host must be linkedin.com"),
    ("https://evil.com/https://www.linkedin.com/in/john", "host must be linkedin.com"),
    ("https://touch.www.linkedin.com/in/john", "host must be linkedin.com"),
    ("//in//john-doe", "host must be linkedin.com"),
    # Not person profiles.
    ("https://www.linkedin.com/talent/", "Recruiter"),
    (
        "https://www.linkedin.com/talent/hire/123/discover/recruiterSearch/profile/AEMAA",
        "Recruiter",
    ),
    ("https://www.linkedin.com/recruiter/profile/12345,abc,CAP", "Recruiter"),
    ("https://www.linkedin.com/company/acme/people/", "company pages"),
    ("https://www.linkedin.com/mwlite/company/acme", "company pages"),
    ("https://www.linkedin.com/comm/mynetwork/discovery-see-all", "network pages"),
    ("https://www.linkedin.com/posts/john-doe_ai-activity-7100-abcd?utm_source=share", "posts"),
    ("https://www.linkedin.com/search/results/people/?keywords=john", "search result"),
    ("https://www.linkedin.com/profile/view?id=AAkAAA&authType=NAME_SEARCH", "Old-style"),
    ("https://www.linkedin.com/mwlite/", NOT_PERSON),
    ("https://www.linkedin.com/public-profile/settings", NOT_PERSON),
    ("linkedin://in/john-doe", "Only http and https"),
    ("linkedin://profile/12345", "Only http and https"),
    # Malformed.
    ("https://www.linkedin.com/in/", "username is missing"),
    ("https://www.linkedin.com/in/%", "Invalid percent-encoding"),
    ("https://www.linkedin.com/in/%ZZ", "Invalid percent-encoding"),
    ("/in/%", "Invalid percent-encoding"),
    ("https://www.linkedin.com//in//john-doe", "repeated slashes"),
    ("https:/linkedin.com/in/x", "expected '//'"),
    ("https://linkedin.com/in/john\tdoe", "control characters"),
    ("https://linkedin.com/in/john-doe\n/details", "control characters"),
    ("https://www.linkedin.com/in/john-doe%20", "spaces"),
    ("https://www.linkedin.com/in/+john", "may only contain"),
    ("https://www.linkedin.com/in/john-doe.", "dot"),
    ("https://www.linkedin.com/in/john-doe%2F..%2F..%2Fcompany%2Facme", "encoded '/'"),
    ("https://www.linkedin.com/in/john-doe-%F0%9F%98%80", "may only contain"),
    ("https://www.linkedin.com/in/🚀-founder", "may only contain"),
    ("http://www.linkedin.com:8080/in/john-doe", "Non-default ports"),
    ("https://www.linkedin.com/in/" + "%C3%BC" * 101, "longer than 100"),
    ("https://www.linkedin.com/pub/" + "a" * 95 + "/1a/2b3/4c5", "longer than 100"),
    ("https://www.linkedin.com/in/john?" + "x" * 2048, "longer than 2,048"),
]

ACCEPTED += ACCEPTED_REAL_WORLD
REJECTED += REJECTED_REAL_WORLD


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
    assert len(ACCEPTED_REAL_WORLD) + len(REJECTED_REAL_WORLD) >= 80


def test_output_is_canonical_shape():
    for raw, _ in ACCEPTED:
        out = normalize_linkedin_url(raw)
        if out.startswith(LEAD_PREFIX):
            assert re.fullmatch(r"ACwAA[A-Za-z0-9_-]+", out[len(LEAD_PREFIX) :])
            continue
        assert out.startswith(CANONICAL_PREFIX)
        username = out[len(CANONICAL_PREFIX) :]
        assert username
        assert "/" not in username and "%" not in username
        assert username == username.lower() or re.fullmatch(r"ACoAA[A-Za-z0-9_-]{34}", username)
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


# --- dot segments ------------------------------------------------------------------


def _rfc3986_remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4, written as the RFC states it (an independent reference)."""
    output: list[str] = []
    while path:
        if path.startswith("../"):
            path = path[3:]
        elif path.startswith("./"):
            path = path[2:]
        elif path.startswith("/./"):
            path = path[2:]
        elif path == "/.":
            path = "/"
        elif path.startswith("/../") or path == "/..":
            path = "/" + path[4:]
            if output:
                output.pop()
        elif path in (".", ".."):
            path = ""
        else:
            end = path.find("/", 1)
            segment = path if end == -1 else path[:end]
            output.append(segment)
            path = path[len(segment) :]
    return "".join(output)


def _outcome(url: str) -> str:
    try:
        return normalize_linkedin_url(url)
    except InvalidURL as exc:
        return "refused: " + exc.reason.removesuffix(normalize_module.R_DOT_SEGMENTS)


_DOT_SPELLINGS = {
    ".": [".", "%2e", "%2E"],
    "..": ["..", ".%2e", "%2E.", "%2e%2e", "%2E%2E", "%2e%2E"],
}


def test_dot_segments_resolve_like_rfc3986():
    # Random paths: the normalizer reads "/in/a/../b" (in any spelling of the dots)
    # exactly as it reads the path a browser would request after resolving them.
    rng = random.Random(9)
    words = ["in", "in", "alice", "bob", "company", "acme", "pub", "me", "details", ".", ".."]
    words += [".", "..", ""]
    for _ in range(3000):
        segments = [rng.choice(words) for _ in range(rng.randint(1, 6))]
        path = "/" + "/".join(segments)
        spelled = "/" + "/".join(rng.choice(_DOT_SPELLINGS.get(s, [s])) for s in segments)
        expected = _outcome("https://linkedin.com" + _rfc3986_remove_dot_segments(path))
        assert _outcome("https://linkedin.com" + spelled) == expected, (spelled, expected)


def test_dot_segment_refusal_says_the_path_was_resolved():
    with pytest.raises(InvalidURL) as excinfo:
        normalize_linkedin_url("https://www.linkedin.com/in/john-doe/../../company/acme")
    assert str(excinfo.value) == (
        "Not a person profile: company pages cannot be added"
        " (read after resolving the '.' and '..' dot segments in the path, as a browser does)"
    )


def test_hostile_dot_paths_are_bounded():
    # Worst cases near the 2,048-character limit: one pass, no error other than InvalidURL.
    for raw in [
        "https://linkedin.com/in/" + "../" * 670,
        "https://linkedin.com/in/" + "%2e%2E/" * 287,
        "https://linkedin.com/" + "a/" * 1000 + "in/x",
        "in/" + "x/../" * 400 + "john",
    ]:
        assert len(raw) <= MAX_INPUT_LENGTH
        assert _outcome(raw)
    assert normalize_linkedin_url("in/" + "x/../" * 400 + "john") == JOHN


# --- look-alikes -------------------------------------------------------------------

_USERNAME_CATEGORIES = {"Lu", "Ll", "Lt", "Lm", "Lo", "Nd"}


def _letters_and_digits():
    for cp in range(0x80, 0x110000):
        c = chr(cp)
        if unicodedata.category(c) in _USERNAME_CATEGORIES:
            yield c


def test_every_letter_that_is_no_look_alike_is_accepted():
    # What NFKC leaves alone can never be refused as a look-alike (no new refusals),
    # except letters that render as nothing.
    refused = []
    for c in _letters_and_digits():
        name = unicodedata.normalize("NFC", unicodedata.normalize("NFC", "a" + c).lower())
        if unicodedata.normalize("NFKC", name) != name:
            continue
        if c in normalize_module._INVISIBLE_LETTERS:
            continue
        try:
            normalize_linkedin_url("in/" + name)
        except InvalidURL as exc:
            refused.append((f"U+{ord(c):04X}", exc.reason))
    assert refused == []


def test_compatibility_forms_are_refused_by_their_tag():
    # Every letter whose lowercase NFC form holds a width, font, circled, super/subscript,
    # small, square, fraction, vertical, presentation-form or <compat> character is
    # refused, except the <compat> letters that are ordinary letters of their script.
    accepted = []
    for c in _letters_and_digits():
        name = unicodedata.normalize("NFC", unicodedata.normalize("NFC", "a" + c).lower())
        parts = unicodedata.normalize("NFD", name)
        tagged = {p for p in parts if unicodedata.decomposition(p).startswith("<")}
        if not tagged or tagged <= normalize_module._ORDINARY_COMPAT_LETTERS:
            continue
        try:
            normalize_linkedin_url("in/" + name)
        except InvalidURL:
            continue
        accepted.append(f"U+{ord(c):04X}")
    assert accepted == []


@pytest.mark.parametrize("letter", sorted(normalize_module._ORDINARY_COMPAT_LETTERS))
def test_ordinary_compat_letters_are_accepted(letter):
    assert normalize_linkedin_url("in/a" + letter) == CANONICAL_PREFIX + "a" + letter


def test_thai_and_armenian_names_round_trip_in_every_spelling():
    for name in ["ทำดี", "երևան"]:
        encoded = "".join(f"%{b:02X}" for b in name.encode())
        forms = {
            normalize_linkedin_url(f"https://www.linkedin.com/in/{form}/")
            for form in (name, encoded, encoded.lower(), unicodedata.normalize("NFD", name))
        }
        assert forms == {CANONICAL_PREFIX + name}


def _accepted(raw: str) -> str | None:
    try:
        return normalize_linkedin_url(raw)
    except InvalidURL:
        return None


def test_a_stored_url_is_the_prefix_and_a_lower_case_username_free_of_what_search_excludes():
    """dnc_app/storage/search.py relies on it (and migration 0016 indexes `<username>$$`): every
    URL is CANONICAL_PREFIX + a username, lower case, which holds no '/', '%', '$',
    whitespace, control character or surrogate, however those are written."""
    from urllib.parse import quote

    from dnc_app.storage.search import never_in_username

    excluded = [c for c in map(chr, range(0x110000)) if never_in_username(c)]
    assert {
        "/",
        "%",
        "$",
        " ",
        "\x00",
        "\t",
        "\x7f",
        "\x85",
        "\u00a0",
        "\u2028",
        "\u3000",
        "\ud800",
    } <= set(excluded)
    accepted = []
    for c in excluded:
        forms = [f"in/a{c}b", f"https://linkedin.com/in/{c}ab", f"in/ab{c}"]
        if not 0xD800 <= ord(c) <= 0xDFFF:
            forms.append(f"in/a{quote(c, safe='')}b")
        accepted += filter(None, map(_accepted, forms))
    assert accepted  # '/' ends the username ("in/a/b" is a's profile)
    cased = [c for c in map(chr, range(0x110000)) if c.lower() != c or c.upper() != c]
    accepted += filter(None, (_accepted(f"in/{c}{c}x") for c in cased))
    assert len(accepted) > 1000
    for url in accepted:
        username = url.removeprefix(CANONICAL_PREFIX)
        assert url.startswith(CANONICAL_PREFIX) and username, url
        assert not any(never_in_username(c) for c in username), url
        assert url == url.lower(), url


def test_member_token_and_lead_forms_are_case_sensitive_identities():
    """A token differs from its lowercased spelling; the three Sales Navigator pages of
    one lead are one value; a lead is never the same value as a profile."""
    assert normalize_linkedin_url(f"in/{MEMBER_TOKEN}") != normalize_linkedin_url(
        f"in/{MEMBER_TOKEN.lower()}"
    )
    pages = {
        normalize_linkedin_url(f"linkedin.com/sales/{page}/{LEAD_TOKEN},X,y")
        for page in ("lead", "people", "profile", "LEAD", "People")
    }
    assert pages == {LEAD}
    swapped = LEAD_TOKEN.swapcase().replace("acWaa", "ACwAA", 1)
    assert normalize_linkedin_url(f"linkedin.com/sales/lead/{swapped}") != LEAD


@pytest.mark.parametrize("tail", [",", ",a", "%2C", "/", "?", "#", "-"])
def test_hostile_sales_paths_are_bounded(tail):
    import time

    started = time.perf_counter()
    for body in (f"ACwAAB{tail * 600}", tail * 600, f"ACwAA{tail}" * 200):
        raw = f"https://linkedin.com/sales/lead/{body}"[:MAX_INPUT_LENGTH]
        try:
            normalize_linkedin_url(raw)
        except InvalidURL:
            pass
    assert time.perf_counter() - started < 0.5
