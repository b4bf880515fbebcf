"""A Static that repaints only when its text changed: an idle console must not redraw at 3 Hz."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class QuietStatic(Static):
    _drawn: Text | None = None

    def show_text(self, text: Text) -> None:
        if text != self._drawn:
            self._drawn = text
            self.update(text)

    @property
    def plain(self) -> str:
        """What the panel says, without styles (what a test or a screen reader reads)."""
        return self._drawn.plain if self._drawn is not None else ""
