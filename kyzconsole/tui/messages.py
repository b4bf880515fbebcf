"""Textual messages the console posts to itself, from engine threads and thread workers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.message import Message

from kyzconsole.engine.checks import Check
from kyzconsole.engine.events import EngineEvent
from kyzconsole.quarantine import QuarantineEntry
from kyzconsole.tui.report_snapshot import ReportSnapshot


class EngineMessage(Message):
    """One engine event (or an observed message in monitor mode), carried to the UI thread."""

    def __init__(self, event: EngineEvent) -> None:
        super().__init__()
        self.event = event


class StatusRead(Message):
    """The latest status: the engine's own (ingest mode) or the service's file (monitor mode)."""

    def __init__(self, status: dict[str, Any] | None, error: str | None = None) -> None:
        super().__init__()
        self.status = status
        self.error = error  # reading failed; keep showing the last status


class ModeStopped(Message):
    """The engine or the observer has stopped (after the flush, in ingest mode)."""

    def __init__(self, error: str | None = None) -> None:
        super().__init__()
        self.error = error


class CheckFinished(Message):
    """One test-conn check finished."""

    def __init__(self, check: Check) -> None:
        super().__init__()
        self.check = check


class ChecksDone(Message):
    """All test-conn checks ran (or one raised: `error`)."""

    def __init__(self, error: str | None = None) -> None:
        super().__init__()
        self.error = error


class ReportsRead(Message):
    """Today's and the month's figures were read (or reading them failed: `error`)."""

    def __init__(
        self, snapshot: ReportSnapshot | None, error: str | None = None, asked: int = 0
    ) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.error = error
        self.asked = asked  # which read this answers


class QuarantineLoaded(Message):
    """The quarantine's newest entries and its size (or reading it failed: `error`)."""

    def __init__(
        self, entries: list[QuarantineEntry], total: int, error: str | None = None
    ) -> None:
        super().__init__()
        self.entries = entries
        self.total = total
        self.error = error


class QuarantineExported(Message):
    """The quarantine was exported to `path` (or the export failed: `error`)."""

    def __init__(self, path: Path | None, count: int, error: str | None = None) -> None:
        super().__init__()
        self.path = path
        self.count = count
        self.error = error
