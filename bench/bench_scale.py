"""An installation at scale: N entries over M teams (a few large, many small) on PostgreSQL,
two servers x two workers with Redis, a mixed load through the HTTP API, webhooks to many
endpoints (a few failing).

Usage (from the repo root):
    python bench/bench_scale.py [--entries 200000] [--teams 100] [--endpoints 20]
                                [--seconds 30] [--clients 8] [--load copy|service]
                                [--database-url URL --redis-url URL] [--json]

1. Load: team sizes follow a Zipf law (size of the k-th team ~ 1/k), so the largest team
   holds about N / ln(M) entries and most teams a few hundred. By COPY (the default): the
   rows a batch add writes (entries, change log records, team counters; the hour counts by
   their triggers), created over the past year; or with --load service through the
   service layer's bulk path (`entries.add_entries`, chunks of 10,000). Either way the
   derived rows are checked against the entries before the run.
   A given database keeps what was loaded: a rerun with the same --entries and --teams
   reuses it (the teams are named by size).
2. Serve: two gunicorn masters (separate "machines") x two workers, Redis limits (raised
   for the run: this measures the work, not the 429s), a delivery loop per worker.
3. Load through the API, spread over both servers: checks most, then screens of 1,000,
   single adds, batches of 20, list pages, searches in the largest team, the changes feed.
   --endpoints teams have a webhook endpoint on a loopback receiver; one in twenty of them
   answers 500 (retried). Prints per route p50/p99 and requests/s, the webhook lag (event
   time to arrival, delivered ones), memory per worker, the database's size per million
   entries and its largest tables.

Without --database-url/--redis-url (or BENCH_DATABASE_URL / BENCH_REDIS_URL) a throwaway
PostgreSQL and Redis are started (as the tests do) and removed afterwards.

At 10M entries over 1,000 teams with 100 endpoints (see docs/performance.md):
    python bench/bench_scale.py --entries 10000000 --teams 1000 --endpoints 100 \\
        --seconds 120 --database-url postgresql://… --redis-url redis://…
Give it a PostgreSQL of its own with room for the entries, their change log and indexes
(the run prints the size per million); the load runs once and later runs reuse it.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import sys
import threading
import time
import uuid
from collections import defaultdict
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.bench_scaling import services  # noqa: E402
from bench.common import percentile, process_tree, start_gunicorn  # noqa: E402

SECRET = "bench-scale-secret-key-0123456789abcdefgh"
LIMITS = {
    name: "10000000/minute"
    for name in (
        "DNC_WRITE_LIMIT",
        "DNC_BATCH_LIMIT",
        "DNC_CHECK_LIMIT",
        "DNC_LIST_LIMIT",
        "DNC_SCREEN_LIMIT",
        "DNC_CHANGES_LIMIT",
    )
}
# op -> weight: checks most, then screens, writes, lists, searches, the feed.
MIX = {"check": 55, "screen": 4, "add": 10, "batch": 3, "list": 10, "search": 8, "changes": 10}
CHUNK = 10_000
COPY_CHUNK = 100_000


def team_sizes(entries: int, teams: int) -> list[int]:
    """Zipf sizes (the k-th ~ 1/k) adding up to `entries`, largest first, each >= 1."""
    weights = [1 / k for k in range(1, teams + 1)]
    total = sum(weights)
    sizes = [max(1, int(entries * w / total)) for w in weights]
    sizes[0] += entries - sum(sizes)
    return sizes


def url_of(team: int, n: int) -> str:
    return f"https://linkedin.com/in/t{team}-p{n:08d}"


# --------------------------------------------------------------------------- loading


def load(
    database_url: str,
    entries: int,
    teams: int,
    endpoints: int,
    hook_url: str,
    copy: bool,
    log=print,
    defer: bool = False,
) -> list[dict]:
    """Migrate, create or reuse the teams, load their entries, give the first
    `endpoints` teams a webhook endpoint; returns [{"id", "key", "size", "index", "cursor"}]."""
    os.environ["SECRET_KEY"] = SECRET
    from flask_migrate import upgrade
    from sqlalchemy import select, update

    from dnc_app import create_app
    from dnc_app.domain import entries as service
    from dnc_app.domain.accounts.apikeys import create_api_key
    from dnc_app.domain.accounts.teams import create_team
    from dnc_app.domain.changelog import Actor, ActorType
    from dnc_app.events.webhooks import endpoints as webhook_endpoints
    from dnc_app.extensions import db
    from dnc_app.http.api.changes import encode_cursor
    from dnc_app.storage.models import Team, WebhookEndpoint, WebhookMessage

    url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": SECRET,
            "WEBHOOK_ALLOW_PRIVATE": True,
            "LOG_LEVEL": "WARNING",
        }
    )
    actor = Actor(ActorType.CLI, None, "bench")
    sizes = team_sizes(entries, teams)
    result = []
    started = time.perf_counter()
    loaded = 0
    with app.app_context():
        upgrade()
        defer = copy and (defer or entries >= DEFER_INDEXES_FROM)
        for t, size in enumerate(sizes):
            slug = f"scale-{entries}-{teams}-{t}"
            team = db.session.execute(select(Team).where(Team.slug == slug)).scalar()
            if team is None:
                team = create_team(f"Scale {t}", slug)
            chunk = COPY_CHUNK if copy else CHUNK
            for start in range(team.entry_count, size, chunk):
                urls = [url_of(t, n) for n in range(start, min(size, start + chunk))]
                if copy:
                    if defer:
                        defer_indexes()  # once: the next call finds nothing left to drop
                        defer = False
                    copy_entries(team.id, urls, "bench")
                else:
                    service.add_entries(team.id, urls, source="cli", actor=actor)
                loaded += len(urls)
                if loaded % (chunk * 10) < len(urls):
                    log(
                        f"  loaded {loaded:,} ({loaded / (time.perf_counter() - started):,.0f}"
                        " rows/s)"
                    )
            _key, secret = create_api_key(team.id, name="bench", actor=actor)
            if t < endpoints:
                # One in twenty endpoints fails (answers 500): retried on the schedule.
                path = "fail" if t % 20 == 19 else "ok"
                hook = f"{hook_url}/{path}/{t}"
                existing = db.session.execute(
                    select(WebhookEndpoint.id).where(WebhookEndpoint.team_id == team.id)
                ).scalar()
                if existing is None:
                    webhook_endpoints.create_endpoint(team.id, hook)
                else:  # a reused database: this run's receiver, enabled again
                    webhook_endpoints.update_endpoint(team.id, existing, url=hook, enabled=True)
            db.session.refresh(team)
            result.append(
                {
                    "id": team.id,
                    "key": secret,
                    "size": size,
                    "index": t,
                    # Signed by the server's key (SECRET): the feed from 100 changes back.
                    "cursor": encode_cursor(team.id, max(0, team.change_seq - 100)),
                }
            )
        rebuild_indexes(log)
        # A reused database: the events of earlier runs are not this run's to deliver.
        db.session.execute(
            update(WebhookMessage)
            .where(WebhookMessage.status == "pending")
            .values(status="cancelled", locked_until=None)
        )
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    if loaded:
        seconds = time.perf_counter() - started
        log(f"loaded {loaded:,} entries in {seconds:.0f} s ({loaded / seconds:,.0f} rows/s)")
    return result


def copy_entries(team_id: str, urls: list[str], actor_label: str) -> None:
    """The fast path: the rows a batch add writes, by COPY, in one transaction: the
    entries (the triggers of migration 0013 keep the hour counts, the search index takes
    them as any insert), their change log records (one operation, as one call's), and the
    team's counters. Created times are spread over the past year, in seq order."""
    import hashlib
    from datetime import UTC, timedelta

    from sqlalchemy import text

    from dnc_app.domain import ids
    from dnc_app.extensions import db
    from dnc_app.storage.database import begin_write

    n = len(urls)
    begin_write()
    connection = db.session.connection()
    last = connection.execute(
        text(
            "UPDATE team SET change_seq = change_seq + :n, entry_count = entry_count + :n "
            "WHERE id = :team RETURNING change_seq"
        ),
        {"n": n, "team": team_id},
    ).scalar_one()
    first = last - n + 1
    connection.execute(text("SET LOCAL gin_pending_list_limit = '4MB'"))
    now = datetime.now(UTC).replace(tzinfo=None)
    year = timedelta(days=365)
    entry_ids = ids.entry_ids(n)
    created = [now - year + year * (i / n) for i in range(n)]
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(
        "COPY dnc_entry (id, team_id, url, url_sha256, source, added_by, "
        "created_at, updated_at) FROM STDIN"
    ) as copy:
        for entry_id, url, at in zip(entry_ids, urls, created, strict=True):
            copy.write_row(
                (
                    entry_id,
                    team_id,
                    url,
                    hashlib.sha256(url.encode()).hexdigest(),
                    "cli",
                    actor_label,
                    at,
                    at,
                )
            )
    with cursor.copy(
        "COPY audit_event (team_id, seq, action, subject_type, subject_id, url, "
        "source, actor_type, actor_label, created_at, operation) FROM STDIN"
    ) as copy:
        for i, (entry_id, url, at) in enumerate(zip(entry_ids, urls, created, strict=True)):
            copy.write_row(
                (
                    team_id,
                    first + i,
                    "add",
                    "entry",
                    entry_id,
                    url,
                    "cli",
                    "cli",
                    actor_label,
                    at,
                    first if n > 1 else None,
                )
            )
    connection.execute(
        text(
            "SELECT gin_clean_pending_list(oid) FROM pg_class WHERE relname = "
            "'ix_dnc_entry_search' AND pg_has_role(relowner, 'USAGE')"
        )
    )
    db.session.commit()


# Secondary indexes of the two big tables, kept aside while COPY runs: building each once
# from sorted input is far cheaper than growing it row by row (the search index most).
DEFERRED_TABLES = ("dnc_entry", "audit_event")
DEFER_INDEXES_FROM = 1_000_000
SAVED = "bench_deferred_index"


def defer_indexes() -> list[str]:
    """Drop the secondary indexes and unique constraints of DEFERRED_TABLES, their
    definitions (the catalogue's, i.e. the migrations' own SQL) saved in a table so that
    an interrupted load still rebuilds them; returns their names."""
    from sqlalchemy import text

    from dnc_app.extensions import db

    connection = db.session.connection()
    connection.execute(
        text(
            f"CREATE TABLE IF NOT EXISTS {SAVED} (name text PRIMARY KEY, "
            "tbl text, definition text, is_constraint boolean)"
        )
    )
    rows = connection.execute(
        text("""
        SELECT i.relname, t.relname,
               CASE WHEN c.oid IS NULL THEN pg_get_indexdef(x.indexrelid)
                    ELSE format('ALTER TABLE %I ADD CONSTRAINT %I %s', t.relname, c.conname,
                                pg_get_constraintdef(c.oid)) END,
               c.oid IS NOT NULL
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.contype IN ('u', 'x')
        WHERE t.relname = ANY(:tables) AND NOT x.indisprimary
          AND t.relnamespace = 'public'::regnamespace
          -- an index that a foreign key leans on stays
          AND NOT EXISTS (SELECT 1 FROM pg_constraint f
                          WHERE f.contype = 'f' AND f.conindid = x.indexrelid)"""),
        {"tables": list(DEFERRED_TABLES)},
    ).all()
    for name, table, definition, is_constraint in rows:
        connection.execute(
            text(f"INSERT INTO {SAVED} VALUES (:n, :t, :d, :c) ON CONFLICT DO NOTHING"),
            {"n": name, "t": table, "d": definition, "c": is_constraint},
        )
        if is_constraint:
            connection.execute(text(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"'))
        else:
            connection.execute(text(f'DROP INDEX "{name}"'))
    db.session.commit()
    return [row[0] for row in rows]


def rebuild_indexes(log=print) -> None:
    """Build the indexes defer_indexes() dropped (none, unless a load dropped them), then
    VACUUM ANALYZE the loaded tables (statistics, and the visibility map that lets the
    check read its index only)."""
    from sqlalchemy import text

    from dnc_app.extensions import db

    connection = db.session.connection()
    if connection.execute(text("SELECT to_regclass(:t)"), {"t": SAVED}).scalar() is None:
        return
    saved = connection.execute(text(f"SELECT name, definition FROM {SAVED}")).all()
    db.session.commit()
    for name, definition in saved:
        began = time.perf_counter()
        connection = db.session.connection()
        connection.execute(text("SET maintenance_work_mem = '1GB'"))
        connection.execute(text(definition))
        connection.execute(text(f"DELETE FROM {SAVED} WHERE name = :n"), {"n": name})
        db.session.commit()
        log(f"  built {name} in {time.perf_counter() - began:.0f} s")
    db.session.connection().execute(text(f"DROP TABLE {SAVED}"))
    db.session.commit()
    began = time.perf_counter()
    raw = db.engine.raw_connection()
    try:
        raw.driver_connection.autocommit = True
        for table in (*DEFERRED_TABLES, "entry_hour_count", "team"):
            raw.driver_connection.execute(f"VACUUM ANALYZE {table}")
    finally:
        raw.close()
    log(f"  vacuum analyze in {time.perf_counter() - began:.0f} s")


def consistency(database_url: str) -> list[str]:
    """What disagrees between the entries and their derived rows (nothing, after a load)."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        rows = conn.execute("""
            SELECT t.slug, t.entry_count, e.n, t.change_seq, a.last, h.n
            FROM team t
            LEFT JOIN (SELECT team_id, count(*) n FROM dnc_entry GROUP BY 1) e
                   ON e.team_id = t.id
            LEFT JOIN (SELECT team_id, max(seq) last FROM audit_event GROUP BY 1) a
                   ON a.team_id = t.id
            LEFT JOIN (SELECT team_id, sum(entries) n FROM entry_hour_count GROUP BY 1) h
                   ON h.team_id = t.id""").fetchall()
    return [
        f"{slug}: entry_count {count}, entries {entries}, change_seq {seq}, last log "
        f"{last}, hour counts {hours}"
        for slug, count, entries, seq, last, hours in rows
        if not (count == (entries or 0) == (hours or 0) and seq == (last or 0))
    ]


# --------------------------------------------------------------------------- webhooks


class Receiver:
    """Loopback webhook receiver: the lag of each delivery (event time to arrival)."""

    def __init__(self):
        self.lags: list[float] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                failing = self.path.startswith("/hook/fail/")
                if not failing:
                    stamp = json.loads(body)["timestamp"]
                    at = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
                    with receiver.lock:
                        receiver.lags.append(time.time() - at)
                self.send_response(500 if failing else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


# --------------------------------------------------------------------------- the load


def request_maker(teams: list[dict]):
    """make() -> (op, method, path, body, headers)."""
    rng = random  # the module's generator is reseeded in each forked client process
    ops, weights = list(MIX), list(MIX.values())
    # Calls come from teams in proportion to their size (large teams are busier).
    team_weights = [t["size"] for t in teams]
    largest = teams[0]

    def pick() -> dict:
        return rng.choices(teams, team_weights)[0]

    def listed(team: dict) -> str:
        return url_of(team["index"], rng.randrange(team["size"]))

    def unknown() -> str:
        return f"https://linkedin.com/in/unknown-{uuid.uuid4().hex[:12]}"

    def make():
        op = rng.choices(ops, weights)[0]
        team = largest if op == "search" else pick()
        headers = {"Authorization": f"Bearer {team['key']}", "Connection": "keep-alive"}
        if op == "check":
            url = listed(team) if rng.random() < 0.3 else unknown()
            return op, "GET", f"/v1/dnc/check?url={url}", None, headers
        if op == "screen":
            urls = [listed(team) if rng.random() < 0.1 else unknown() for _ in range(1000)]
            return op, "POST", "/v1/dnc/screen", {"urls": urls}, headers
        if op == "add":
            return op, "POST", "/v1/dnc", {"url": unknown()}, headers
        if op == "batch":
            return (
                op,
                "POST",
                "/v1/dnc/batch",
                {"entries": [{"url": unknown()} for _ in range(20)]},
                headers,
            )
        if op == "list":
            return op, "GET", f"/v1/dnc?limit=50&offset={rng.randrange(0, 500, 50)}", None, headers
        if op == "search":
            term = f"p{rng.randrange(min(team['size'], 10**8)):08d}"[:7]
            return op, "GET", f"/v1/dnc?q={term}&limit=50", None, headers
        return op, "GET", f"/v1/dnc/changes?cursor={team['cursor']}&limit=100", None, headers

    return make


def _client_process(
    urls: list[str], make, threads: int, stop_at: float, pipe, interval: float | None = None
) -> None:
    import http.client
    from urllib.parse import urlsplit

    results: list[tuple[str, float, int]] = []
    lock = threading.Lock()

    def run(n: int) -> None:
        parts = urlsplit(urls[n % len(urls)])
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        mine = []
        # Paced (--rate): each client sends on a fixed schedule, and a request's time
        # runs from when it was due, so a late one counts its wait (no coordinated
        # omission). Clients start spread over one interval.
        due = time.monotonic() + (interval or 0) * n / max(threads, 1)
        while time.monotonic() < stop_at:
            op, method, path, body, headers = make()
            payload = json.dumps(body).encode() if body is not None else None
            if payload is not None:
                headers = {**headers, "Content-Type": "application/json"}
            if interval:
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                began, due = due, due + interval
            else:
                began = time.monotonic()
            try:
                conn.request(method, path, body=payload, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                status = 0
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
            mine.append((op, time.monotonic() - began, status))
        conn.close()
        with lock:
            results.extend(mine)

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    pipe.send(results)
    pipe.close()


def run_mixed(
    urls: list[str], make, clients: int, seconds: float, rate: float | None = None
) -> list[tuple]:
    """`clients` keep-alive clients (threads over two processes), each request to one of
    the servers in turn by client; closed-loop, or paced to `rate` requests/s in all;
    [(op, seconds, status)]."""
    interval = clients / rate if rate else None
    context = multiprocessing.get_context("fork")
    stop_at = time.monotonic() + seconds
    procs = []
    for p in range(2):
        receiver, sender = context.Pipe(duplex=False)
        share = clients // 2 + (clients % 2 if p == 0 else 0)
        # Each process's clients alternate servers (client n goes to urls[n % 2]).
        proc = context.Process(
            target=_client_process,
            args=(urls[p:] + urls[:p], make, share, stop_at, sender, interval),
        )
        proc.start()
        sender.close()
        procs.append((proc, receiver))
    results = []
    for proc, receiver in procs:
        results += receiver.recv()
        proc.join()
    return results


# --------------------------------------------------------------------------- figures


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def database_figures(database_url: str) -> dict:
    import psycopg

    with psycopg.connect(database_url) as conn:
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        entries = conn.execute("SELECT count(*) FROM dnc_entry").fetchone()[0]
        tables = conn.execute(
            "SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relkind = 'r' "
            "AND relnamespace = 'public'::regnamespace ORDER BY 2 DESC LIMIT 5"
        ).fetchall()
    return {
        "bytes": size,
        "entries": entries,
        "mib_per_million": size / 2**20 / max(entries, 1) * 1e6,
        "largest_tables_mib": {name: round(b / 2**20, 1) for name, b in tables},
    }


def statements(database_url: str, reset: bool = False) -> list[dict]:
    """The database's time by statement (pg_stat_statements, when the server preloads
    it): the top ones by total time since the reset. Empty when it is not available."""
    import psycopg

    try:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            if reset:
                conn.execute("SELECT pg_stat_statements_reset()")
                return []
            rows = conn.execute(
                "SELECT calls, total_exec_time, mean_exec_time, "
                "regexp_replace(query, '\\s+', ' ', 'g') FROM pg_stat_statements "
                "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "ORDER BY total_exec_time DESC LIMIT 10"
            ).fetchall()
    except psycopg.Error:
        return []
    return [
        {"calls": c, "total_s": round(t / 1000, 2), "mean_ms": round(m, 3), "query": q[:160]}
        for c, t, m, q in rows
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--teams", type=int, default=100)
    parser.add_argument("--endpoints", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="requests/s in all, the clients paced to it (a latency at a stated load; "
        "default: closed loop, as fast as they are answered)",
    )
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL"))
    parser.add_argument(
        "--load",
        choices=["copy", "service"],
        default="copy",
        help="COPY (fast) or the service layer's batch path",
    )
    parser.add_argument(
        "--defer-indexes",
        action="store_true",
        help=f"COPY with the big tables' indexes dropped, then build them (the default "
        f"from {DEFER_INDEXES_FROM:,} entries)",
    )
    parser.add_argument(
        "--load-only", action="store_true", help="load (or check a loaded database) and stop"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    receiver = Receiver()
    with services(args.database_url, args.redis_url) as (database_url, redis_url):
        teams = load(
            database_url,
            args.entries,
            args.teams,
            args.endpoints,
            receiver.url,
            args.load == "copy",
            defer=args.defer_indexes,
        )
        began = time.perf_counter()
        problems = consistency(database_url)
        if problems:
            raise SystemExit("the load left derived rows inconsistent:\n" + "\n".join(problems))
        print(f"derived rows consistent (checked in {time.perf_counter() - began:.0f} s)")
        if args.load_only:
            print(json.dumps(database_figures(database_url)))
            return
        env = {
            **LIMITS,
            "SECRET_KEY": SECRET,
            "DATABASE_URL": database_url,
            "RATELIMIT_STORAGE_URI": redis_url,
            "WEBHOOK_ALLOW_PRIVATE": "1",
            "WEBHOOK_RETRY_SCHEDULE": "0,5,30,300",
            "LOG_LEVEL": "WARNING",
            "DB_POOL_SIZE": "8",
            "DB_MAX_OVERFLOW": "2",
        }
        servers = [start_gunicorn(env, workers=2, threads=8) for _ in range(2)]
        try:
            make = request_maker(teams)
            run_mixed([s.url for s in servers], make, args.clients, 3.0, args.rate)  # warm-up
            with receiver.lock:
                receiver.lags.clear()
            statements(database_url, reset=True)
            load_before = os.getloadavg()
            results = run_mixed(
                [s.url for s in servers], make, args.clients, args.seconds, args.rate
            )
            load_after = os.getloadavg()
            by_statement = statements(database_url)
            time.sleep(3)  # the last events' deliveries
            workers = [
                pid for s in servers for pid in process_tree(s.proc.pid) if pid != s.proc.pid
            ]
            memory = sorted(round(rss_mib(pid), 1) for pid in workers)
        finally:
            for server in servers:
                server.stop()
        figures = database_figures(database_url)

    by_op: dict[str, list[float]] = defaultdict(list)
    statuses: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for op, seconds, status in results:
        by_op[op].append(seconds)
        statuses[op][status] += 1
    routes = {}
    for op in MIX:
        values = sorted(by_op.get(op, []))
        routes[op] = {
            "requests": len(values),
            "rps": len(values) / args.seconds,
            "p50_ms": percentile(values, 0.5) * 1000,
            "p99_ms": percentile(values, 0.99) * 1000,
            "statuses": dict(statuses[op]),
        }
    lags = sorted(receiver.lags)
    summary = {
        "entries": args.entries,
        "teams": args.teams,
        "largest_team": teams[0]["size"],
        "endpoints": args.endpoints,
        "seconds": args.seconds,
        "clients": args.clients,
        "routes": routes,
        "total_rps": len(results) / args.seconds,
        "server_errors": sum(1 for _op, _s, status in results if status >= 500 or status == 0),
        "webhook_lag_s": {
            "delivered": len(lags),
            "p50": percentile(lags, 0.5),
            "p95": percentile(lags, 0.95),
            "max": lags[-1] if lags else None,
        },
        "worker_rss_mib": memory,
        "load_average": {"before": load_before, "after": load_after},
        "statements": by_statement,
        "database": figures,
    }
    if args.json:
        print(json.dumps(summary))
        return
    print(
        f"{args.entries:,} entries over {args.teams} teams (largest {teams[0]['size']:,}), "
        f"{args.endpoints} webhook endpoints; 2 servers x 2 workers, PostgreSQL + Redis; "
        f"{args.clients} clients"
        + (f" paced to {args.rate:g} requests/s" if args.rate else "")
        + f" for {args.seconds:g} s ({os.cpu_count()} CPUs, load "
        "generator on the same machine)"
    )
    print(
        "load average (1, 5, 15 min) before the run "
        + ", ".join(f"{x:.1f}" for x in load_before)
        + "; after "
        + ", ".join(f"{x:.1f}" for x in load_after)
    )
    print(f"{'route':<8} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7}  statuses")
    for op, row in routes.items():
        print(
            f"{op:<8} {row['rps']:>7.1f} {row['p50_ms']:>7.1f} {row['p99_ms']:>7.1f}  "
            f"{row['statuses']}"
        )
    lag = summary["webhook_lag_s"]
    print(f"total {summary['total_rps']:.0f} req/s, 5xx or failed: {summary['server_errors']}")
    if lags:
        print(
            f"webhook lag: {lag['delivered']} delivered, p50 {lag['p50']:.2f} s, "
            f"p95 {lag['p95']:.2f} s, max {lag['max']:.2f} s"
        )
    print(f"worker RSS (MiB): {memory}")
    print(
        f"database: {figures['bytes'] / 2**20:,.0f} MiB for {figures['entries']:,} entries "
        f"= {figures['mib_per_million']:,.0f} MiB per million; largest tables (MiB): "
        f"{figures['largest_tables_mib']}"
    )
    if by_statement:
        print("database time by statement (pg_stat_statements, during the run):")
        for row in by_statement:
            print(
                f"  {row['total_s']:>8.1f} s {row['calls']:>8} calls {row['mean_ms']:>8.2f} ms"
                f"  {row['query']}"
            )


if __name__ == "__main__":
    main()
