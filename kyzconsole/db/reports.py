"""The report queries the console and the CLI share, with the same semantics as the SQL views.

The SQL here is a plain, portable SELECT of the table's rows in a time range; the energy rules
(bucketing on interval start, flagged intervals out of peaks, billing periods) are applied in
Python with Decimal arithmetic, so SQL Server, PostgreSQL and SQLite give identical answers.
Field names are the views' column names (sql/003_dashboard_views.sql), hence the mixed case.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pyodbc

from kyzconsole.db.dialects import COLUMNS
from kyzconsole.db.embedded import ensure_embedded_database
from kyzconsole.db.target import SqlTarget
from kyzconsole.db.values import stored_flag
from kyzconsole.record.model import SCALE

PERCENT = Decimal("0.01")
BILLABLE_TOP = 3  # top3_avg_kW
PROVISIONAL_BELOW = 98  # percent coverage
STALE_INTERVALS = 2


@dataclass(frozen=True)
class Interval:
    """One stored row, normalised from whatever the driver hands back."""

    end: datetime
    pulse_count: int
    kwh: Decimal
    kw: Decimal
    total_kwh: Decimal | None
    r17_exclude: bool | None
    kyz_invalid_alarm: bool | None

    @property
    def counts_for_peak(self) -> bool:
        return not self.kyz_invalid_alarm

    @property
    def counts_for_billing(self) -> bool:
        return not self.kyz_invalid_alarm and not self.r17_exclude


@dataclass(frozen=True)
class Latest:
    IntervalEnd: datetime
    PulseCount: int
    kWh: Decimal
    kW: Decimal
    Total_kWh: Decimal | None
    R17Exclude: bool | None
    KyzInvalidAlarm: bool | None
    age_minutes: int
    is_stale: bool


@dataclass(frozen=True)
class DaySummary:
    date: date
    kWh_sum: Decimal
    kW_peak: Decimal | None
    kW_peak_excluding_r17: Decimal | None
    interval_count: int
    kW_peak_at: datetime | None
    expected_interval_count: int
    coverage_pct: Decimal
    r17_interval_count: int
    invalid_alarm_count: int


@dataclass(frozen=True)
class TodaySummary(DaySummary):
    expected_so_far: int  # intervals that have ended since midnight


@dataclass(frozen=True)
class BillingPeriod:
    month_start: date  # the period's first day: the 1st, or the meter-read day
    top3_avg_kW: Decimal | None
    peak_kW: Decimal | None
    peak_at: datetime | None
    kWh_sum: Decimal
    coverage_pct: Decimal
    provisional: bool


@dataclass(frozen=True)
class Gap:
    first: datetime  # the first missing interval end
    last: datetime
    count: int


def as_dict(item: Any) -> dict[str, Any]:
    return asdict(item)


# -- reading ----------------------------------------------------------------------------------


class ReportReader:
    """A read-only connection to the target, opened on first use. Raises DatabaseError."""

    def __init__(self, target: SqlTarget) -> None:
        self.target = target
        self._connection: pyodbc.Connection | None = None

    def __enter__(self) -> ReportReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(pyodbc.Error):
                self._connection.close()
            self._connection = None

    def _connect(self) -> pyodbc.Connection:
        if self._connection is None:
            if self.target.is_embedded:
                ensure_embedded_database(self.target)
            try:
                # autocommit: no read transaction is held open between queries (on SQLite a
                # long one would stop the WAL checkpoint while the ingest keeps writing).
                connection = pyodbc.connect(
                    self.target.connection_string,
                    autocommit=True,
                    timeout=self.target.login_timeout,
                )
                self.target.dialect.configure(connection, self.target.query_timeout)
            except pyodbc.Error as exc:
                raise self.target.dialect.translate(exc, self.target.describe()) from None
            self._connection = connection
        return self._connection

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Sequence[Any]]:
        connection = self._connect()
        try:
            cursor = connection.cursor()
            try:
                return list(cursor.execute(sql, list(params)).fetchall())
            finally:
                cursor.close()
        except pyodbc.Error as exc:
            self.close()
            raise self.target.dialect.translate(exc, self.target.describe()) from None

    def intervals(self, after: datetime, upto: datetime) -> list[Interval]:
        """Rows with after < IntervalEnd <= upto, oldest first."""
        sql = (
            f"SELECT {', '.join(COLUMNS)} FROM {self.target.table} "
            "WHERE IntervalEnd > ? AND IntervalEnd <= ? ORDER BY IntervalEnd"
        )
        return [_interval(row) for row in self.query(sql, [after, upto])]

    def ends(self, after: datetime, upto: datetime) -> list[datetime]:
        sql = (
            f"SELECT IntervalEnd FROM {self.target.table} "
            "WHERE IntervalEnd > ? AND IntervalEnd <= ? ORDER BY IntervalEnd"
        )
        return [_moment(row[0]) for row in self.query(sql, [after, upto])]

    def newest(self) -> Interval | None:
        table = self.target.table
        sql = (
            f"SELECT {', '.join(COLUMNS)} FROM {table} "
            f"WHERE IntervalEnd = (SELECT MAX(IntervalEnd) FROM {table})"
        )
        rows = self.query(sql)
        return _interval(rows[0]) if rows else None

    def first_end(self) -> datetime | None:
        rows = self.query(f"SELECT MIN(IntervalEnd) FROM {self.target.table}")
        return _moment(rows[0][0]) if rows and rows[0][0] is not None else None


def _moment(value: Any) -> datetime:
    if isinstance(value, str):  # SQLite keeps 'YYYY-MM-DD HH:MM:SS.SSS' text
        value = datetime.fromisoformat(value)
    return value.replace(microsecond=0)


def _decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    # SQLite's REAL: its shortest repr, at the table's 6 places, is the value that was written.
    return Decimal(repr(float(value))).quantize(SCALE)


def _interval(row: Sequence[Any]) -> Interval:
    return Interval(
        end=_moment(row[0]),
        pulse_count=int(row[1]),
        kwh=_decimal(row[2]),
        kw=_decimal(row[3]),
        total_kwh=None if row[4] is None else _decimal(row[4]),
        r17_exclude=stored_flag(row[5]),
        kyz_invalid_alarm=stored_flag(row[6]),
    )


# -- the energy rules ---------------------------------------------------------------------------


def day_of(end: datetime, interval_minutes: int) -> date:
    """The local day of an interval's start: the one ending 00:00 belongs to the day before."""
    return (end - timedelta(minutes=interval_minutes)).date()


def intervals_per_day(interval_minutes: int) -> int:
    # A local-time key allows 92 real intervals on the spring-forward day and stores at most
    # this many on the fall-back day (the repeated hour collides and is kept as conflicts).
    return 1440 // interval_minutes


def coverage(count: int, expected: int) -> Decimal:
    if expected <= 0:
        return Decimal("0.00")
    return (Decimal(100) * count / expected).quantize(PERCENT, rounding=ROUND_HALF_UP)


def _peak(rows: Iterable[Interval]) -> Interval | None:
    best = None
    for row in rows:  # time order: on a tie the earlier interval stays
        if best is None or row.kw > best.kw:
            best = row
    return best


def summarize_day(day: date, rows: Sequence[Interval], interval_minutes: int) -> DaySummary:
    peak = _peak(r for r in rows if r.counts_for_peak)
    billing_peak = _peak(r for r in rows if r.counts_for_billing)
    expected = intervals_per_day(interval_minutes)
    return DaySummary(
        date=day,
        kWh_sum=sum((r.kwh for r in rows), Decimal(0)).quantize(SCALE),
        kW_peak=peak.kw if peak else None,
        kW_peak_excluding_r17=billing_peak.kw if billing_peak else None,
        interval_count=len(rows),
        kW_peak_at=peak.end if peak else None,
        expected_interval_count=expected,
        coverage_pct=coverage(len(rows), expected),
        r17_interval_count=sum(1 for r in rows if r.r17_exclude),
        invalid_alarm_count=sum(1 for r in rows if r.kyz_invalid_alarm),
    )


def period_start(day: date, cycle_day: int) -> date:
    """The first day of the billing period holding `day` (cycle_day 1 = calendar months)."""
    if day.day >= cycle_day:
        return day.replace(day=cycle_day)
    return _add_month(day.replace(day=cycle_day), -1)


def _add_month(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return day.replace(year=index // 12, month=index % 12 + 1)  # day <= 28: always valid


def summarize_period(
    start: date, rows: Sequence[Interval], interval_minutes: int, cycle_day: int, now: datetime
) -> BillingPeriod:
    end = _add_month(start, 1)
    billable = sorted((r for r in rows if r.counts_for_billing), key=lambda r: (-r.kw, r.end))
    top = billable[:BILLABLE_TOP]
    expected = (end - start).days * intervals_per_day(interval_minutes)
    average = (
        (sum((r.kw for r in top), Decimal(0)) / len(top)).quantize(SCALE, rounding=ROUND_HALF_UP)
        if top
        else None
    )
    return BillingPeriod(
        month_start=start,
        top3_avg_kW=average,
        peak_kW=top[0].kw if top else None,
        peak_at=top[0].end if top else None,
        kWh_sum=sum((r.kwh for r in rows), Decimal(0)).quantize(SCALE),
        coverage_pct=coverage(len(rows), expected),
        # The period's last interval ends at 00:00 on the next period's first day.
        provisional=len(rows) * 100 < expected * PROVISIONAL_BELOW
        or datetime.combine(end, time()) > now,
    )


def find_gaps(
    present: Iterable[datetime], after: datetime, upto: datetime, interval_minutes: int
) -> list[Gap]:
    """Runs of interval ends on the grid in (after, upto] that are not in `present`."""
    step = timedelta(minutes=interval_minutes)
    expected_first = _ceil_to_grid(after + timedelta(seconds=1), interval_minutes)
    gaps: list[Gap] = []
    cursor = expected_first  # the next end we expect to see
    for end in sorted(set(present)):
        if end < cursor or end > upto:
            continue
        if end > cursor:
            gaps.append(Gap(cursor, end - step, (end - cursor) // step))
        cursor = end + step
    if cursor <= upto:
        last = _floor_to_grid(upto, interval_minutes)
        gaps.append(Gap(cursor, last, (last - cursor) // step + 1))
    return gaps


def _floor_to_grid(moment: datetime, interval_minutes: int) -> datetime:
    midnight = datetime.combine(moment.date(), time())
    minutes = int((moment - midnight).total_seconds() // 60)
    return midnight + timedelta(minutes=minutes - minutes % interval_minutes)


def _ceil_to_grid(moment: datetime, interval_minutes: int) -> datetime:
    floor = _floor_to_grid(moment, interval_minutes)
    return floor if floor == moment else floor + timedelta(minutes=interval_minutes)


# -- the reports --------------------------------------------------------------------------------


def _day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """IntervalEnd bounds (exclusive, inclusive) of the intervals that start on first..last."""
    return datetime.combine(first, time()), datetime.combine(last + timedelta(days=1), time())


def latest(reader: ReportReader, interval_minutes: int, now: datetime) -> Latest | None:
    row = reader.newest()
    if row is None:
        return None
    age = int((now - row.end).total_seconds() // 60)
    return Latest(
        IntervalEnd=row.end,
        PulseCount=row.pulse_count,
        kWh=row.kwh,
        kW=row.kw,
        Total_kWh=row.total_kwh,
        R17Exclude=row.r17_exclude,
        KyzInvalidAlarm=row.kyz_invalid_alarm,
        age_minutes=age,
        is_stale=age > STALE_INTERVALS * interval_minutes,
    )


def daily(reader: ReportReader, first: date, last: date, interval_minutes: int) -> list[DaySummary]:
    """One summary per day from first to last (inclusive) that has at least one row."""
    after, upto = _day_bounds(first, last)
    days: dict[date, list[Interval]] = {}
    for row in reader.intervals(after, upto):
        days.setdefault(day_of(row.end, interval_minutes), []).append(row)
    return [summarize_day(day, rows, interval_minutes) for day, rows in sorted(days.items())]


def today(reader: ReportReader, interval_minutes: int, now: datetime) -> TodaySummary:
    """Today so far: the day the interval in progress belongs to."""
    day = now.date()
    after = datetime.combine(day, time())
    rows = reader.intervals(after, now)
    summary = summarize_day(day, rows, interval_minutes)
    so_far = int((now - after).total_seconds() // 60) // interval_minutes
    return TodaySummary(**asdict(summary), expected_so_far=so_far)


def monthly(
    reader: ReportReader,
    first: date,
    last: date,
    interval_minutes: int,
    cycle_day: int,
    now: datetime,
) -> list[BillingPeriod]:
    """Whole billing periods covering first..last that have at least one row, as of now."""
    start = period_start(first, cycle_day)
    end = _add_month(period_start(last, cycle_day), 1)
    # Nothing after `now` counts: a month-to-date estimate is as of now.
    after, upto = datetime.combine(start, time()), min(datetime.combine(end, time()), now)
    periods: dict[date, list[Interval]] = {}
    for row in reader.intervals(after, upto):
        key = period_start(day_of(row.end, interval_minutes), cycle_day)
        periods.setdefault(key, []).append(row)
    return [
        summarize_period(key, rows, interval_minutes, cycle_day, now)
        for key, rows in sorted(periods.items())
    ]


def month_to_date(
    reader: ReportReader, interval_minutes: int, cycle_day: int, now: datetime
) -> BillingPeriod | None:
    """The billing demand estimate of the period in progress."""
    periods = monthly(reader, now.date(), now.date(), interval_minutes, cycle_day, now)
    return periods[-1] if periods else None


def gaps(reader: ReportReader, after: datetime, upto: datetime, interval_minutes: int) -> list[Gap]:
    """Missing interval ends in (after, upto], as runs."""
    return find_gaps(reader.ends(after, upto), after, upto, interval_minutes)
