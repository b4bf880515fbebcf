"""Today so far and the month-to-date billing estimate, read with the `report` command's queries.

Runs in a thread worker (never on the UI thread): one short-lived read-only connection a refresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from kyzconsole.config import Settings
from kyzconsole.db import reports
from kyzconsole.db.target import resolve_target


@dataclass(frozen=True)
class ReportSnapshot:
    """What the today panel draws; `kw_by_interval` is today's kW, oldest first."""

    now: datetime
    today: reports.TodaySummary
    month: reports.BillingPeriod | None
    kw_by_interval: tuple[float, ...]


def read_reports(settings: Settings, now: datetime) -> ReportSnapshot:
    """Raises DatabaseError or ConfigError; the caller shows it in the panel."""
    minutes = settings.interval_minutes
    with reports.ReportReader(resolve_target(settings)) as reader:
        today = reports.today(reader, minutes, now)
        month = reports.month_to_date(reader, minutes, settings.billing_cycle_day, now)
        rows = reader.intervals(datetime.combine(now.date(), time()), now)
    return ReportSnapshot(now, today, month, tuple(float(row.kw) for row in rows))
