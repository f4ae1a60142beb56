"""Substring search in SQL: `LIKE '%…%'` with the text's own `%`, `_` and `\\` literal."""

from __future__ import annotations

from sqlalchemy import ColumnElement


def contains(column, text: str) -> ColumnElement[bool]:
    """Case-insensitive for the stored (lower-case) URLs: the text is lowered too."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(f"%{escaped}%", escape="\\")
