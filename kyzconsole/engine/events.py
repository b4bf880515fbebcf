"""What the engine tells its faces (the console, the logs) as it works. Plain data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kyzconsole.record import IntervalRecord, InvalidPayload, ValidationRules, parse_payload
from kyzconsole.sources.mqtt import MqttMessage


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

    @classmethod
    def of(
        cls,
        key: int,
        message: MqttMessage,
        record: IntervalRecord | None,
        reason: str | None = None,
        warning: str | None = None,
    ) -> MessageReceived:
        return cls(
            key, message.received_at, message.topic, message.payload, record, reason, warning
        )

    @classmethod
    def read(cls, key: int, message: MqttMessage, rules: ValidationRules) -> MessageReceived:
        """A message parsed for showing only, not stored (the console's monitor mode)."""
        try:
            parsed = parse_payload(message.payload, rules)
        except InvalidPayload as exc:
            return cls.of(key, message, None, exc.reason)
        return cls.of(key, message, parsed.record, None, next(iter(parsed.warnings), None))


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
