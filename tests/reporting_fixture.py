"""One fixture month for the reporting tests, and a plain-Python reference for its reports.

March 2026 (US daylight saving starts on 8 March), as a PLC on local time would record it:

- the interval ending 2026-03-01 00:00:00 belongs to 28 February, and carries a demand higher
  than any March billing peak, so bucketing on IntervalEnd instead of the start would be wrong;
- the interval ending 2026-04-01 00:00:00 belongs to 31 March;
- an R17-flagged peak (500 kW) that must not be the billing peak but is the day's kW_peak;
- an invalid-alarm interval (900 kW) that is no peak anywhere, and one with both flags;
- a tie for a day's peak (the earliest wins);
- missing intervals: a gap of 4 hours on 15 March and a single one on 25 March;
- the spring-forward day, 8 March: the local hour 02:00-03:00 does not exist, 92 intervals.

The reference below is written independently of kyzconsole.db.reports: straight loops over the
records, Decimal arithmetic, no SQL.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pyodbc

from kyzconsole.config import load_settings
from kyzconsole.db.dialects import DIALECTS
from kyzconsole.db.target import (
    EMBEDDED_FILE_NAME,
    SqlTarget,
    embedded_connection_string,
    resolve_target,
)
from kyzconsole.db.writer import IntervalWriter, Outcome
from kyzconsole.record import IntervalRecord
from tests.conftest import REPO, new_database
from tests.servers.postgres import PostgresServer

STEP = timedelta(minutes=15)
FIRST_END = datetime(2026, 3, 1, 0, 0)
LAST_END = datetime(2026, 4, 1, 0, 0)
SIX = Decimal("0.000001")
TWO = Decimal("0.01")

# (interval end) -> (kWh, r17Exclude, kyzInvalidAlarm); kW is kWh * 4.
SPECIAL: dict[datetime, tuple[str, bool | None, bool | None]] = {
    datetime(2026, 3, 1, 0, 0): ("110.000", False, False),  # 440 kW, belongs to 28 Feb
    datetime(2026, 3, 10, 14, 15): ("125.000", True, False),  # R17 peak, 500 kW
    datetime(2026, 3, 12, 9, 0): ("225.000", False, True),  # invalid alarm, 900 kW
    datetime(2026, 3, 18, 11, 0): ("200.000", True, True),  # both flags, 800 kW
    datetime(2026, 3, 20, 17, 30): ("75.000", False, False),  # the billing peak, 300 kW
    datetime(2026, 3, 5, 16, 0): ("72.500", None, None),  # second, 290 kW
    datetime(2026, 3, 26, 15, 45): ("71.375", False, None),  # third, 285.5 kW
    datetime(2026, 3, 3, 10, 0): ("62.500", False, False),  # a tie for 3 March's peak ...
    datetime(2026, 3, 3, 11, 0): ("62.500", False, False),  # ... the earlier one wins
    datetime(2026, 4, 1, 0, 0): ("30.000", False, False),  # belongs to 31 March
}


def _missing() -> set[datetime]:
    gone = {datetime(2026, 3, 25, 10, 0)}
    gone |= {datetime(2026, 3, 15, 8, 15) + STEP * i for i in range(16)}  # 08:15 .. 12:00
    gone |= {datetime(2026, 3, 8, 2, 15) + STEP * i for i in range(4)}  # 02:15 .. 03:00 (DST)
    return gone


MISSING = frozenset(_missing())
GAP_RUNS = [  # (first, last, count) in order
    (datetime(2026, 3, 8, 2, 15), datetime(2026, 3, 8, 3, 0), 4),
    (datetime(2026, 3, 15, 8, 15), datetime(2026, 3, 15, 12, 0), 16),
    (datetime(2026, 3, 25, 10, 0), datetime(2026, 3, 25, 10, 0), 1),
]


def fixture_records() -> list[IntervalRecord]:
    records = []
    total = Decimal("10000")
    end, i = FIRST_END, 0
    while end <= LAST_END:
        if end not in MISSING:
            kwh_text, r17, invalid = SPECIAL.get(end, (None, False, False))
            if kwh_text is None:
                # A plausible load shape with 3-decimal readings, well below the peaks above.
                kwh = Decimal(20 + 8 * (8 <= end.hour < 18)) + Decimal((i * 37) % 1000) / 1000
                if i % 5 == 0:
                    r17 = invalid = None
            else:
                kwh = Decimal(kwh_text)
            total += kwh
            payload = {
                "intervalEnd": end.strftime("%Y-%m-%d %H:%M:%S"),
                "pulseCount": int(kwh * 10),
                "kWh": kwh,
                "kW": kwh * 4,
                "total_kWh": None if i % 7 == 3 else total,
                "r17Exclude": r17,
                "kyzInvalidAlarm": invalid,
            }
            records.append(IntervalRecord.model_validate(payload))
        end += STEP
        i += 1
    return records


# -- the reference ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    end: datetime
    kwh: Decimal
    kw: Decimal
    r17: bool
    invalid: bool


def rows_of(records: list[IntervalRecord]) -> list[Row]:
    return [
        Row(r.interval_end, r.kwh, r.kw, bool(r.r17_exclude), bool(r.kyz_invalid_alarm))
        for r in records
    ]


def _pct(count: int, expected: int) -> Decimal:
    return (Decimal(100) * count / expected).quantize(TWO, rounding=ROUND_HALF_UP)


def _peak(rows: list[Row]) -> tuple[Decimal | None, datetime | None]:
    best: Row | None = None
    for row in rows:  # rows are in time order: a tie keeps the earlier one
        if best is None or row.kw > best.kw:
            best = row
    return (best.kw, best.end) if best else (None, None)


def ref_daily(records: list[IntervalRecord]) -> dict[date, dict]:
    days: dict[date, list[Row]] = defaultdict(list)
    for row in sorted(rows_of(records), key=lambda r: r.end):
        days[(row.end - STEP).date()].append(row)
    out = {}
    for day, rows in sorted(days.items()):
        peak, peak_at = _peak([r for r in rows if not r.invalid])
        ex_r17, _ = _peak([r for r in rows if not r.invalid and not r.r17])
        out[day] = {
            "date": day,
            "kWh_sum": sum((r.kwh for r in rows), Decimal(0)).quantize(SIX),
            "kW_peak": peak,
            "kW_peak_excluding_r17": ex_r17,
            "interval_count": len(rows),
            "kW_peak_at": peak_at,
            "expected_interval_count": 96,
            "coverage_pct": _pct(len(rows), 96),
            "r17_interval_count": sum(r.r17 for r in rows),
            "invalid_alarm_count": sum(r.invalid for r in rows),
        }
    return out


def period_start(moment: datetime, cycle_day: int) -> date:
    """The billing period holding an interval that starts at `moment`."""
    if moment.day >= cycle_day:
        return date(moment.year, moment.month, cycle_day)
    year, month = (moment.year, moment.month - 1) if moment.month > 1 else (moment.year - 1, 12)
    return date(year, month, cycle_day)


def next_period(start: date) -> date:
    year, month = (start.year, start.month + 1) if start.month < 12 else (start.year + 1, 1)
    return date(year, month, start.day)


def ref_monthly(records: list[IntervalRecord], cycle_day: int, now: datetime) -> dict[date, dict]:
    periods: dict[date, list[Row]] = defaultdict(list)
    for row in sorted(rows_of(records), key=lambda r: r.end):
        periods[period_start(row.end - STEP, cycle_day)].append(row)
    out = {}
    for start, rows in sorted(periods.items()):
        billable = [r for r in rows if not r.r17 and not r.invalid]
        top = sorted(billable, key=lambda r: (-r.kw, r.end))[:3]
        end = next_period(start)
        expected = (end - start).days * 96
        out[start] = {
            "month_start": start,
            "top3_avg_kW": (
                (sum((r.kw for r in top), Decimal(0)) / len(top)).quantize(
                    SIX, rounding=ROUND_HALF_UP
                )
                if top
                else None
            ),
            "peak_kW": top[0].kw if top else None,
            "peak_at": top[0].end if top else None,
            "kWh_sum": sum((r.kwh for r in rows), Decimal(0)).quantize(SIX),
            "coverage_pct": _pct(len(rows), expected),
            "provisional": len(rows) * 100 < expected * 98
            or datetime.combine(end, datetime.min.time()) > now,
        }
    return out


def ref_latest(records: list[IntervalRecord], now: datetime) -> dict:
    newest = max(records, key=lambda r: r.interval_end)
    age = int((now - newest.interval_end).total_seconds() // 60)
    return {
        "IntervalEnd": newest.interval_end,
        "PulseCount": newest.pulse_count,
        "kWh": newest.kwh,
        "kW": newest.kw,
        "Total_kWh": newest.total_kwh,
        "R17Exclude": newest.r17_exclude,
        "KyzInvalidAlarm": newest.kyz_invalid_alarm,
        "age_minutes": age,
        "is_stale": age > 30,
    }


def ref_gaps(
    records: list[IntervalRecord], after: datetime, upto: datetime
) -> list[tuple[datetime, datetime, int]]:
    """Runs of missing interval ends in (after, upto], walking the grid one step at a time."""
    have = {r.interval_end for r in records}
    runs: list[tuple[datetime, datetime, int]] = []
    end = after + STEP
    while end <= upto:
        if end not in have:
            if runs and runs[-1][1] + STEP == end:
                first, _, count = runs[-1]
                runs[-1] = (first, end, count + 1)
            else:
                runs.append((end, end, 1))
        end += STEP
    return runs


# -- loading and reading the real databases ------------------------------------------------------

FLAG_COLUMNS = frozenset(("R17Exclude", "KyzInvalidAlarm", "is_stale", "provisional"))
VIEWS = ("vw_KYZ_LatestInterval", "vw_KYZ_DailySummary", "vw_KYZ_MonthlyBillingDemandEstimate")


def load(target: SqlTarget) -> list[IntervalRecord]:
    """Write the fixture month through the real writer; every record must go in."""
    records = fixture_records()
    with IntervalWriter(target) as writer:
        results = writer.write(records)
    assert [r.outcome for r in results] == [Outcome.INSERTED] * len(records)
    return records


def sqlite_target_at(directory: Path) -> SqlTarget:
    """The embedded default in `directory`, built without reading KYZ_* settings."""
    path = directory / EMBEDDED_FILE_NAME
    return SqlTarget(
        connection_string=embedded_connection_string("SQLite3", path),
        dialect=DIALECTS["sqlite"],
        table="KYZ_Interval",
        embedded_path=path,
    )


def postgres_database(server: PostgresServer) -> tuple[str, SqlTarget]:
    """A fresh database with 001, 002 and 003 applied as the DBA would, as the table's owner."""
    if not server.running:
        server.start()
    name = new_database(server)
    for script in ("002_indexes.sql", "003_dashboard_views.sql"):
        text = (REPO / "sql" / "postgresql" / script).read_text(encoding="utf-8")
        server.psql(f"SET ROLE kyz_ingest;\n{text}", db=name)
    settings = load_settings(sql_connection_string=server.connection_string(name))
    return name, resolve_target(settings)


def normalize(column: str, value: Any) -> Any:
    """A value from a view, a driver or JSON, as the reference states it.

    SQLite's REAL (and a JSON number) is compared at the table's 6 decimal places; its dates
    and times come as text; flags are 0/1, booleans or psqlODBC's '1'/'0'.
    """
    if value is None:
        return None
    if column in FLAG_COLUMNS:
        return value.strip() in ("1", "t", "true") if isinstance(value, str) else bool(value)
    if isinstance(value, float):
        return Decimal(repr(value)).quantize(SIX)
    if isinstance(value, str):
        if len(value) == 10:
            return date.fromisoformat(value)
        if value[:4].isdigit() and value[4:5] == "-":
            return datetime.fromisoformat(value).replace(microsecond=0)
        return Decimal(value).quantize(SIX)  # the SQLite driver's DECIMAL columns come as text
    if isinstance(value, Decimal):
        return value.quantize(SIX)
    return value


def normalize_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: normalize(k, v) for k, v in row.items()}


def view_rows(target: SqlTarget, view: str) -> list[dict[str, Any]]:
    """Every row of a view through a plain pyodbc connection, keyed by the driver's names."""
    connection = pyodbc.connect(target.connection_string, autocommit=True)
    try:
        cursor = connection.execute(f"SELECT * FROM {view}")
        names = [d[0] for d in cursor.description]
        return [normalize_row(dict(zip(names, row, strict=True))) for row in cursor.fetchall()]
    finally:
        connection.close()


def view_columns(target: SqlTarget, view: str) -> list[str]:
    connection = pyodbc.connect(target.connection_string, autocommit=True)
    try:
        cursor = connection.execute(f"SELECT * FROM {view} WHERE 1 = 0")
        return [d[0] for d in cursor.description]
    finally:
        connection.close()
