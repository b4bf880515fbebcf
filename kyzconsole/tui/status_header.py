"""The header: mode, broker link, SQL target and health, last message, spool, pause state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text

from kyzconsole.tui.display import ago, clock_time, parse_time
from kyzconsole.tui.quiet_static import QuietStatic


class StatusHeader(QuietStatic):
    """Four short lines; every state is spelt out in words, colour only repeats it."""

    def show(
        self,
        *,
        mode: str,
        status: dict[str, Any] | None,
        now: datetime,
        last_message: datetime | None,
        paused_new: int | None,
        filter_text: str,
        stopping: bool,
    ) -> None:
        status = status or {}
        mqtt, sql = status.get("mqtt") or {}, status.get("sql") or {}
        text = Text(no_wrap=False, overflow="ellipsis")
        text.append(" INGEST " if mode == "ingest" else " MONITOR ", style="reverse bold")
        if mode == "ingest":
            text.append(" this console ingests the data dir")
        elif status.get("service_found"):
            text.append(f" service pid {status.get('pid')} ingests; outcomes shown as observed")
        else:
            text.append(" service status file not found; outcomes shown as observed")
        if stopping:
            text.append("  STOPPING: flushing the spool…", style="bold")
        if paused_new is not None:
            text.append(f"  PAUSED · {paused_new} new", style="reverse bold")
        if filter_text:
            text.append(f"  filter: {filter_text}", style="italic")
        text.append("\nMQTT ")
        text.append(mqtt.get("broker") or "?")
        text.append(" ")
        self._state(text, bool(mqtt.get("connected") and mqtt.get("subscribed")), mqtt)
        observer = status.get("observer")
        if observer is not None:
            text.append(" · observer ")
            self._state(text, bool(observer.get("connected")), observer)
        text.append("\nSQL ")
        text.append(sql.get("target") or "?")
        text.append(" ")
        if not sql:
            text.append("unknown")
        elif sql.get("last_error"):
            text.append("DOWN", style="bold red")
            text.append(f": {sql['last_error']}")
        elif sql.get("ok"):
            text.append("ok", style="bold green")
            if sql.get("latency_ms") is not None:
                text.append(f" {sql['latency_ms']:.0f} ms")
        else:
            text.append("not tried yet")
        last = last_message or parse_time(mqtt.get("last_message"))
        pending = (status.get("spool") or {}).get("pending")
        text.append(
            f"\nlast message {clock_time(last)} ({ago(last, now)})" if last else "\nno messages yet"
        )
        text.append(f" · spool pending {pending if pending is not None else '?'}")
        self.show_text(text)

    @staticmethod
    def _state(text: Text, ok: bool, part: dict[str, Any]) -> None:
        if ok:
            text.append("connected", style="bold green")
        else:
            text.append("DISCONNECTED", style="bold red")
            if part.get("last_error"):
                text.append(f": {part['last_error']}")
