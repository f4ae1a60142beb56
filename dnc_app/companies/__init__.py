"""Company blocks: a team blocks whole companies by their LinkedIn page (service.py is
the one write path; company_url normalizes the pages)."""

from ..company_url import InvalidURL, normalize_company_url
from .service import (
    MAX_NAME_LENGTH,
    MAX_PASTE_LINES,
    AlreadyBlocked,
    Block,
    BlockedBy,
    BlockNotFound,
    CompanyError,
    InvalidCompanyParameter,
    PasteLine,
    add_block,
    add_blocks,
    blocking,
    clean_name,
    get_block,
    list_blocks,
    parse_until,
    preview_lines,
    remove_block,
    today,
)

__all__ = [
    "MAX_NAME_LENGTH",
    "MAX_PASTE_LINES",
    "AlreadyBlocked",
    "Block",
    "BlockNotFound",
    "BlockedBy",
    "CompanyError",
    "InvalidCompanyParameter",
    "InvalidURL",
    "PasteLine",
    "add_block",
    "add_blocks",
    "blocking",
    "clean_name",
    "get_block",
    "list_blocks",
    "normalize_company_url",
    "parse_until",
    "preview_lines",
    "remove_block",
    "today",
]
