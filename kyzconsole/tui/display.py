"""How times, ages and numbers read on screen, shared by the panels."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from kyzconsole.record import IntervalRecord


def clock_time(moment: datetime | None) -> str:
    return moment.strftime("%H:%M:%S") if moment else "never"


def ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min ago"


def number(value: Decimal | None) -> str:
    return "" if value is None else f"{value.normalize():f}"


def flags(record: IntervalRecord | None) -> str:
    if record is None:
        return ""
    names = []
    if record.r17_exclude:
        names.append("R17")
    if record.kyz_invalid_alarm:
        names.append("ALARM")
    return " ".join(names)


def parse_time(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
