"""Benchmark the team pages' bulk add: upload a CSV of N lines, preview, confirm.

Usage (from the repo root):
    python bench/bench_web_bulk.py [--lines 100000] [--database-url URL] [--json]

Without --database-url a fresh SQLite file in a temp directory is used; with a
PostgreSQL URL the schema is migrated there, a throwaway team is created and deleted
again at the end. The requests go through the whole Flask app in-process (the test
client: CSRF, session, multipart parsing, templates), not over a socket.

The CSV has a header row and three columns (name, profile URL, email); ~1% of the
lines are invalid and ~1% repeat an earlier profile, so every preview kind is exercised.
Reported: seconds for the preview request (parse + normalize + lookup + save the
pending list) and for the confirm request (one add_entries transaction), and the rate.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import sys
import tempfile
import time
from io import BytesIO
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from werkzeug.datastructures import FileStorage  # noqa: E402
from werkzeug.test import encode_multipart  # noqa: E402

PASSWORD = "bench password 123"


def make_csv(lines: int) -> bytes:
    rows = ["name,profile,email"]
    for i in range(lines - 1):
        if i % 100 == 37:
            url = f"https://www.linkedin.com/company/acme-{i}"  # invalid: not a person
        elif i % 100 == 71:
            url = f"linkedin.com/in/person-{i - 50:07d}"  # repeats an earlier line
        else:
            url = f"https://www.linkedin.com/in/person-{i:07d}/"
        rows.append(f"Person {i},{url},p{i}@example.com")
    return ("\r\n".join(rows) + "\r\n").encode()


def run(lines: int, database_url: str | None) -> dict:
    os.environ.setdefault("SECRET_KEY", "bench-secret")
    from flask_migrate import upgrade

    from dnc_app import create_app
    from dnc_app.domain.accounts.teams import create_team
    from dnc_app.domain.accounts.users import create_user
    from dnc_app.extensions import db
    from dnc_app.storage.models import Team

    tmp = tempfile.TemporaryDirectory()
    url = database_url or f"sqlite:///{tmp.name}/bench.sqlite3"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench-secret",
            "TESTING": True,
            "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
            "BULK_UPLOAD_DIR": f"{tmp.name}/uploads",
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )
    slug = "bench-" + secrets.token_hex(4).lower()
    with app.app_context():
        upgrade()
        team = create_team("Bench", slug)
        create_user(team.id, f"{slug}@example.com", PASSWORD)
        team_id = team.id
    client = app.test_client()
    try:
        token = _token(client.get("/login"))
        client.post(
            "/login",
            data={"email": f"{slug}@example.com", "password": PASSWORD, "csrf_token": token},
        )
        token = _token(client.get("/bulk"))
        data = make_csv(lines)
        boundary, body = encode_multipart(
            {"csrf_token": token, "file": FileStorage(BytesIO(data), filename="people.csv")}
        )

        start = time.perf_counter()
        response = client.post(
            "/bulk/preview", data=body, content_type=f"multipart/form-data; boundary={boundary}"
        )
        preview_s = time.perf_counter() - start
        html = response.get_data(as_text=True)
        assert response.status_code == 200, html[:500]
        counts = dict(re.findall(r'tally-(\w+)"><strong>([\d,]+)</strong>', html))
        pending = re.search(r'name="token" value="([^"]+)"', html).group(1)

        start = time.perf_counter()
        response = client.post("/bulk/confirm", data={"token": pending, "csrf_token": token})
        confirm_s = time.perf_counter() - start
        summary = response.get_data(as_text=True)
        assert response.status_code == 200, summary[:500]
        added = re.search(r"Done: ([\d,]+) profile", summary).group(1)
        with app.app_context():
            stored = db.session.get(Team, team_id).entry_count
    finally:
        with app.app_context():
            team = db.session.get(Team, team_id)
            db.session.delete(team)  # cascades to its entries, audit events, members
            db.session.commit()
            db.engine.dispose()
        tmp.cleanup()
    return {
        "database": app.config["SQLALCHEMY_DATABASE_URI"].split(":", 1)[0],
        "lines": lines,
        "upload_bytes": len(data),
        "preview_counts": counts,
        "added": int(added.replace(",", "")),
        "stored": stored,
        "preview_seconds": round(preview_s, 2),
        "confirm_seconds": round(confirm_s, 2),
        "total_seconds": round(preview_s + confirm_s, 2),
        "urls_per_second": round(lines / (preview_s + confirm_s)),
    }


def _token(response) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', response.get_data(as_text=True)).group(
        1
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.lines, args.database_url)
    if args.json:
        print(json.dumps(result))
        return
    print(f"bulk add via the team pages, {result['database']}")
    print(f"  upload:   {result['lines']:,} lines, {result['upload_bytes'] / 1e6:.1f} MB CSV")
    print(f"  preview:  {result['preview_seconds']:.2f} s  {result['preview_counts']}")
    print(
        f"  confirm:  {result['confirm_seconds']:.2f} s  ({result['added']:,} added, "
        f"{result['stored']:,} stored)"
    )
    print(f"  total:    {result['total_seconds']:.2f} s  ({result['urls_per_second']:,} lines/s)")


if __name__ == "__main__":
    main()
