"""The public opt-out form against a real gunicorn: simultaneous requests for one profile,
and the per-IP limit shared by several worker processes through Redis."""

from __future__ import annotations

import http.cookiejar
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from dnc_app.extensions import db
from dnc_app.storage.models import AuditEvent, DncEntry
from tests.live import request_pids, wait_for_all_workers
from tests.services import RedisServer, call
from tests.test_optout import REFERENCE_RE, hidden_fields

pytestmark = pytest.mark.live


class FormClient:
    """A browser without JavaScript: keeps its cookies, reads the form, posts it."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def _open(self, request) -> tuple[int, str]:
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, exc.read().decode()

    def open_form(self, slug: str) -> dict[str, str]:
        status, text = self._open(f"{self.base_url}/optout/{slug}")
        assert status == 200
        return hidden_fields(text)

    def submit(self, slug: str, fields: dict[str, str], url: str) -> tuple[int, str]:
        body = urllib.parse.urlencode({**fields, "url": url, "reason": "", "website": ""})
        request = urllib.request.Request(
            f"{self.base_url}/optout/{slug}", data=body.encode(), method="POST"
        )
        return self._open(request)


@pytest.fixture
def start_server(live_server_factory):
    def start(workers: int = 1, **env):
        return live_server_factory(workers=workers, OPTOUT_MIN_SECONDS="0", **env)

    return start


def test_simultaneous_optouts_of_one_profile_all_get_a_receipt(start_server, app, team):
    server = start_server(OPTOUT_RATE_LIMIT="100/minute")
    people = 8
    clients = [FormClient(server.url) for _ in range(people)]
    forms = [client.open_form(team.slug) for client in clients]
    start = threading.Barrier(people)

    def submit(n: int) -> tuple[int, str]:
        start.wait()
        return clients[n].submit(team.slug, forms[n], "https://www.linkedin.com/in/same-person/")

    with ThreadPoolExecutor(max_workers=people) as pool:
        replies = list(pool.map(submit, range(people)))

    assert [status for status, _ in replies] == [200] * people
    references = {REFERENCE_RE.search(text).group(0) for _, text in replies}
    assert len(references) == people
    with app.app_context():
        entries = db.session.scalars(select(DncEntry).where(DncEntry.team_id == team.id)).all()
        actions = Counter(
            db.session.scalars(select(AuditEvent.action).where(AuditEvent.source == "public_form"))
        )
        audited = set(
            db.session.scalars(
                select(AuditEvent.reference).where(AuditEvent.source == "public_form")
            )
        )
    assert [e.url for e in entries] == ["https://linkedin.com/in/same-person"]
    assert actions == {"add": 1, "add_duplicate": people - 1}
    assert audited == references  # every receipt can be found in the audit trail


@pytest.fixture(scope="module")
def redis_server():
    server = RedisServer().start()
    yield server
    server.destroy()


def test_the_per_ip_limit_holds_across_workers_and_spares_the_api(
    start_server, redis_server, app, team
):
    # Two connections per worker at most: 15 simultaneous clients cannot all be taken by
    # one process, so several share the per-IP budget (gunicorn reads GUNICORN_CMD_ARGS).
    server = start_server(
        workers=3,
        RATELIMIT_STORAGE_URI=redis_server.url,
        OPTOUT_RATE_LIMIT="5/minute",
        GUNICORN_CMD_ARGS="--worker-connections 2 --keep-alive 0",
    )
    wait_for_all_workers(server, 3)
    attempts = 15
    clients = [FormClient(server.url) for _ in range(attempts)]
    forms = [client.open_form(team.slug) for client in clients]
    start = threading.Barrier(attempts)

    def submit(n: int) -> int:
        start.wait()
        return clients[n].submit(team.slug, forms[n], f"in/limited-{n}")[0]

    with ThreadPoolExecutor(max_workers=attempts) as pool:
        statuses = list(pool.map(submit, range(attempts)))
    # One budget for the client IP, although the requests went to several processes.
    assert Counter(statuses) == {200: 5, 429: attempts - 5}
    assert len(request_pids(server.log_path, f"/optout/{team.slug}", "POST")) >= 2
    # The team's own API keeps its whole write budget meanwhile.
    replies = [
        call(server.url, "POST", "/v1/dnc", key=team.api_key, body={"url": f"in/api-{n}"})
        for n in range(30)
    ]
    assert Counter(r.status for r in replies) == {201: 30}
    with app.app_context():
        public = db.session.scalars(
            select(DncEntry.url).where(DncEntry.source == "public_form")
        ).all()
    assert len(public) == 5
