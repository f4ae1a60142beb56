"""Screening: which of many prospects a team lists, in one query.

By URL (each normalized; an invalid one is answered as such) or by the hex SHA-256 of
a normalized URL (a connector need not send its prospect list in clear). Whatever the
number of items (the API takes 1,000, the CSV page a chunk), one SELECT answers them:
an `IN` over the distinct digests (a URL is looked up by its digest, which an erased
entry keeps), served by the unique (team_id, url_sha256) index.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeGuard

from dnc_app.domain.entries import statements as sql
from dnc_app.domain.entries.errors import InvalidURL
from dnc_app.domain.entries.validation import normalize, url_digest
from dnc_app.extensions import db

DIGEST_LENGTH = 64
_HEX = frozenset(string.hexdigits)


@dataclass(frozen=True, slots=True)
class Screened:
    """The answer for one input, in input order."""

    input: object
    url: str | None  # normalized; by digest, the listed URL (None when not listed)
    entry_id: str | None  # the entry, when listed
    error: str | None  # None, or the reason the input is not a valid profile URL / digest

    @property
    def status(self) -> str:
        """One of "listed", "not_listed" or "invalid"."""
        if self.error is not None:
            return "invalid"
        return "listed" if self.entry_id is not None else "not_listed"

    def to_dict(self) -> dict:
        """The API's representation of one result."""
        return {
            "input": self.input,
            "url": self.url,
            "onList": self.entry_id is not None,
            "entryId": self.entry_id,
            "error": None if self.error is None else "invalid_url",
        }


def _normalized(raw: object) -> tuple[str | None, str | None]:
    try:
        return normalize(raw), None
    except InvalidURL as exc:
        return None, exc.reason


def screen_urls(team_id: str, raw_urls: Sequence[object]) -> list[Screened]:
    """Each input normalized and looked up; one query for all of them."""
    normalized = [_normalized(raw) for raw in raw_urls]
    # By digest, which an erased entry keeps (its URL is gone): the person stays listed.
    digests = {url: url_digest(url) for url, _error in normalized if url is not None}
    wanted = list(set(digests.values()))
    listed = (
        {digest: entry_id for digest, _url, entry_id in sql.screen_by_digest(team_id, wanted)}
        if wanted
        else {}
    )
    return [
        Screened(raw, url, None if url is None else listed.get(digests[url]), error)
        for raw, (url, error) in zip(raw_urls, normalized, strict=True)
    ]


def valid_digest(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and len(value) == DIGEST_LENGTH and _HEX.issuperset(value)


def screen_digests(team_id: str, digests: Sequence[object]) -> list[Screened]:
    """Each hex SHA-256 (any letter case) looked up; one query for all of them. A value
    that is not 64 hex digits is invalid (it cannot be the digest of any URL)."""
    keys = [d.lower() if valid_digest(d) else None for d in digests]
    wanted = list({key for key in keys if key is not None})
    listed = (
        {digest: (url, entry_id) for digest, url, entry_id in sql.screen_by_digest(team_id, wanted)}
        if wanted
        else {}
    )
    results = []
    for raw, key in zip(digests, keys, strict=True):
        if key is None:
            results.append(Screened(raw, None, None, "not a SHA-256 hex digest (64 hex digits)"))
        else:
            url, entry_id = listed.get(key, (None, None))
            results.append(Screened(raw, url, entry_id, None))
    return results


def end_read() -> None:
    """End the read transaction: a long screen (a CSV, a chunk at a time) holds no
    snapshot open between its chunks."""
    db.session.commit()
