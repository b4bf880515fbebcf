"""The `t` modal: the test-conn checklist, run in a thread worker, one line per finished check."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from kyzconsole.config import Settings
from kyzconsole.engine.checks import Check, run_checks
from kyzconsole.tui.messages import CheckFinished, ChecksDone


class ConnectionChecksScreen(ModalScreen[None]):
    CSS_PATH = "testconn_screen.tcss"
    BINDINGS = [  # noqa: RUF012
        Binding("escape", "close", "Close", id="kyz.testconn.close"),
        Binding("t", "close", "Close", show=False, id="kyz.testconn.toggle"),
    ]

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.checks: list[Check] = []
        self.done = False

    def compose(self) -> ComposeResult:
        with Vertical(id="testconn-box"):
            yield Static(Text("test-conn: running checks…", style="bold"), id="testconn-title")
            yield VerticalScroll(id="testconn-lines")
            yield Static(Text("esc closes"), id="testconn-hint")

    def on_mount(self) -> None:
        self.run_checks()

    @work(thread=True, exclusive=True, exit_on_error=False, group="testconn")
    def run_checks(self) -> None:
        try:
            for check in run_checks(self.settings, config_source=""):
                self.post_message(CheckFinished(check))
        except Exception as exc:  # a check that raises must still end the modal's wait
            self.post_message(ChecksDone(f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(ChecksDone())

    @on(CheckFinished)
    def _add(self, message: CheckFinished) -> None:
        check = message.check
        self.checks.append(check)
        line = Text()
        line.append(
            "✓ ok   " if check.ok else "✗ FAIL ", style="bold green" if check.ok else "bold red"
        )
        line.append(f"{check.name}: {check.detail}")
        if not check.ok and check.fix:
            line.append(f" -> {check.fix}", style="italic")
        self.query_one("#testconn-lines", VerticalScroll).mount(Static(line, classes="check"))

    @on(ChecksDone)
    def _done(self, message: ChecksDone) -> None:
        self.done = True
        failed = sum(not check.ok for check in self.checks)
        title = f"test-conn: {len(self.checks) - failed} passed, {failed} failed"
        if message.error:
            title += f"; stopped by an error: {message.error}"
        self.query_one("#testconn-title", Static).update(Text(title, style="bold"))

    def action_close(self) -> None:
        self.dismiss(None)
