"""The console in ingest mode: a real engine, a real Mosquitto and the embedded database."""

from __future__ import annotations

import os

os.environ["TEXTUAL_ANIMATIONS"] = "none"  # read when Textual is imported

import asyncio
import functools
import json
import sqlite3
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from kyzconsole.config import Settings, load_settings
from kyzconsole.engine.events import MessageOutcome, MessageReceived
from kyzconsole.lock import is_held
from kyzconsole.record import IntervalRecord
from kyzconsole.sources.simulated import plant_intervals
from kyzconsole.spool import Spool
from kyzconsole.status_file import read_status
from kyzconsole.tui.app import KyzConsoleApp, make_app
from kyzconsole.tui.counters_panel import CountersPanel
from kyzconsole.tui.latest_interval import LatestInterval
from kyzconsole.tui.message_table import MessageTable
from kyzconsole.tui.status_header import StatusHeader
from kyzconsole.tui.testconn_screen import ConnectionChecksScreen
from tests.servers.mosquitto import MosquittoBroker
from tests.service import HeadlessService, service_env

TOPIC = "pri/energy/kyz/interval"
START = datetime(2026, 3, 2, 0, 15)
SIZE = (100, 30)


def in_loop(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test in its own event loop (no async plugin needed; fixtures still work)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


@pytest.fixture(scope="module")
def broker() -> Iterator[MosquittoBroker]:
    with MosquittoBroker() as broker:
        yield broker


def console_settings(data_dir: Path, broker: MosquittoBroker) -> Settings:
    return load_settings(
        data_dir=data_dir,
        log_dir=data_dir / "logs",
        mqtt_host="127.0.0.1",
        mqtt_port=broker.port,
        mqtt_client_id=f"kyz-test-{uuid.uuid4().hex[:8]}",  # no session left from another test
        status_interval=0.2,
        sql_retry_initial=0.2,
        sql_retry_max=1,
    )


@pytest.fixture
def app(tmp_path: Path, broker: MosquittoBroker) -> Iterator[KyzConsoleApp]:
    app = make_app(console_settings(tmp_path / "data", broker))
    app.animation_level = "none"
    yield app
    app.mode.stop()  # idempotent; a failed test must not leave the engine or the lock behind


def records(count: int, start: datetime = START) -> list[IntervalRecord]:
    return list(plant_intervals(start, count))


def with_pulses(record: IntervalRecord, pulse_count: int) -> IntervalRecord:
    """The same interval with other values: what a conflict looks like."""
    return IntervalRecord.trusted(
        interval_end=record.interval_end,
        pulse_count=pulse_count,
        kwh=record.kwh,
        kw=record.kw,
        total_kwh=record.total_kwh,
        r17_exclude=record.r17_exclude,
        kyz_invalid_alarm=record.kyz_invalid_alarm,
    )


def payload(record: IntervalRecord) -> str:
    return json.dumps(record.to_payload())


async def until(pilot: Pilot, condition: Callable[[], bool], timeout: float = 15) -> None:
    """Let the app run until `condition` holds; the engine runs in its own threads meanwhile."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the console")
        await pilot.pause(0.05)


def table(app: KyzConsoleApp) -> MessageTable:
    return app.query_one(MessageTable)


def outcomes(app: KyzConsoleApp) -> list[str]:
    t = table(app)
    return [t.get_cell(key, "outcome").plain for key in t.shown_keys]


def header(app: KyzConsoleApp) -> str:
    return app.query_one(StatusHeader).plain


def counters(app: KyzConsoleApp) -> str:
    return app.query_one(CountersPanel).plain


def detail(app: KyzConsoleApp) -> str:
    return str(app.query_one("#detail-text").render())


# A recorded event stream: the engine's own event dataclasses, fed as the engine would.
NOW = datetime(2026, 3, 2, 10, 0, 0)


def received(key: int, record: IntervalRecord | None, *, raw: bytes | None = None, reason=None):
    data = raw if raw is not None else payload(record).encode() if record else b""
    return MessageReceived(key, NOW + timedelta(seconds=key % 1000), TOPIC, data, record, reason)


def feed(app: KyzConsoleApp, *events: object) -> None:
    for event in events:
        app.engine_event(event)  # the same call the engine makes from its threads


# -- ingest mode with real messages --------------------------------------------------------


@in_loop
async def test_ingest_mode_counts_and_lists_what_the_plc_publishes(app, broker):
    first, *others = records(4)
    changed = with_pulses(first, first.pulse_count + 1)
    lines = [payload(r) for r in (first, *others)]
    lines += ["{not json", payload(first), payload(changed)]
    async with app.run_test(size=SIZE) as pilot:
        assert app.mode.name == "ingest"
        await until(pilot, lambda: "connected" in header(app))
        broker.publish_many(TOPIC, lines)
        await until(pilot, lambda: "conflicts 1" in counters(app))
        text = counters(app)
        for expected in ("received 7", "inserted 4", "duplicates 1", "invalid 1"):
            assert expected in text
        await until(pilot, lambda: "pending" not in outcomes(app) and len(outcomes(app)) == 7)
        assert outcomes(app) == ["conflict", "duplicate", "invalid", *["inserted"] * 4]
        assert "INGEST" in header(app)
        assert "embedded SQLite" in header(app)
        assert "ok" in header(app)
        assert "spool pending 0" in header(app)
        assert others[-1].interval_end.strftime("%Y-%m-%d %H:%M:%S") in (
            app.query_one(LatestInterval).plain
        )


@in_loop
async def test_quit_in_ingest_mode_flushes_then_exits_and_frees_the_lock(app, broker):
    data_dir = app.settings.resolved_data_dir
    lines = [payload(r) for r in records(20)]
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "connected" in header(app))
        broker.publish_many(TOPIC, lines)
        await until(pilot, lambda: "received 20" in counters(app))
        await pilot.press("q")
        await until(pilot, lambda: app.return_code is not None)
    assert app.return_code == 0
    assert not is_held(data_dir)
    assert read_status(data_dir)["state"] == "stopped"
    spool = Spool.in_data_dir(data_dir)
    try:
        assert spool.pending == 0
    finally:
        spool.close()
    with sqlite3.connect(data_dir / "kyz.db") as db:
        assert db.execute("SELECT COUNT(*) FROM KYZ_Interval").fetchone()[0] == 20


@in_loop
async def test_test_conn_modal_runs_the_checks_against_the_real_broker(app):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        screen = app.screen
        assert isinstance(screen, ConnectionChecksScreen)
        await until(pilot, lambda: screen.done)
        names = {check.name: check.ok for check in screen.checks}
        assert names["MQTT connect"] and names["MQTT subscription"]
        assert names["SQL login"] and names["SQL table"]
        assert "0 failed" in str(screen.query_one("#testconn-title").render())
        await pilot.press("escape")
        assert not isinstance(app.screen, ConnectionChecksScreen)


# -- the live view, from a recorded event stream -------------------------------------------


@in_loop
async def test_outcome_updates_the_row_in_place(app):
    record = records(1)[0]
    async with app.run_test(size=SIZE) as pilot:
        feed(app, received(5001, record))
        await until(pilot, lambda: outcomes(app) == ["pending"])
        feed(app, MessageOutcome(5001, "inserted", record))
        await until(pilot, lambda: outcomes(app) == ["inserted"])
        assert table(app).row_count == 1


@in_loop
async def test_table_is_bounded_and_newest_first(app):
    batch = records(1200)
    async with app.run_test(size=SIZE) as pilot:
        feed(app, *(received(10_000 + n, r) for n, r in enumerate(batch)))
        await until(
            pilot, lambda: table(app).row_count == 1000 and len(app.message_log.rows) == 1000
        )
        await until(pilot, lambda: table(app).shown_keys[0] == str(10_000 + 1199))
        keys = [int(k) for k in table(app).shown_keys]
        assert keys == list(range(10_000 + 1199, 10_000 + 199, -1))
        feed(app, MessageOutcome(10_000, "inserted", batch[0]))  # long gone from the view
        feed(app, MessageOutcome(10_000 + 1199, "inserted", batch[-1]))
        await until(pilot, lambda: outcomes(app)[0] == "inserted")


@in_loop
async def test_pause_holds_the_view_while_ingest_goes_on(app):
    batch = records(5)
    async with app.run_test(size=SIZE) as pilot:
        feed(app, received(1, batch[0]))
        await until(pilot, lambda: table(app).row_count == 1)
        await pilot.press("p")
        feed(app, *(received(n, r) for n, r in enumerate(batch[1:], start=2)))
        await until(pilot, lambda: "PAUSED · 4 new" in header(app))
        assert table(app).row_count == 1
        assert len(app.message_log.rows) == 5  # collected, just not drawn
        await pilot.press("p")
        await until(pilot, lambda: table(app).row_count == 5)
        assert "PAUSED" not in header(app)


@in_loop
async def test_filter_by_outcome_word_or_by_text(app):
    a, b, c = records(3)
    async with app.run_test(size=SIZE) as pilot:
        feed(
            app,
            received(1, a),
            MessageOutcome(1, "inserted", a),
            received(2, b),
            MessageOutcome(2, "duplicate", b),
            received(-1, None, raw=b'{"intervalEnd": 7}', reason="intervalEnd: must be a string"),
            received(3, c),
            MessageOutcome(3, "inserted", c),
        )
        await until(pilot, lambda: table(app).row_count == 4 and "pending" not in outcomes(app))
        await pilot.press("slash")
        await pilot.press(*"invalid")
        await until(pilot, lambda: outcomes(app) == ["invalid"])
        assert "filter: invalid" in header(app)
        await pilot.press("ctrl+a", "ctrl+k", *"inserted", "enter")
        await until(pilot, lambda: outcomes(app) == ["inserted", "inserted"])
        await pilot.press("slash", "ctrl+a", "ctrl+k", *b.interval_end.strftime("%H:%M"))
        await until(pilot, lambda: outcomes(app) == ["duplicate"])
        await pilot.press("escape")
        await until(pilot, lambda: table(app).row_count == 4)
        assert "filter:" not in header(app)


@in_loop
async def test_detail_pane_shows_raw_bytes_and_reason_for_an_invalid_message(app):
    good = records(1)[0]
    raw = b'{"intervalEnd": "2026-13-01 00:00:00"}'
    async with app.run_test(size=SIZE) as pilot:
        feed(app, received(1, good), MessageOutcome(1, "inserted", good))
        feed(app, received(-1, None, raw=raw, reason="intervalEnd: must be a real date-time"))
        # The cursor follows the newest row at the top, on the next redraw.
        await until(pilot, lambda: table(app).row_count == 2 and "INVALID" in detail(app))
        assert repr(raw) in detail(app)
        assert "reason: intervalEnd: must be a real date-time" in detail(app)
        await pilot.press("down")
        await until(pilot, lambda: "INSERTED" in detail(app))
        assert '"pulseCount": ' + str(good.pulse_count) in detail(app)


@in_loop
async def test_detail_pane_shows_both_versions_of_a_conflict(app):
    stored = records(1)[0]
    incoming = with_pulses(stored, stored.pulse_count + 7)
    async with app.run_test(size=SIZE) as pilot:
        feed(app, received(1, incoming), MessageOutcome(1, "conflict", incoming, stored))
        await until(pilot, lambda: outcomes(app) == ["conflict"])
        await until(pilot, lambda: "CONFLICT" in detail(app))
        text = detail(app)
        assert f'"pulseCount": {stored.pulse_count}' in text
        assert f'"pulseCount": {incoming.pulse_count}' in text
        assert "stored (kept)" in text and "incoming" in text


@in_loop
async def test_latest_interval_warns_when_two_intervals_pass_without_data(tmp_path, broker):
    now = [START + timedelta(minutes=10)]
    app = make_app(console_settings(tmp_path / "data", broker), clock=lambda: now[0])
    record = records(1)[0]
    try:
        async with app.run_test(size=SIZE) as pilot:
            feed(app, received(1, record), MessageOutcome(1, "inserted", record))
            panel = app.query_one(LatestInterval)
            await until(pilot, lambda: "latest interval 2026-03-02 00:15" in panel.plain)
            assert "STALE" not in panel.plain
            now[0] = START + timedelta(minutes=31)
            await until(pilot, lambda: "STALE" in panel.plain)
    finally:
        app.mode.stop()


# -- monitor mode: a real headless service owns the data dir -------------------------------


@in_loop
async def test_monitor_mode_watches_a_running_service_without_taking_its_session(tmp_path, broker):
    data_dir = tmp_path / "data"
    settings = console_settings(data_dir, broker)
    env = service_env(data_dir, broker.port, KYZ_MQTT_CLIENT_ID=settings.mqtt_client_id)
    service = HeadlessService(data_dir, env).start()
    try:
        service.wait_ready()
        app = make_app(settings)
        assert app.mode.name == "monitor"
        assert app.mode.client_id.startswith(f"{settings.mqtt_client_id}-console-")
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: "observer connected" in header(app))
            assert "MONITOR" in header(app)
            assert f"service pid {service.process.pid}" in header(app)
            broker.publish_many(TOPIC, [payload(r) for r in records(3)] + ["{bad"])
            await until(pilot, lambda: len(outcomes(app)) == 4)
            assert outcomes(app) == ["invalid", "observed", "observed", "observed"]
            await until(pilot, lambda: "inserted 3" in counters(app))  # the service's counts
            assert "invalid 1" in counters(app)
            await pilot.press("q")
            await until(pilot, lambda: app.return_code is not None)
        assert service.process.poll() is None  # still running, still holding the lock
        assert is_held(data_dir)
    finally:
        service.close()


@in_loop
async def test_copy_puts_the_selected_message_on_the_clipboard(app):
    good = records(1)[0]
    raw = b'{"broken": '
    async with app.run_test(size=SIZE) as pilot:
        feed(app, received(1, good), MessageOutcome(1, "inserted", good))
        feed(app, received(-1, None, raw=raw, reason="payload is not valid JSON"))
        await until(pilot, lambda: table(app).row_count == 2 and "INVALID" in detail(app))
        await pilot.press("c")
        await until(pilot, lambda: "reason: payload is not valid JSON" in app.clipboard)
        assert repr(raw) in app.clipboard
        await pilot.press("down")
        await until(pilot, lambda: "INSERTED" in detail(app))
        await pilot.press("c")
        await until(pilot, lambda: '"pulseCount"' in app.clipboard)


@in_loop
async def test_keys_are_remapped_from_the_settings(tmp_path, broker):
    settings = console_settings(tmp_path / "data", broker).model_copy(
        update={"console_keys": {"kyz.pause": "space"}}
    )
    app = make_app(settings, keymap=settings.console_keys)
    app.animation_level = "none"
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("space")
            await until(pilot, lambda: "PAUSED" in header(app))
            await pilot.press("space")
            await until(pilot, lambda: "PAUSED" not in header(app))
    finally:
        app.mode.stop()


@in_loop
async def test_no_color_is_respected_and_outcomes_still_read_as_words(
    tmp_path, broker, monkeypatch
):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(console_settings(tmp_path / "data", broker))
    app.animation_level = "none"
    good = records(1)[0]
    try:
        async with app.run_test(size=SIZE) as pilot:
            assert app.no_color
            feed(app, received(1, good), MessageOutcome(1, "inserted", good))
            await until(pilot, lambda: outcomes(app) == ["inserted"])
    finally:
        app.mode.stop()
