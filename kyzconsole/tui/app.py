"""The console app: picks its mode, takes engine events as messages, redraws on a timer."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input

from kyzconsole.config import Settings
from kyzconsole.engine.events import EngineEvent, HealthChanged, MessageOutcome, MessageReceived
from kyzconsole.lock import IngestLock, LockHeld
from kyzconsole.record import IntervalRecord
from kyzconsole.tui.counters_panel import CountersPanel
from kyzconsole.tui.detail_pane import DetailPane, describe_row
from kyzconsole.tui.filter_input import FilterInput
from kyzconsole.tui.latest_interval import LatestInterval
from kyzconsole.tui.message_log import ROW_LIMIT, MessageLog, MessageRow, RowFilter
from kyzconsole.tui.message_table import MessageTable
from kyzconsole.tui.messages import EngineMessage, ModeStopped, ReportsRead, StatusRead
from kyzconsole.tui.modes import ConsoleMode, IngestMode, MonitorMode
from kyzconsole.tui.quarantine_screen import QuarantineScreen
from kyzconsole.tui.report_snapshot import ReportSnapshot, read_reports
from kyzconsole.tui.status_header import StatusHeader
from kyzconsole.tui.testconn_screen import ConnectionChecksScreen
from kyzconsole.tui.today_panel import TodayPanel

HERE = Path(__file__).parent
REDRAW_EVERY = 0.3  # seconds: events are collected as they come, drawn at about 3 Hz
STATUS_EVERY = 0.5
REPORTS_EVERY = 30.0  # seconds between report refreshes when nothing new lands
REPORTS_AFTER_INSERT = 3.0  # at most one refresh this often while inserts keep coming
THEMES = {"dark": "textual-dark", "light": "textual-light"}


class KyzConsoleApp(App[None]):
    """`KyzConsoleApp(settings, mode)`; use `make_app(settings)` to pick the mode."""

    TITLE = "kyzconsole"
    CSS_PATH = [  # noqa: RUF012 (typed by App; Textual reads it once)
        HERE / "app.tcss",
        HERE / "status_header.tcss",
        HERE / "counters_panel.tcss",
        HERE / "latest_interval.tcss",
        HERE / "today_panel.tcss",
        HERE / "message_table.tcss",
        HERE / "detail_pane.tcss",
        HERE / "filter_input.tcss",
    ]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "toggle_pause", "Pause", id="kyz.pause"),
        Binding("slash", "filter", "Filter", key_display="/", id="kyz.filter"),
        Binding("t", "test_conn", "Test conn", id="kyz.test_conn"),
        Binding("r", "refresh_reports", "Reports", id="kyz.refresh_reports"),
        Binding("Q", "quarantine", "Quarantine", id="kyz.quarantine"),
        Binding("c", "copy", "Copy", show=False, id="kyz.copy"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="kyz.clear_filter"),
        Binding("q", "quit", "Quit", id="kyz.quit"),
    ]

    def __init__(
        self,
        settings: Settings,
        mode: ConsoleMode,
        *,
        clock: Callable[[], datetime] = datetime.now,
        theme: str = "dark",
        row_limit: int = ROW_LIMIT,
        keymap: dict[str, str] | None = None,
        reports_every: float = REPORTS_EVERY,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.mode = mode
        self.clock = clock
        self.message_log = MessageLog(row_limit, mode.valid_outcome)
        self.status: dict[str, Any] | None = None
        self.paused_new: int | None = None  # None: live; a number: paused, that many arrived
        self.row_filter = RowFilter()
        self.stopping = False
        self.stop_error: str | None = None
        self._drawn_changes = -1
        self._polling = False
        self.reports_every = reports_every
        self.reports: ReportSnapshot | None = None
        self.reports_error: str | None = None
        self.reports_read = 0  # finished report reads, ok or not (what a test waits on)
        self._reports_due = False  # an insert landed since the last read
        self._reports_started = -REPORTS_EVERY  # monotonic time the last read began
        self._reports_asked = 0  # reads started; a late answer to an older one is dropped
        self._reports_shown = 0
        self.theme = THEMES.get(theme, theme)
        if keymap:
            self.set_keymap(keymap)

    # -- layout and life cycle -------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusHeader(id="header")
        with Vertical(id="summary"):
            yield CountersPanel(id="counters")
            yield LatestInterval(id="latest")
            yield TodayPanel(id="today")
        yield MessageTable(id="messages")
        yield DetailPane(id="detail")
        yield FilterInput()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#detail").border_title = "selected message"
        self.query_one(TodayPanel).show(None)
        self.mode.start(self.engine_event)
        self.set_interval(REDRAW_EVERY, self.redraw)
        self.set_interval(STATUS_EVERY, self.poll_status)
        self.set_interval(self.reports_every, self.refresh_reports)
        self.poll_status()
        self.refresh_reports()
        self.redraw()
        self.query_one(MessageTable).focus()

    def engine_event(self, event: EngineEvent) -> None:
        """Called from engine or observer threads: post and return at once."""
        with contextlib.suppress(RuntimeError):  # the loop is already closed at exit
            self.post_message(EngineMessage(event))

    # -- collecting ------------------------------------------------------------------------

    @on(EngineMessage)
    def _engine_message(self, message: EngineMessage) -> None:
        event = message.event
        if isinstance(event, MessageReceived):
            self.message_log.received(event)
            if self.paused_new is not None:
                self.paused_new += 1
        elif isinstance(event, MessageOutcome):
            self.message_log.outcome(event)
            if event.outcome == "inserted":
                self._reports_due = True
        elif isinstance(event, HealthChanged):
            self.poll_status()

    def poll_status(self) -> None:
        if not self._polling:  # one read at a time; a slow disk must not pile them up
            self._polling = True
            self._read_status()

    @work(thread=True, group="status", exit_on_error=False)
    def _read_status(self) -> None:
        try:
            status = self.mode.status()
        except Exception as exc:
            self.post_message(StatusRead(None, f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(StatusRead(status))

    @on(StatusRead)
    def _status_read(self, message: StatusRead) -> None:
        self._polling = False
        if message.error is None:
            self.status = message.status

    def refresh_reports(self) -> None:
        self._reports_due = False
        self._reports_started = time.monotonic()
        self._reports_asked += 1
        self._read_reports(self._reports_asked, self.clock())

    @work(thread=True, exclusive=True, group="reports", exit_on_error=False)
    def _read_reports(self, asked: int, now: datetime) -> None:
        try:
            snapshot = read_reports(self.settings, now)
        except Exception as exc:  # a database error is shown in the panel, never raised
            self.post_message(ReportsRead(None, f"{type(exc).__name__}: {exc}", asked))
            return
        self.post_message(ReportsRead(snapshot, asked=asked))

    @on(ReportsRead)
    def _reports_read(self, message: ReportsRead) -> None:
        self.reports_read += 1
        if message.asked < self._reports_shown:
            return
        self._reports_shown = message.asked
        self.reports_error = message.error
        if message.snapshot is not None:
            self.reports = message.snapshot
        if not self._panels_gone():
            self.query_one(TodayPanel).show(self.reports, self.reports_error)

    # -- drawing ---------------------------------------------------------------------------

    def _panels_gone(self) -> bool:
        # While the app shuts down (or before compose) a last timer tick or a late worker
        # answer finds no panels; that is no reason to crash.
        return not self.query(StatusHeader)

    def redraw(self) -> None:
        if self._panels_gone():
            return
        now = self.clock()
        self.query_one(StatusHeader).show(
            mode=self.mode.name,
            status=self.status,
            now=now,
            last_message=self.message_log.last_received_at,
            paused_new=self.paused_new,
            filter_text=self.row_filter.text.strip(),
            stopping=self.stopping,
        )
        observed = len(self.message_log.rows) if self.mode.name == "monitor" else None
        self.query_one(CountersPanel).show(self.status, observed=observed)
        self.query_one(LatestInterval).show(
            self.latest_interval(), now=now, interval_minutes=self.settings.interval_minutes
        )
        since = time.monotonic() - self._reports_started
        if self._reports_due and since >= REPORTS_AFTER_INSERT:
            self.refresh_reports()
        if self.paused_new is None and self._drawn_changes != self.message_log.changes:
            self._drawn_changes = self.message_log.changes
            self.query_one(MessageTable).show(self.message_log.newest_first(self.row_filter))
            self._show_detail()

    def latest_interval(self) -> IntervalRecord | None:
        seen = self.message_log.latest
        payload = (self.status or {}).get("latest_interval")
        if payload:
            with contextlib.suppress(ValueError):
                stored = IntervalRecord.model_validate(payload)
                if seen is None or stored.interval_end > seen.interval_end:
                    return stored
        return seen

    def _selected_row(self) -> MessageRow | None:
        key = self.query_one(MessageTable).highlighted_key()
        return self.message_log.rows.get(int(key)) if key is not None else None

    def _show_detail(self) -> None:
        self.query_one(DetailPane).show(self._selected_row())

    def action_copy(self) -> None:
        """The selected message's text to the clipboard (OSC 52: works over SSH and RDP)."""
        row = self._selected_row()
        if row is None:
            self.notify("select a message first", severity="warning")
            return
        self.copy_to_clipboard(describe_row(row).plain)
        self.notify("copied the selected message")

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, message: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def _redraw_table(self) -> None:
        self._drawn_changes = -1
        self.redraw()

    # -- actions ---------------------------------------------------------------------------

    def action_toggle_pause(self) -> None:
        """Pause the view only: ingest goes on, and the header counts what arrived."""
        self.paused_new = 0 if self.paused_new is None else None
        self._redraw_table()

    def action_filter(self) -> None:
        box = self.query_one(FilterInput)
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one(FilterInput)
        box.value = ""
        box.display = False
        self.query_one(MessageTable).focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, message: Input.Changed) -> None:
        self.row_filter = RowFilter(message.value)
        self._redraw_table()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, message: Input.Submitted) -> None:
        self.query_one(FilterInput).display = False
        self.query_one(MessageTable).focus()

    def action_refresh_reports(self) -> None:
        self.refresh_reports()

    def action_quarantine(self) -> None:
        if not isinstance(self.screen, QuarantineScreen):
            self.push_screen(QuarantineScreen(self.settings.resolved_data_dir, self.clock))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand(
            "Quarantine", "List, inspect and export quarantined messages", self.action_quarantine
        )
        yield SystemCommand(
            "Refresh reports", "Re-read today and month to date", self.action_refresh_reports
        )
        yield SystemCommand("Test connections", "Run the test-conn checks", self.action_test_conn)
        yield SystemCommand("Pause / resume", "Pause the live view", self.action_toggle_pause)

    def action_test_conn(self) -> None:
        self.push_screen(ConnectionChecksScreen(self.settings))

    async def action_quit(self) -> None:
        """In ingest mode: stop taking messages, flush the spool to SQL, then exit."""
        if self.stopping:
            return
        self.stopping = True
        self.redraw()
        self._stop_mode()

    @work(thread=True, exclusive=True, group="stop", exit_on_error=False)
    def _stop_mode(self) -> None:
        try:
            self.mode.stop()
        except Exception as exc:
            self.post_message(ModeStopped(f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(ModeStopped())

    @on(ModeStopped)
    def _mode_stopped(self, message: ModeStopped) -> None:
        self.stop_error = message.error
        self.exit(return_code=1 if message.error else 0)


def make_app(settings: Settings, **options: Any) -> KyzConsoleApp:
    """Ingest mode if nobody holds the data dir's lock (we take it), else monitor mode."""
    lock = IngestLock(settings.resolved_data_dir, mode="console")
    try:
        lock.acquire()
    except LockHeld:
        return KyzConsoleApp(settings, MonitorMode(settings), **options)
    try:
        mode = IngestMode(settings, lock)
    except BaseException:
        lock.release()
        raise
    return KyzConsoleApp(settings, mode, **options)
