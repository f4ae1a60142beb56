"""Screening a prospect CSV: staging the upload, finding the LinkedIn column, and the
file streamed back with `dnc_status` and `dnc_url` added.

Memory stays constant whatever the number of rows: the upload is copied to a file
(converted to UTF-8) a block at a time, and every later pass reads that file a record
at a time and screens CHUNK_ROWS rows per query. The delimiter is found the way bulk add
finds it (bulk_input.detect_delimiter: counts over the first lines, no csv.Sniffer);
the LinkedIn column is the one whose sample cells mention linkedin.com most often. Each
record is read by the csv module (linear; a field is bounded by csv.field_size_limit
and the upload by MAX_CONTENT_LENGTH).

The counts of a large file are made a step at a time (count_step), so that a page can
show progress: how far a column's count has got (a Progress: the offset of the next
record, the lines read and the counts so far) is kept in a small JSON file beside the
staged file, so any process can take the next step, and it goes when the file goes.
"""

from __future__ import annotations

import codecs
import csv
import fcntl
import io
import json
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path

from sqlalchemy import select

from dnc_app.domain import companies, entries
from dnc_app.domain.pending_uploads import AREAS, SCREEN, team_dir
from dnc_app.extensions import db
from dnc_app.http.web.bulk_input import SAMPLE_BYTES, SAMPLE_LINES, BulkInputError, detect_delimiter
from dnc_app.http.web.export import safe_cell
from dnc_app.storage.models import Team, User

CHUNK_ROWS = 1000  # rows screened per query
BLOCK = 64 * 1024  # bytes copied at a time when staging
STAGED_TTL = 3600  # seconds a staged upload can still be downloaded
LOCK_WAIT = 10.0  # seconds a member's request waits for their previous one (a few steps)
LOCK_POLL = 0.05
STATUSES = ("listed", "not_listed", "invalid")
ADDED_COLUMNS = ["dnc_status", "dnc_url"]
# Added too when the file has a company column: the id of the block that applies.
COMPANY_COLUMN = "dnc_blocked_by_company"
# Header names of a company column, compared without case, spaces, "_" and "-". A bare
# "Company" column usually holds names, not pages: it counts only by its cells.
COMPANY_HEADERS = frozenset(
    {
        "companyurl",
        "companylinkedin",
        "companylinkedinurl",
        "companylinkedinpage",
        "companypage",
        "companypageurl",
        "linkedincompany",
        "linkedincompanyurl",
    }
)


# --------------------------------------------------------------------------- staging


class Busy(Exception):
    """Another request of the same member still holds their screening directory."""


@contextmanager
def member_lock(directory: Path, wait: float = LOCK_WAIT) -> Iterator[None]:
    """The member's screening work, one request at a time (an upload, a step, a column):
    a second upload waits for the first to finish its bounded work, then replaces it,
    instead of deleting the file the first is reading. An flock on the directory, so it
    holds across the server's processes and goes with a crashed one."""
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise Busy from None
                time.sleep(LOCK_POLL)
        yield
    finally:
        os.close(fd)  # and with it the lock


def remove_staged(directory: Path) -> None:
    """The member's staged file and its counts (a refused, finished or replaced upload)."""
    for old in directory.glob("*.*"):
        old.unlink(missing_ok=True)


def _copy_as_utf8(upload, target, encoding: str) -> None:
    decoder = codecs.getincrementaldecoder(encoding)()
    while block := upload.read(BLOCK):
        target.write(decoder.decode(block).encode("utf-8", "surrogatepass"))
    target.write(decoder.decode(b"", final=True).encode("utf-8", "surrogatepass"))


class StagingLimitError(Exception):
    """The team's staged screening files and this one would go over the cap."""

    def __init__(self, used: int, needed: int, cap: int):
        super().__init__(f"{used} + {needed} > {cap} bytes")
        self.used, self.needed, self.cap = used, needed, cap


def sweep_team(
    base: str | os.PathLike,
    team_id: str,
    members: set[str] | None,
    ttl: float = STAGED_TTL,
    *,
    skip: str | None = None,
    area: str = SCREEN,
) -> int:
    """Remove the team's expired staged files, and every file of a member who is no
    longer in `members` (None: the team is gone); the bytes still staged, not counting
    the member directory `skip` (a new upload replaces its file)."""
    cutoff = time.time() - ttl
    used = 0
    root = team_dir(base, team_id, area)
    for member in list(root.iterdir()) if root.is_dir() else []:
        if not member.is_dir():
            continue
        if members is None or member.name not in members:
            shutil.rmtree(member, ignore_errors=True)
            continue
        for path in member.glob("*.*"):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            if stat.st_mtime < cutoff:
                path.unlink(missing_ok=True)
            elif member.name != skip:
                used += stat.st_size
    if members is None:
        shutil.rmtree(root, ignore_errors=True)
    return used


def members_of(team_id: str) -> set[str] | None:
    """The ids (as directory names) of the team's members; None if the team is gone."""
    if db.session.get(Team, team_id) is None:
        return None
    ids = db.session.execute(select(User.id).where(User.team_id == team_id)).scalars()
    return {str(i) for i in ids}


def sweep(base: str | os.PathLike, ttl: float = STAGED_TTL) -> int:
    """Every team's files of every area: the expired ones, those of removed members and
    of removed teams (`flask bulk sweep`; each upload does it for its own team); how many
    files were removed."""

    def files() -> int:
        return sum(1 for area in AREAS for _ in Path(base).glob(f"{area}/*/*/*.*"))

    before = files()
    for area in AREAS:
        root = Path(base) / area
        for team in list(root.iterdir()) if root.is_dir() else []:
            if team.is_dir():
                sweep_team(base, team.name, members_of(team.name), ttl, area=area)
    return before - files()


def _nothing_staged() -> int:
    return 0


def stage(
    upload, directory: Path, *, used: Callable[[], int] = _nothing_staged, cap: int | None = None
) -> str:
    """Copy the uploaded file (a binary stream) into `directory` as UTF-8; its token.

    The caller holds the member's lock. The member's older upload is removed: one staged
    file per member. With `cap`, `used()` (the bytes of the team's other staged files) and
    this file must stay under it, checked before the copy (by the upload's size) and
    after (by the copy's, under the team's lock): a StagingLimitError leaves nothing.
    UTF-16 with a BOM (Excel's "Unicode text"), UTF-8 (with or without BOM), else
    Latin-1, which decodes any byte (URLs are ASCII anyway)."""
    remove_staged(directory)
    if cap is not None:
        upload.seek(0, os.SEEK_END)
        size = upload.tell()
        upload.seek(0)
        if (already := used()) + size > cap:
            raise StagingLimitError(already, size, cap)
    token = secrets.token_urlsafe(24)
    path = directory / f"{token}.csv"
    try:
        _copy(upload, path)
        if cap is not None:
            with _team_lock(directory.parent):
                size = path.stat().st_size
                if (already := used()) + size > cap:
                    raise StagingLimitError(already, size, cap)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return token


@contextmanager
def _team_lock(directory: Path) -> Iterator[None]:
    """Two members' checks of the team's cap one after the other, so that the later
    one sees the earlier one's whole file."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # held only for a directory scan
        yield
    finally:
        os.close(fd)


def _copy(upload, path: Path) -> None:
    head = upload.read(2)
    encoding = "utf-16" if head in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else "utf-8-sig"
    for attempt in (encoding, "latin-1"):
        upload.seek(0)
        try:
            with open(path, "wb") as target:
                _copy_as_utf8(upload, target, attempt)
            return
        except UnicodeDecodeError:
            if attempt == "utf-16":
                raise BulkInputError(
                    "The file starts like UTF-16 text but is not valid UTF-16. Save it again "
                    "as CSV (UTF-8) and upload that."
                ) from None
    raise AssertionError("latin-1 decodes any byte")  # pragma: no cover


def staged_path(directory: Path, token: str) -> Path | None:
    """The member's staged file for `token`, if it is there and not expired."""
    if not (
        isinstance(token, str)
        and len(token) == 32
        and token.replace("-", "").replace("_", "").isalnum()
    ):
        return None
    path = directory / f"{token}.csv"
    try:
        if path.stat().st_mtime < time.time() - STAGED_TTL:
            for stale in directory.glob(f"{token}.*"):  # the file and its counts
                stale.unlink(missing_ok=True)
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
    # The detected column of company pages (linkedin.com/company/…), or None.
    company_column: int | None = None

    @property
    def width(self) -> int:
        return len(self.header)


def _reader(fh, delimiter: str):
    dialect = type("Upload", (csv.excel,), {"delimiter": delimiter})
    return csv.reader(fh, dialect)


def _open(path: Path):
    return open(path, encoding="utf-8", errors="replace", newline="")


class _Records:
    """The non-blank records of an open file from its current position (a record
    boundary), with `line` (lines read, counted from `first_line`) and `offset()`, where
    the next record starts. The csv module pulls a line only when the record it returns
    needs it, so after each record the file stands at the next one, even when a quoted
    field spans lines. A record the csv module refuses is an error naming its line."""

    def __init__(self, fh, delimiter: str, first_line: int = 0):
        self._fh = fh
        self._first_line = first_line
        # readline, not iteration: TextIOWrapper.tell() is refused during iteration.
        self._reader = _reader(iter(fh.readline, ""), delimiter)

    @property
    def line(self) -> int:
        return self._first_line + self._reader.line_num

    def offset(self) -> int:
        return self._fh.tell()

    def __iter__(self) -> Iterator[list[str]]:
        try:
            for row in self._reader:
                if any(cell.strip() for cell in row):
                    yield row
        except csv.Error as exc:
            raise BulkInputError(
                f"The file could not be read as CSV (line {self.line:,}: {exc})."
            ) from None


def _records(path: Path, delimiter: str) -> Iterator[list[str]]:
    with _open(path) as fh:
        yield from _Records(fh, delimiter)


def _is_profile(cell: str) -> bool:
    try:
        entries.normalize(cell)
    except entries.InvalidURL:
        return False
    return True


def _is_company(cell: str) -> bool:
    try:
        companies.normalize_company_url(cell)
    except companies.InvalidURL:
        return False
    return True


def _company_column(rows: list[list[str]], has_header: bool, column: int | None) -> int | None:
    """The column whose sample cells are company pages most often, else the first whose
    header reads like one ("companyUrl", "company_url", "Company LinkedIn URL", …); never
    the profile column."""
    width = max(len(row) for row in rows)
    scores = [
        sum(i < len(row) and _is_company(row[i]) for row in rows) if i != column else 0
        for i in range(width)
    ]
    if max(scores) > 0:
        return scores.index(max(scores))
    if has_header:
        for i, name in enumerate(rows[0]):
            key = "".join(c for c in name.lower() if c not in " _-\t")
            if i != column and key in COMPANY_HEADERS:
                return i
    return None


def read_layout(path: Path) -> Layout:
    """The delimiter, the header (when the first row holds no profile URL) and the
    column whose sample cells are profile URLs most often (a column named "linkedin…"
    when no sample cell is one); and the company column, if any (_company_column)."""
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
    named = [
        i
        for i, name in enumerate(rows[0])
        if "linkedin" in name.lower() and "company" not in name.lower()
    ]
    column = None
    if max(scores) > 0:
        column = scores.index(max(scores))
    elif has_header and named:
        column = named[0]
    company_column = _company_column(rows, has_header, column)
    header = (
        list(rows[0]) + [f"Column {i + 1}" for i in range(len(rows[0]), width)]
        if has_header
        else [f"Column {i + 1}" for i in range(width)]
    )
    return Layout(delimiter, header, has_header, column, company_column)


# --------------------------------------------------------------------------- screening


# A screened row: its cells, the person's result, and the company block that applies.
ScreenedRow = tuple[list[str], entries.Screened, companies.BlockedBy | None]


def contactable(result: entries.Screened, blocked: companies.BlockedBy | None) -> bool:
    return result.status == "not_listed" and blocked is None


@dataclass
class Counts:
    rows: int = 0
    by_status: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    blocked: int = 0  # rows whose company is blocked
    contactable: int = 0  # rows not listed whose company is not blocked

    def add(self, chunk: list[ScreenedRow]) -> None:
        self.rows += len(chunk)
        for _row, result, blocked in chunk:
            self.by_status[result.status] += 1
            self.blocked += blocked is not None
            self.contactable += contactable(result, blocked)


def _data_rows(path: Path, layout: Layout) -> Iterator[list[str]]:
    records = _records(path, layout.delimiter)
    if layout.has_header:
        next(records, None)
    return records


def _company_urls(chunk: list[list[str]], column: int | None) -> list[str | None]:
    urls: list[str | None] = []
    for row in chunk:
        cell = row[column].strip() if column is not None and column < len(row) else ""
        try:
            urls.append(companies.normalize_company_url(cell) if cell else None)
        except companies.InvalidURL:
            urls.append(None)  # not a company page: nothing to block the row by
    return urls


def _screened(
    team_id: str, chunk: list[list[str]], column: int, company_column: int | None = None
) -> list[ScreenedRow]:
    cells = [row[column].strip() if column < len(row) else "" for row in chunk]
    results = entries.screen_urls(team_id, cells)
    # The chunk's companies: one more query, only when the file has a company column.
    company_urls = _company_urls(chunk, company_column)
    blocks = companies.blocking(team_id, [url for url in company_urls if url is not None])
    # Each chunk's read ends its transaction: no snapshot is held for the whole file.
    entries.end_read()
    return [
        (row, result, None if url is None else blocks.get(url))
        for row, result, url in zip(chunk, results, company_urls, strict=True)
    ]


def screened_chunks(
    team_id: str, path: Path, layout: Layout, column: int
) -> Iterator[list[ScreenedRow]]:
    """(row, result, block) of each row, CHUNK_ROWS rows (one query, and one for their
    companies) at a time, in file order."""
    rows = _data_rows(path, layout)
    while chunk := list(islice(rows, CHUNK_ROWS)):
        yield _screened(team_id, chunk, column, layout.company_column)


def count(team_id: str, path: Path, layout: Layout, column: int) -> Counts:
    """The counts of the whole file, in one go."""
    return count_step(team_id, path, layout, Progress.start(path, column)).counts


# --------------------------------------------------------------------------- counting by steps

_POSITION_BITS = (1 << 64) - 1  # TextIOWrapper.tell(): the byte position is the low bits


@dataclass
class Progress:
    """How far the count of one column of a staged file has got."""

    column: int
    size: int  # bytes in the staged file
    offset: int = 0  # TextIOWrapper.tell() of the next record to count
    line: int = 0  # lines read before `offset` (error messages name the file's line)
    counts: Counts = field(default_factory=Counts)
    done: bool = False

    @classmethod
    def start(cls, path: Path, column: int) -> Progress:
        return cls(column, path.stat().st_size)

    @property
    def position(self) -> int:
        """Bytes of the file counted so far."""
        return self.size if self.done else min(self.offset & _POSITION_BITS, self.size)

    @property
    def percent(self) -> int:
        return 100 if self.done or not self.size else self.position * 100 // self.size

    @property
    def estimated_rows(self) -> int:
        """The number of rows the file seems to have, from the bytes per row so far (two
        significant digits: it is an estimate), never fewer than those counted."""
        if self.done or not self.position:
            return self.counts.rows
        estimate = self.counts.rows * self.size / self.position
        digits = max(0, len(str(int(estimate))) - 2)
        return max(self.counts.rows, int(round(estimate, -digits)))


def count_step(
    team_id: str,
    path: Path,
    layout: Layout,
    progress: Progress,
    *,
    max_rows: int | None = None,
    seconds: float | None = None,
) -> Progress:
    """Count on from `progress`, CHUNK_ROWS rows (one query) at a time, until the file
    ends, `max_rows` rows were counted or `seconds` have passed (at least one chunk)."""
    deadline = None if seconds is None else time.monotonic() + seconds
    with _open(path) as fh:
        fh.seek(progress.offset)
        records = _Records(fh, layout.delimiter, progress.line)
        rows = iter(records)
        if progress.offset == 0 and layout.has_header:
            next(rows, None)
        counted = 0
        while max_rows is None or counted < max_rows:
            size = CHUNK_ROWS if max_rows is None else min(CHUNK_ROWS, max_rows - counted)
            chunk = list(islice(rows, size))
            if chunk:
                progress.counts.add(
                    _screened(team_id, chunk, progress.column, layout.company_column)
                )
                counted += len(chunk)
            if len(chunk) < size:
                progress.done = True
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
        progress.offset, progress.line = records.offset(), records.line
    progress.done = progress.done or progress.position >= progress.size
    return progress


def _progress_path(path: Path, column: int) -> Path:
    return path.with_name(f"{path.stem}.{column}.json")


def save_progress(path: Path, progress: Progress) -> None:
    """Kept beside the staged file (written whole, then renamed: a reader in another
    process never sees half of it)."""
    target = _progress_path(path, progress.column)
    partial = target.with_suffix(f".{secrets.token_hex(4)}.tmp")
    partial.write_text(json.dumps(asdict(progress)))
    os.replace(partial, target)


def load_progress(path: Path, column: int) -> Progress | None:
    """The count of `column` so far, if one was started (and the file is unchanged)."""
    try:
        saved = json.loads(_progress_path(path, column).read_text())
        progress = Progress(**{**saved, "counts": Counts(**saved["counts"])})
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if progress.column != column or progress.size != path.stat().st_size:
        return None
    return progress


def csv_lines(
    team_id: str, path: Path, layout: Layout, column: int, *, only_contactable: bool
) -> Iterator[str]:
    """The file with `dnc_status` and `dnc_url` added (and, with a company column,
    `dnc_blocked_by_company`: the block's id), every cell formula-safe, a chunk of rows at
    a time; with `only_contactable`, only the `not_listed` rows of companies not blocked."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    width = layout.width
    with_company = layout.company_column is not None
    added = ADDED_COLUMNS + ([COMPANY_COLUMN] if with_company else [])
    writer.writerow([safe_cell(c) for c in layout.header] + added)
    for chunk in screened_chunks(team_id, path, layout, column):
        for row, result, blocked in chunk:
            if only_contactable and not contactable(result, blocked):
                continue
            padded = row + [""] * (width - len(row))
            cells = [safe_cell(c) for c in padded] + [result.status, safe_cell(result.url)]
            if with_company:
                cells.append(blocked.company_id if blocked is not None else "")
            writer.writerow(cells)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
