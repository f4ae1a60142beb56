"""Screening a prospect CSV: staging the upload, finding the LinkedIn column, and the
file streamed back with `dnc_status` and `dnc_url` added.

Memory stays constant whatever the number of rows: the upload is copied to a file
(converted to UTF-8) a block at a time, and every later pass reads that file a record
at a time and screens CHUNK_ROWS rows per query. The delimiter is found the way bulk add
finds it (bulk_input.detect_delimiter: counts over the first lines, no csv.Sniffer);
the LinkedIn column is the one whose sample cells mention linkedin.com most often. Each
record is read by the csv module (linear; a field is bounded by csv.field_size_limit
and the upload by MAX_CONTENT_LENGTH).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from .. import entries
from .bulk_input import SAMPLE_BYTES, SAMPLE_LINES, BulkInputError, detect_delimiter
from .export import safe_cell

CHUNK_ROWS = 1000  # rows screened per query
BLOCK = 64 * 1024  # bytes copied at a time when staging
STAGED_TTL = 3600  # seconds a staged upload can still be downloaded
STATUSES = ("listed", "not_listed", "invalid")
ADDED_COLUMNS = ["dnc_status", "dnc_url"]


# --------------------------------------------------------------------------- staging


def member_dir(base: str | os.PathLike, team_id: str, user_id: int) -> Path:
    return Path(base) / "screen" / team_id / str(user_id)


def _copy_as_utf8(upload, target, encoding: str) -> None:
    decoder = codecs.getincrementaldecoder(encoding)()
    while block := upload.read(BLOCK):
        target.write(decoder.decode(block).encode("utf-8", "surrogatepass"))
    target.write(decoder.decode(b"", final=True).encode("utf-8", "surrogatepass"))


def stage(upload, directory: Path) -> str:
    """Copy the uploaded file (a binary stream) into `directory` as UTF-8; its token.

    The member's older uploads, and any older than STAGED_TTL, are removed: one staged
    file per member. UTF-16 with a BOM (Excel's "Unicode text"), UTF-8 (with or without
    BOM), else Latin-1, which decodes any byte (URLs are ASCII anyway)."""
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.csv"):
        old.unlink(missing_ok=True)
    token = secrets.token_urlsafe(24)
    path = directory / f"{token}.csv"
    head = upload.read(2)
    encoding = "utf-16" if head in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else "utf-8-sig"
    for attempt in (encoding, "latin-1"):
        upload.seek(0)
        try:
            with open(path, "wb") as target:
                _copy_as_utf8(upload, target, attempt)
            return token
        except UnicodeDecodeError:
            if attempt == "utf-16":
                path.unlink(missing_ok=True)
                raise BulkInputError(
                    "The file starts like UTF-16 text but is not valid UTF-16. Save it again "
                    "as CSV (UTF-8) and upload that.") from None
    raise AssertionError("latin-1 decodes any byte")  # pragma: no cover


def staged_path(directory: Path, token: str) -> Path | None:
    """The member's staged file for `token`, if it is there and not expired."""
    if not (isinstance(token, str) and len(token) == 32
            and token.replace("-", "").replace("_", "").isalnum()):
        return None
    path = directory / f"{token}.csv"
    try:
        if path.stat().st_mtime < time.time() - STAGED_TTL:
            path.unlink(missing_ok=True)
            return None
    except FileNotFoundError:
        return None
    return path


# --------------------------------------------------------------------------- layout


@dataclass
class Layout:
    """How the staged file reads: its delimiter, header and LinkedIn column."""

    delimiter: str
    header: list[str]
    has_header: bool
    column: int | None  # the detected LinkedIn column, or None

    @property
    def width(self) -> int:
        return len(self.header)


def _reader(fh, delimiter: str):
    dialect = type("Upload", (csv.excel,), {"delimiter": delimiter})
    return csv.reader(fh, dialect)


def _open(path: Path):
    return open(path, encoding="utf-8", errors="replace", newline="")


def _records(path: Path, delimiter: str) -> Iterator[list[str]]:
    """The file's non-blank records; a record the csv module refuses is an error that
    names its line."""
    with _open(path) as fh:
        reader = _reader(fh, delimiter)
        try:
            for row in reader:
                if any(cell.strip() for cell in row):
                    yield row
        except csv.Error as exc:
            raise BulkInputError(f"The file could not be read as CSV (line "
                                 f"{reader.line_num:,}: {exc}).") from None


def _is_profile(cell: str) -> bool:
    try:
        entries.normalize(cell)
    except entries.InvalidURL:
        return False
    return True


def read_layout(path: Path) -> Layout:
    """The delimiter, the header (when the first row holds no profile URL) and the
    column whose sample cells are profile URLs most often (a column named "linkedin…"
    when no sample cell is one)."""
    with open(path, "rb") as fh:
        sample = fh.read(SAMPLE_BYTES + 1)
    found = detect_delimiter(sample)
    delimiter = found.decode() if found else ","
    rows = list(islice(_records(path, delimiter), SAMPLE_LINES + 1))
    if not rows:
        raise BulkInputError("The file is empty.")
    width = max(len(row) for row in rows)
    hits = [[i < len(row) and _is_profile(row[i]) for row in rows] for i in range(width)]
    has_header = not any(column[0] for column in hits)
    scores = [sum(column) for column in hits]
    named = [i for i, name in enumerate(rows[0]) if "linkedin" in name.lower()]
    column = None
    if max(scores) > 0:
        column = scores.index(max(scores))
    elif has_header and named:
        column = named[0]
    header = (list(rows[0]) + [f"Column {i + 1}" for i in range(len(rows[0]), width)]
              if has_header else [f"Column {i + 1}" for i in range(width)])
    return Layout(delimiter, header, has_header, column)


# --------------------------------------------------------------------------- screening


@dataclass
class Counts:
    rows: int = 0
    by_status: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))


def _data_rows(path: Path, layout: Layout) -> Iterator[list[str]]:
    records = _records(path, layout.delimiter)
    if layout.has_header:
        next(records, None)
    return records


def screened_chunks(team_id: str, path: Path, layout: Layout, column: int
                    ) -> Iterator[list[tuple[list[str], entries.Screened]]]:
    """(row, result) pairs, CHUNK_ROWS rows (one query) at a time, in file order."""
    rows = _data_rows(path, layout)
    while chunk := list(islice(rows, CHUNK_ROWS)):
        cells = [row[column].strip() if column < len(row) else "" for row in chunk]
        results = entries.screen_urls(team_id, cells)
        # Each chunk's read ends its transaction: no snapshot is held for the whole file.
        entries.end_read()
        yield list(zip(chunk, results, strict=True))


def count(team_id: str, path: Path, layout: Layout, column: int) -> Counts:
    counts = Counts()
    for chunk in screened_chunks(team_id, path, layout, column):
        counts.rows += len(chunk)
        for _row, result in chunk:
            counts.by_status[result.status] += 1
    return counts


def csv_lines(team_id: str, path: Path, layout: Layout, column: int, *,
              only_contactable: bool) -> Iterator[str]:
    """The file with `dnc_status` and `dnc_url` added (every cell formula-safe), a chunk
    of rows at a time; with `only_contactable`, only the `not_listed` rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    width = layout.width
    writer.writerow([safe_cell(c) for c in layout.header] + ADDED_COLUMNS)
    for chunk in screened_chunks(team_id, path, layout, column):
        for row, result in chunk:
            if only_contactable and result.status != "not_listed":
                continue
            padded = row + [""] * (width - len(row))
            writer.writerow([safe_cell(c) for c in padded]
                            + [result.status, safe_cell(result.url)])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
