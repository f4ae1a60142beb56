"""Roles of team members: what each may do, in one place.

`owner` > `member` > `viewer`: each role may do everything the roles below it may.
- owner: members and invites, API keys, webhooks, settings, removing a person's own
  opt-out; and everything a member may;
- member: add and remove entries, bulk add, export, the audit trail, screening;
- viewer: read the list and check profiles (and their own account).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"
    MEMBER = "member"
    VIEWER = "viewer"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def allows(self, required: Role | str) -> bool:
        """True when this role may do what `required` may."""
        return self.rank >= Role(required).rank

    @property
    def label(self) -> str:
        return self.value.capitalize()


_RANKS = {Role.VIEWER: 1, Role.MEMBER: 2, Role.OWNER: 3}


def role_of(value: object) -> Role | None:
    """The Role named by a stored or submitted value, else None (never raises)."""
    if not isinstance(value, str):
        return None
    try:
        return Role(value)
    except ValueError:
        return None
