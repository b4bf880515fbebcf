"""The `Q` screen: what the quarantine holds, one entry in full, and an export for `replay`."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from kyzconsole.quarantine import (
    QUARANTINE_FILE_NAME,
    Quarantine,
    QuarantineEntry,
    export_line,
)
from kyzconsole.tui.messages import QuarantineExported, QuarantineLoaded

LIST_LIMIT = 1000  # newest entries listed; the export always takes them all


def entry_time(entry: QuarantineEntry) -> datetime | None:
    return entry.received_at or entry.quarantined_at


def describe_entry(entry: QuarantineEntry) -> Text:
    text = Text()
    text.append(f"{entry.kind.upper()} #{entry.id}", style="bold reverse")
    moment = entry_time(entry)
    if moment is not None:
        text.append(f"  received {moment.isoformat(sep=' ', timespec='seconds')}")
    text.append(f" from {entry.source}")
    text.append("\nreason: ", style="bold")
    text.append(entry.reason)
    if entry.existing is not None:
        text.append("\nstored (kept):  ", style="bold")
        text.append(json.dumps(entry.existing))
    if entry.incoming is not None:
        text.append("\nincoming:       ", style="bold")
        text.append(json.dumps(entry.incoming))
    if entry.raw is not None:
        text.append("\nraw bytes: ", style="bold")
        text.append(repr(entry.raw))
    return text


def read_entries(data_dir: Path, limit: int = LIST_LIMIT) -> tuple[list[QuarantineEntry], int]:
    """The newest `limit` entries (oldest first) and how many there are in all."""
    path = data_dir / QUARANTINE_FILE_NAME
    if not path.exists():  # do not create the file in a service's data dir just to look
        return [], 0
    with Quarantine(path) as quarantine:
        newest: deque[QuarantineEntry] = deque(quarantine.entries(), maxlen=limit)
        return list(newest), quarantine.count()


def export_entries(data_dir: Path, now: datetime) -> tuple[Path, int]:
    """All entries, as `kyzconsole quarantine export` writes them, to a new file in the data dir."""
    path = data_dir / f"quarantine-export-{now:%Y%m%d-%H%M%S}.jsonl"
    source = data_dir / QUARANTINE_FILE_NAME
    entries: list[QuarantineEntry] = []
    if source.exists():
        with Quarantine(source) as quarantine:
            entries = list(quarantine.entries())
    path.write_text("".join(export_line(e) + "\n" for e in entries), encoding="utf-8")
    return path, len(entries)


class QuarantineScreen(Screen[None]):
    CSS_PATH = "quarantine_screen.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back", id="kyz.quarantine.close"),
        Binding("e", "export", "Export JSONL", id="kyz.quarantine.export"),
        Binding("r", "reload", "Reload", id="kyz.quarantine.reload"),
    ]

    def __init__(self, data_dir: Path, clock: Callable[[], datetime] = datetime.now) -> None:
        super().__init__()
        self.data_dir = data_dir
        self.clock = clock
        self.entries: dict[str, QuarantineEntry] = {}
        self.total = 0
        self.loads = 0  # finished loads (what a test waits on)
        self.last_export: QuarantineExported | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text("quarantine: reading…", style="bold"), id="quarantine-title")
        table: DataTable[str] = DataTable(id="quarantine-list", cursor_type="row")
        yield table
        with VerticalScroll(id="quarantine-detail"):
            yield Static(Text("no entry selected"), id="quarantine-entry")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#quarantine-list", DataTable)
        for key, label in (("id", "#"), ("kind", "Kind"), ("time", "Received")):
            table.add_column(label, key=key)
        table.add_column("Source", key="source")
        table.add_column("Reason", key="reason")
        table.focus()
        self.action_reload()

    def action_reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="quarantine", exit_on_error=False)
    def _load(self) -> None:
        try:
            entries, total = read_entries(self.data_dir)
        except Exception as exc:
            self.post_message(QuarantineLoaded([], 0, f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(QuarantineLoaded(entries, total))

    @on(QuarantineLoaded)
    def _loaded(self, message: QuarantineLoaded) -> None:
        self.loads += 1
        table = self.query_one("#quarantine-list", DataTable)
        table.clear()
        self.entries = {}
        self.total = message.total
        for entry in reversed(message.entries):  # newest first
            key = str(entry.id)
            self.entries[key] = entry
            moment = entry_time(entry)
            table.add_row(
                key,
                entry.kind,
                moment.isoformat(sep=" ", timespec="seconds") if moment else "",
                entry.source,
                entry.reason,
                key=key,
            )
        if message.error:
            title = f"quarantine: cannot read it: {message.error}"
        elif not self.total:
            title = "quarantine: empty (nothing invalid or conflicting so far)"
        else:
            shown = len(self.entries)
            title = f"quarantine: {self.total} entries"
            if shown < self.total:
                title += f" (newest {shown} listed)"
            title += " · e exports all to JSONL for `kyzconsole replay`"
        self.query_one("#quarantine-title", Static).update(Text(title, style="bold"))
        self._show_selected()

    @on(DataTable.RowHighlighted, "#quarantine-list")
    def _highlighted(self, message: DataTable.RowHighlighted) -> None:
        self._show_selected()

    def selected(self) -> QuarantineEntry | None:
        table = self.query_one("#quarantine-list", DataTable)
        if table.row_count == 0:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return self.entries.get(str(row_key.value))

    def _show_selected(self) -> None:
        entry = self.selected()
        body = self.query_one("#quarantine-entry", Static)
        body.update(describe_entry(entry) if entry else Text("no entry selected"))

    def action_export(self) -> None:
        self._export(self.clock())

    @work(thread=True, exclusive=True, group="quarantine-export", exit_on_error=False)
    def _export(self, now: datetime) -> None:
        try:
            path, count = export_entries(self.data_dir, now)
        except Exception as exc:
            self.post_message(QuarantineExported(None, 0, f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(QuarantineExported(path, count))

    @on(QuarantineExported)
    def _exported(self, message: QuarantineExported) -> None:
        self.last_export = message
        if message.error or message.path is None:
            self.notify(f"export failed: {message.error}", severity="error", timeout=10)
        else:
            self.notify(
                f"exported {message.count} entries to {message.path}; fix them, then "
                f"`kyzconsole replay {message.path}`",
                title="quarantine export",
                timeout=15,
            )

    def action_close(self) -> None:
        self.dismiss(None)
