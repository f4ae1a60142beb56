"""Constants shared by the tests and their fixtures (no fixtures and no tests here)."""

from __future__ import annotations

from dnc_app.changelog import Actor, ActorType

TEST_SECRET = "test-secret-key-not-for-production"
# The actor of changes a test makes directly through the services.
TEST_ACTOR = Actor(ActorType.CLI, None, "tests")
