"""Query-string parameters of the API, refused with the documented 400 invalid_parameter."""

from __future__ import annotations

from flask import request

from ..params import bounded_int
from .errors import InvalidParameter


def int_arg(name: str, default: int, low: int, high: int, message: str) -> int:
    """The integer query parameter `name` in [low, high], `default` when absent. Plain
    decimal digits only (no sign, spaces, exponents or underscores), and a string longer
    than `high` is refused before it is read: a thousand-digit value costs nothing."""
    raw = request.args.get(name)
    if raw is None:
        return default
    value = bounded_int(raw, high, low)
    if value is None:
        raise InvalidParameter(message)
    return value
