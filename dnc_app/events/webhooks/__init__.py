"""Webhooks: a team's endpoints receive signed events for every entry added
or removed, delivered at least once from an outbox written with the change.

- outbox: events written in the change's transaction (called by the change log);
- endpoints: the team's endpoints (create, rotate, test, log, …);
- destinations, sender: where a webhook may go and the one POST (SSRF-safe);
- signing: secrets (encrypted at rest) and the Standard Webhooks headers;
- delivery: claims, attempts, retries, the loop; cli: `flask webhooks …`.
"""
