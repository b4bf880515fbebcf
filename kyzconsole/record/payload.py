"""Turn raw MQTT/JSONL payload bytes into an IntervalRecord, or a one-line reason why not."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, NamedTuple

from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from kyzconsole.record.model import IntervalRecord, InvalidPayload, ValidationRules

MAX_PAYLOAD_BYTES = 64 * 1024
KNOWN_FIELDS = frozenset(
    ("intervalEnd", "pulseCount", "kWh", "kW", "total_kWh", "r17Exclude", "kyzInvalidAlarm")
)


class ParsedPayload(NamedTuple):  # a NamedTuple: made once per message, on the hot path
    record: IntervalRecord
    warnings: tuple[str, ...] = ()
    unknown_fields: tuple[str, ...] = ()


def _reject_constant(name: str) -> Any:
    raise InvalidPayload(f"{name} is not a valid number in a payload (JSON has no NaN or Infinity)")


_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_reject_constant)


def parse_payload(raw: bytes | str, rules: ValidationRules | None = None) -> ParsedPayload:
    """Validate one payload. Raises InvalidPayload and nothing else."""
    rules = rules or ValidationRules()
    if isinstance(raw, bytes):
        if len(raw) > MAX_PAYLOAD_BYTES:
            raise InvalidPayload(
                f"payload is {len(raw):,} bytes, over the {MAX_PAYLOAD_BYTES:,}-byte limit"
            )
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidPayload(f"payload is not UTF-8 (bad byte at offset {exc.start})") from None
    else:
        text = raw
        if (
            len(text) > MAX_PAYLOAD_BYTES
            or len(text.encode("utf-8", "surrogatepass")) > MAX_PAYLOAD_BYTES
        ):
            raise InvalidPayload(f"payload is over the {MAX_PAYLOAD_BYTES:,}-byte limit")
    text = text.removeprefix("\ufeff").strip()
    if not text:
        raise InvalidPayload("payload is empty")
    try:
        # raw_decode on stripped text: json.loads would scan for white space twice more.
        data, end = _DECODER.raw_decode(text)
        if end != len(text):
            raise json.JSONDecodeError("Extra data", text, end)
    except InvalidPayload:
        raise
    except json.JSONDecodeError as exc:
        raise InvalidPayload(
            f"payload is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise InvalidPayload("payload is not valid JSON: nested too deeply") from None
    except ValueError as exc:  # int() of a huge digit string
        raise InvalidPayload(f"payload is not valid JSON: {exc}") from None
    return parse_fields(data, rules)


def parse_fields(data: Any, rules: ValidationRules | None = None) -> ParsedPayload:
    """Validate an already-decoded payload object (JSON or a CSV row mapped to payload names)."""
    rules = rules or ValidationRules()
    if not isinstance(data, dict):
        raise InvalidPayload(f"payload must be a JSON object, got {_json_kind(data)}")
    try:
        record = IntervalRecord.checked(data, rules)  # ~2x faster when the payload is good
    except (PydanticCustomError, KeyError):
        try:
            # Payload names only: "interval_end" is an unknown field, not the attribute's name.
            record = IntervalRecord.model_validate(
                data, context=rules, by_alias=True, by_name=False
            )
        except ValidationError as exc:
            raise InvalidPayload(_reason(exc)) from None
    extra = data.keys() - KNOWN_FIELDS
    unknown = tuple(sorted(str(key) for key in extra)) if extra else ()
    warning = record.demand_warning(rules)
    return ParsedPayload(record, (warning,) if warning else (), unknown)


def _reason(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "payload"
        if error["type"] == "missing":
            parts.append(f"{where}: required field is missing")
        else:
            parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"
