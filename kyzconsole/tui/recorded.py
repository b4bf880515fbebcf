"""A console mode that plays back a recorded event stream and status: screenshots, snapshot tests.

It talks to no broker and runs no engine; the reports still read the settings' database.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kyzconsole.engine.events import EngineEvent
from kyzconsole.tui.modes import EventSink


class RecordedMode:
    """Feeds `events` to the console at start, as the engine would; `status()` is `status`."""

    valid_outcome = "pending"

    def __init__(
        self,
        events: Sequence[EngineEvent],
        status: dict[str, Any] | None,
        *,
        name: str = "ingest",
    ) -> None:
        self.name = name
        self.events = list(events)
        self.recorded_status = status
        self.stopped = False
        if name == "monitor":
            self.valid_outcome = "observed"

    def start(self, on_event: EventSink) -> None:
        for event in self.events:
            on_event(event)

    def status(self) -> dict[str, Any] | None:
        return self.recorded_status

    def stop(self) -> None:
        self.stopped = True
