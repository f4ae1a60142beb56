"""Constants shared by the tests and their fixtures (no fixtures and no tests here)."""

from __future__ import annotations

from dnc_app.changelog import Actor, ActorType
from dnc_app.config import TEST_SECRET_KEY as TEST_SECRET

__all__ = ["TEST_ACTOR", "TEST_SECRET"]
# The actor of changes a test makes directly through the services.
TEST_ACTOR = Actor(ActorType.CLI, None, "tests")
