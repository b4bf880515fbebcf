"""Records: the IntervalRecord model and the parsers that make one. Pure; no I/O."""

from kyzconsole.record.model import (
    INTERVAL_END_FORMAT,
    IntervalRecord,
    InvalidPayload,
    ValidationRules,
)
from kyzconsole.record.payload import MAX_PAYLOAD_BYTES, ParsedPayload, parse_fields, parse_payload

__all__ = [
    "INTERVAL_END_FORMAT",
    "MAX_PAYLOAD_BYTES",
    "IntervalRecord",
    "InvalidPayload",
    "ParsedPayload",
    "ValidationRules",
    "parse_fields",
    "parse_payload",
]
