"""Today so far (kWh, peak, intervals, flags, a kW sparkline) and the month-to-date demand."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Sparkline

from kyzconsole.tui.display import number
from kyzconsole.tui.quiet_static import QuietStatic
from kyzconsole.tui.report_snapshot import ReportSnapshot


def describe_reports(snapshot: ReportSnapshot | None, error: str | None) -> Text:
    text = Text()
    if snapshot is None:
        text.append("today: " + ("not available" if error else "reading reports…"))
    else:
        day, month = snapshot.today, snapshot.month
        text.append("today ")
        text.append(f"{number(day.kWh_sum)} kWh", style="bold")
        text.append(" so far · peak ")
        if day.kW_peak is None or day.kW_peak_at is None:
            text.append("none")
        else:
            text.append(f"{number(day.kW_peak)} kW", style="bold")
            text.append(f" at {day.kW_peak_at:%H:%M}")
        text.append(f" · intervals {day.interval_count}/{day.expected_so_far}")
        missing = day.expected_so_far - day.interval_count
        if missing > 0:
            text.append(f" ({missing} MISSING)", style="bold")
        text.append(f" · flagged R17 {day.r17_interval_count}, alarm {day.invalid_alarm_count}")
        text.append("\nmonth to date ")
        if month is None or month.peak_kW is None or month.peak_at is None:
            text.append("no billable intervals yet")
        else:
            text.append(f"(from {month.month_start:%Y-%m-%d}) billing demand ")
            text.append(f"{number(month.peak_kW)} kW", style="bold")
            text.append(f" at {month.peak_at:%m-%d %H:%M} · top-3 avg ")
            text.append(f"{number(month.top3_avg_kW)} kW", style="bold")
            text.append(" (flagged excluded")
            text.append(", provisional)" if month.provisional else ")")
    if error:
        text.append("\nREPORTS FAILED: ", style="bold reverse")
        text.append(error)
    return text


class TodayPanel(Vertical):
    """`show(snapshot, error)`; a failed read keeps the last figures and adds the error."""

    def compose(self) -> ComposeResult:
        yield QuietStatic(id="today-text")
        yield Sparkline([], summary_function=max, id="today-kw")

    def show(self, snapshot: ReportSnapshot | None, error: str | None = None) -> None:
        self.query_one("#today-text", QuietStatic).show_text(describe_reports(snapshot, error))
        data = list(snapshot.kw_by_interval) if snapshot is not None else []
        sparkline = self.query_one("#today-kw", Sparkline)
        if list(sparkline.data or []) != data:
            sparkline.data = data
        sparkline.display = bool(data)

    @property
    def plain(self) -> str:
        return self.query_one("#today-text", QuietStatic).plain

    @property
    def kw_data(self) -> list[float]:
        return list(self.query_one("#today-kw", Sparkline).data or [])
