"""The `/` filter line: an outcome word (inserted, invalid, ...) or any text in the message."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Input


class FilterInput(Input):
    BINDINGS = [  # noqa: RUF012
        Binding("escape", "close", "Close filter", id="kyz.filter.close"),
    ]

    def __init__(self) -> None:
        super().__init__(
            placeholder="filter: inserted / duplicate / conflict / invalid / any text; "
            "enter keeps it, esc clears",
            id="filter",
        )

    def action_close(self) -> None:
        self.value = ""
        self.display = False
        self.app.set_focus(None)
