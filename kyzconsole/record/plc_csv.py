"""Rows of the PLC's microSD CSV export, mapped onto the payload rules."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from kyzconsole.record.model import INTERVAL_END_FORMAT, InvalidPayload, ValidationRules
from kyzconsole.record.payload import ParsedPayload, parse_fields

# CSV header -> payload field. Headers match without regard to case or surrounding space.
COLUMNS: dict[str, str] = {
    "counter15min": "pulseCount",
    "lastenergyusage": "kWh",
    "lastdemand": "kW",
    "totalenergyused": "total_kWh",
    "r17_last_excludedemand": "r17Exclude",
    "kyz_invalidalarm": "kyzInvalidAlarm",
}
REQUIRED_HEADERS = ("Date", "Time", "counter15min", "LastEnergyUsage", "LastDemand")
FLAG_FIELDS = frozenset(("r17Exclude", "kyzInvalidAlarm"))


class CsvHeaderError(ValueError):
    """The file's header is not a PLC export's; nothing in it can be read."""


def header_index(header: Sequence[str]) -> dict[str, int]:
    """Map the payload field names (and date/time) to column positions; raise if any are missing."""
    names = {name.strip().lstrip("\ufeff").strip().lower(): i for i, name in enumerate(header)}
    missing = [h for h in REQUIRED_HEADERS if h.lower() not in names]
    if missing:
        raise CsvHeaderError(
            f"CSV header lacks {', '.join(missing)}; expected the PLC export columns "
            f"{', '.join(REQUIRED_HEADERS)} (and optionally TotalEnergyUsed, "
            "R17_Last_ExcludeDemand, KYZ_InvalidAlarm)"
        )
    index = {"Date": names["date"], "Time": names["time"]}
    for header_name, field in COLUMNS.items():
        if header_name in names:
            index[field] = names[header_name]
    return index


def parse_csv_row(
    row: Sequence[str], index: Mapping[str, int], rules: ValidationRules | None = None
) -> ParsedPayload:
    """Validate one data row of the export. Raises InvalidPayload and nothing else."""
    rules = rules or ValidationRules()
    if len(row) <= max(index.values()):
        raise InvalidPayload(
            f"row has {len(row)} columns, the header has at least {max(index.values()) + 1}"
        )
    data: dict[str, Any] = {
        "intervalEnd": csv_interval_end(row[index["Date"]].strip(), row[index["Time"]].strip())
    }
    for field, column in index.items():
        if field in ("Date", "Time"):
            continue
        text = row[column].strip()
        data[field] = _flag(field, text) if field in FLAG_FIELDS else _number(field, text)
    return parse_fields(data, rules)


def csv_interval_end(date_text: str, time_text: str) -> str:
    """The row's Date and Time cells as an intervalEnd text. Raises InvalidPayload."""
    whole, _, fraction = time_text.partition(".")
    moment = _plain_moment(date_text, whole) or _parsed_moment(date_text, whole, time_text)
    if fraction and not (fraction.isascii() and fraction.isdigit()):
        raise InvalidPayload(f"Time: must be HH:MM:SS, got {time_text[:40]!r}")
    # The PLC stamps rows a few milliseconds either side of the boundary: round to the second.
    if fraction and int(fraction[0]) >= 5:
        moment += timedelta(seconds=1)
    return moment.strftime(INTERVAL_END_FORMAT)


def _plain_moment(date_text: str, clock_text: str) -> datetime | None:
    """The common MM/DD/YYYY and HH:MM:SS shapes without strptime, which costs ~5 µs a call.

    None for anything else, and for an impossible date or time, so that _parsed_moment gives
    the exact reason. Where this returns a moment, strptime returns the same one.
    """
    if not (
        len(date_text) == 10
        and len(clock_text) == 8
        and date_text[2] == date_text[5] == "/"
        and clock_text[2] == clock_text[5] == ":"
    ):
        return None
    digits = date_text[:2] + date_text[3:5] + date_text[6:] + clock_text[:2] + clock_text[3:5]
    digits += clock_text[6:]
    if not (digits.isascii() and digits.isdigit()):
        return None
    try:
        return datetime(
            int(date_text[6:]),
            int(date_text[:2]),
            int(date_text[3:5]),
            int(clock_text[:2]),
            int(clock_text[3:5]),
            int(clock_text[6:]),
        )
    except ValueError:
        return None


def _parsed_moment(date_text: str, clock_text: str, time_text: str) -> datetime:
    try:
        day = datetime.strptime(date_text, "%m/%d/%Y")
    except ValueError:
        raise InvalidPayload(f"Date: must be MM/DD/YYYY, got {date_text[:40]!r}") from None
    try:
        clock = datetime.strptime(clock_text, "%H:%M:%S")
    except ValueError:
        raise InvalidPayload(f"Time: must be HH:MM:SS, got {time_text[:40]!r}") from None
    return day.replace(hour=clock.hour, minute=clock.minute, second=clock.second)


def _number(field: str, text: str) -> Decimal | None:
    if text == "":
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise InvalidPayload(f"{field}: must be a number, got {text[:40]!r}") from None


def _flag(field: str, text: str) -> bool | None:
    if text == "":
        return None
    if text[-1] in "01":
        return text[-1] == "1"
    raise InvalidPayload(f"{field}: must be a flag ending in 0 or 1, got {text[:40]!r}")


def split_csv_line(raw: bytes, delimiter: str = ",") -> list[str]:
    """One physical line of the export as cells. Raises InvalidPayload."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidPayload(f"line is not UTF-8 (bad byte at offset {exc.start})") from None
    try:
        return next(csv.reader([text.rstrip("\r\n")], delimiter=delimiter))
    except (csv.Error, StopIteration) as exc:
        raise InvalidPayload(f"line is not valid CSV: {exc}") from None


def parse_csv_line(
    raw: bytes, index: Mapping[str, int], rules: ValidationRules | None = None, delimiter: str = ","
) -> ParsedPayload:
    return parse_csv_row(split_csv_line(raw, delimiter), index, rules)


def sniff_delimiter(header: bytes) -> str:
    text = header.decode("utf-8-sig", errors="replace")
    return ";" if text.count(";") > text.count(",") else ","
