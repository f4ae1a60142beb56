"""Benchmark hostile bulk uploads: parse time in-process, and a real POST /bulk/preview
against gunicorn while another client measures `/healthz`.

Usage (from the repo root):
    python bench/bench_bulk_hostile.py [--size-mib 16] [--only NAME ...] [--no-server]

Each input is SIZE MiB (less 4 KiB, so that the multipart request stays under
MAX_CONTENT_LENGTH) of one repeated unit (issue 9: one line of letters, quote-newline
pairs, runs of , ; " % / NUL CR, LinkedIn URLs with text around them …). For each:
- `csv s` / `text s`: items_from_csv(data) / items_from_text(data) in this process;
- `POST s`: the whole preview request (multipart upload of the file, parse, normalize,
  look-up, staging, page) against gunicorn (the repository's config: one process, 8
  threads, SQLite in a temp directory), and its status;
- `healthz ms`: the slowest of the `/healthz` requests sent one after the other by a
  second client while that upload ran (`healthz n`: how many), i.e. how long the upload
  held up other requests.
"""

from __future__ import annotations

import argparse
import http.client
import re
import secrets
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.common import start_gunicorn  # noqa: E402
from dnc_app.http.web.bulk_input import BulkInputError, items_from_csv, items_from_text  # noqa: E402

MiB = 1024 * 1024
PASSWORD = "bench password 123"
SECRET = "bench-hostile-secret-key-0123456789abcdef"

# name: the unit repeated to the size
SHAPES: dict[str, bytes] = {
    "letters (one line)": b"a",
    'quote-newline "\\n': b'"\n',
    "commas": b",",
    "semicolons": b";",
    "quotes": b'"',
    "percent signs": b"%",
    "slashes": b"/",
    "NUL bytes": b"\0",
    "CR only": b"\r",
    "LF only": b"\n",
    "linkedin.co (near misses)": b"linkedin.co",
    "one line of URLs+spaces": b"linkedin.com/in/a ",
    "URLs between commas": b"linkedin.com/in/a,",
    '20,000 "" cells, then a URL': b'"",' * 20_000 + b"linkedin.com/in/a\n",
    "URL, open quote, 100 LF": b'linkedin.com/in/a,"' + b"\n" * 100,
    "5,000 tabs, then a URL": b"\t" * 5_000 + b"linkedin.com/in/a\n",
    "URL of 60,000 %": b"linkedin.com/in/" + b"%" * 60_000 + b"\n",
    "URL per line (max items)": b"linkedin.com/in/a\n",
}


def build(unit: bytes, size: int) -> bytes:
    return (unit * (size // len(unit) + 1))[:size]


def parse_seconds(parse, data) -> tuple[float, str]:
    start = time.perf_counter()
    try:
        result = f"{len(parse(data)):,} items"
    except BulkInputError as exc:
        result = "refused: " + str(exc)[:40]
    return time.perf_counter() - start, result


# ----------------------------------------------------------------------------- server


class Browser:
    """One signed-in member over HTTP (session cookie kept by hand)."""

    def __init__(self, port: int):
        self.port = port
        self.cookie = ""

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            conn.request(
                method, path, body=body, headers={**(headers or {}), "Cookie": self.cookie}
            )
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            for name, value in response.getheaders():
                if name.lower() == "set-cookie" and value.startswith("session="):
                    self.cookie = value.split(";", 1)[0]
            return response.status, text
        finally:
            conn.close()

    def csrf(self, path: str) -> str:
        _status, html = self.request("GET", path)
        return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)

    def sign_in(self, email: str) -> None:
        form = urlencode(
            {"email": email, "password": PASSWORD, "csrf_token": self.csrf("/login")}
        ).encode()
        status, _ = self.request(
            "POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert status == 303, status

    def upload(self, data: bytes) -> tuple[int, float]:
        token = self.csrf("/bulk")
        boundary = uuid.uuid4().hex
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
            f'{token}\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="hostile.csv"\r\nContent-Type: text/csv\r\n\r\n'
        ).encode()
        body += data + f"\r\n--{boundary}--\r\n".encode()
        start = time.perf_counter()
        status, _ = self.request(
            "POST",
            "/bulk/preview",
            body,
            {"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        return status, time.perf_counter() - start


def healthz_while(port: int, done: threading.Event, latencies: list[float]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    while not done.is_set():
        start = time.perf_counter()
        conn.request("GET", "/healthz")
        conn.getresponse().read()
        latencies.append(time.perf_counter() - start)
        time.sleep(0.005)
    conn.close()


def seed(database_url: str, email: str) -> None:
    import os

    os.environ["SECRET_KEY"] = SECRET
    from flask_migrate import upgrade

    from dnc_app import create_app
    from dnc_app.domain.accounts.teams import create_team
    from dnc_app.domain.accounts.users import create_user
    from dnc_app.extensions import db

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": database_url, "RATELIMIT_STORAGE_URI": "memory://"}
    )
    with app.app_context():
        upgrade()
        team = create_team("Hostile bench", "hostile-" + secrets.token_hex(3))
        create_user(team.id, email, PASSWORD)
        db.engine.dispose()


def through_server(shapes: dict[str, bytes], tmp: str) -> dict[str, tuple]:
    database_url = f"sqlite:///{tmp}/bench.sqlite3"
    email = "hostile@example.com"
    seed(database_url, email)
    env = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET,
        "BULK_UPLOAD_DIR": f"{tmp}/uploads",
        "RATELIMIT_STORAGE_URI": "memory://",
    }
    results = {}
    with start_gunicorn(env, workers=1, threads=8) as server:
        member = Browser(server.port)
        member.sign_in(email)
        for name, data in shapes.items():
            done, latencies = threading.Event(), []
            watcher = threading.Thread(target=healthz_while, args=(server.port, done, latencies))
            watcher.start()
            try:
                status, seconds = member.upload(data)
            finally:
                done.set()
                watcher.join()
            results[name] = (status, seconds, max(latencies, default=0.0), len(latencies))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=float, default=16)
    parser.add_argument("--only", nargs="*", help="shape names containing these words")
    parser.add_argument("--no-server", action="store_true", help="in-process parse only")
    args = parser.parse_args()
    size = int(args.size_mib * MiB) - 4096
    shapes = {
        name: build(unit, size)
        for name, unit in SHAPES.items()
        if not args.only or any(word in name for word in args.only)
    }
    served = {}
    if not args.no_server:
        with tempfile.TemporaryDirectory() as tmp:
            served = through_server(shapes, tmp)
    print(f"hostile bulk uploads of {args.size_mib:g} MiB")
    print(
        f"{'input':30} {'csv s':>6} {'text s':>6} {'POST s':>6} {'status':>6} "
        f"{'healthz ms':>10} {'healthz n':>9}  csv result"
    )
    for name, data in shapes.items():
        csv_s, csv_result = parse_seconds(items_from_csv, data)
        text_s, _ = parse_seconds(items_from_text, data.decode("latin-1"))
        status, post_s, health_max, health_n = served.get(name, ("-", 0.0, 0.0, 0))
        print(
            f"{name:30} {csv_s:6.2f} {text_s:6.2f} {post_s:6.2f} {status:>6} "
            f"{health_max * 1000:10.0f} {health_n:9}  {csv_result}"
        )


if __name__ == "__main__":
    main()
