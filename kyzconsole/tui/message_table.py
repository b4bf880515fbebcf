"""The live message table: newest first, bounded, rows updated in place, synced on a timer."""

from __future__ import annotations

from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist

from kyzconsole.record import INTERVAL_END_FORMAT
from kyzconsole.tui.display import flags, number
from kyzconsole.tui.message_log import MessageRow

COLUMNS = (
    ("received", "Received"),
    ("interval_end", "Interval end"),
    ("pulses", "Pulses"),
    ("kwh", "kWh"),
    ("kw", "kW"),
    ("flags", "Flags"),
    ("outcome", "Outcome"),
    ("reason", "Reason"),
)
OUTCOME_STYLES = {
    "inserted": "green",
    "duplicate": "yellow",
    "conflict": "bold magenta",
    "invalid": "bold red",
    "pending": "dim",
    "observed": "cyan",
}


class ArrivalText(Text):
    """The received-time cell; it carries the arrival order the table sorts by."""

    def __init__(self, text: str, seq: int) -> None:
        super().__init__(text)
        self.seq = seq


def cells(row: MessageRow) -> tuple[Text, ...]:
    record = row.record
    return (
        ArrivalText(row.received_at.strftime("%H:%M:%S"), row.seq),
        Text(record.interval_end.strftime(INTERVAL_END_FORMAT) if record else ""),
        Text(str(record.pulse_count) if record else "", justify="right"),
        Text(number(record.kwh) if record else "", justify="right"),
        Text(number(record.kw) if record else "", justify="right"),
        Text(flags(record)),
        Text(row.outcome, style=OUTCOME_STYLES.get(row.outcome, "")),
        Text(row.reason or row.warning or "", no_wrap=True, overflow="ellipsis"),
    )


class MessageTable(DataTable[Text]):
    """`show(rows)` makes the table hold exactly these rows, touching only what changed."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self._shown: dict[str, int] = {}  # row key -> version drawn

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    @property
    def shown_keys(self) -> list[str]:
        """Row keys in display order (top first)."""
        return [
            str(self.coordinate_to_cell_key(Coordinate(i, 0)).row_key.value)
            for i in range(self.row_count)
        ]

    def highlighted_key(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            key = self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0)).row_key
        except CellDoesNotExist:
            return None
        return str(key.value)

    def show(self, rows: list[MessageRow]) -> None:
        # At the top the cursor follows the newest row; elsewhere it stays on its message.
        follow = self.cursor_row <= 0
        keep = None if follow else self.highlighted_key()
        wanted = {str(row.key): row for row in rows}
        reordered = False
        for key in [k for k in self._shown if k not in wanted]:
            self.remove_row(key)
            del self._shown[key]
            reordered = True
        for key, row in wanted.items():
            drawn = self._shown.get(key)
            if drawn is None:
                self.add_row(*cells(row), key=key)
                reordered = True
            elif drawn != row.version:
                for (column, _), value in zip(COLUMNS, cells(row), strict=True):
                    self.update_cell(key, column, value)
            self._shown[key] = row.version
        if reordered:
            self.sort("received", key=lambda cell: cell.seq, reverse=True)
        if keep is not None and keep in self._shown:
            self.move_cursor(row=self.get_row_index(keep), animate=False)
        elif follow and self.row_count:
            self.move_cursor(row=0, animate=False)
