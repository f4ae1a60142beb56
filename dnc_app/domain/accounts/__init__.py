"""Accounts: teams (teams.py), their members' sign-in accounts (users.py) and their API
keys (apikeys.py)."""

from __future__ import annotations


class AccountError(ValueError):
    pass


class WrongPassword(AccountError):
    """The member's current password, asked before a change, was not right."""
