"""The today and month-to-date panel: the report queries on a real embedded database."""

from __future__ import annotations

import os

os.environ["TEXTUAL_ANIMATIONS"] = "none"

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr

from kyzconsole.config import Settings, load_settings
from kyzconsole.db.target import resolve_target
from kyzconsole.db.writer import IntervalWriter
from kyzconsole.record import IntervalRecord
from kyzconsole.sources.simulated import plant_intervals
from kyzconsole.tui.app import KyzConsoleApp, make_app
from kyzconsole.tui.recorded import RecordedMode
from kyzconsole.tui.today_panel import TodayPanel
from tests.servers.mosquitto import MosquittoBroker
from tests.test_tui_console import SIZE, TOPIC, console_settings, in_loop, payload, until

NOW = datetime(2026, 3, 2, 10, 0, 5)  # a Monday morning; 40 intervals have ended today
MONTH_START = datetime(2026, 3, 1, 0, 15)
R17_PEAK = datetime(2026, 3, 2, 8, 0)  # flagged: today's peak, but not billing demand


@pytest.fixture(scope="module")
def broker() -> Iterator[MosquittoBroker]:
    with MosquittoBroker() as broker:
        yield broker


def month_so_far() -> list[IntervalRecord]:
    """2026-03-01 00:15 to 2026-03-02 10:00, one R17-flagged 2 MW interval this morning."""
    rows = []
    for record in plant_intervals(MONTH_START, 96 + 40):
        if record.interval_end == R17_PEAK:
            record = IntervalRecord.trusted(
                interval_end=record.interval_end,
                pulse_count=record.pulse_count,
                kwh=Decimal("500.000000"),
                kw=Decimal("2000.000000"),
                total_kwh=record.total_kwh,
                r17_exclude=True,
                kyz_invalid_alarm=False,
            )
        rows.append(record)
    return rows


def store(settings: Settings, rows: list[IntervalRecord]) -> None:
    with IntervalWriter(resolve_target(settings)) as writer:
        writer.write(rows)


def panel(app: KyzConsoleApp) -> TodayPanel:
    return app.query_one(TodayPanel)


def kw(value: Decimal) -> str:
    return f"{value.normalize():f} kW"


@in_loop
async def test_today_panel_shows_the_stored_day_and_follows_live_ingest(tmp_path: Path, broker):
    settings = console_settings(tmp_path / "data", broker)
    rows = month_so_far()
    stored, live = rows[:-4], rows[-4:]  # the last hour arrives over MQTT
    store(settings, stored)
    app = make_app(settings, clock=lambda: NOW)
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await until(pilot, lambda: "intervals 36/40" in panel(app).plain)
            text = panel(app).plain
            assert "(4 MISSING)" in text
            assert "peak 2000 kW at 08:00" in text  # R17 still counts for the day's peak
            assert "flagged R17 1, alarm 0" in text
            billable = [r for r in stored if not r.r17_exclude]
            top = sorted(billable, key=lambda r: -r.kw)[:3]
            assert f"billing demand {kw(top[0].kw)}" in text
            assert "(from 2026-03-01)" in text
            today = [r for r in stored if r.interval_end > datetime(2026, 3, 2)]
            assert f"today {sum(r.kwh for r in today).normalize():f} kWh" in text
            assert panel(app).kw_data == [float(r.kw) for r in today]

            broker.publish_many(TOPIC, [payload(r) for r in live])
            await until(pilot, lambda: "intervals 40/40" in panel(app).plain)
            today += live
            text = panel(app).plain
            assert "MISSING" not in text
            assert f"today {sum(r.kwh for r in today).normalize():f} kWh" in text
            assert len(panel(app).kw_data) == 40
            billable += live
            top = sorted(billable, key=lambda r: -r.kw)[:3]
            average = (sum(r.kw for r in top) / 3).quantize(Decimal("0.000001"))
            assert f"top-3 avg {kw(average)}" in text
    finally:
        app.mode.stop()


def recorded_app(settings: Settings) -> KyzConsoleApp:
    return KyzConsoleApp(settings, RecordedMode([], None), clock=lambda: NOW)


@in_loop
async def test_r_refreshes_the_reports_on_demand(tmp_path: Path):
    settings = load_settings(data_dir=tmp_path / "data")
    rows = month_so_far()
    store(settings, rows[:96])  # yesterday only
    app = recorded_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.reports_read >= 1)
        assert "today 0 kWh so far · peak none · intervals 0/40" in panel(app).plain
        assert panel(app).kw_data == []
        store(settings, rows[96:])
        read = app.reports_read
        await pilot.press("r")
        await until(pilot, lambda: app.reports_read > read)
        assert "intervals 40/40" in panel(app).plain
        assert len(panel(app).kw_data) == 40


@in_loop
async def test_reports_refresh_on_their_timer_without_a_key(tmp_path: Path):
    settings = load_settings(data_dir=tmp_path / "data")
    rows = month_so_far()
    store(settings, rows[:96])
    app = KyzConsoleApp(settings, RecordedMode([], None), clock=lambda: NOW, reports_every=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "intervals 0/40" in panel(app).plain)
        store(settings, rows[96:])  # written by someone else: a service, a replay
        await until(pilot, lambda: "intervals 40/40" in panel(app).plain)


@in_loop
async def test_a_report_failure_is_shown_in_the_panel_and_the_console_goes_on(tmp_path: Path):
    settings = load_settings(
        data_dir=tmp_path / "data", sql_connection_string="DSN=kyz-no-such-dsn"
    )
    app = recorded_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.reports_read >= 1)
        assert "REPORTS FAILED: " in panel(app).plain
        assert "today: not available" in panel(app).plain
        await pilot.press("r")
        await until(pilot, lambda: app.reports_read >= 2)
        assert app.is_running
        assert "REPORTS FAILED" in panel(app).plain


@in_loop
async def test_a_failure_after_a_good_read_keeps_the_last_figures(tmp_path: Path):
    settings = load_settings(data_dir=tmp_path / "data")
    store(settings, month_so_far())
    app = recorded_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "intervals 40/40" in panel(app).plain)
        bad = SecretStr("DSN=kyz-no-such-dsn")
        app.settings = settings.model_copy(update={"sql_connection_string": bad})
        await pilot.press("r")
        await until(pilot, lambda: "REPORTS FAILED" in panel(app).plain)
        assert "intervals 40/40" in panel(app).plain
