"""Team notifications: email (SMTP) and a Slack-compatible chat webhook.

- outbox: events written in the transaction of what they announce (a public opt-out, a
  disabled webhook endpoint) and messages to send (also password reset links);
- delivery: the process's delivery loop gathers a team's events into messages (public
  opt-outs: the first at once, then at most one digest per NOTIFY_DIGEST_INTERVAL) and
  sends them with leases and retries, never inside a request;
- resets: password reset by email (single-use links, only their hash stored).
"""
