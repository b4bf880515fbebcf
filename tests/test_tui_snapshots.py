"""Snapshots of the main screen, 80x24 and 160x48, light and dark: a recorded event stream and a
fixture database, a fixed clock and a recorded status, so nothing varies between runs."""

from __future__ import annotations

import os

os.environ["TEXTUAL_ANIMATIONS"] = "none"

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from kyzconsole.config import load_settings
from kyzconsole.engine.events import EngineEvent, MessageOutcome, MessageReceived
from kyzconsole.tui.app import KyzConsoleApp
from kyzconsole.tui.message_table import MessageTable
from kyzconsole.tui.recorded import RecordedMode
from tests.test_tui_console import TOPIC, table, until, with_pulses
from tests.test_tui_reports import month_so_far, store

NOW = datetime(2026, 3, 2, 10, 0, 40)
ARRIVED = datetime(2026, 3, 2, 9, 58, 0)

STATUS: dict[str, Any] = {
    "pid": 4242,
    "mode": "console",
    "state": "running",
    "mqtt": {
        "connected": True,
        "subscribed": True,
        "broker": "broker.plant:1883",
        "topic": TOPIC,
        "last_message": None,
        "last_error": None,
    },
    "sql": {
        "ok": True,
        "target": "mssql kyz-plant.database.windows.net/kyz table dbo.KYZ_Interval",
        "latency_ms": 12.0,
        "last_error": None,
    },
    "counters": {
        "received": 9,
        "inserted": 6,
        "duplicates": 1,
        "conflicts": 1,
        "invalid": 1,
        "messages_per_minute": 4.5,
    },
    "spool": {"pending": 0},
    "latest_interval": None,
}


def recorded_stream() -> list[EngineEvent]:
    """The last hour and a half of the fixture day as the engine announced it, plus trouble."""
    records = month_so_far()[-6:]
    events: list[EngineEvent] = []
    for n, record in enumerate(records, start=1):
        raw = json.dumps(record.to_payload()).encode()
        at = ARRIVED + timedelta(seconds=10 * n)
        events += [
            MessageReceived(n, at, TOPIC, raw, record),
            MessageOutcome(n, "inserted", record),
        ]
    again = records[-2]
    at = ARRIVED + timedelta(seconds=70)
    events += [
        MessageReceived(7, at, TOPIC, json.dumps(again.to_payload()).encode(), again),
        MessageOutcome(7, "duplicate", again),
    ]
    bad = b'{"intervalEnd": "2026-03-02 10:07:00", "pulseCount": "12"}'
    reason = "intervalEnd: 10:07:00 is not on a 15-minute boundary"
    events.append(MessageReceived(-1, at + timedelta(seconds=5), TOPIC, bad, None, reason))
    stored = records[-1]
    changed = with_pulses(stored, stored.pulse_count + 3)
    events += [
        MessageReceived(
            8, at + timedelta(seconds=10), TOPIC, json.dumps(changed.to_payload()).encode(), changed
        ),
        MessageOutcome(8, "conflict", changed, stored),
    ]
    return events


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("NO_COLOR", raising=False)
    directory = tmp_path / "data"
    store(load_settings(data_dir=directory), month_so_far())
    return directory


def snapshot_app(data_dir: Path, theme: str) -> KyzConsoleApp:
    settings = load_settings(data_dir=data_dir, mqtt_host="broker.plant")
    return KyzConsoleApp(
        settings, RecordedMode(recorded_stream(), STATUS), clock=lambda: NOW, theme=theme
    )


async def settled(pilot: Pilot) -> None:
    app = pilot.app
    assert isinstance(app, KyzConsoleApp)
    messages = len({e.key for e in recorded_stream() if isinstance(e, MessageReceived)})
    await until(pilot, lambda: app.reports_read >= 1 and app.status is not None)
    await until(pilot, lambda: len(app.message_log.rows) == messages)
    # DataTable measures its columns when it is next idle, which a loaded machine can put off
    # past a fixed pause: wait until every column is as wide as its widest cell.
    await until(pilot, lambda: table(app).row_count == messages and columns_fit(table(app)))
    await pilot.pause(0.4)  # one redraw tick after the last event


def columns_fit(shown: MessageTable) -> bool:
    return all(
        column.content_width >= max((cell.cell_len for cell in shown.get_column(key)), default=0)
        for key, column in shown.columns.items()
    )


@pytest.mark.parametrize("theme", ["dark", "light"])
@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_main_screen(snap_compare, data_dir: Path, theme: str, size: tuple[int, int]):
    app = snapshot_app(data_dir, theme)
    assert snap_compare(app, terminal_size=size, run_before=settled)
