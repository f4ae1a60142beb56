"""The list page's dashboard at a million entries, all added within the 12 weeks it shows
(the worst case: a team that imported its whole list recently).

Usage (from the repo root):
    python bench/bench_dashboard.py [--entries 1000000] [--db sqlite|postgresql]
                                    [--sqlite-path PATH] [--pg-url URL] [--runs 30]

Prints p50/p95 of `dashboard.read_dashboard` (what a list page view reads for the numbers
and the chart) and, beside it, of reading those weeks' entries themselves (what it read
before entry_hour_count), plus the bulk load's rows/s when it loads.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load_entries import database_url, ensure_team, make_app  # noqa: E402


def _timed(function, runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--sqlite-path", type=Path)
    parser.add_argument("--pg-url")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    app = make_app(database_url(args.db, args.sqlite_path, args.pg_url))
    load = ensure_team(app, args.entries)
    if load["loaded"]:
        print(f"bulk load: {load['rows_per_s']:,.0f} rows/s")

    from sqlalchemy import func, select

    from dnc_app.domain import dashboard
    from dnc_app.domain.entries.statements import ENTRIES
    from dnc_app.domain.timeutil import utcnow
    from dnc_app.extensions import db
    from dnc_app.storage.timeorder import first_seq_at

    team_id = load["team_id"]
    with app.app_context():
        now = utcnow()
        start = dashboard.midnight(dashboard.week_starts(now)[0])

        def read_entries():
            c = ENTRIES.c
            return db.session.execute(
                select(c.source, func.count())
                .where(
                    c.team_id == team_id,
                    c.seq >= first_seq_at(ENTRIES, team_id, start),
                    c.created_at >= start,
                )
                .group_by(c.source)
            ).all()

        shown = dashboard.read_dashboard(team_id)
        print(
            f"{args.db}, {args.entries:,} entries; the dashboard shows {shown.total:,} "
            f"on the list, {sum(w.total for w in shown.weeks):,} in the 12 weeks"
        )
        p50, p95 = _timed(lambda: dashboard.read_dashboard(team_id), args.runs)
        print(f"read_dashboard (hour counts):        p50 {p50:8.1f} ms   p95 {p95:8.1f} ms")
        p50, p95 = _timed(lambda: dashboard.read_dashboard(team_id, span="months"), args.runs)
        print(f"read_dashboard, 12 months:           p50 {p50:8.1f} ms   p95 {p95:8.1f} ms")
        p50, p95 = _timed(read_entries, max(3, args.runs // 10))
        print(f"reading the 12 weeks' entries (old): p50 {p50:8.1f} ms   p95 {p95:8.1f} ms")


if __name__ == "__main__":
    main()
