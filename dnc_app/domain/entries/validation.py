"""Checks of the values an entry is made of."""

from __future__ import annotations

import hashlib

from dnc_app.domain.entries.errors import InvalidReason, InvalidURL
from dnc_app.domain.entries.values import MAX_QUERY_LENGTH, MAX_REASON_LENGTH
from dnc_app.domain.normalize import normalize_linkedin_url

# The stored form of a LinkedIn profile URL, or InvalidURL with the reason.
normalize = normalize_linkedin_url


def url_digest(url: str) -> str:
    """Hex SHA-256 of a normalized URL (UTF-8): what screening by digest compares."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def clean_reason(reason: object) -> str | None:
    """An optional free-text reason: trimmed, at most MAX_REASON_LENGTH characters."""
    if reason is None:
        return None
    if not isinstance(reason, str):
        raise InvalidReason("reason must be a string")
    reason = reason.strip()
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidReason(f"reason must be at most {MAX_REASON_LENGTH:,} characters")
    if any(ord(c) < 32 and c not in "\t\n\r" for c in reason):
        raise InvalidReason("reason must not contain control characters")
    # A JSON "\ud800" escape: no database can store a lone surrogate.
    if not reason.isascii() and any("\ud800" <= c <= "\udfff" for c in reason):
        raise InvalidReason("reason must not contain lone surrogates")
    return reason or None


def search_term(raw: str | None) -> str:
    """The text to search for: a URL the normalizer accepts is searched in its stored
    form (so a pasted `https://www.linkedin.com/in/John/` finds the entry); anything
    else as typed."""
    text = (raw or "").strip()[:MAX_QUERY_LENGTH]
    if not text:
        return ""
    try:
        return normalize(text)
    except InvalidURL:
        return text
