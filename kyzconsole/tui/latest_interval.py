"""The latest stored interval, its age, and a stale warning after two intervals without data."""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.text import Text

from kyzconsole.record import INTERVAL_END_FORMAT, IntervalRecord
from kyzconsole.tui.display import ago, number
from kyzconsole.tui.quiet_static import QuietStatic


def is_stale(record: IntervalRecord | None, now: datetime, interval_minutes: int) -> bool:
    if record is None:
        return False
    return now - record.interval_end > timedelta(minutes=2 * interval_minutes)


class LatestInterval(QuietStatic):
    def show(self, record: IntervalRecord | None, *, now: datetime, interval_minutes: int) -> None:
        text = Text()
        if record is None:
            text.append("latest interval: none yet")
            self.show_text(text)
            return
        text.append("latest interval ")
        text.append(record.interval_end.strftime(INTERVAL_END_FORMAT), style="bold")
        text.append(f" · {number(record.kwh)} kWh · {number(record.kw)} kW")
        text.append(f" · ended {ago(record.interval_end, now)}")
        if is_stale(record, now, interval_minutes):
            text.append(
                f"\nSTALE: no new interval for over two intervals ({2 * interval_minutes} min)",
                style="bold reverse",
            )
        self.show_text(text)
