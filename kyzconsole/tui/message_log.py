"""The live view's data: the last N messages and their outcomes, newest last, bounded. No UI."""

from __future__ import annotations

import itertools
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from kyzconsole.engine.events import MessageOutcome, MessageReceived
from kyzconsole.record import IntervalRecord

ROW_LIMIT = 1000
OUTCOMES = ("pending", "inserted", "duplicate", "conflict", "invalid", "observed")
# Outcomes after which the record is what the table holds (a conflict's stored row wins).
_LANDED = ("inserted", "duplicate", "observed")


@dataclass
class MessageRow:
    """One received message as the table and the detail pane show it."""

    key: int
    seq: int  # arrival order in this console, for newest-first
    received_at: datetime
    topic: str
    raw: bytes
    record: IntervalRecord | None
    outcome: str
    reason: str | None = None
    warning: str | None = None
    existing: IntervalRecord | None = None
    version: int = 0  # bumped on every change, so the table redraws only changed rows

    def search_text(self) -> str:
        parts = [self.outcome, self.reason or "", self.warning or "", self.topic]
        if self.record is not None:
            parts.append(str(self.record.to_payload()))
        else:
            parts.append(self.raw.decode("utf-8", errors="replace"))
        return " ".join(parts).lower()


@dataclass(frozen=True)
class RowFilter:
    """`/` filter: an outcome word (plural allowed) or any text in the row."""

    text: str = ""

    @property
    def outcome(self) -> str | None:
        word = self.text.strip().lower()
        for outcome in OUTCOMES:
            if word in (outcome, outcome + "s"):
                return outcome
        return None

    def matches(self, row: MessageRow) -> bool:
        word = self.text.strip().lower()
        if not word:
            return True
        outcome = self.outcome
        if outcome is not None:
            return row.outcome == outcome
        return word in row.search_text()


class MessageLog:
    """Takes engine events on the UI thread; the table reads `newest_first()` on a timer."""

    def __init__(self, limit: int = ROW_LIMIT, valid_outcome: str = "pending") -> None:
        self.limit = limit
        self.valid_outcome = valid_outcome  # "observed" in monitor mode: we cannot know more
        self.rows: OrderedDict[int, MessageRow] = OrderedDict()
        self.latest: IntervalRecord | None = None
        self.last_received_at: datetime | None = None
        self.changes = 0  # bumped on every change; the view compares it to what it drew
        self._seq = itertools.count()

    def received(self, event: MessageReceived) -> MessageRow:
        outcome = "invalid" if event.record is None else self.valid_outcome
        row = MessageRow(
            event.key,
            next(self._seq),
            event.received_at,
            event.topic,
            event.raw,
            event.record,
            outcome,
            event.reason,
            event.warning,
        )
        self.rows.pop(event.key, None)
        self.rows[event.key] = row
        while len(self.rows) > self.limit:
            self.rows.popitem(last=False)
        if self.last_received_at is None or event.received_at > self.last_received_at:
            self.last_received_at = event.received_at
        if outcome in _LANDED and event.record is not None:
            self._landed(event.record)
        self.changes += 1
        return row

    def outcome(self, event: MessageOutcome) -> MessageRow | None:
        if event.outcome in _LANDED:
            self._landed(event.record)
        row = self.rows.get(event.key)
        if row is None:  # fell off the end of the bounded view already
            return None
        row.outcome = event.outcome
        row.existing = event.existing
        if event.outcome == "conflict":
            row.reason = "conflict: another value is stored for this interval; the stored row kept"
        row.version += 1
        self.changes += 1
        return row

    def _landed(self, record: IntervalRecord) -> None:
        if self.latest is None or record.interval_end >= self.latest.interval_end:
            self.latest = record

    def newest_first(self, row_filter: RowFilter | None = None) -> list[MessageRow]:
        rows = reversed(self.rows.values())
        if row_filter is None or not row_filter.text.strip():
            return list(rows)
        return [row for row in rows if row_filter.matches(row)]
