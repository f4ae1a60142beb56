"""The list page's search (`q`) at a million entries: p50/p95 of the page query and of its
capped total, for many, few and no matches and for 1- and 2-character terms; and the API's
`GET /v1/dnc?q=` (in-process, Flask test client) for the same terms.

Usage (from the repo root):
    python bench/bench_search.py [--db sqlite|postgresql] [--pg-url URL]
                                 [--sqlite-path PATH] [--entries 1000000] [--repeat 20]
    python bench/bench_search.py --load-only …      # load (or resume) the team, print rows/s
    python bench/bench_search.py --writes [--adds 500] [--bulk-rows 100000]
        # POST /v1/dnc in-process µs and bulk rows/s on SQLite: no index, 0015's, head's

The team (`bench-search-<N>`) is loaded once through `entries.add_entries` (the bulk path of
imports, 10,000 rows per transaction) and reused. Its URLs are half `…/in/user-<hex>` and half
other names with a hex suffix, interleaved, so "many matches" (`in/user`, 500,000 rows) is
spread over the whole list; the oldest-only case (`many, oldest`) matches only the first
100,000 rows, which a newest-first scan reaches last. Default SQLite file:
$TMPDIR/dnc-search-bench/bench.sqlite3 (never in the repository).

Each case runs `entries.browse` (what the list page calls: the first page of 50 and the total
beside it) in-process, so the figures are the database work plus the service layer, without
HTTP; then `GET /v1/dnc?q=…` (a page of 50 and its total) through the Flask test client, so
with the API's request handling but without a server. `--api-only` / `--page-only` run one
half; `--cases a,b` picks cases by the term.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench import load_entries  # noqa: E402
from bench.load_entries import database_url, make_app  # noqa: E402

DEFAULT_SQLITE = Path(tempfile.gettempdir()) / "dnc-search-bench" / "bench.sqlite3"
NAMES = ["anna", "jean-luc", "maria", "chen", "olga", "kofi", "sven", "priya", "tomasz"]
# label -> search term
CASES = {
    "many (in/user, 50%)": "in/user",
    "many, oldest (old-, 10%)": "old-",
    "few (4 hex digits)": None,  # filled from the data: see few_term()
    "none": "nobody-at-all",
    "none, impossible (x/user)": "x/user",
    "1 char, in the prefix (k)": "k",
    "1 char, dense (a)": "a",
    "1 char, 5% (v)": "v",
    "1 char, none (q)": "q",
    "2 chars, dense (us)": "us",
    "2 chars, 5% (sv)": "sv",
    "2 chars, oldest 10% (d-)": "d-",
    "2 chars, none (zq)": "zq",
}


def search_url(i: int) -> str:
    """The i-th loaded URL: names interleaved, a pseudo-random 8-hex-digit suffix; the
    oldest tenth carries `old-` (a term that matches only the oldest rows)."""
    name = "user" if i % 2 == 0 else NAMES[(i // 2) % len(NAMES)]
    marker = "old-" if i < 100_000 else ""
    return f"https://linkedin.com/in/{name}-{marker}{(i * 2654435761) % 2**32:08x}"


def few_term() -> str:
    return f"{(777 * 2654435761) % 2**32:08x}"[:4]


def ensure_team(app, entries: int) -> tuple[str, float | None]:
    """The search team, loaded (or resumed) through the bulk path; (team id, rows/s)."""
    result = load_entries.ensure_team(app, entries, url_of=search_url, slug_prefix="bench-search")
    return result["team_id"], result["rows_per_s"]


def _timed(fn, repeat: int) -> tuple[float, float, object, float]:
    """(p50 ms, p95 ms, the last result, p50 ms of this process's CPU). On a machine shared
    with other jobs the CPU time is the steadier figure; for SQLite it is all of the work
    (the database runs in this process), for PostgreSQL only the client's share."""
    fn()  # warm up (page cache, statement cache)
    samples, cpu, result = [], [], None
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        result = fn()
        samples.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return statistics.median(samples), p95, result, statistics.median(cpu)


def _cases(only: str | None):
    wanted = set(only.split(",")) if only else None
    for label, term in CASES.items():
        term = term or few_term()
        if wanted is None or term in wanted:
            yield label, term


def bench(app, team_id: str, repeat: int, only: str | None = None) -> list[dict]:
    from dnc_app.domain import entries
    from dnc_app.domain.entries import listing
    from dnc_app.extensions import db

    rows = []
    with app.app_context():
        for label, term in _cases(only):
            where = entries.ListFilter(q=term)

            def page(where=where):
                db.session.rollback()
                return listing.browse(team_id, where, limit=50)

            def rows_only(where=where):
                db.session.rollback()
                return listing.page_rows(team_id, where, limit=50)

            def total_only(where=where):
                db.session.rollback()
                return listing.count_matches(team_id, where)

            p50, p95, result, cpu = _timed(page, repeat)
            if hasattr(listing, "page_rows"):
                rows_p50, rows_p95, _, _ = _timed(rows_only, repeat)
                total_p50, total_p95, _, _ = _timed(total_only, repeat)
            else:  # the code before issue 12's search work: only the whole page
                rows_p50 = rows_p95 = total_p50 = total_p95 = float("nan")
            total = f"{result.total:,}{'+' if result.more else ''}"
            rows.append(
                {
                    "case": label,
                    "term": term,
                    "shown": len(result.entries),
                    "total": total,
                    "p50": p50,
                    "p95": p95,
                    "cpu_p50": cpu,
                    "rows_p50": rows_p50,
                    "rows_p95": rows_p95,
                    "total_p50": total_p50,
                    "total_p95": total_p95,
                }
            )
            print(
                f"  {label:<28} q={term!r:<16} {len(result.entries):>3} shown, total "
                f"{total:>7}  page+total p50 {p50:7.2f} p95 {p95:7.2f} (CPU {cpu:7.2f}) ms"
                f" | rows p50 "
                f"{rows_p50:7.2f} | total p50 {total_p50:7.2f} ms",
                flush=True,
            )
    return rows


def bench_api(app, team_id: str, repeat: int, only: str | None = None) -> list[dict]:
    """`GET /v1/dnc?q=…` (50 per page) through the Flask test client, per case."""
    from bench.load_entries import new_api_key

    app.config["DNC_LIST_LIMIT"] = "1000000/minute"  # read per request: no 429 while timing
    client = app.test_client()
    headers = {"Authorization": f"Bearer {new_api_key(app, team_id)}"}
    rows = []
    for label, term in _cases(only):

        def get(term=term):
            resp = client.get("/v1/dnc", query_string={"q": term}, headers=headers)
            assert resp.status_code == 200, resp.get_json()
            return resp.get_json()["data"]

        p50, p95, data, cpu = _timed(get, repeat)
        total = f"{data['total']:,}{'' if data.get('totalExact', True) else '+'}"
        rows.append(
            {"case": label, "term": term, "total": total, "p50": p50, "p95": p95, "cpu_p50": cpu}
        )
        print(
            f"  API {label:<28} q={term!r:<16} {len(data['entries']):>3} shown, total "
            f"{total:>8}  p50 {p50:7.2f} p95 {p95:7.2f} (CPU {cpu:7.2f}) ms",
            flush=True,
        )
    return rows


def _write_app(path: Path, revision: str):
    """A fresh SQLite app migrated to `revision` ("head", or "0014": before any index)."""
    from flask_migrate import upgrade

    from dnc_app import create_app

    for stale in path.parent.glob(path.name + "*"):
        stale.unlink()
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
            "LOG_LEVEL": "WARNING",
            "SECRET_KEY": "bench-secret-key",
            "DNC_WRITE_LIMIT": "1000000/minute",
        }
    )
    with app.app_context():
        upgrade(revision=revision)
    return app


# The write benchmark's states: no index (before 0015), 0015's whole-URL index, head.
WRITE_STATES = {
    "without an index (0014)": "0014",
    "whole URLs (0015)": "0015",
    "usernames (head)": "head",
}


def bench_writes(directory: Path, adds: int, bulk_rows: int, rounds: int = 2) -> None:
    """POST /v1/dnc in-process (test client) and bulk adds (`add_entries`, 10,000 rows a
    transaction) without an index, with 0015's and with head's, in turn (the order
    reversed in every other round)."""
    from bench.load_entries import new_api_key
    from dnc_app.domain import entries as service
    from dnc_app.domain.accounts.teams import create_team
    from dnc_app.domain.changelog import Actor, ActorType

    actor = Actor(ActorType.CLI, None, "bench")
    results: dict[str, dict[str, list[float]]] = {}
    for round_ in range(rounds):
        states = list(WRITE_STATES.items())
        for label, revision in states[::-1] if round_ % 2 else states:
            app = _write_app(directory / f"writes-{revision}.sqlite3", revision)
            with app.app_context():
                team_id = create_team(f"Writes {round_}", f"writes-{round_}").id
            key = new_api_key(app, team_id)
            client, headers = app.test_client(), {"Authorization": f"Bearer {key}"}
            samples = []
            for i in range(adds):
                started = time.perf_counter()
                resp = client.post("/v1/dnc", json={"url": f"in/writer-{i:06d}"}, headers=headers)
                samples.append((time.perf_counter() - started) * 1e6)
                assert resp.status_code == 201, resp.status_code
            with app.app_context():
                started = time.perf_counter()
                for start in range(0, bulk_rows, 10_000):
                    service.add_entries(
                        team_id,
                        [search_url(i) for i in range(start, min(bulk_rows, start + 10_000))],
                        source="cli",
                        actor=actor,
                    )
                rate = bulk_rows / (time.perf_counter() - started)
            found = results.setdefault(label, {"add_us": [], "bulk": []})
            found["add_us"].append(statistics.median(samples))
            found["bulk"].append(rate)
            print(
                f"  round {round_ + 1} {label:<24} POST /v1/dnc p50 "
                f"{statistics.median(samples):7.0f} µs   bulk {rate:8,.0f} rows/s",
                flush=True,
            )
    for label, found in results.items():
        print(
            f"{label:<24} POST /v1/dnc p50 {min(found['add_us']):7.0f} µs (best round)   "
            f"bulk {max(found['bulk']):8,.0f} rows/s (best round)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--sqlite-path", type=Path, default=DEFAULT_SQLITE)
    parser.add_argument("--pg-url", default=os.environ.get("DNC_BENCH_PG_URL"))
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--load-only", action="store_true")
    parser.add_argument("--page-only", action="store_true", help="skip the API's q")
    parser.add_argument("--api-only", action="store_true", help="skip the list page's search")
    parser.add_argument("--cases", help="comma-separated terms (default: every case)")
    parser.add_argument(
        "--writes",
        action="store_true",
        help="instead: POST /v1/dnc µs and bulk rows/s without an index, with 0015's, with head's",
    )
    parser.add_argument("--adds", type=int, default=500)
    parser.add_argument("--bulk-rows", type=int, default=100_000)
    args = parser.parse_args(argv)
    if args.writes:
        os.environ.setdefault("LOG_LEVEL", "WARNING")
        args.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        bench_writes(args.sqlite_path.parent, args.adds, args.bulk_rows)
        return 0
    app = make_app(database_url(args.db, args.sqlite_path, args.pg_url))
    team_id, rate = ensure_team(app, args.entries)
    if rate is not None:
        print(f"loaded at {rate:,.0f} rows/s ({args.db})")
    if args.load_only:
        return 0
    print(f"search at {args.entries:,} entries ({args.db}), {args.repeat} runs per case:")
    if not args.api_only:
        bench(app, team_id, args.repeat, args.cases)
    if not args.page_only:
        bench_api(app, team_id, args.repeat, args.cases)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
