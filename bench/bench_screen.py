"""Benchmark screening: POST /v1/dnc/screen of 1,000 URLs (or digests) against a list of a
million entries, and the CSV screen of a 200,000-row prospect file through the page.

Usage (from the repo root):
    python bench/bench_screen.py [--db sqlite|postgresql] [--db-url URL]
                                 [--sqlite-path PATH] [--entries 1000000]
                                 [--requests 50] [--csv-rows 200000] [--json]

    # SQLite: the million entries are loaded once into $TMPDIR/dnc-bench/bench.sqlite3
    # (a few minutes) and reused by every later run.
    python bench/bench_screen.py
    # PostgreSQL: any database you can write to (loaded once, reused likewise).
    python bench/bench_screen.py --db-url postgresql://postgres@127.0.0.1:5432/dnc_bench

1. Loads the list (bench/load_entries.py; reused when already loaded) and creates a key.
2. screen: --requests sequential POST /v1/dnc/screen of 1,000 URLs in non-normalized
   forms (half listed, spread over the whole list; --aliases entries get an alias first,
   and one in five listed URLs screened is one of those aliases), through the whole Flask stack
   in-process (test client: routing, key check, rate limiter, JSON), then the same with
   `sha256`; p50/p95/max of the wall time in ms, and the p50 of the process's CPU time
   (what the wall time would be on an idle machine). Target: p50 < 30 ms.
3. csv: a 200,000-row prospect CSV (name, company, LinkedIn URL, e-mail; 1 in 10
   listed, 1 in 100 invalid) through the "Screen a prospect list" page as a browser with
   htmx uses it: the upload (its answer is the first progress shown), the counting
   steps to the counts, then the download of all rows with their status. Rows/s of the
   counts and of the download, and the peak memory of the server side: Python's
   allocations during the passes (tracemalloc, a second run) and the process's peak
   RSS (ru_maxrss).
"""

from __future__ import annotations

import argparse
import io
import json
import random
import re
import resource
import secrets
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
WARM_UP = 3  # requests not measured (first statements compiled, caches filled)
KINDS = ("urls", "sha256", "prospects")
COMPANIES, BLOCKED_COMPANIES = 1000, 100  # prospects' companies; a tenth of them blocked
HTMX = {"HX-Request": "true"}
NEXT_STEP = re.compile(r'hx-get="(/screen/[\w-]{32}/progress\?column=\d+)"')


def _percentiles(samples: list[float], cpu: list[float]) -> dict:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 2),
        "max_ms": round(ordered[-1], 2),
        "cpu_p50_ms": round(statistics.median(cpu), 2),
        "requests": len(ordered),
    }


def alias_url(k: int) -> str:
    """The alias given to the k-th aliased entry (ensure_aliases)."""
    return f"https://linkedin.com/in/bench-alias-{k:07d}"


def ensure_aliases(app, team_id: str, entries: int, count: int) -> None:
    """Give `count` entries, spread over the list, an alias each (through the service;
    a rerun finds them there and changes nothing)."""
    from dnc_app.domain.changelog import Actor, ActorType
    from dnc_app.domain.entries import aliases, find_by_url

    actor = Actor(ActorType.CLI, None, "bench")
    with app.app_context():
        for k in range(count):
            entry = find_by_url(team_id, listed_url(k * (entries // count)))
            assert entry is not None
            if alias_url(k) not in entry.alias_list:
                aliases.add_aliases(team_id, entry.id, [alias_url(k)], source="cli", actor=actor)


def _urls(rng: random.Random, entries: int, aliased: int = 0) -> list[str]:
    """1,000 URLs: half listed (spread over the list; with `aliased` entries that have an
    alias, one in five of those by an alias), half not, in client forms."""
    urls = []
    for i in range(BATCH):
        n = rng.randrange(entries)
        name = f"bench-{n:07d}" if i % 2 == 0 else f"prospect-{rng.randrange(10**9):09d}"
        if aliased and i % 10 == 0:
            name = alias_url(rng.randrange(aliased)).rsplit("/", 1)[1]
        urls.append(
            f"https://www.linkedin.com/in/{name}/" if i % 4 < 2 else f"linkedin.com/in/{name}"
        )
    return urls


def _company(i: int) -> str:
    return f"https://www.linkedin.com/company/bench-co-{i}/"


def ensure_blocks(app, team_id: str) -> None:
    """BLOCKED_COMPANIES company blocks in the team (kept: reused by later runs)."""
    from dnc_app.domain import companies
    from dnc_app.domain.changelog import Actor, ActorType

    actor = Actor(ActorType.CLI, None, "bench")
    with app.app_context():
        for i in range(BLOCKED_COMPANIES):
            try:
                companies.add_block(team_id, _company(i), source="cli", actor=actor)
            except companies.AlreadyBlocked:
                pass


def _items(kind: str, urls: list[str], rng: random.Random) -> list:
    from dnc_app.domain.entries import normalize, url_digest

    if kind == "urls":
        return urls
    if kind == "sha256":  # a connector hashes the normalized URL
        return [url_digest(normalize(u)) for u in urls]
    # prospects: each with one of COMPANIES companies, BLOCKED_COMPANIES of them blocked.
    return [{"url": u, "companyUrl": _company(rng.randrange(COMPANIES))} for u in urls]


def bench_api(app, key: str, entries: int, requests: int, kinds=KINDS, aliased: int = 0) -> dict:
    client = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    rng = random.Random(11)
    results = {}
    for kind in kinds:
        samples, cpu = [], []
        for i in range(requests + WARM_UP):
            items = _items(kind, _urls(rng, entries, aliased), rng)
            started, started_cpu = time.perf_counter(), time.process_time()
            resp = client.post("/v1/dnc/screen", json={kind: items}, headers=headers)
            if i >= WARM_UP:
                samples.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - started_cpu) * 1000)
            data = resp.get_json()["data"]
            assert resp.status_code == 200 and data["listed"] == BATCH // 2, data["listed"]
        results[kind] = _percentiles(samples, cpu)
    return results


def _prospect_csv(rows: int, with_companies: bool = False) -> bytes:
    out = io.StringIO()
    extra = ",Company LinkedIn URL" if with_companies else ""
    out.write(f"First name,Company,LinkedIn,Email{extra}\r\n")
    for i in range(rows):
        if i % 100 == 99:
            url = "https://www.linkedin.com/company/acme"
        elif i % 10 == 0:
            url = "https://www.linkedin.com/in/" + listed_url(i).rsplit("/", 1)[1] + "/"
        else:
            url = f"https://www.linkedin.com/in/prospect-{i:07d}/"
        company = f",{_company(i % COMPANIES)}" if with_companies else ""
        out.write(f"Person {i},Company {i % 977},{url},p{i}@example.com{company}\r\n")
    return out.getvalue().encode()


def _member(app, team_id: str):
    """A test client signed in (through the sign-in form) as a new member of the team."""
    from dnc_app.domain.accounts.users import create_user

    email, password = f"bench-{secrets.token_hex(6)}@example.com", secrets.token_hex(12)
    with app.app_context():
        create_user(team_id, email, password)
    client = app.test_client()
    resp = client.post("/login", data={"email": email, "password": password})
    assert resp.status_code in (302, 303), resp.status_code
    return client


def _screen_through_the_page(client, body: bytes, boundary: str) -> dict:
    """Upload, count step by step as htmx does, download: the timings and the counts."""
    started = time.perf_counter()
    resp = client.post(
        "/screen", data=body, headers=HTMX, content_type=f"multipart/form-data; boundary={boundary}"
    )
    first = time.perf_counter() - started
    html = resp.get_data(as_text=True)
    steps = 1
    while (link := NEXT_STEP.search(html)) is not None:
        html = client.get(link.group(1), headers=HTMX).get_data(as_text=True)
        steps += 1
    counted = time.perf_counter() - started
    counts = {
        status: int(n.replace(",", ""))
        for status, n in re.findall(r'data-count="(\w+)">([\d,]+)<', html)
    }
    download = re.search(r'id="download-all" download\s+href="([^"]+)"', html).group(1)
    started = time.perf_counter()
    resp = client.get(download.replace("&amp;", "&"))
    size = sum(len(piece) for piece in resp.response)
    resp.close()
    return {
        "first_progress_s": first,
        "count_s": counted,
        "steps": steps,
        "counts": counts,
        "download_s": time.perf_counter() - started,
        "output_bytes": size,
    }


def bench_csv(app, team_id: str, rows: int, with_companies: bool = False) -> dict:
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    data = _prospect_csv(rows, with_companies)
    boundary, body = encode_multipart(
        {"file": FileStorage(io.BytesIO(data), filename="prospects.csv")}
    )
    client = _member(app, team_id)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    run = _screen_through_the_page(client, body, boundary)
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # With a company column, "may be contacted" leaves out the rows of blocked companies.
    if "blocked" not in run["counts"]:
        assert sum(run["counts"].values()) == rows, run["counts"]
    tracemalloc.start()
    _screen_through_the_page(client, body, boundary)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "rows": rows,
        "file_mb": round(len(data) / 1e6, 1),
        "output_mb": round(run["output_bytes"] / 1e6, 1),
        "counts": run["counts"],
        "first_progress_s": round(run["first_progress_s"], 2),
        "steps": run["steps"],
        "count_s": round(run["count_s"], 2),
        "count_rows_per_s": round(rows / run["count_s"]),
        "download_s": round(run["download_s"], 2),
        "download_rows_per_s": round(rows / run["download_s"]),
        "peak_python_mb": round(peak / 1e6, 2),
        # ru_maxrss is in KiB on Linux: the growth of the process's peak during the run
        # (the list of entries and the upload's bytes are already in memory before).
        "rss_peak_mb": round(rss_after / 1024, 1),
        "rss_peak_growth_mb": round((rss_after - rss_before) / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--db-url",
        "--pg-url",
        dest="db_url",
        default=None,
        help="a database URL (sqlite:///… or postgresql://…); sets --db",
    )
    parser.add_argument("--sqlite-path", type=Path, default=None)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--csv-rows", type=int, default=200_000)
    parser.add_argument(
        "--aliases", type=int, default=1000, help="entries given an alias (screened by it)"
    )
    parser.add_argument(
        "--kinds",
        default=",".join(KINDS),
        help="the screen bodies to measure, of urls, sha256 and prospects (1,000 people "
        f"each with one of {COMPANIES:,} company pages, {BLOCKED_COMPANIES} of them blocked)",
    )
    parser.add_argument(
        "--csv-companies",
        action="store_true",
        help="the prospect CSV has a company page column too",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.db_url:
        args.db = "sqlite" if args.db_url.startswith("sqlite") else "postgresql"
    url = (
        args.db_url
        if args.db_url and args.db == "postgresql"
        else database_url(args.db, args.sqlite_path or _sqlite_path(args.db_url))
    )
    loader = make_app(url)
    team = ensure_team(loader, args.entries)
    if args.aliases:
        ensure_aliases(loader, team["team_id"], args.entries, args.aliases)
    from dnc_app import create_app

    with tempfile.TemporaryDirectory() as uploads:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": loader.config["SQLALCHEMY_DATABASE_URI"],
                "SECRET_KEY": loader.config["SECRET_KEY"],
                "LOG_LEVEL": "WARNING",
                "DNC_SCREEN_LIMIT": HIGH,
                "API_AUTH_FAILURE_LIMIT": HIGH,
                "WEB_BULK_LIMIT": HIGH,
                "LOGIN_RATE_LIMIT": HIGH,
                "LOGIN_ACCOUNT_RATE_LIMIT": HIGH,
                "WTF_CSRF_ENABLED": False,
                "BULK_UPLOAD_DIR": uploads,
            }
        )
        key = new_api_key(app, team["team_id"])
        kinds = tuple(k for k in args.kinds.split(",") if k)
        if "prospects" in kinds or args.csv_companies:
            ensure_blocks(app, team["team_id"])
        report = {
            "db": args.db,
            "entries": args.entries,
            "aliased": args.aliases,
            "screen_1000": bench_api(app, key, args.entries, args.requests, kinds, args.aliases),
            "csv": bench_csv(app, team["team_id"], args.csv_rows, args.csv_companies)
            if args.csv_rows
            else None,
        }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"screening against {args.entries:,} entries ({args.db}; {args.aliases:,} with an "
        "alias, one in ten URLs screened by an alias):"
    )
    for kind, figures in report["screen_1000"].items():
        print(
            f"  POST /v1/dnc/screen, 1,000 {kind:<9}  p50 {figures['p50_ms']:6.1f} ms  "
            f"p95 {figures['p95_ms']:6.1f} ms  max {figures['max_ms']:6.1f} ms  "
            f"(CPU p50 {figures['cpu_p50_ms']:.1f} ms; {figures['requests']} requests; "
            f"target p50 < 30 ms)"
        )
    c = report["csv"]
    if c is None:
        return 0
    print(
        f"  CSV screen of {c['rows']:,} rows ({c['file_mb']} MB) through the page: first "
        f"progress after {c['first_progress_s']} s, counts after {c['count_s']} s "
        f"({c['steps']} steps, {c['count_rows_per_s']:,} rows/s), download "
        f"{c['download_s']} s ({c['download_rows_per_s']:,} rows/s, {c['output_mb']} MB); "
        f"peak Python memory {c['peak_python_mb']} MB, peak RSS {c['rss_peak_mb']} MB "
        f"(+{c['rss_peak_growth_mb']} MB during the run); {c['counts']}"
    )
    return 0


def _sqlite_path(url: str | None) -> Path | None:
    return Path(url.removeprefix("sqlite:///")) if url else None


if __name__ == "__main__":
    raise SystemExit(main())
