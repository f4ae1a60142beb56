"""Load a team with N entries through the service layer's bulk path, and report rows/s.

Usage (from the repo root):
    python bench/load_entries.py [--entries 1000000] [--db sqlite|postgresql]
                                 [--sqlite-path PATH] [--pg-url URL] [--chunk 10000]

The entries go through `entries.add_entries` (normalization, duplicate check, insert, audit
record, entry count) in chunks of --chunk URLs, one transaction each: the same path as a
batch request or a CSV import, without HTTP. The team of N bench entries is reused
(loading a million takes a minute or two), so benchmarks can be rerun; an interrupted load
resumes; entries that benchmark batches added stay (a few thousand per run).
The database is migrated first. Default SQLite file: $TMPDIR/dnc-bench/bench.sqlite3.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

TEAM_SLUG = "bench-api"
DEFAULT_SQLITE = Path(tempfile.gettempdir()) / "dnc-bench" / "bench.sqlite3"


def listed_url(i: int) -> str:
    """The i-th loaded URL (already in normalized form)."""
    return f"https://linkedin.com/in/bench-{i:07d}"


def database_url(db: str, sqlite_path: Path | None = None, pg_url: str | None = None) -> str:
    if db == "sqlite":
        path = Path(sqlite_path or DEFAULT_SQLITE)
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    if not pg_url:
        raise SystemExit("--pg-url is required with --db postgresql")
    return pg_url


def make_app(url: str):
    """An app on `url` with the schema migrated (quietly)."""
    os.environ.setdefault("SECRET_KEY", "bench-secret-key")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    from flask_migrate import upgrade

    from dnc_app import create_app

    # A test configuration reads no environment: the servers' settings are passed on.
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url.replace("postgresql://", "postgresql+psycopg://", 1),
            "SECRET_KEY": os.environ["SECRET_KEY"],
            "LOG_LEVEL": os.environ["LOG_LEVEL"],
        }
    )
    with app.app_context():
        upgrade()
    return app


def ensure_team(
    app,
    entries: int,
    chunk: int = 10_000,
    log=print,
    *,
    url_of=listed_url,
    slug_prefix: str = TEAM_SLUG,
) -> dict:
    """The bench team of `entries` entries (one team per size): reused when loaded, and a
    load that was interrupted resumes where it stopped. Nothing is deleted: entries only
    ever go through the service layer. `url_of(i)` is the i-th URL (normalized).

    Returns {"team_id", "loaded", "seconds", "rows_per_s"}.
    """
    from sqlalchemy import select

    from dnc_app.domain import entries as service
    from dnc_app.domain.accounts.teams import create_team
    from dnc_app.domain.changelog import Actor, ActorType
    from dnc_app.extensions import db
    from dnc_app.storage.models import Team

    actor = Actor(ActorType.CLI, None, "bench")
    slug = f"{slug_prefix}-{entries}"
    with app.app_context():
        team_id = db.session.execute(select(Team.id).where(Team.slug == slug)).scalar()
        if team_id is None:
            team_id = create_team(f"Bench API {entries:,}", slug).id
        done = _loaded(team_id, entries, url_of)
        if done == entries:
            return {"team_id": team_id, "loaded": False, "seconds": 0.0, "rows_per_s": None}
        log(f"loading entries {done:,} to {entries:,} in chunks of {chunk:,}…")
        started, first = time.perf_counter(), done
        while done < entries:
            size = min(chunk, entries - done)
            result = service.add_entries(
                team_id, [url_of(i) for i in range(done, done + size)], source="cli", actor=actor
            )
            if result.added != size:
                raise RuntimeError(f"expected {size} new entries, added {result.added}")
            done += size
            if done % (chunk * 10) == 0 or done == entries:
                elapsed = time.perf_counter() - started
                log(f"  {done:>10,} entries  {(done - first) / elapsed:>9,.0f} rows/s")
        seconds = time.perf_counter() - started
        db.session.remove()
    return {
        "team_id": team_id,
        "loaded": True,
        "seconds": seconds,
        "rows_per_s": (entries - first) / seconds,
    }


def _loaded(team_id: str, entries: int, url_of=listed_url) -> int:
    """How many of the bench entries 0..entries-1 are stored (they are loaded in order,
    one committed chunk at a time): a binary search over find_by_url."""
    from dnc_app.domain import entries as service

    low, high = 0, entries  # entries below `low` are stored; from `high` on they are not
    while low < high:
        middle = (low + high) // 2
        if service.find_by_url(team_id, url_of(middle)) is not None:
            low = middle + 1
        else:
            high = middle
    return low


def new_api_key(app, team_id: str) -> str:
    from dnc_app.domain.accounts.apikeys import create_api_key
    from dnc_app.domain.changelog import Actor, ActorType

    with app.app_context():
        _key, secret = create_api_key(
            team_id, name="bench", actor=Actor(ActorType.CLI, None, "bench")
        )
    return secret


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--sqlite-path", type=Path, default=None)
    parser.add_argument("--pg-url", default=os.environ.get("DNC_BENCH_PG_URL"))
    parser.add_argument("--chunk", type=int, default=10_000)
    args = parser.parse_args(argv)
    url = database_url(args.db, args.sqlite_path, args.pg_url)
    result = ensure_team(make_app(url), args.entries, args.chunk)
    if result["loaded"]:
        print(
            f"loaded {args.entries:,} entries in {result['seconds']:.1f} s: "
            f"{result['rows_per_s']:,.0f} rows/s ({args.db})"
        )
    else:
        print(f"reused the bench team with {args.entries:,} entries ({args.db})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
