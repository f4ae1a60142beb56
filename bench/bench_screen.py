"""Benchmark screening: POST /v1/dnc/screen of 1,000 URLs (or digests) against a list of a
million entries, and the CSV screen of a 200,000-row prospect file.

Usage (from the repo root):
    python bench/bench_screen.py [--db sqlite|postgresql] [--pg-url URL]
                                 [--sqlite-path PATH] [--entries 1000000]
                                 [--requests 30] [--csv-rows 200000] [--json]

1. Loads the list (bench/load_entries.py; reused when already loaded) and creates a key.
2. screen: --requests sequential POST /v1/dnc/screen of 1,000 URLs in non-normalized
   forms (half listed, spread over the whole list), through the whole Flask stack
   in-process (test client: routing, key check, rate limiter, JSON), then the same with
   `sha256`; p50/p99/max in ms. Target: p50 < 30 ms.
3. csv: a 200,000-row prospect CSV (name, company, LinkedIn URL, e-mail; 1 in 10
   listed, 1 in 100 invalid) staged, counted, and streamed back with its status
   columns, as the "Screen a prospect list" page does; rows/s of each pass and the peak
   Python memory (tracemalloc) of the counts and download passes.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.load_entries import (  # noqa: E402
    database_url,
    ensure_team,
    listed_url,
    make_app,
    new_api_key,
)

HIGH = "1000000/second"
BATCH = 1000


def _percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered), 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
            "max_ms": round(ordered[-1], 2), "requests": len(ordered)}


def _urls(rng: random.Random, entries: int) -> list[str]:
    """1,000 URLs: half listed (spread over the list), half not, in client forms."""
    urls = []
    for i in range(BATCH):
        n = rng.randrange(entries)
        name = f"bench-{n:07d}" if i % 2 == 0 else f"prospect-{rng.randrange(10**9):09d}"
        urls.append(f"https://www.linkedin.com/in/{name}/" if i % 4 < 2
                    else f"linkedin.com/in/{name}")
    return urls


def bench_api(app, key: str, entries: int, requests: int) -> dict:
    from dnc_app.entries import normalize, url_digest

    client = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    rng = random.Random(11)
    results = {}
    for kind in ("urls", "sha256"):
        samples = []
        for _ in range(requests):
            urls = _urls(rng, entries)
            # A connector hashes the normalized URL.
            items = urls if kind == "urls" else [url_digest(normalize(u)) for u in urls]
            started = time.perf_counter()
            resp = client.post("/v1/dnc/screen", json={kind: items}, headers=headers)
            samples.append((time.perf_counter() - started) * 1000)
            data = resp.get_json()["data"]
            assert resp.status_code == 200 and data["listed"] == BATCH // 2, data["listed"]
        results[kind] = _percentiles(samples)
    return results


def _prospect_csv(rows: int) -> bytes:
    out = io.StringIO()
    out.write("First name,Company,LinkedIn,Email\r\n")
    for i in range(rows):
        if i % 100 == 99:
            url = "https://www.linkedin.com/company/acme"
        elif i % 10 == 0:
            url = "https://www.linkedin.com/in/" + listed_url(i).rsplit("/", 1)[1] + "/"
        else:
            url = f"https://www.linkedin.com/in/prospect-{i:07d}/"
        out.write(f"Person {i},Company {i % 977},{url},p{i}@example.com\r\n")
    return out.getvalue().encode()


def bench_csv(app, team_id: str, rows: int) -> dict:
    from dnc_app.web import screen_csv

    data = _prospect_csv(rows)
    with app.app_context(), tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        started = time.perf_counter()
        token = screen_csv.stage(io.BytesIO(data), directory)
        path = screen_csv.staged_path(directory, token)
        layout = screen_csv.read_layout(path)
        staged = time.perf_counter() - started
        started = time.perf_counter()
        counts = screen_csv.count(team_id, path, layout, layout.column)
        counted = time.perf_counter() - started
        started = time.perf_counter()
        size = sum(len(piece) for piece in screen_csv.csv_lines(
            team_id, path, layout, layout.column, only_contactable=False))
        streamed = time.perf_counter() - started
        assert counts.rows == rows, counts.rows
        tracemalloc.start()
        screen_csv.count(team_id, path, layout, layout.column)
        for _piece in screen_csv.csv_lines(team_id, path, layout, layout.column,
                                           only_contactable=False):
            pass
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return {"rows": rows, "file_mb": round(len(data) / 1e6, 1),
            "output_mb": round(size / 1e6, 1), "counts": counts.by_status,
            "stage_s": round(staged, 2), "count_s": round(counted, 2),
            "count_rows_per_s": round(rows / counted),
            "download_s": round(streamed, 2), "download_rows_per_s": round(rows / streamed),
            "peak_python_mb": round(peak / 1e6, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pg-url", default=None)
    parser.add_argument("--sqlite-path", type=Path, default=None)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--csv-rows", type=int, default=200_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    url = database_url(args.db, args.sqlite_path, args.pg_url)
    loader = make_app(url)
    team = ensure_team(loader, args.entries)
    from dnc_app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": loader.config["SQLALCHEMY_DATABASE_URI"],
                      "SECRET_KEY": loader.config["SECRET_KEY"], "LOG_LEVEL": "WARNING",
                      "DNC_SCREEN_LIMIT": HIGH, "API_AUTH_FAILURE_LIMIT": HIGH})
    key = new_api_key(app, team["team_id"])
    report = {"db": args.db, "entries": args.entries,
              "screen_1000": bench_api(app, key, args.entries, args.requests),
              "csv": bench_csv(app, team["team_id"], args.csv_rows)}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"screening against {args.entries:,} entries ({args.db}):")
    for kind, figures in report["screen_1000"].items():
        print(f"  POST /v1/dnc/screen, 1,000 {kind:<6}  p50 {figures['p50_ms']:7.1f} ms  "
              f"p99 {figures['p99_ms']:7.1f} ms  max {figures['max_ms']:7.1f} ms "
              f"({figures['requests']} requests; target p50 < 30 ms)")
    c = report["csv"]
    print(f"  CSV screen of {c['rows']:,} rows ({c['file_mb']} MB): stage {c['stage_s']} s, "
          f"counts {c['count_s']} s ({c['count_rows_per_s']:,} rows/s), download "
          f"{c['download_s']} s ({c['download_rows_per_s']:,} rows/s, {c['output_mb']} MB), "
          f"peak Python memory {c['peak_python_mb']} MB; {c['counts']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
