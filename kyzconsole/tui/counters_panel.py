"""Counters since the engine started: received, inserted, duplicates, conflicts, invalid, rate."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from kyzconsole.tui.quiet_static import QuietStatic

SHOWN = (
    ("received", "received"),
    ("inserted", "inserted"),
    ("duplicates", "duplicates"),
    ("conflicts", "conflicts"),
    ("invalid", "invalid"),
)


class CountersPanel(QuietStatic):
    def show(self, status: dict[str, Any] | None, *, observed: int | None = None) -> None:
        counters = (status or {}).get("counters") or {}
        text = Text()
        for key, label in SHOWN:
            text.append(f"{label} ")
            text.append(str(counters.get(key, 0)), style="bold")
            text.append("  ")
        rate = counters.get("messages_per_minute", 0)
        text.append(f"{rate:.0f}", style="bold")
        text.append(" msg/min")
        if observed is not None:
            text.append(f"  (service counts; {observed} observed here)")
        self.show_text(text)
