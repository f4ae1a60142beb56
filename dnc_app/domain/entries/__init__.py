"""A team's Do Not Contact list: the one way entries are added, removed and read.

- `service`: add, add many, preview, remove, find, list (the functions callers use);
- `listing`: the list page's filtered pages and counts;
- `statements`: the SQL, built once, and what differs between SQLite and PostgreSQL;
- `screen`: which of many URLs (or SHA-256 digests of URLs) a team lists, in one query;
- `bulk`: classification of many inputs before anything is written;
- `validation`: URL normalization, reasons, search text;
- `values`, `cursor`, `errors`: what the service returns, pages by, and raises.
"""

from dnc_app.domain.entries.bulk import BulkResult, ItemResult
from dnc_app.domain.entries.cursor import decode_cursor, encode_cursor
from dnc_app.domain.entries.errors import (
    AlreadyListed,
    EntryError,
    EntryNotFound,
    InvalidCursor,
    InvalidReason,
    InvalidURL,
    ProtectedEntry,
    TeamNotFound,
    message_of,
)
from dnc_app.domain.entries.evidence import evidence_of
from dnc_app.domain.entries.listing import (
    COUNT_CAP,
    BrowsePage,
    ListFilter,
    browse,
    count_entries,
    list_entries,
    walk_entries,
)
from dnc_app.domain.entries.screen import Screened, end_read, screen_digests, screen_urls
from dnc_app.domain.entries.service import (
    REMOVAL_STATUSES,
    RemovalItem,
    RemovalResult,
    add_entries,
    add_entry,
    erase_entry,
    find_by_url,
    get_entry,
    preview_entries,
    preview_removal,
    remove_entries,
    remove_entry,
)
from dnc_app.domain.entries.validation import clean_reason, normalize, search_term, url_digest
from dnc_app.domain.entries.values import (
    MAX_QUERY_LENGTH,
    MAX_REASON_LENGTH,
    MAX_URL_LENGTH,
    PROTECTED_SOURCES,
    Entry,
    EntryPage,
)

__all__ = [
    "MAX_QUERY_LENGTH",
    "MAX_REASON_LENGTH",
    "MAX_URL_LENGTH",
    "AlreadyListed",
    "COUNT_CAP",
    "BrowsePage",
    "ListFilter",
    "browse",
    "BulkResult",
    "Entry",
    "EntryError",
    "EntryNotFound",
    "EntryPage",
    "InvalidCursor",
    "InvalidReason",
    "InvalidURL",
    "ItemResult",
    "PROTECTED_SOURCES",
    "ProtectedEntry",
    "TeamNotFound",
    "add_entries",
    "add_entry",
    "clean_reason",
    "count_entries",
    "decode_cursor",
    "erase_entry",
    "end_read",
    "encode_cursor",
    "evidence_of",
    "find_by_url",
    "get_entry",
    "list_entries",
    "message_of",
    "normalize",
    "preview_entries",
    "preview_removal",
    "REMOVAL_STATUSES",
    "RemovalItem",
    "RemovalResult",
    "remove_entries",
    "remove_entry",
    "Screened",
    "screen_digests",
    "screen_urls",
    "search_term",
    "url_digest",
    "walk_entries",
]
