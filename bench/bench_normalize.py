"""Benchmark dnc_app.domain.normalize.normalize_linkedin_url on one core.

Usage (from the repo root):  python bench/bench_normalize.py [--seconds 2] [--json]

Measures four workloads, each for an equal share of --seconds:

* typical   -- one plain URL, "https://www.linkedin.com/in/john-doe-123/"
* accepted  -- ~10k varied accepted URLs (schemes, subdomains, case, query strings,
               extra segments, percent-encoded and raw non-ASCII usernames)
* rejected  -- ~1k varied rejected URLs (other hosts, company pages, bad encoding, ...)
* mixed     -- the accepted and rejected lists shuffled together

Each workload is timed in batches of BATCH_SIZE calls; the report gives URLs/s over the
whole run, the mean per-URL time, and the p50/p99 of per-URL time across batches.
The loop is single-threaded, so this is a one-core figure.  ``run(seconds)`` returns
the figures as a dict so other benchmark scripts can reuse them.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from dnc_app.domain.normalize import InvalidURL, normalize_linkedin_url  # noqa: E402

BATCH_SIZE = 1000
TYPICAL_URL = "https://www.linkedin.com/in/john-doe-123/"

_FIRST = ["john", "jane", "maria", "wei", "ahmed", "olga", "kenji", "priya", "lucas", "emma"]
_LAST = ["doe", "smith", "garcia", "zhang", "khan", "ivanova", "sato", "patel", "silva", "li"]
_UNICODE = ["jürgen", "maría", "françois", "søren", "дмитрий", "中文", "josé", "zoë"]
_PREFIXES = [
    "https://www.linkedin.com/in/",
    "https://www.linkedin.com/in/",
    "https://www.linkedin.com/in/",
    "https://linkedin.com/in/",
    "http://www.linkedin.com/in/",
    "www.linkedin.com/in/",
    "linkedin.com/in/",
    "in/",
    "https://uk.linkedin.com/in/",
    "https://de.linkedin.com/in/",
    "https://m.linkedin.com/in/",
    "HTTPS://WWW.LINKEDIN.COM/IN/",
]
_SUFFIXES = [
    "",
    "/",
    "/",
    "/",
    "?trk=public_profile_browsemap",
    "/?originalSubdomain=uk",
    "/details/experience/",
    "#experience",
    "?utm_source=share&utm_campaign=share_via&utm_medium=ios_app",
]
_REJECTED_TEMPLATES = [
    "https://www.linkedin.com/company/{u}",
    "https://www.linkedin.com/school/{u}/",
    "https://www.linkedin.com/sales/company/{n}",
    "https://www.linkedin.com/sales/lead/acwaa{n},NAME_SEARCH,abc",
    "https://www.linkedin.com/pub/{u}/1/23",  # /pub/NAME/A/B/C converts; this shape does not
    "https://www.linkedin.com/feed/update/urn:li:activity:{n}/",
    "https://linkedin.com.evil.com/in/{u}",
    "https://evil.com/in/{u}",
    "https://user@linkedin.com/in/{u}",
    "ftp://linkedin.com/in/{u}",
    "https://linkedin.com:8080/in/{u}",
    "https://linkedin.com/in/{u}%zz",
    "https://linkedin.com/in/{u}%2525",
    "https://linkedin.com/in/{u} {u}",
    "https://linkedin.com/in/",
    "not a url at all",
    "",
]


def _username(rng: random.Random) -> str:
    kind = rng.random()
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    if kind < 0.55:
        return f"{first}-{last}-{rng.randrange(10**6):x}"
    if kind < 0.75:
        return f"{first}{last}{rng.randrange(100)}"
    if kind < 0.85:
        return f"{first.capitalize()}-{last.capitalize()}"
    if kind < 0.93:
        return f"{first}_{last}"
    name = f"{rng.choice(_UNICODE)}-{last}"
    if kind < 0.97:
        return name
    return "".join(c if c.isascii() else "".join(f"%{b:02X}" for b in c.encode()) for c in name)


_TOKEN_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _token(rng: random.Random, head: str) -> str:
    return head + "".join(rng.choice(_TOKEN_CHARS) for _ in range(34))


def make_accepted(n: int = 10_000, seed: int = 1) -> list[str]:
    """Mostly vanity URLs; one in twenty a member token, one in twenty a Sales Navigator lead."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.05:
            out.append(rng.choice(_PREFIXES) + _token(rng, "ACoAA") + rng.choice(_SUFFIXES))
        elif kind < 0.10:
            out.append(
                "https://www.linkedin.com/sales/lead/"
                + _token(rng, "ACwAA")
                + ",NAME_SEARCH,"
                + _token(rng, "")[:4]
            )
        else:
            out.append(rng.choice(_PREFIXES) + _username(rng) + rng.choice(_SUFFIXES))
    return out


def make_rejected(n: int = 1_000, seed: int = 2) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        template = rng.choice(_REJECTED_TEMPLATES)
        out.append(template.format(u=_username(rng), n=rng.randrange(10**9)))
    return out


def _check(urls: list[str], *, accepted: bool) -> None:
    for url in urls:
        try:
            normalize_linkedin_url(url)
        except InvalidURL:
            ok = not accepted
        else:
            ok = accepted
        if not ok:
            raise AssertionError(f"unexpected outcome for {url!r} (accepted={accepted})")


def _measure(urls: list[str], seconds: float) -> dict:
    """Time normalize_linkedin_url over `urls` (cycled) in batches for ~`seconds`."""
    normalize = normalize_linkedin_url
    invalid = InvalidURL
    clock = time.perf_counter_ns
    batches = [urls[i : i + BATCH_SIZE] for i in range(0, len(urls), BATCH_SIZE)]
    batches = [b for b in batches if len(b) == BATCH_SIZE] or [urls]
    per_url_ns: list[float] = []
    total_ns = 0
    total_urls = 0
    deadline = clock() + int(seconds * 1e9)
    i = 0
    while True:
        batch = batches[i % len(batches)]
        i += 1
        start = clock()
        for url in batch:
            try:
                normalize(url)
            except invalid:
                pass
        elapsed = clock() - start
        per_url_ns.append(elapsed / len(batch))
        total_ns += elapsed
        total_urls += len(batch)
        if clock() >= deadline and i >= 3:
            break
    per_url_ns.sort()
    p99_index = min(len(per_url_ns) - 1, int(len(per_url_ns) * 0.99))
    return {
        "urls": total_urls,
        "batches": len(per_url_ns),
        "urls_per_sec": total_urls / (total_ns / 1e9),
        "mean_us": total_ns / total_urls / 1e3,
        "p50_us": statistics.median(per_url_ns) / 1e3,
        "p99_us": per_url_ns[p99_index] / 1e3,
    }


def run(seconds: float = 2.0) -> dict:
    """Run all workloads for about `seconds` in total; return figures per workload."""
    accepted = make_accepted()
    rejected = make_rejected()
    _check(accepted, accepted=True)
    _check(rejected, accepted=False)
    mixed = accepted + rejected
    random.Random(3).shuffle(mixed)
    workloads = {
        "typical": [TYPICAL_URL] * BATCH_SIZE,
        "accepted": accepted,
        "rejected": rejected,
        "mixed": mixed,
    }
    share = seconds / len(workloads)
    results = {name: _measure(urls, share) for name, urls in workloads.items()}
    results["meta"] = {
        "python": sys.version.split()[0],
        "seconds": seconds,
        "batch_size": BATCH_SIZE,
        "accepted_urls": len(accepted),
        "rejected_urls": len(rejected),
    }
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="total run time (default 2)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    results = run(args.seconds)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    meta = results["meta"]
    print(
        f"normalize_linkedin_url, one core, Python {meta['python']}, "
        f"{meta['accepted_urls']} accepted + {meta['rejected_urls']} rejected URLs"
    )
    print(f"{'workload':<10} {'URLs/s':>12} {'mean µs':>9} {'p50 µs':>9} {'p99 µs':>9}")
    for name in ("typical", "accepted", "rejected", "mixed"):
        r = results[name]
        print(
            f"{name:<10} {r['urls_per_sec']:>12,.0f} {r['mean_us']:>9.2f} "
            f"{r['p50_us']:>9.2f} {r['p99_us']:>9.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
