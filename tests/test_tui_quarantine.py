"""The quarantine screen: list, inspect one entry in full, export for `kyzconsole replay`."""

from __future__ import annotations

import os

os.environ["TEXTUAL_ANIMATIONS"] = "none"

import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from textual.widgets import DataTable

from kyzconsole.config import load_settings
from kyzconsole.quarantine import Quarantine, QuarantineEntry
from kyzconsole.sources.simulated import plant_intervals
from kyzconsole.tui.app import KyzConsoleApp, make_app
from kyzconsole.tui.quarantine_screen import QuarantineScreen
from kyzconsole.tui.recorded import RecordedMode
from kyzconsole.tui.status_header import StatusHeader
from tests.servers.mosquitto import MosquittoBroker
from tests.test_tui_console import (
    SIZE,
    TOPIC,
    console_settings,
    counters,
    in_loop,
    payload,
    until,
    with_pulses,
)

NOW = datetime(2026, 3, 2, 10, 0, 0)
RAW = b'{"intervalEnd": "2026-03-02 09:07:00", "pulseCount": 3}'


@pytest.fixture(scope="module")
def broker() -> Iterator[MosquittoBroker]:
    with MosquittoBroker() as broker:
        yield broker


def fill_quarantine(data_dir: Path) -> None:
    (stored,) = plant_intervals(datetime(2026, 3, 2, 9, 0), 1)
    incoming = with_pulses(stored, stored.pulse_count + 9)
    with Quarantine.in_data_dir(data_dir) as quarantine:
        quarantine.add(
            [
                QuarantineEntry.invalid(
                    f"mqtt:{TOPIC}", "intervalEnd: not on a 15-minute boundary", RAW, NOW
                ),
                QuarantineEntry.conflict(f"mqtt:{TOPIC}", incoming, stored, received_at=NOW),
            ]
        )


def recorded_app(data_dir: Path) -> KyzConsoleApp:
    settings = load_settings(data_dir=data_dir)
    return KyzConsoleApp(settings, RecordedMode([], None), clock=lambda: NOW)


def shown_entry(screen: QuarantineScreen) -> str:
    return str(screen.query_one("#quarantine-entry").render())


def listed(screen: QuarantineScreen) -> list[tuple[str, str]]:
    """(kind, source) of each listed entry, top first."""
    table = screen.query_one("#quarantine-list", DataTable)
    rows = [table.get_row_at(i) for i in range(table.row_count)]
    return [(str(row[1]), str(row[3])) for row in rows]


async def open_quarantine(app: KyzConsoleApp, pilot) -> QuarantineScreen:
    await pilot.press("Q")
    screen = app.screen
    assert isinstance(screen, QuarantineScreen)
    await until(pilot, lambda: screen.loads >= 1)
    return screen


@in_loop
async def test_quarantine_screen_lists_entries_and_shows_one_in_full(tmp_path: Path):
    data_dir = tmp_path / "data"
    fill_quarantine(data_dir)
    app = recorded_app(data_dir)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_quarantine(app, pilot)
        assert listed(screen) == [("conflict", f"mqtt:{TOPIC}"), ("invalid", f"mqtt:{TOPIC}")]
        assert "quarantine: 2 entries" in str(screen.query_one("#quarantine-title").render())
        text = shown_entry(screen)  # the newest first: the conflict, both versions
        assert "CONFLICT #2" in text
        assert "stored (kept):" in text and "incoming:" in text
        assert text.count('"pulseCount"') == 2
        await pilot.press("down")
        await until(pilot, lambda: "INVALID #1" in shown_entry(screen))
        assert repr(RAW) in shown_entry(screen)
        assert "reason: intervalEnd: not on a 15-minute boundary" in shown_entry(screen)
        await pilot.pause(0.4)  # the main screen's redraw timer keeps running underneath
        await pilot.press("escape")
        assert not isinstance(app.screen, QuarantineScreen)
        assert "INGEST" in app.query_one(StatusHeader).plain


@in_loop
async def test_export_writes_what_the_quarantine_export_command_writes(tmp_path: Path):
    data_dir = tmp_path / "data"
    fill_quarantine(data_dir)
    app = recorded_app(data_dir)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_quarantine(app, pilot)
        await pilot.press("e")
        await until(pilot, lambda: screen.last_export is not None)
        export = screen.last_export
        assert export is not None and export.error is None and export.count == 2
        assert export.path == data_dir / "quarantine-export-20260302-100000.jsonl"
        assert any(str(export.path) in n.message for n in app._notifications)
    command = tmp_path / "by-command.jsonl"
    subprocess.run(
        [sys.executable, "-m", "kyzconsole", "quarantine", "export", "--output", str(command)],
        env=os.environ | {"KYZ_DATA_DIR": str(data_dir)},
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert export.path.read_bytes() == command.read_bytes()
    assert len(command.read_text().splitlines()) == 2


@in_loop
async def test_an_empty_quarantine_says_so_and_is_not_created(tmp_path: Path):
    data_dir = tmp_path / "data"
    app = recorded_app(data_dir)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_quarantine(app, pilot)
        assert "quarantine: empty" in str(screen.query_one("#quarantine-title").render())
        assert "no entry selected" in shown_entry(screen)
    assert not (data_dir / "quarantine.db").exists()


@in_loop
async def test_the_command_palette_opens_the_quarantine(tmp_path: Path):
    app = recorded_app(tmp_path / "data")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"Quarantine")
        await until(pilot, lambda: app.screen.query("CommandList").first().option_count > 0)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, QuarantineScreen))


@in_loop
async def test_ingest_mode_quarantines_bad_and_conflicting_messages_shown_on_q(tmp_path, broker):
    app = make_app(console_settings(tmp_path / "data", broker))
    (first,) = plant_intervals(datetime(2026, 3, 2, 0, 15), 1)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: "connected" in app.query_one(StatusHeader).plain)
            changed = with_pulses(first, first.pulse_count + 1)
            broker.publish_many(TOPIC, [payload(first), "{not json", payload(changed)])
            await until(pilot, lambda: "conflicts 1" in counters(app))
            screen = await open_quarantine(app, pilot)
            assert [kind for kind, _ in listed(screen)] == ["conflict", "invalid"]
            # Ingest and the main screen's redraws go on underneath the quarantine screen.
            broker.publish(TOPIC, b"still broken")
            await pilot.pause(1.0)  # several redraw ticks while the quarantine is on top
            assert app.is_running and app.screen is screen
            await pilot.press("escape")
            await until(pilot, lambda: "invalid 2" in counters(app))
    finally:
        app.mode.stop()
