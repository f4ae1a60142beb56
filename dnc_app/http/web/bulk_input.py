"""Bulk add input: LinkedIn URLs from pasted text or a CSV file.

Every step costs work linear in the upload and bounded per line: the input is scanned
with bytes.find/count (C loops) and only the lines that mention linkedin.com are looked
at in Python; no regular expression or csv.Sniffer runs over the upload, and no line
over MAX_LINE bytes is split or parsed.

What is one candidate (a candidate is normalized as it is; it is never cut into a
shorter URL, so a URL followed by more text is refused with the normalizer's reason,
e.g. "contains spaces", instead of becoming another person):
- Pasted text: a line (only CR and LF end a line). A line that mentions linkedin.com
  and has tabs is a row copied from a spreadsheet: each tab-separated cell that
  mentions linkedin.com is a candidate, the others (names, e-mails) are skipped. Any
  other non-blank line is one candidate (shown as invalid, with the reason, unless it is
  a short form like `in/jo`).
- CSV: a cell that mentions linkedin.com, in any column (so header rows, names and
  e-mail columns need no configuration). The delimiter (comma, semicolon, tab or pipe;
  none = one column) is found by counting them, outside quotes, in the first
  SAMPLE_LINES lines. Quoted fields, doubled quotes and a quoted field that runs over
  a few lines (at most MAX_RECORD_LINES) are read as CSV; lines are read one at a time,
  so a line in the middle of a quoted note is read as a line of its own.
- Inside a candidate: one pair of quotes or brackets around it is dropped. In text with
  spaces ("see <url> and (url)"), URLs that are each wrapped in <>, (), [] or quotes are
  the candidates: the brackets show where each URL ends. Otherwise the whole text is one
  candidate.
- A `reason` column (named so in the first line, the header) gives the reason of the
  profiles of each row.
- A candidate longer than the normalizer accepts is kept as its first
  MAX_INPUT_LENGTH + 1 characters: still refused as too long, and the pending list stays
  small.
"""

from __future__ import annotations

import codecs
import csv
import io
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator
from itertools import accumulate, islice
from typing import NamedTuple

from dnc_app.domain.normalize import MAX_INPUT_LENGTH
from dnc_app.domain.pending_uploads import PENDING_TTL  # noqa: F401  (read here, so tests can shorten it)

MAX_ITEMS = 200_000
MAX_LINE = 64 * 1024  # bytes of one line (or CSV record) that are split and parsed
MAX_RECORD_LINES = 64  # lines one quoted CSV field may run over
SAMPLE_LINES = 50  # non-blank lines that decide the CSV delimiter …
SAMPLE_BYTES = 64 * 1024  # … among the first this many bytes
DELIMITERS = b",;\t|"
HIT = b"linkedin.com"
_WRAPPERS = {"<": ">", "(": ")", "[": "]", '"': '"', "'": "'"}
_AFTER_WRAPPER = ".,;:!?"  # sentence punctuation after a wrapped URL is not part of it


class BulkInputError(ValueError):
    pass


class Item(NamedTuple):
    line: int  # line of the paste, or of the CSV file (1-based)
    raw: str
    reason: str | None = None  # from a CSV file's `reason` column


def _check_size(items: list[Item]) -> list[Item]:
    if len(items) > MAX_ITEMS:
        raise BulkInputError(
            f"That is {len(items):,} URLs; one upload takes at most {MAX_ITEMS:,}. "
            "Split the file and upload the parts one after the other."
        )
    return items


# --------------------------------------------------------------------------- candidates


def _cut(text: str) -> str:
    # Longer than the normalizer accepts: refused as too long, whatever the cut leaves.
    return text[: MAX_INPUT_LENGTH + 1]


def _unwrap(text: str) -> str:
    if len(text) >= 2 and _WRAPPERS.get(text[0]) == text[-1]:
        return text[1:-1].strip()
    return text


def _wrapped(token: str) -> str | None:
    """The URL inside `<url>`, `(url)`, `"url"` …, or None if the token is not wrapped."""
    token = token.rstrip(_AFTER_WRAPPER)
    inner = _unwrap(token)
    return inner if inner and len(inner) == len(token) - 2 else None


def candidates(cell: str) -> list[str]:
    """The candidate URLs of one line or cell; see the module docstring."""
    cell = cell.strip()
    if len(cell) > MAX_INPUT_LENGTH:
        return [_cut(cell)]
    tokens = cell.split()
    if len(tokens) > 1:
        wrapped = [_wrapped(t) for t in tokens if "linkedin.com" in t.lower()]
        urls = [url for url in wrapped if url]
        if urls and len(urls) == len(wrapped):
            return urls
    elif cell[:1] not in _WRAPPERS:
        return [cell]
    return [_unwrap(cell)]


def _decode(raw: bytes) -> str:
    # `raw` is UTF-8 made here; "replace" only meets surrogates that a paste carried.
    return raw.decode("utf-8", "replace")


def _cells_with_hits(line: bytes, sep: bytes | None) -> list[str]:
    """The cells of an unquoted line that mention linkedin.com, found from each mention
    outwards to the separators (work linear in the line, whatever its number of cells)."""
    if sep is None or sep not in line:
        return [_decode(line)]
    low = line.lower()
    cells = []
    pos = 0
    while (hit := low.find(HIT, pos)) >= 0:
        before = line.rfind(sep, pos, hit)
        end = line.find(sep, hit)
        end = len(line) if end < 0 else end
        cells.append(_decode(line[before + 1 if before >= 0 else pos : end]))
        pos = end + 1
    return cells


def _row_cells_with_hits(row: list[str]) -> Iterator[str]:
    """The cells of a parsed CSV row that mention linkedin.com (C loops over the row)."""
    lowered = list(map(str.lower, row))
    joined = "".join(lowered)
    ends = list(accumulate(map(len, lowered)))
    pos = 0
    while (hit := joined.find("linkedin.com", pos)) >= 0:
        index = bisect_right(ends, hit)
        if "linkedin.com" in lowered[index]:
            yield row[index]
            pos = ends[index]
        else:  # a mention made of two neighbouring cells
            pos = hit + 1


def _as_utf8_lines(text: str) -> bytes:
    """UTF-8 with LF line ends (CRLF and a lone CR end a line too)."""
    data = text.encode("utf-8", "surrogatepass")
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def _skip_blank(buf: bytes, pos: int) -> int:
    """The first non-whitespace byte at or after pos: windows that double, so a run of
    blank lines costs work linear in its length and a short gap costs O(64)."""
    width = 64
    while pos < len(buf):
        window = buf[pos : pos + width]
        rest = window.lstrip()
        if rest:
            return pos + len(window) - len(rest)
        pos += len(window)
        width = min(width * 2, 1 << 20)
    return len(buf)


def _line_end(buf: bytes, start: int) -> int:
    """Where the line that starts at `start` ends, or -1 if it is longer than MAX_LINE."""
    end = buf.find(b"\n", start, start + MAX_LINE + 1)
    if end < 0:
        return len(buf) if len(buf) - start <= MAX_LINE else -1
    return end


# --------------------------------------------------------------------------- pasted text


def _more_lines_than_an_upload_takes(buf: bytes) -> bool:
    """At C speed: more non-blank lines than MAX_ITEMS (each gives at least one item).

    Blank bytes other than LF are deleted, so split() separates exactly the non-blank
    lines; maxsplit bounds the list it builds."""
    words = buf.translate(None, b" \t\r\x0b\x0c").split(maxsplit=MAX_ITEMS + 1)
    return len(words) > MAX_ITEMS


def items_from_text(text: str) -> list[Item]:
    buf = _as_utf8_lines(text)
    if _more_lines_than_an_upload_takes(buf):
        # Refused before any per-line work: 200,001 short lines would otherwise cost as
        # much as parsing a real list of that size.
        raise BulkInputError(
            f"That is more than {MAX_ITEMS:,} lines; one upload takes at most {MAX_ITEMS:,}. "
            "Split the list and add the parts one after the other."
        )
    items: list[Item] = []
    pos, counted, line_number = 0, 0, 1
    while len(items) <= MAX_ITEMS:
        start = _skip_blank(buf, pos)
        if start >= len(buf):
            break
        line_number += buf.count(b"\n", counted, start)
        counted = start
        end = _line_end(buf, start)
        if end < 0:  # one candidate, refused as too long; its rest is not read
            items.append(Item(line_number, _cut(_decode(buf[start : start + MAX_LINE]))))
            end = buf.find(b"\n", start + MAX_LINE)
            end = len(buf) if end < 0 else end
        else:
            line = buf[start:end]
            if HIT in line.lower():
                for cell in _cells_with_hits(line, b"\t"):
                    items.extend(Item(line_number, url) for url in candidates(cell))
            else:
                items.append(Item(line_number, _cut(_decode(line).strip())))
        pos = end + 1
    return _check_size(items)


# --------------------------------------------------------------------------- CSV files


def decode_upload(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")  # Excel's "Unicode text" export
        except UnicodeDecodeError:
            raise BulkInputError(
                "The file starts like UTF-16 text but is not valid UTF-16 (cut short or "
                "broken characters). Save it again as CSV (UTF-8) and upload that."
            ) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Older spreadsheet exports: Latin-1 decodes any byte; URLs are ASCII anyway.
        return data.decode("latin-1")


def detect_delimiter(buf: bytes) -> bytes | None:
    """The delimiter found on the most sample records the same number of times outside
    quotes (ties go to the earlier of , ; tab |), or None (one column) if there is none."""
    sample = buf[:SAMPLE_BYTES]
    if len(buf) > SAMPLE_BYTES:
        sample = sample[: sample.rfind(b"\n") + 1]  # whole lines only
    # Dropping the quoted parts leaves the text between fields, one record per line.
    records = b"".join(sample.split(b'"')[::2]).split(b"\n")
    lines = list(islice(filter(bytes.strip, records), SAMPLE_LINES))
    best, best_score = None, (0, 0)
    for delimiter in (DELIMITERS[i : i + 1] for i in range(len(DELIMITERS))):
        counts = Counter(n for n in (line.count(delimiter) for line in lines) if n)
        if counts:
            score = (counts.most_common(1)[0][1], counts.total())
            if score > best_score:
                best, best_score = delimiter, score
    return best


def _dialect(delimiter: bytes) -> type[csv.Dialect]:
    return type("Upload", (csv.excel,), {"delimiter": delimiter.decode()})


def _unreadable(line_number: int, why: str) -> BulkInputError:
    return BulkInputError(f"The file could not be read as CSV (line {line_number:,}: {why}).")


def _csv_record(
    buf: bytes, start: int, end: int, dialect, line_number: int
) -> tuple[list[str], int]:
    """The CSV record that starts at `start` (its first line ends at `end`) and where it
    ends. A quoted field still open at the end of the line takes in the next lines,
    their number doubling each try, up to MAX_RECORD_LINES lines and MAX_LINE bytes."""
    ends = [end]
    while True:
        # The extra blank line is taken into the field only if the field is still open.
        text = _decode(buf[start : ends[-1]]) + "\n\n"
        reader = csv.reader(io.StringIO(text, newline=""), dialect)
        try:
            row = next(reader)
        except csv.Error as exc:
            raise _unreadable(line_number, str(exc)) from None
        if reader.line_num <= len(ends):
            return row, ends[reader.line_num - 1]
        if len(ends) >= MAX_RECORD_LINES or ends[-1] >= len(buf):
            raise _unreadable(line_number, "a quoted field is not closed")
        for _ in range(min(len(ends), MAX_RECORD_LINES - len(ends))):
            following = buf.find(b"\n", ends[-1] + 1, start + MAX_LINE + 1)
            if following < 0:
                if len(buf) - start > MAX_LINE:
                    raise _unreadable(line_number, f"longer than {MAX_LINE:,} bytes")
                following = len(buf)
            ends.append(following)
            if following >= len(buf):
                break


def reason_column(buf: bytes, delimiter: bytes | None, dialect) -> int | None:
    """The index of a `reason` column named in the file's first line (its header), if
    any: that cell of each row is the reason of the row's profiles."""
    if delimiter is None:
        return None
    start = _skip_blank(buf, 0)
    end = _line_end(buf, start)
    if end < 0 or HIT in buf[start:end].lower():
        return None  # no header: the first line is data (or too long to be a header)
    try:
        header = next(csv.reader(io.StringIO(_decode(buf[start:end])), dialect), [])
    except csv.Error:
        return None
    names = [cell.strip().lower() for cell in header]
    return names.index("reason") if "reason" in names else None


def _split(line: bytes, delimiter: bytes | None) -> list[str]:
    return _decode(line).split(delimiter.decode()) if delimiter else [_decode(line)]


def items_from_csv(data: bytes) -> list[Item]:
    buf = _as_utf8_lines(decode_upload(data))
    low = buf.lower()  # bytes: only ASCII letters change, so positions stay the same
    delimiter = detect_delimiter(buf)
    dialect = _dialect(delimiter) if delimiter else None
    reason_at = reason_column(buf, delimiter, dialect)
    items: list[Item] = []
    pos, counted, line_number = 0, 0, 1
    while len(items) <= MAX_ITEMS and (hit := low.find(HIT, pos)) >= 0:
        start = buf.rfind(b"\n", pos, hit) + 1 or pos
        line_number += buf.count(b"\n", counted, start)
        counted = start
        end = _line_end(buf, start)
        if end < 0:
            raise _unreadable(line_number, f"longer than {MAX_LINE:,} bytes")
        row = None
        if dialect is None or buf.find(b'"', start, end) < 0:
            cells = _cells_with_hits(buf[start:end], delimiter)
            if reason_at is not None:  # one more split of this (bounded) line
                row = _split(buf[start:end], delimiter)
        else:
            row, end = _csv_record(buf, start, end, dialect, line_number)
            cells = list(_row_cells_with_hits(row))
        reason = None
        if reason_at is not None and row and reason_at < len(row):
            reason = row[reason_at].strip() or None
        for cell in cells:
            items.extend(Item(line_number, url, reason) for url in candidates(cell))
        pos = end + 1
    return _check_size(items)
