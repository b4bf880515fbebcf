"""The payload contract: what parse_payload accepts, what it refuses, and how it says why."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from kyzconsole.record import (
    MAX_PAYLOAD_BYTES,
    IntervalRecord,
    InvalidPayload,
    ParsedPayload,
    ValidationRules,
    parse_fields,
    parse_payload,
)

NOW = datetime(2030, 6, 15, 12, 0, 0)
RULES = ValidationRules(clock=lambda: NOW)
RULES_5 = ValidationRules(interval_minutes=5, clock=lambda: NOW)
QUANTITY_FIELDS = ("kWh", "kW", "total_kWh")
REQUIRED_FIELDS = ("intervalEnd", "pulseCount", "kWh", "kW")
FLAG_FIELDS = ("r17Exclude", "kyzInvalidAlarm")


def fields(**overrides: Any) -> dict[str, Any]:
    """A valid payload dict, with `overrides` replacing or adding keys."""
    data: dict[str, Any] = {
        "intervalEnd": "2026-03-10 14:15:00",
        "pulseCount": 100,
        "kWh": 0.25,
        "kW": 1.0,
        "total_kWh": 12345.5,
    }
    data.update(overrides)
    return data


def without(*names: str) -> dict[str, Any]:
    data = fields()
    for name in names:
        data.pop(name, None)
    return data


def encode(data: Any) -> bytes:
    return json.dumps(data).encode("utf-8")


def with_raw_value(field: str, json_text: str) -> bytes:
    """A valid payload whose `field` holds the literal JSON text given (e.g. 42.0, NaN)."""
    data = fields(**{field: "@@"})
    return json.dumps(data).replace('"@@"', json_text).encode("utf-8")


def parse(raw: bytes | str, rules: ValidationRules = RULES) -> ParsedPayload:
    return parse_payload(raw, rules)


def reason_for(raw: bytes | str, rules: ValidationRules = RULES) -> str:
    with pytest.raises(InvalidPayload) as caught:
        parse_payload(raw, rules)
    reason = caught.value.reason
    assert reason == str(caught.value)
    assert "\n" not in reason and "\r" not in reason, reason
    return reason


def padded_to(size: int, pad_char: str = "x") -> bytes:
    """A valid payload of exactly `size` UTF-8 bytes, padded by an unknown field."""
    empty = encode_text(fields(pad=""))
    pad_bytes = len(pad_char.encode("utf-8"))
    missing = size - len(empty.encode("utf-8"))
    assert missing % pad_bytes == 0
    raw = encode_text(fields(pad=pad_char * (missing // pad_bytes))).encode("utf-8")
    assert len(raw) == size
    return raw


def encode_text(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)


# --- a valid payload ---------------------------------------------------------------------


def test_valid_payload_becomes_a_record_with_every_field() -> None:
    raw = encode(fields(r17Exclude=True, kyzInvalidAlarm=False))
    parsed = parse(raw)
    assert parsed.record == IntervalRecord(
        intervalEnd="2026-03-10 14:15:00",
        pulseCount=100,
        kWh=Decimal("0.25"),
        kW=Decimal("1"),
        total_kWh=Decimal("12345.5"),
        r17Exclude=True,
        kyzInvalidAlarm=False,
    )
    assert parsed.record.interval_end == datetime(2026, 3, 10, 14, 15)
    assert parsed.record.kwh == Decimal("0.250000")
    assert parsed.warnings == ()
    assert parsed.unknown_fields == ()


def test_text_payload_is_accepted_like_bytes() -> None:
    assert parse(json.dumps(fields())).record == parse(encode(fields())).record


def test_max_payload_bytes_is_64_kib() -> None:
    assert MAX_PAYLOAD_BYTES == 65_536


# --- size ----------------------------------------------------------------------------------


def test_payload_of_exactly_65536_bytes_is_accepted() -> None:
    parsed = parse(padded_to(65_536))
    assert parsed.unknown_fields == ("pad",)


def test_payload_of_65537_bytes_is_invalid_and_says_over_the_limit() -> None:
    reason = reason_for(padded_to(65_537))
    assert "over the 65,536-byte limit" in reason
    assert "65,537" in reason


def test_oversized_payload_is_refused_before_it_is_decoded() -> None:
    raw = b"\xff" * 70_000  # not UTF-8 either, but size is what it says
    assert "over the 65,536-byte limit" in reason_for(raw)


def test_text_payload_of_exactly_65536_utf8_bytes_is_accepted() -> None:
    raw = padded_to(65_536, pad_char="é")
    assert parse(raw.decode("utf-8")).unknown_fields == ("pad",)


def test_text_payload_is_measured_in_utf8_bytes_not_characters() -> None:
    text = padded_to(65_538, pad_char="é").decode("utf-8")
    assert len(text) < 65_536  # fewer characters than the limit, more bytes
    assert "over the 65,536-byte limit" in reason_for(text)


def test_text_payload_with_lone_surrogates_over_the_limit_is_invalid_not_a_crash() -> None:
    text = '{"x": "' + "\ud800" * 70_000 + '"}'
    assert "over the 65,536-byte limit" in reason_for(text)


# --- encoding, emptiness, JSON shape -------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b'{"intervalEnd": "\xff"}',
        b"\xc3\x28",  # a lead byte without its continuation
        b"\xc0\xaf",  # an overlong encoding
        b"\xed\xa0\x80",  # an encoded surrogate
        b"\x80{}",
    ],
)
def test_bad_utf8_is_invalid_and_says_not_utf8(raw: bytes) -> None:
    assert "not UTF-8" in reason_for(raw)


def test_utf8_bom_before_the_object_is_accepted() -> None:
    parsed = parse(b"\xef\xbb\xbf" + encode(fields()))
    assert parsed.record == parse(encode(fields())).record


def test_bom_in_a_text_payload_is_accepted() -> None:
    assert parse("\ufeff" + json.dumps(fields())).record.pulse_count == 100


@pytest.mark.parametrize("raw", [b"", "", b"   ", b"\r\n\t ", b"\xef\xbb\xbf", "\ufeff  "])
def test_empty_payload_is_invalid_and_says_empty(raw: bytes | str) -> None:
    assert "empty" in reason_for(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b'{"kWh": }',
        b"{'kWh': 1}",
        b'{"kWh": 1,}',
        b"nul",
        b"\x00",
        encode(fields()) + b" trailing",
        encode(fields()) + encode(fields()),
        b'{"kWh": 01}',
        b'{\n"kWh":\n\n}',
    ],
)
def test_broken_json_is_invalid_and_says_not_valid_json(raw: bytes) -> None:
    assert "not valid JSON" in reason_for(raw)


def test_deeply_nested_json_is_invalid_not_a_crash() -> None:
    raw = b'{"x": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"
    assert len(raw) <= MAX_PAYLOAD_BYTES
    assert "not valid JSON" in reason_for(raw)


def test_integer_too_long_to_convert_is_invalid_not_a_crash() -> None:
    assert reason_for(with_raw_value("pulseCount", "1" * 5_000))


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (b"[]", "array"),
        (b"[" + encode(fields()) + b"]", "array"),
        (b'"2026-03-10 14:15:00"', "string"),
        (b"42", "number"),
        (b"4.5", "number"),
        (b"null", "null"),
        (b"true", "boolean"),
    ],
)
def test_non_object_payload_is_invalid_and_says_which_kind(raw: bytes, kind: str) -> None:
    reason = reason_for(raw)
    assert "must be a JSON object" in reason
    assert kind in reason


def test_parse_fields_refuses_a_non_mapping_too() -> None:
    with pytest.raises(InvalidPayload, match="must be a JSON object"):
        parse_fields(["not", "a", "dict"], RULES)


# --- intervalEnd ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-10 14:15:00", datetime(2026, 3, 10, 14, 15)),
        ("2028-02-29 00:00:00", datetime(2028, 2, 29)),
        ("2026-12-31 23:45:00", datetime(2026, 12, 31, 23, 45)),
        ("2026-01-01 00:00:00", datetime(2026, 1, 1)),
    ],
)
def test_real_aligned_interval_end_is_accepted(text: str, expected: datetime) -> None:
    assert parse(encode(fields(intervalEnd=text))).record.interval_end == expected


@pytest.mark.parametrize(
    "text",
    [
        "2026-02-30 00:00:00",  # no such day
        "2027-02-29 00:00:00",  # not a leap year
        "2026-13-01 00:00:00",
        "2026-00-10 00:00:00",
        "2026-01-01 24:00:00",
        "2026-01-01 00:60:00",
        "2026-01-01T00:15:00",  # ISO 'T' separator
        "2026-01-01 00:15",  # no seconds
        "2026-01-01 00:15:00Z",  # trailing Z
        "2026-01-01 00:15:00+01:00",
        "2026-01-01 00:15:00.000",
        "2026-1-1 00:15:00",
        "20260101 001500",
        " 2026-01-01 00:15:00",
        "2026-01-01 00:15:00 ",
        "2026-01-01 00:15:00\n",
        "2026-01-01  00:15:00",
        "",
        "\uff12\uff10\uff12\uff16-01-01 00:15:00",  # full-width digits
        "03/10/2026 14:15:00",
    ],
)
def test_interval_end_that_is_not_a_real_yyyy_mm_dd_hh_mm_ss_is_invalid(text: str) -> None:
    reason = reason_for(encode(fields(intervalEnd=text)))
    assert reason.startswith("intervalEnd: ")
    assert "must be a real date-time as YYYY-MM-DD HH:MM:SS" in reason


@pytest.mark.parametrize(
    ("json_text", "kind"),
    [("20260310141500", "int"), ("null", "null"), ("true", "boolean"), ("[]", "list")],
)
def test_interval_end_that_is_not_a_string_is_invalid(json_text: str, kind: str) -> None:
    reason = reason_for(with_raw_value("intervalEnd", json_text))
    assert reason.startswith("intervalEnd: must be a string")
    assert kind in reason


@pytest.mark.parametrize(
    "text",
    ["2026-03-10 14:05:00", "2026-03-10 14:14:00", "2026-03-10 14:16:00", "2026-03-10 14:50:00"],
)
def test_misaligned_interval_end_is_invalid_and_says_so(text: str) -> None:
    reason = reason_for(encode(fields(intervalEnd=text)))
    assert reason.startswith("intervalEnd: ")
    assert "misaligned" in reason
    assert "15-minute" in reason


@pytest.mark.parametrize(
    "text", ["2026-03-10 14:15:01", "2026-03-10 14:15:30", "2026-03-10 00:00:59"]
)
def test_interval_end_with_nonzero_seconds_is_misaligned(text: str) -> None:
    assert "misaligned" in reason_for(encode(fields(intervalEnd=text)))


@pytest.mark.parametrize("minute", [0, 5, 10, 25, 40, 55])
def test_five_minute_rules_accept_every_five_minute_boundary(minute: int) -> None:
    raw = encode(fields(intervalEnd=f"2026-03-10 14:{minute:02d}:00", kWh=0.25, kW=3.0))
    assert parse(raw, RULES_5).record.interval_end.minute == minute


@pytest.mark.parametrize("minute", [1, 7, 14, 58])
def test_five_minute_rules_reject_times_between_boundaries_as_misaligned(minute: int) -> None:
    reason = reason_for(encode(fields(intervalEnd=f"2026-03-10 14:{minute:02d}:00")), RULES_5)
    assert "misaligned" in reason
    assert "5-minute" in reason


def test_five_minute_boundary_is_misaligned_under_fifteen_minute_rules() -> None:
    raw = encode(fields(intervalEnd="2026-03-10 14:05:00"))
    assert parse(raw, RULES_5).record.interval_end.minute == 5
    assert "misaligned" in reason_for(raw, RULES)


def test_hourly_rules_only_accept_the_top_of_the_hour() -> None:
    hourly = ValidationRules(interval_minutes=60, clock=lambda: NOW)
    raw = encode(fields(intervalEnd="2026-03-10 14:00:00", kW=0.25))
    assert parse(raw, hourly).record.interval_end.minute == 0
    assert "misaligned" in reason_for(encode(fields(intervalEnd="2026-03-10 14:15:00")), hourly)


def test_interval_end_on_2000_01_01_is_accepted() -> None:
    raw = encode(fields(intervalEnd="2000-01-01 00:00:00"))
    assert parse(raw).record.interval_end == datetime(2000, 1, 1)


@pytest.mark.parametrize(
    "text", ["1999-12-31 23:45:00", "1970-01-01 00:00:00", "0001-01-01 00:00:00"]
)
def test_interval_end_before_2000_is_invalid_and_says_earliest(text: str) -> None:
    reason = reason_for(encode(fields(intervalEnd=text)))
    assert reason.startswith("intervalEnd: ")
    assert "before the earliest" in reason
    assert "2000-01-01 00:00:00" in reason


def test_earliest_bound_is_configurable() -> None:
    rules = ValidationRules(earliest=datetime(2020, 1, 1), clock=lambda: NOW)
    raw = encode(fields(intervalEnd="2020-01-01 00:00:00"))
    assert parse(raw, rules).record.interval_end == datetime(2020, 1, 1)
    reason = reason_for(encode(fields(intervalEnd="2019-12-31 23:45:00")), rules)
    assert "before the earliest" in reason
    assert "2020-01-01 00:00:00" in reason


def test_interval_end_exactly_one_day_ahead_of_the_clock_is_accepted() -> None:
    ahead = (NOW + timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    assert parse(encode(fields(intervalEnd=ahead))).record.interval_end == NOW + timedelta(days=1)


def test_interval_end_more_than_one_day_ahead_of_the_clock_is_invalid() -> None:
    too_far = (NOW + timedelta(days=1, minutes=15)).strftime("%Y-%m-%d %H:%M:%S")
    reason = reason_for(encode(fields(intervalEnd=too_far)))
    assert reason.startswith("intervalEnd: ")
    assert "ahead of this machine's clock" in reason
    assert "1 day" in reason
    assert NOW.strftime("%Y-%m-%d %H:%M:%S") in reason


def test_max_ahead_is_configurable() -> None:
    rules = ValidationRules(max_ahead=timedelta(hours=1), clock=lambda: NOW)
    raw = encode(fields(intervalEnd="2030-06-15 13:00:00"))
    assert parse(raw, rules).record.interval_end == datetime(2030, 6, 15, 13)
    assert "ahead" in reason_for(encode(fields(intervalEnd="2030-06-15 13:15:00")), rules)


def test_ahead_check_reads_the_clock_at_parse_time() -> None:
    now = [datetime(2026, 3, 1)]
    rules = ValidationRules(clock=lambda: now[0])
    raw = encode(fields(intervalEnd="2026-03-10 14:15:00"))
    assert "ahead" in reason_for(raw, rules)
    now[0] = datetime(2026, 3, 10)
    assert parse(raw, rules).record.interval_end == datetime(2026, 3, 10, 14, 15)


def test_default_rules_use_the_machine_clock() -> None:
    future = datetime.now() + timedelta(days=3)
    future = future.replace(minute=future.minute - future.minute % 15, second=0, microsecond=0)
    raw = encode(fields(intervalEnd=future.strftime("%Y-%m-%d %H:%M:%S")))
    with pytest.raises(InvalidPayload, match="ahead of this machine's clock"):
        parse_payload(raw)
    past = (future - timedelta(days=10)).strftime("%Y-%m-%d %H:%M:%S")
    assert parse_payload(encode(fields(intervalEnd=past))).record.interval_end < future


def test_default_rules_are_fifteen_minutes_from_2000_up_to_one_day_ahead() -> None:
    rules = ValidationRules()
    assert rules.interval_minutes == 15
    assert rules.earliest == datetime(2000, 1, 1)
    assert rules.max_ahead == timedelta(days=1)


# --- pulseCount ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("json_text", "expected"),
    [("0", 0), ("42", 42), ("42.0", 42), ("1e2", 100), ("-0", 0), ("2147483647", 2147483647)],
)
def test_pulse_count_accepts_whole_numbers_from_zero(json_text: str, expected: int) -> None:
    count = parse(with_raw_value("pulseCount", json_text)).record.pulse_count
    assert count == expected
    assert type(count) is int


@pytest.mark.parametrize(
    ("json_text", "says"),
    [
        ("true", "must be an integer"),
        ("false", "must be an integer"),
        ('"42"', "must be an integer"),
        ("null", "must be an integer"),
        ("[]", "must be an integer"),
        ("{}", "must be an integer"),
        ("4.5", "whole number"),
        ("0.000001", "whole number"),
        ("-1", "0 or more"),
        ("-3.0", "0 or more"),
        ("2147483648", "does not fit the INT column"),
        ("1e400", "does not fit the INT column"),
    ],
)
def test_pulse_count_that_is_not_a_whole_number_from_zero_is_invalid(
    json_text: str, says: str
) -> None:
    reason = reason_for(with_raw_value("pulseCount", json_text))
    assert reason.startswith("pulseCount: ")
    assert says in reason


@pytest.mark.parametrize("json_text", ["1e400", "1e99999", "1e999999999", "-1e999999999"])
def test_astronomical_pulse_count_is_refused_quickly_with_a_short_reason(json_text: str) -> None:
    started = time.perf_counter()
    reason = reason_for(with_raw_value("pulseCount", json_text))
    assert time.perf_counter() - started < 1.0
    assert reason.startswith("pulseCount: ")
    assert len(reason) < 120


def test_pulse_count_as_a_float_in_a_hand_built_dict_is_accepted_when_whole() -> None:
    assert parse_fields(fields(pulseCount=42.0), RULES).record.pulse_count == 42
    with pytest.raises(InvalidPayload, match="pulseCount: must be a whole number"):
        parse_fields(fields(pulseCount=4.5), RULES)


# --- kWh, kW, total_kWh ----------------------------------------------------------------------


@pytest.mark.parametrize("field", QUANTITY_FIELDS)
@pytest.mark.parametrize(
    ("json_text", "stored"),
    [
        ("0.1", "0.100000"),
        ("0", "0.000000"),
        ("5", "5.000000"),
        ("1.23456789", "1.234568"),
        ("1.0000005", "1.000001"),  # half-up, not half-even
        ("0.0000025", "0.000003"),
        ("0.00000049", "0.000000"),
        ("2.5e-7", "0.000000"),
        ("1E2", "100.000000"),
        ("123456.789012", "123456.789012"),
        ("999999999999.999999", "999999999999.999999"),
    ],
)
def test_quantities_are_stored_as_decimals_at_six_places(
    field: str, json_text: str, stored: str
) -> None:
    record = parse(with_raw_value(field, json_text)).record
    value = {"kWh": record.kwh, "kW": record.kw, "total_kWh": record.total_kwh}[field]
    assert isinstance(value, Decimal)
    assert str(value) == stored
    assert value.as_tuple().exponent == -6


@pytest.mark.parametrize("json_text", ["-0", "-0.0", "-0e5"])
def test_negative_zero_quantity_is_stored_as_plain_zero(json_text: str) -> None:
    kwh = parse(with_raw_value("kWh", json_text)).record.kwh
    assert kwh == 0
    assert not kwh.is_signed()


def test_float_quantities_from_a_hand_built_dict_have_no_float_artefacts() -> None:
    record = parse_fields(fields(kWh=0.1, kW=0.1 + 0.2, total_kWh=1.1 + 2.2), RULES).record
    assert str(record.kwh) == "0.100000"
    assert str(record.kw) == "0.300000"
    assert str(record.total_kwh) == "3.300000"


@pytest.mark.parametrize("field", QUANTITY_FIELDS)
@pytest.mark.parametrize(
    ("json_text", "says"),
    [
        ('"0.25"', "must be a number"),
        ("true", "must be a number"),
        ("false", "must be a number"),
        ("[1]", "must be a number"),
        ('{"v": 1}', "must be a number"),
        ("-1", "0 or more"),
        ("-0.000001", "0 or more"),
        ("1000000000000", "less than 10^12"),
        ("1e12", "less than 10^12"),
        ("1e400", "less than 10^12"),
    ],
)
def test_quantity_that_is_not_a_number_from_zero_below_10_12_is_invalid(
    field: str, json_text: str, says: str
) -> None:
    reason = reason_for(with_raw_value(field, json_text))
    assert reason.startswith(f"{field}: ")
    assert says in reason


@pytest.mark.parametrize("field", QUANTITY_FIELDS)
def test_quantity_that_rounds_up_to_10_12_is_invalid(field: str) -> None:
    reason = reason_for(with_raw_value(field, "999999999999.9999995"))
    assert reason.startswith(f"{field}: ")
    assert "less than 10^12" in reason


@pytest.mark.parametrize("field", [*QUANTITY_FIELDS, "pulseCount"])
@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_invalid_even_though_python_json_accepts_them(
    field: str, constant: str
) -> None:
    reason = reason_for(with_raw_value(field, constant))
    assert "not a valid number" in reason
    assert constant.lstrip("-") in reason


@pytest.mark.parametrize("field", QUANTITY_FIELDS)
@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), Decimal("NaN"), Decimal("-Infinity")]
)
def test_non_finite_quantity_in_a_hand_built_dict_is_invalid(field: str, value: Any) -> None:
    with pytest.raises(InvalidPayload, match=f"^{field}: must be a finite number"):
        parse_fields(fields(**{field: value}), RULES)


@pytest.mark.parametrize("field", ["kWh", "kW"])
def test_null_required_quantity_is_invalid(field: str) -> None:
    reason = reason_for(with_raw_value(field, "null"))
    assert reason.startswith(f"{field}: must be a number")
    assert "null" in reason


def test_total_kwh_may_be_null_or_absent() -> None:
    assert parse(with_raw_value("total_kWh", "null")).record.total_kwh is None
    assert parse(encode(without("total_kWh"))).record.total_kwh is None


# --- flags ---------------------------------------------------------------------------------


@pytest.mark.parametrize("field", FLAG_FIELDS)
@pytest.mark.parametrize(
    ("json_text", "expected"),
    [("true", True), ("false", False), ("1", True), ("0", False), ("null", None)],
)
def test_flags_accept_booleans_zero_one_and_null(
    field: str, json_text: str, expected: bool | None
) -> None:
    record = parse(with_raw_value(field, json_text)).record
    value = {"r17Exclude": record.r17_exclude, "kyzInvalidAlarm": record.kyz_invalid_alarm}
    assert value[field] is expected


def test_absent_flags_are_none() -> None:
    record = parse(encode(fields())).record
    assert record.r17_exclude is None
    assert record.kyz_invalid_alarm is None


@pytest.mark.parametrize("field", FLAG_FIELDS)
@pytest.mark.parametrize("json_text", ["2", "-1", '"true"', '"1"', '""', "[]", "{}", "0.5"])
def test_flag_other_than_true_false_0_1_or_null_is_invalid(field: str, json_text: str) -> None:
    reason = reason_for(with_raw_value(field, json_text))
    assert reason.startswith(f"{field}: ")
    assert "must be true, false, 0, 1 or null" in reason


# --- unknown and missing fields ---------------------------------------------------------------


def test_unknown_fields_are_ignored_and_listed_in_order() -> None:
    parsed = parse(encode(fields(zeta=1, alpha={"nested": [1, 2]}, firmware="v2")))
    assert parsed.record == parse(encode(fields())).record
    assert parsed.unknown_fields == ("alpha", "firmware", "zeta")


def test_unknown_field_with_an_invalid_looking_value_does_not_invalidate_the_payload() -> None:
    parsed = parse(encode(fields(extra=-1, note="not a number")))
    assert parsed.unknown_fields == ("extra", "note")


def test_python_attribute_names_are_unknown_fields_not_aliases() -> None:
    snake = {"interval_end": "2026-03-10 14:15:00", "pulse_count": 1, "kwh": 0.25, "kw": 1.0}
    reason = reason_for(encode(snake))
    for field in REQUIRED_FIELDS:
        assert f"{field}: required field is missing" in reason


def test_field_names_are_case_sensitive() -> None:
    data = without("kWh")
    data["kwh"] = 0.25
    assert "kWh: required field is missing" in reason_for(encode(data))


@pytest.mark.parametrize("field", REQUIRED_FIELDS)
def test_missing_required_field_is_named_in_the_reason(field: str) -> None:
    assert reason_for(encode(without(field))) == f"{field}: required field is missing"


def test_empty_object_names_every_required_field() -> None:
    reason = reason_for(b"{}")
    assert reason.split("; ") == [
        f"{field}: required field is missing" for field in REQUIRED_FIELDS
    ]


def test_several_problems_are_all_named_in_one_line_joined_by_semicolons() -> None:
    raw = encode({"pulseCount": -1, "kWh": "lots", "r17Exclude": 2})
    parts = reason_for(raw).split("; ")
    assert parts == [
        "intervalEnd: required field is missing",
        "pulseCount: must be 0 or more, got -1",
        "kWh: must be a number, got string 'lots'",
        "kW: required field is missing",
        "r17Exclude: must be true, false, 0, 1 or null, got 2",
    ]


@pytest.mark.parametrize(
    "raw",
    [
        encode(fields(intervalEnd="2026-03-10\n14:15:00")),
        encode(fields(kWh="1\n2", kW="\r\n")),
        encode(fields(r17Exclude="a\nb", pulseCount=["x\ny"])),
        encode(fields(kyzInvalidAlarm={"line\nbreak": 1})),
        b'{\n"kWh":\n\n}',
        b"[\n1,\n2\n]",
        encode(fields(intervalEnd="x" * 500 + "\n")),
    ],
)
def test_reasons_are_one_line_even_when_values_contain_newlines(raw: bytes) -> None:
    assert reason_for(raw)  # reason_for asserts there is no line break


def test_long_bad_value_is_shortened_in_the_reason() -> None:
    reason = reason_for(encode(fields(intervalEnd="9" * 1_000)))
    assert len(reason) < 200
    assert "..." in reason


# --- the soft demand check --------------------------------------------------------------------


def test_demand_that_is_not_kwh_times_four_warns_at_fifteen_minutes() -> None:
    parsed = parse(encode(fields(kWh=0.25, kW=5.0)))
    assert parsed.record.kw == Decimal("5.000000")  # still returned as sent
    assert len(parsed.warnings) == 1
    warning = parsed.warnings[0]
    assert "kW 5" in warning
    assert "15-minute" in warning
    assert "\n" not in warning


@pytest.mark.parametrize("kw", [1.0, 1.001, 0.999])
def test_demand_matching_kwh_times_four_does_not_warn(kw: float) -> None:
    assert parse(encode(fields(kWh=0.25, kW=kw))).warnings == ()


def test_zero_energy_and_zero_demand_do_not_warn() -> None:
    assert parse(encode(fields(kWh=0, kW=0))).warnings == ()


def test_demand_check_follows_the_interval_length() -> None:
    assert parse(encode(fields(kWh=0.1, kW=1.2)), RULES_5).warnings == ()
    warnings = parse(encode(fields(kWh=0.1, kW=0.4)), RULES_5).warnings
    assert len(warnings) == 1
    assert "5-minute" in warnings[0]
    # The same pair is right for fifteen minutes.
    assert parse(encode(fields(kWh=0.1, kW=0.4))).warnings == ()


# --- round trip ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        fields(),
        without("total_kWh"),
        fields(r17Exclude=True, kyzInvalidAlarm=False),
        fields(r17Exclude=False, kyzInvalidAlarm=True, kWh=0.1, kW=0.4),
        fields(pulseCount=2147483647, kWh=123456.789012, kW=493827.156048, total_kWh=987654321),
        fields(kWh=0, kW=0, total_kWh=0, pulseCount=0),
        fields(kWh=1.234568, kW=4.938272, total_kWh=0.000001),
        fields(intervalEnd="2000-01-01 00:00:00"),
    ],
)
def test_to_payload_round_trips_through_parse_payload(data: dict[str, Any]) -> None:
    record = parse(encode(data)).record
    payload = record.to_payload()
    assert parse(json.dumps(payload).encode("utf-8")).record == record
    assert parse(json.dumps(payload)).record == record


def test_to_payload_uses_payload_names_and_json_numbers() -> None:
    record = parse(encode(fields(r17Exclude=True))).record
    payload = record.to_payload()
    assert payload == {
        "intervalEnd": "2026-03-10 14:15:00",
        "pulseCount": 100,
        "kWh": 0.25,
        "kW": 1,
        "total_kWh": 12345.5,
        "r17Exclude": True,
    }
    assert all(isinstance(payload[name], int | float) for name in ("kWh", "kW", "total_kWh"))


def test_to_payload_leaves_out_optional_fields_that_are_not_set() -> None:
    payload = parse(encode(without("total_kWh"))).record.to_payload()
    assert set(payload) == set(REQUIRED_FIELDS)
