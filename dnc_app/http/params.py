"""Parsing of numeric request parameters (query strings, form fields)."""

from __future__ import annotations

# The largest value a BIGINT column holds: a larger number in a query is an error in SQL.
MAX_BIGINT = 2**63 - 1


def bounded_int(raw: str, high: int, low: int = 0) -> int | None:
    """`raw` as an integer in [low, high], or None.

    Only ASCII digits: str.isdigit() also accepts "²" or Arabic-Indic digits, which
    int() then refuses or reads; no sign, spaces or underscores. The length is checked
    before int() so that a huge string costs nothing.
    """
    if not raw or len(raw) > len(str(high)) or not (raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if low <= value <= high else None
