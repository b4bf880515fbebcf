"""The selected message in full: payload, raw bytes when invalid, reason, both conflict versions."""

from __future__ import annotations

import json

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from kyzconsole.tui.message_log import MessageRow


def describe_row(row: MessageRow) -> Text:
    text = Text()
    text.append(f"{row.outcome.upper()}", style="bold reverse")
    text.append(f"  received {row.received_at.isoformat(sep=' ', timespec='seconds')}")
    text.append(f" on {row.topic}")
    if row.reason:
        text.append("\nreason: ", style="bold")
        text.append(row.reason)
    if row.warning:
        text.append("\nwarning: ", style="bold")
        text.append(row.warning)
    if row.outcome == "conflict" and row.existing is not None and row.record is not None:
        text.append("\nstored (kept):  ", style="bold")
        text.append(json.dumps(row.existing.to_payload()))
        text.append("\nincoming:       ", style="bold")
        text.append(json.dumps(row.record.to_payload()))
    if row.record is None:
        text.append("\nraw bytes: ", style="bold")
        text.append(repr(row.raw))
    else:
        text.append("\npayload:\n", style="bold")
        text.append(_pretty(row.raw))
    return text


def _pretty(raw: bytes) -> str:
    try:
        return json.dumps(json.loads(raw), indent=2)
    except ValueError:
        return raw.decode("utf-8", errors="replace")


class DetailPane(VerticalScroll):
    def compose(self) -> ComposeResult:
        yield Static(Text("select a message to see it in full"), id="detail-text")

    def show(self, row: MessageRow | None) -> None:
        body = self.query_one("#detail-text", Static)
        body.update(describe_row(row) if row else Text("select a message to see it in full"))
