"""Many URLs at once: each input classified in order, before anything is written."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from dnc_app.domain.entries.errors import InvalidReason, InvalidURL
from dnc_app.domain.entries.validation import clean_reason, normalize


@dataclass
class ItemResult:
    """One line of a bulk add, in input order."""

    input: object
    url: str | None  # normalized, when valid
    status: str  # "added" | "duplicate" | "error" (a preview: "new" instead of "added")
    error: str | None = None
    entry_id: str | None = None
    reason: str | None = None


@dataclass
class BulkResult:
    items: list[ItemResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for item in self.items if item.status == status)

    @property
    def added(self) -> int:
        return self.count("added")

    @property
    def duplicates(self) -> int:
        return self.count("duplicate")

    @property
    def errors(self) -> int:
        return self.count("error")


def classify(
    raw_urls: Sequence[object],
    reasons: Sequence[object] | None = None,
) -> tuple[BulkResult, dict[str, ItemResult]]:
    """Normalize every input; the first occurrence of each URL is pending, repeats are
    duplicates, invalid ones (URL or reason) are errors."""
    result = BulkResult()
    pending: dict[str, ItemResult] = {}
    for raw in raw_urls:
        try:
            url = normalize(raw)
        except InvalidURL as exc:
            result.items.append(ItemResult(raw, None, "error", exc.reason))
            continue
        item = ItemResult(raw, url, "pending")
        if url in pending:
            item.status = "duplicate"
            item.error = "Duplicate of an earlier line in this request"
        else:
            pending[url] = item
        result.items.append(item)
    if reasons is not None:
        for item, reason in zip(result.items, reasons, strict=True):
            if item.status == "pending" and item.url is not None:
                try:
                    item.reason = clean_reason(reason)
                except InvalidReason as exc:
                    item.status, item.error = "error", exc.message
                    del pending[item.url]
    return result, pending
