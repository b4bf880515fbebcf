"""Property tests: whatever arrives, the parsers answer with a valid record or InvalidPayload."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kyzconsole.record import (
    IntervalRecord,
    InvalidPayload,
    ParsedPayload,
    ValidationRules,
    parse_payload,
)
from kyzconsole.record.plc_csv import header_index, parse_csv_row, split_csv_line

NOW = datetime(2030, 6, 15, 12, 0, 0)
KNOWN_FIELDS = (
    "intervalEnd",
    "pulseCount",
    "kWh",
    "kW",
    "total_kWh",
    "r17Exclude",
    "kyzInvalidAlarm",
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

rules_strategy = st.sampled_from([5, 15, 60]).map(
    lambda minutes: ValidationRules(interval_minutes=minutes, clock=lambda: NOW)
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
plausible_interval_ends = st.datetimes(
    min_value=datetime(1998, 1, 1), max_value=datetime(2031, 1, 1)
).map(lambda moment: moment.strftime("%Y-%m-%d %H:%M:%S"))
aligned_interval_ends = st.datetimes(
    min_value=datetime(1999, 12, 30), max_value=datetime(2030, 6, 17)
).map(lambda moment: moment.replace(minute=moment.minute // 5 * 5, second=0, microsecond=0))
plausible_numbers = (
    st.integers(min_value=-5, max_value=3_000_000_000)
    | st.decimals(allow_nan=False, allow_infinity=False, min_value=-1, max_value=10**13).map(float)
    | st.floats(min_value=0, max_value=1e13)
)
good_interval_ends = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=NOW + timedelta(days=1)
).map(lambda moment: str(moment.replace(minute=moment.minute // 15 * 15, second=0, microsecond=0)))
good_numbers = st.integers(min_value=0, max_value=10**6) | st.floats(min_value=0, max_value=1e6)
good_flags = st.sampled_from([True, False, 0, 1, None])


def mostly(
    good: st.SearchStrategy[Any],
    other: st.SearchStrategy[Any],
    anything: st.SearchStrategy[Any] = json_values,
) -> st.SearchStrategy[Any]:
    """`good` about three times in five, else `other` or `anything` (any JSON value)."""
    pick = st.sampled_from((good, good, good, other, anything))
    return pick.flatmap(lambda strategy: strategy)


plausible_values: dict[str, st.SearchStrategy[Any]] = {
    "intervalEnd": mostly(
        good_interval_ends, plausible_interval_ends | aligned_interval_ends.map(str)
    ),
    "pulseCount": mostly(good_numbers, plausible_numbers),
    "kWh": mostly(good_numbers, plausible_numbers),
    "kW": mostly(good_numbers, plausible_numbers),
    "total_kWh": mostly(good_numbers, plausible_numbers),
    "r17Exclude": mostly(good_flags, st.sampled_from([2, -1, "1", "true", 0.5])),
    "kyzInvalidAlarm": mostly(good_flags, st.sampled_from([2, -1, "1", "true", 0.5])),
}


REQUIRED_FIELDS = KNOWN_FIELDS[:4]
extra_fields = st.dictionaries(st.text(max_size=8), json_values, max_size=2)
complete_dicts = st.fixed_dictionaries(
    {name: plausible_values[name] for name in REQUIRED_FIELDS},
    optional={name: plausible_values[name] for name in KNOWN_FIELDS[4:]},
)
sparse_dicts = st.dictionaries(st.sampled_from(KNOWN_FIELDS), json_values, max_size=7)
# Dicts with the known keys (usually all required ones) holding random values, plus unknown keys.
payload_dicts = st.builds(
    lambda known, extra: {**extra, **known}, complete_dicts | sparse_dicts, extra_fields
)


def check_record(parsed: ParsedPayload, rules: ValidationRules) -> None:
    """Every record that comes out satisfies every rule."""
    record = parsed.record
    assert isinstance(record, IntervalRecord)
    end = record.interval_end
    assert end.second == 0 and end.microsecond == 0
    assert (end.hour * 60 + end.minute) % rules.interval_minutes == 0
    assert rules.earliest <= end <= NOW + rules.max_ahead
    assert type(record.pulse_count) is int
    assert 0 <= record.pulse_count <= 2_147_483_647
    quantities = [record.kwh, record.kw]
    if record.total_kwh is not None:
        quantities.append(record.total_kwh)
    for value in quantities:
        assert isinstance(value, Decimal)
        assert value.is_finite()
        assert 0 <= value < Decimal(10) ** 12
        assert value.as_tuple().exponent == -6
        assert not value.is_signed()
    assert record.r17_exclude in (None, True, False)
    assert record.kyz_invalid_alarm in (None, True, False)
    assert all("\n" not in warning for warning in parsed.warnings)


def parse_or_reason(raw: bytes | str, rules: ValidationRules) -> ParsedPayload | None:
    """Parse; an InvalidPayload is fine (and its reason one line), anything else fails the test."""
    try:
        parsed = parse_payload(raw, rules)
    except InvalidPayload as exc:
        assert exc.reason
        assert "\n" not in exc.reason and "\r" not in exc.reason
        event("invalid")
        return None
    event("valid record")
    check_record(parsed, rules)
    return parsed


@FUZZ
@given(raw=st.binary(max_size=300), rules=rules_strategy)
def test_random_bytes_give_a_valid_record_or_invalid_payload(
    raw: bytes, rules: ValidationRules
) -> None:
    parse_or_reason(raw, rules)


@FUZZ
@given(text=st.text(max_size=200), rules=rules_strategy)
def test_random_text_gives_a_valid_record_or_invalid_payload(
    text: str, rules: ValidationRules
) -> None:
    parse_or_reason(text, rules)
    parse_or_reason(text.encode("utf-8", "surrogatepass"), rules)


@FUZZ
@given(data=payload_dicts, rules=rules_strategy, bom=st.booleans())
def test_random_json_objects_give_a_valid_record_or_invalid_payload(
    data: dict[str, Any], rules: ValidationRules, bom: bool
) -> None:
    text = json.dumps(data, allow_nan=True)
    raw = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    parsed = parse_or_reason(raw, rules)
    if parsed is not None:
        extras = sorted(set(data) - set(KNOWN_FIELDS))
        assert list(parsed.unknown_fields) == extras


@FUZZ
@given(data=payload_dicts, rules=rules_strategy, cut=st.integers(min_value=0, max_value=400))
def test_truncated_json_objects_give_a_valid_record_or_invalid_payload(
    data: dict[str, Any], rules: ValidationRules, cut: int
) -> None:
    parse_or_reason(json.dumps(data, allow_nan=True)[:cut], rules)


# Values with at most 15 significant digits: a double carries those exactly (see the report on
# to_payload for larger ones).
quantities = st.decimals(min_value=0, max_value=Decimal("999999999.999999"), places=6)


@FUZZ
@given(
    end=st.datetimes(min_value=datetime(2000, 1, 1), max_value=NOW + timedelta(days=1)).map(
        lambda moment: moment.replace(minute=moment.minute // 15 * 15, second=0, microsecond=0)
    ),
    pulse_count=st.integers(min_value=0, max_value=2_147_483_647),
    kwh=quantities,
    kw=quantities,
    total_kwh=st.none() | quantities,
    r17=st.sampled_from([None, True, False]),
    alarm=st.sampled_from([None, True, False]),
)
def test_any_valid_record_round_trips_through_to_payload(
    end: datetime,
    pulse_count: int,
    kwh: Decimal,
    kw: Decimal,
    total_kwh: Decimal | None,
    r17: bool | None,
    alarm: bool | None,
) -> None:
    rules = ValidationRules(clock=lambda: NOW)
    source = {
        "intervalEnd": end.strftime("%Y-%m-%d %H:%M:%S"),
        "pulseCount": pulse_count,
        "kWh": kwh,
        "kW": kw,
        "total_kWh": total_kwh,
        "r17Exclude": r17,
        "kyzInvalidAlarm": alarm,
    }
    record = IntervalRecord.model_validate(source, context=rules)
    again = parse_payload(json.dumps(record.to_payload()).encode("utf-8"), rules).record
    assert again == record
    check_record(ParsedPayload(again), rules)


CSV_HEADER = [
    "Date",
    "Time",
    "counter15min",
    "LastEnergyUsage",
    "LastDemand",
    "TotalEnergyUsed",
    "R17_Last_ExcludeDemand",
    "KYZ_InvalidAlarm",
]
CSV_INDEX = header_index(CSV_HEADER)
any_cell = st.text(max_size=12)
good_dates = st.dates(min_value=datetime(2000, 1, 1).date(), max_value=NOW.date()).map(
    lambda day: day.strftime("%m/%d/%Y")
)
good_times = st.builds(
    lambda hour, quarter, stamp: f"{hour:02d}:{quarter * 15:02d}:00{stamp}",
    st.integers(min_value=0, max_value=23),
    st.integers(min_value=0, max_value=3),
    st.sampled_from(["", ".000", ".001", ".499"]),
)
good_number_cells = good_numbers.map(str)
date_cells = mostly(
    good_dates,
    st.dates(min_value=datetime(1998, 1, 1).date(), max_value=NOW.date()).map(
        lambda day: day.strftime("%m/%d/%Y")
    ),
    anything=any_cell,
)
time_cells = mostly(
    good_times,
    st.times().map(lambda moment: moment.strftime("%H:%M:%S.%f")[:-3])
    | st.sampled_from(["14:14:59.998", "23:59:59.9", "12:00:00.\u00b2", "12:00:00.\u0665"]),
    anything=any_cell,
)
number_cells = mostly(
    good_number_cells,
    st.sampled_from(["", "NaN", "-1", "1e999999999", "4.5", "sNaN", "1_000", "\u0661"])
    | st.decimals(allow_nan=True, allow_infinity=True).map(str),
    anything=any_cell,
)
flag_cells = mostly(
    st.sampled_from(["", "0", "1", "FALSE0", "TRUE1"]),
    st.sampled_from(["2", "TRUE", "\u0661"]),
    anything=any_cell,
)
csv_rows = st.tuples(
    date_cells,
    time_cells,
    number_cells,
    number_cells,
    number_cells,
    number_cells,
    flag_cells,
    flag_cells,
).map(list) | st.lists(any_cell, max_size=9)


@FUZZ
@given(cells=csv_rows, rules=rules_strategy)
def test_random_csv_rows_give_a_valid_record_or_invalid_payload(
    cells: list[str], rules: ValidationRules
) -> None:
    try:
        parsed = parse_csv_row(cells, CSV_INDEX, rules)
    except InvalidPayload as exc:
        assert "\n" not in exc.reason
        event("invalid")
        return
    event("valid record")
    check_record(parsed, rules)


@FUZZ
@given(raw=st.binary(max_size=200), delimiter=st.sampled_from([",", ";"]))
def test_random_csv_lines_split_or_give_invalid_payload(raw: bytes, delimiter: str) -> None:
    try:
        cells = split_csv_line(raw, delimiter)
    except InvalidPayload as exc:
        assert exc.reason
        return
    assert all(isinstance(cell, str) for cell in cells)


@settings(max_examples=600, deadline=None)
@given(data=payload_dicts, rules=rules_strategy)
def test_the_fast_checks_and_the_pydantic_model_always_agree(
    data: dict[str, Any], rules: ValidationRules
) -> None:
    """parse_fields tries IntervalRecord.checked first and the model only on failure; the two
    must accept the same payloads and make the same records."""
    from pydantic import ValidationError
    from pydantic_core import PydanticCustomError

    try:
        fast = IntervalRecord.checked(data, rules)
    except (PydanticCustomError, KeyError):
        fast = None
    try:
        model = IntervalRecord.model_validate(data, context=rules, by_alias=True, by_name=False)
    except ValidationError:
        model = None
    event("accepted" if model is not None else "refused")
    assert fast == model
