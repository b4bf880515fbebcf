"""Textual messages the console posts to itself, from engine threads and thread workers."""

from __future__ import annotations

from typing import Any

from textual.message import Message

from kyzconsole.engine.checks import Check
from kyzconsole.engine.events import EngineEvent


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
