"""`kyzconsole demo`'s pieces, headless: private broker, simulator, console ingesting."""

from __future__ import annotations

import os

os.environ["TEXTUAL_ANIMATIONS"] = "none"

import socket
import sqlite3
from pathlib import Path
from typing import Any

from kyzconsole.config import load_settings
from kyzconsole.quarantine import Quarantine
from kyzconsole.tui.app import KyzConsoleApp
from kyzconsole.tui.demo import DemoMode, DemoOptions
from kyzconsole.tui.message_table import MessageTable
from tests.test_tui_console import SIZE, in_loop, until


def counters(app: KyzConsoleApp) -> dict[str, Any]:
    return dict((app.status or {}).get("counters") or {})


def settled(app: KyzConsoleApp, planned: int) -> bool:
    c = counters(app)
    landed = c.get("inserted", 0) + c.get("duplicates", 0) + c.get("conflicts", 0)
    return c.get("received") == planned and landed + c.get("invalid", 0) == planned


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@in_loop
async def test_demo_rows_in_the_database_match_the_console_counters(tmp_path: Path):
    user_data = tmp_path / "user-data"
    options = DemoOptions(count=40, rate=0, bad_every=7, duplicate_every=5, seed=3)
    mode = DemoMode(load_settings(data_dir=user_data), options)
    planned = mode.simulator.planned
    data_dir = mode.settings.resolved_data_dir
    try:
        app = KyzConsoleApp(mode.settings, mode)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: mode.simulator.done.is_set(), timeout=30)
            assert mode.simulator.error is None
            assert mode.simulator.tally.total == planned
            await until(pilot, lambda: settled(app, planned), timeout=30)
            shown = counters(app)
            await until(pilot, lambda: app.query_one(MessageTable).row_count == planned)

            def row_outcomes_caught_up() -> bool:
                # Outcome events reach the rows a moment after the counters move.
                outcomes = [row.outcome for row in app.message_log.rows.values()]
                return outcomes.count("inserted") == shown["inserted"]

            await until(pilot, row_outcomes_caught_up, timeout=30)
            await pilot.press("q")
            await until(pilot, lambda: app.return_code is not None, timeout=30)
        assert app.return_code == 0
        tally = mode.simulator.tally
        assert shown["inserted"] == tally.good == options.count
        assert shown["duplicates"] == tally.duplicate > 0
        assert shown["invalid"] == tally.bad > 0
        with sqlite3.connect(data_dir / "kyz.db") as db:
            stored = db.execute("SELECT COUNT(*) FROM KYZ_Interval").fetchone()[0]
        assert stored == shown["inserted"]
        with Quarantine.in_data_dir(data_dir) as quarantine:
            assert quarantine.count() == shown["invalid"] + shown["conflicts"]
        outcomes = [row.outcome for row in app.message_log.rows.values()]
        assert outcomes.count("inserted") == shown["inserted"]
        assert outcomes.count("invalid") == shown["invalid"]
        assert not listening(mode.broker.port)  # quitting stopped the broker too
    finally:
        mode.cleanup()
    assert not mode.root.exists()
    assert not user_data.exists()  # the demo never touches the real data dir
