"""What the engine tells its faces (the console, the logs) as it works. Plain data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kyzconsole.record import IntervalRecord


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """A message arrived: valid (`record`) or not (`reason`). `key` ties later outcomes to it."""

    key: int
    received_at: datetime
    topic: str
    raw: bytes
    record: IntervalRecord | None
    reason: str | None = None  # set when invalid
    warning: str | None = None


@dataclass(frozen=True, slots=True)
class MessageOutcome:
    """Where a received message ended: inserted, duplicate, conflict (or invalid, at once)."""

    key: int
    outcome: str
    record: IntervalRecord
    existing: IntervalRecord | None = None


@dataclass(frozen=True, slots=True)
class HealthChanged:
    """The broker link or the database went up or down."""

    what: str  # "mqtt" | "sql"
    ok: bool
    detail: str | None


EngineEvent = MessageReceived | MessageOutcome | HealthChanged
