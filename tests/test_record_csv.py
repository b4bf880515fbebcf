"""Rows of the PLC's microSD CSV export become the same records as payloads do."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kyzconsole.record import InvalidPayload, ParsedPayload, ValidationRules, parse_payload
from kyzconsole.record.plc_csv import (
    CsvHeaderError,
    csv_interval_end,
    header_index,
    parse_csv_line,
    parse_csv_row,
    sniff_delimiter,
    split_csv_line,
)

NOW = datetime(2030, 6, 15, 12, 0, 0)
RULES = ValidationRules(clock=lambda: NOW)
HEADER = [
    "Date",
    "Time",
    "counter15min",
    "LastEnergyUsage",
    "LastDemand",
    "TotalEnergyUsed",
    "R17_Last_ExcludeDemand",
    "KYZ_InvalidAlarm",
]
REQUIRED = ["Date", "Time", "counter15min", "LastEnergyUsage", "LastDemand"]
INDEX = header_index(HEADER)


def row(**cells: str) -> list[str]:
    """A valid export row; keyword names are the CSV header names."""
    values = {
        "Date": "03/10/2026",
        "Time": "14:15:00.000",
        "counter15min": "100",
        "LastEnergyUsage": "0.25",
        "LastDemand": "1.0",
        "TotalEnergyUsed": "12345.5",
        "R17_Last_ExcludeDemand": "FALSE0",
        "KYZ_InvalidAlarm": "FALSE0",
    }
    values.update(cells)
    return [values[name] for name in HEADER]


def parse(cells: list[str], rules: ValidationRules = RULES) -> ParsedPayload:
    return parse_csv_row(cells, INDEX, rules)


def reason_for(cells: list[str], rules: ValidationRules = RULES) -> str:
    with pytest.raises(InvalidPayload) as caught:
        parse_csv_row(cells, INDEX, rules)
    reason = caught.value.reason
    assert "\n" not in reason and "\r" not in reason, reason
    return reason


# --- header -------------------------------------------------------------------------------


def test_header_index_maps_payload_fields_to_column_positions() -> None:
    assert header_index(HEADER) == {
        "Date": 0,
        "Time": 1,
        "pulseCount": 2,
        "kWh": 3,
        "kW": 4,
        "total_kWh": 5,
        "r17Exclude": 6,
        "kyzInvalidAlarm": 7,
    }


def test_header_columns_may_come_in_any_order_with_extra_columns() -> None:
    header = ["Note", "LastDemand", "Time", "LastEnergyUsage", "Date", "counter15min"]
    assert header_index(header) == {"Date": 4, "Time": 2, "pulseCount": 5, "kWh": 3, "kW": 1}


@pytest.mark.parametrize(
    "header",
    [
        [name.lower() for name in HEADER],
        [name.upper() for name in HEADER],
        [f"  {name}\t" for name in HEADER],
        ["\ufeffDate", *HEADER[1:]],
        ["\ufeff Date ", *HEADER[1:]],
        [" \ufeffdate", *HEADER[1:]],
        [
            "DATE",
            "time",
            "Counter15Min",
            "LASTENERGYUSAGE",
            "lastdemand",
            "TotalEnergyUSED",
            "r17_last_excludedemand",
            " kyz_invalidalarm ",
        ],
    ],
)
def test_headers_match_ignoring_case_surrounding_space_and_a_leading_bom(
    header: list[str],
) -> None:
    assert header_index(header) == INDEX


def test_header_without_the_optional_columns_is_accepted() -> None:
    index = header_index(REQUIRED)
    assert set(index) == {"Date", "Time", "pulseCount", "kWh", "kW"}
    record = parse_csv_row(["03/10/2026", "14:15:00", "100", "0.25", "1.0"], index, RULES).record
    assert record.total_kwh is None
    assert record.r17_exclude is None
    assert record.kyz_invalid_alarm is None


@pytest.mark.parametrize("missing", REQUIRED)
def test_header_missing_a_required_column_raises_naming_it(missing: str) -> None:
    header = [name for name in HEADER if name != missing]
    with pytest.raises(CsvHeaderError) as caught:
        header_index(header)
    assert str(caught.value).startswith(f"CSV header lacks {missing};")


def test_header_missing_several_columns_names_them_all() -> None:
    with pytest.raises(CsvHeaderError) as caught:
        header_index(["Date", "LastDemand", "TotalEnergyUsed"])
    assert str(caught.value).startswith("CSV header lacks Time, counter15min, LastEnergyUsage;")


def test_a_data_row_is_not_a_header() -> None:
    with pytest.raises(CsvHeaderError, match="CSV header lacks Date, Time"):
        header_index(row())


def test_header_error_is_a_value_error_and_not_an_invalid_payload() -> None:
    with pytest.raises(CsvHeaderError) as caught:
        header_index([])
    assert isinstance(caught.value, ValueError)
    assert not isinstance(caught.value, InvalidPayload)


# --- a good row -------------------------------------------------------------------------------


def test_valid_row_becomes_a_record_with_every_field() -> None:
    parsed = parse(row(R17_Last_ExcludeDemand="TRUE1"))
    record = parsed.record
    assert record.interval_end == datetime(2026, 3, 10, 14, 15)
    assert record.pulse_count == 100
    assert record.kwh == Decimal("0.250000")
    assert record.kw == Decimal("1.000000")
    assert record.total_kwh == Decimal("12345.500000")
    assert record.r17_exclude is True
    assert record.kyz_invalid_alarm is False
    assert parsed.warnings == ()
    assert parsed.unknown_fields == ()


def test_cells_with_surrounding_spaces_are_read() -> None:
    cells = [f" {cell} " for cell in row()]
    assert parse(cells).record == parse(row()).record


def test_extra_cells_beyond_the_header_are_ignored() -> None:
    assert parse([*row(), "unexpected", "cells"]).record == parse(row()).record


@pytest.mark.parametrize(
    ("text", "stored"),
    [("0.1", "0.100000"), ("1.23456789", "1.234568"), ("1.0000005", "1.000001"), ("7", "7.000000")],
)
def test_csv_numbers_are_stored_as_decimals_at_six_places(text: str, stored: str) -> None:
    record = parse(row(LastEnergyUsage=text, TotalEnergyUsed=text)).record
    assert str(record.kwh) == stored
    assert str(record.total_kwh) == stored


def test_row_with_mismatched_demand_is_returned_with_a_warning() -> None:
    parsed = parse(row(LastEnergyUsage="0.25", LastDemand="5.0"))
    assert parsed.record.kw == Decimal("5.000000")
    assert len(parsed.warnings) == 1


# --- Date and Time -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("time_text", "expected"),
    [
        ("14:15:00", datetime(2026, 3, 10, 14, 15)),
        ("14:15:00.000", datetime(2026, 3, 10, 14, 15)),
        ("14:15:00.4", datetime(2026, 3, 10, 14, 15)),
        ("14:15:00.499", datetime(2026, 3, 10, 14, 15)),
        ("14:14:59.998", datetime(2026, 3, 10, 14, 15)),
        ("14:14:59.5", datetime(2026, 3, 10, 14, 15)),
        ("14:14:59.5000001", datetime(2026, 3, 10, 14, 15)),
    ],
)
def test_time_with_fractional_seconds_rounds_to_the_nearest_second(
    time_text: str, expected: datetime
) -> None:
    assert parse(row(Time=time_text)).record.interval_end == expected


@pytest.mark.parametrize("time_text", ["14:15:00.5", "14:15:00.998", "14:14:59.4", "14:14:59"])
def test_time_that_rounds_off_the_boundary_is_misaligned(time_text: str) -> None:
    reason = reason_for(row(Time=time_text))
    assert reason.startswith("intervalEnd: ")
    assert "misaligned" in reason


def test_time_rounding_carries_over_midnight_and_the_new_year() -> None:
    record = parse(row(Date="12/31/2025", Time="23:59:59.999")).record
    assert record.interval_end == datetime(2026, 1, 1, 0, 0)


def test_csv_rows_follow_the_interval_length_of_the_rules() -> None:
    five = ValidationRules(interval_minutes=5, clock=lambda: NOW)
    cells = row(Time="14:05:00", LastEnergyUsage="0.25", LastDemand="3.0")
    assert parse(cells, five).record.interval_end == datetime(2026, 3, 10, 14, 5)
    assert "misaligned" in reason_for(cells, RULES)


def test_csv_rows_follow_the_date_bounds_of_the_rules() -> None:
    assert "before the earliest" in reason_for(row(Date="12/31/1999", Time="23:45:00"))
    assert "ahead" in reason_for(row(Date="06/17/2030", Time="00:00:00"))


@pytest.mark.parametrize(
    ("date_text", "day"), [("02/29/2028", 29), ("3/1/2026", 1), ("12/31/2026", 31)]
)
def test_date_is_month_day_year(date_text: str, day: int) -> None:
    assert parse(row(Date=date_text)).record.interval_end.day == day


@pytest.mark.parametrize(
    "date_text",
    [
        "02/30/2026",
        "02/29/2027",
        "13/10/2026",
        "10/32/2026",
        "2026-03-10",
        "03-10-2026",
        "03/10/26",
        "",
        "tomorrow",
        "03/10/2026 14:15:00",
    ],
)
def test_bad_date_is_invalid_and_names_the_date_column(date_text: str) -> None:
    reason = reason_for(row(Date=date_text))
    assert reason.startswith("Date: must be MM/DD/YYYY")
    assert repr(date_text) in reason


@pytest.mark.parametrize(
    "time_text",
    [
        "14:15",
        "25:00:00",
        "14:60:00",
        "14:15:00.abc",
        "14:15:00.-1",
        "14:15:00.\u00b2",
        "14:15:00.\u0665",
        "",
        "2:15 PM",
        "14:15:00Z",
        "14.15.00",
    ],
)
def test_bad_time_is_invalid_and_names_the_time_column(time_text: str) -> None:
    reason = reason_for(row(Time=time_text))
    assert reason.startswith("Time: must be HH:MM:SS")


# --- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "field"),
    [
        ("counter15min", "pulseCount"),
        ("LastEnergyUsage", "kWh"),
        ("LastDemand", "kW"),
        ("TotalEnergyUsed", "total_kWh"),
    ],
)
@pytest.mark.parametrize("text", ["abc", "1,5", "0x10", "1.2.3", "--1", "TRUE1"])
def test_non_numeric_cell_is_invalid_and_names_its_column(
    column: str, field: str, text: str
) -> None:
    reason = reason_for(row(**{column: text}))
    assert reason.startswith(f"{field}: must be a number")
    assert repr(text) in reason


@pytest.mark.parametrize(
    ("column", "text", "says"),
    [
        ("counter15min", "-1", "pulseCount: must be 0 or more"),
        ("counter15min", "4.5", "pulseCount: must be a whole number"),
        ("counter15min", "NaN", "pulseCount: must be a whole number"),
        ("counter15min", "", "pulseCount: must be an integer"),
        ("counter15min", "2147483648", "pulseCount: 2147483648 does not fit the INT column"),
        ("LastEnergyUsage", "-0.5", "kWh: must be 0 or more"),
        ("LastEnergyUsage", "Infinity", "kWh: must be a finite number"),
        ("LastEnergyUsage", "NaN", "kWh: must be a finite number"),
        ("LastEnergyUsage", "", "kWh: must be a number, got null"),
        ("LastDemand", "", "kW: must be a number, got null"),
        ("LastDemand", "1e12", "kW: must be less than 10^12"),
        ("TotalEnergyUsed", "-Infinity", "total_kWh: must be a finite number"),
    ],
)
def test_out_of_range_cell_is_invalid_and_names_its_field(
    column: str, text: str, says: str
) -> None:
    assert says in reason_for(row(**{column: text}))


def test_whole_number_counter_with_a_decimal_point_is_accepted() -> None:
    assert parse(row(counter15min="42.0")).record.pulse_count == 42


def test_empty_optional_total_is_none() -> None:
    assert parse(row(TotalEnergyUsed="")).record.total_kwh is None


def test_astronomical_counter_is_refused_quickly() -> None:
    started = time.perf_counter()
    reason = reason_for(row(counter15min="1e999999999"))
    assert time.perf_counter() - started < 1.0
    assert reason.startswith("pulseCount: ")


def test_several_bad_cells_are_all_named() -> None:
    reason = reason_for(row(counter15min="-1", LastDemand="-2"))
    assert reason.split("; ") == [
        "pulseCount: must be 0 or more, got -1",
        "kW: must be 0 or more, got -2",
    ]


# --- flags -----------------------------------------------------------------------------------


@pytest.mark.parametrize("column", ["R17_Last_ExcludeDemand", "KYZ_InvalidAlarm"])
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FALSE0", False),
        ("TRUE1", True),
        ("0", False),
        ("1", True),
        ("", None),
        ("  TRUE1 ", True),
        ("false0", False),
        ("10", False),
    ],
)
def test_flag_cells_are_read_from_their_last_character(
    column: str, text: str, expected: bool | None
) -> None:
    record = parse(row(**{column: text})).record
    value = {
        "R17_Last_ExcludeDemand": record.r17_exclude,
        "KYZ_InvalidAlarm": record.kyz_invalid_alarm,
    }
    assert value[column] is expected


@pytest.mark.parametrize(
    ("column", "field"),
    [("R17_Last_ExcludeDemand", "r17Exclude"), ("KYZ_InvalidAlarm", "kyzInvalidAlarm")],
)
@pytest.mark.parametrize("text", ["TRUE", "FALSE", "2", "yes", "1 x"])
def test_flag_cell_not_ending_in_0_or_1_is_invalid(column: str, field: str, text: str) -> None:
    reason = reason_for(row(**{column: text}))
    assert reason.startswith(f"{field}: must be a flag ending in 0 or 1")


# --- row shape and raw lines ------------------------------------------------------------------


@pytest.mark.parametrize("length", [0, 1, 5, 7])
def test_row_with_too_few_columns_is_invalid_and_says_so(length: int) -> None:
    reason = reason_for(row()[:length])
    assert reason == f"row has {length} columns, the header has at least 8"


def test_split_csv_line_strips_the_bom_and_line_ending() -> None:
    line = b"\xef\xbb\xbf" + ",".join(HEADER).encode() + b"\r\n"
    assert split_csv_line(line) == HEADER


def test_split_csv_line_honours_quotes() -> None:
    assert split_csv_line(b'"03/10/2026","a, b",3\n') == ["03/10/2026", "a, b", "3"]


def test_split_csv_line_with_bad_utf8_is_invalid_and_says_not_utf8() -> None:
    with pytest.raises(InvalidPayload, match="not UTF-8"):
        split_csv_line(b"03/10/2026,\xff\xfe,100")


def test_split_csv_line_with_a_semicolon_delimiter() -> None:
    assert split_csv_line(b"a;b;c", ";") == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("header", "delimiter"),
    [
        (b"Date,Time,counter15min", ","),
        (b"Date;Time;counter15min", ";"),
        (b"\xef\xbb\xbfDate;Time", ";"),
    ],
)
def test_sniff_delimiter_picks_the_more_common_separator(header: bytes, delimiter: str) -> None:
    assert sniff_delimiter(header) == delimiter


def test_an_export_file_with_a_bom_reads_end_to_end() -> None:
    lines = [
        b"\xef\xbb\xbfDate;Time;counter15min;LastEnergyUsage;LastDemand;TotalEnergyUsed;"
        b"R17_Last_ExcludeDemand;KYZ_InvalidAlarm\r\n",
        b"03/10/2026;14:14:59.998;100;0.25;1.0;12345.5;FALSE0;TRUE1\r\n",
    ]
    delimiter = sniff_delimiter(lines[0])
    index = header_index(split_csv_line(lines[0], delimiter))
    record = parse_csv_line(lines[1], index, RULES, delimiter).record
    assert record.interval_end == datetime(2026, 3, 10, 14, 15)
    assert record.kyz_invalid_alarm is True
    assert record.kwh == Decimal("0.250000")


def test_csv_row_and_json_payload_give_the_same_record() -> None:
    from_csv = parse(row()).record
    from_json = parse_payload(
        b'{"intervalEnd": "2026-03-10 14:15:00", "pulseCount": 100, "kWh": 0.25, "kW": 1.0,'
        b' "total_kWh": 12345.5, "r17Exclude": false, "kyzInvalidAlarm": 0}',
        RULES,
    ).record
    assert from_csv == from_json


def _strptime_interval_end(date_text: str, time_text: str) -> str | None:
    """The reference: strptime on both cells, as the export's format says."""
    whole, _, fraction = time_text.partition(".")
    try:
        day = datetime.strptime(date_text, "%m/%d/%Y")
        clock = datetime.strptime(whole, "%H:%M:%S")
    except ValueError:
        return None
    if fraction and not (fraction.isascii() and fraction.isdigit()):
        return None
    moment = day.replace(hour=clock.hour, minute=clock.minute, second=clock.second)
    if fraction and int(fraction[0]) >= 5:
        moment += timedelta(seconds=1)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


two = st.integers(0, 99).map("{:02d}".format)
date_cells = st.one_of(
    st.builds("{}/{}/{}".format, two, two, st.integers(0, 9999).map("{:04d}".format)),
    st.text(alphabet="0123456789/ -", max_size=12),
)
time_cells = st.one_of(
    st.builds("{}:{}:{}".format, two, two, two),
    st.builds("{}:{}:{}.{}".format, two, two, two, st.integers(0, 999).map(str)),
    st.text(alphabet="0123456789:. ", max_size=12),
)


@settings(deadline=None)
@given(date_cells, time_cells)
def test_csv_interval_end_agrees_with_strptime_on_any_cells(date_text: str, time_text: str) -> None:
    expected = _strptime_interval_end(date_text, time_text)
    try:
        got: str | None = csv_interval_end(date_text, time_text)
    except InvalidPayload:
        got = None
    assert got == expected
