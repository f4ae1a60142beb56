"""Where one API request's database time goes: each SQL statement it runs, timed, and the
plan (EXPLAIN ANALYZE, BUFFERS) of the slowest, in-process against a loaded database.

Usage (from the repo root; a database bench_scale.py loaded):
    python bench/where_time_goes.py --database-url postgresql://… \\
        [--team scale-10000000-1000-0] [--repeat 5] 'GET /v1/dnc?q=p012345&limit=50'
        ['POST /v1/dnc/screen {"urls": [...]}' ...]

The team is a bench_scale team (by slug; default: the largest one of the database). A
request's time is the median of --repeat runs, after one to warm the caches.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("requests", nargs="+", help="'METHOD /path[?query] [JSON body]'")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--team", help="the team's slug (default: the largest)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", "bench-where-time-goes-0123456789abcdef")
    from sqlalchemy import event, func, select, text

    from dnc_app import create_app
    from dnc_app.domain.accounts.apikeys import create_api_key
    from dnc_app.domain.changelog import Actor, ActorType
    from dnc_app.extensions import db
    from dnc_app.storage.models import Team

    url = args.database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": os.environ["SECRET_KEY"],
            "RATELIMIT_ENABLED": False,
            "WEBHOOK_DELIVERY": False,
            "LOG_LEVEL": "WARNING",
        }
    )
    with app.app_context():
        query = select(Team)
        query = (
            query.where(Team.slug == args.team)
            if args.team
            else query.order_by(Team.entry_count.desc())
        )
        team = db.session.execute(query.limit(1)).scalar_one()
        _key, secret = create_api_key(
            team.id, name="where", actor=Actor(ActorType.CLI, None, "bench")
        )
        print(
            f"team {team.slug}: {team.entry_count:,} entries "
            f"(installation: {db.session.scalar(select(func.count()).select_from(Team))} teams)"
        )
        engine = db.engine
        db.session.remove()

    seen: list[list] = []

    @event.listens_for(engine, "before_cursor_execute")
    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["began"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def after(conn, cursor, statement, parameters, context, executemany):
        seen.append([time.perf_counter() - conn.info["began"], statement, parameters])

    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    for request in args.requests:
        method, _, rest = request.partition(" ")
        path, _, body = rest.partition(" ")
        payload = json.loads(body) if body else None
        times, statements = [], []
        for n in range(args.repeat + 1):
            seen.clear()
            began = time.perf_counter()
            response = client.open(path, method=method, json=payload, headers=headers)
            elapsed = time.perf_counter() - began
            if response.status_code >= 400:
                raise SystemExit(f"{request}: {response.status_code} {response.get_data()[:300]}")
            if n:
                times.append(elapsed)
                statements.append(list(seen))
        middle = statements[times.index(sorted(times)[len(times) // 2])]
        print(
            f"\n{method} {path[:100]}: {statistics.median(times) * 1000:.1f} ms in-process "
            f"(median of {args.repeat}), {len(middle)} statements, "
            f"{sum(s[0] for s in middle) * 1000:.1f} ms of them in the database"
        )
        for seconds, statement, _params in sorted(middle, key=lambda s: -s[0])[:5]:
            print(f"  {seconds * 1000:7.2f} ms  {' '.join(statement.split())[:150]}")
        if not middle:  # a path that runs its SQL on the driver's connection (check)
            continue
        slowest = max(middle, key=lambda s: s[0])
        with app.app_context():
            plan = (
                db.session.connection()
                .exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + slowest[1], slowest[2])
                .scalars()
                .all()
            )
            db.session.rollback()
        print("  plan of the slowest:")
        for line in plan:
            print("    " + line)
    with app.app_context():
        db.session.execute(text("DELETE FROM api_key WHERE name = 'where'"))
        db.session.commit()


if __name__ == "__main__":
    main()
