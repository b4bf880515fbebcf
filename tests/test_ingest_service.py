"""The headless service against a real Mosquitto and real databases: nothing lost, none twice."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from kyzconsole.quarantine import Quarantine
from kyzconsole.sources.simulated import plant_intervals
from tests.conftest import new_database
from tests.servers.mosquitto import MosquittoBroker
from tests.servers.postgres import PostgresServer
from tests.service import TOPIC, HeadlessService, service_env

pytestmark = pytest.mark.slow
START = datetime(2026, 3, 2, 0, 15)


def payloads(count: int, start: datetime = START, seed: int = 1) -> list[str]:
    return [json.dumps(r.to_payload()) for r in plant_intervals(start, count, seed=seed)]


def embedded_rows(data_dir: Path) -> list[tuple]:
    with sqlite3.connect(data_dir / "kyz.db") as db:
        return db.execute(
            "SELECT IntervalEnd, PulseCount, kWh, kW, Total_kWh FROM KYZ_Interval"
            " ORDER BY IntervalEnd"
        ).fetchall()


def expected_rows(lines: list[str]) -> list[tuple]:
    rows = []
    for line in lines:
        p = json.loads(line)
        rows.append((p["intervalEnd"], p["pulseCount"], p["kWh"], p["kW"], p["total_kWh"]))
    return sorted(rows)


def as_payload_rows(rows: list[tuple]) -> list[tuple]:
    return [(r[0][:19], r[1], r[2], r[3], r[4]) for r in rows]


def counters_add_up(status: dict) -> bool:
    c = status["counters"]
    done = c["inserted"] + c["duplicates"] + c["conflicts"] + c["invalid"]
    return c["received"] + c["recovered"] == done + status["spool"]["pending"]


@pytest.fixture
def broker() -> Iterator[MosquittoBroker]:
    with MosquittoBroker() as broker:
        yield broker


@pytest.fixture
def service_factory(tmp_path: Path, broker: MosquittoBroker) -> Iterator:
    started: list[HeadlessService] = []

    def make(data_dir: Path | None = None, **settings: str) -> HeadlessService:
        directory = data_dir or tmp_path / "data"
        service = HeadlessService(directory, service_env(directory, broker.port, **settings))
        started.append(service.start())
        return service

    yield make
    for service in started:
        service.close()


def test_steady_ingest_with_duplicates_and_conflicts_mixed_in(broker, service_factory, tmp_path):
    service = service_factory()
    service.wait_ready()
    good = payloads(300)
    resent = good[10:30]
    changed = [json.dumps(json.loads(p) | {"pulseCount": 1}) for p in good[100:110]]
    broker.publish_many(TOPIC, good[:150] + resent + good[150:] + changed)
    status = service.wait_status(
        lambda s: s["counters"]["received"] == 330 and not s["spool"]["pending"]
    )
    c = status["counters"]
    assert (c["inserted"], c["duplicates"], c["conflicts"], c["invalid"]) == (300, 20, 10, 0)
    assert counters_add_up(status)
    assert as_payload_rows(embedded_rows(tmp_path / "data")) == expected_rows(good)
    with Quarantine.in_data_dir(tmp_path / "data") as quarantine:
        conflicts = list(quarantine.entries("conflict"))
    assert len(conflicts) == 10
    assert all(e.incoming["pulseCount"] == 1 and e.existing["pulseCount"] != 1 for e in conflicts)
    assert service.terminate() == 0


BAD_PAYLOADS = [
    b"{not json",
    b"[1, 2, 3]",
    b"\xff\xfe garbage",
    b'{"intervalEnd": "2026-03-02 10:07:00", "pulseCount": 1, "kWh": 0.25, "kW": 1.0}',
    b'{"intervalEnd": "2026-03-02 10:15:00", "pulseCount": 1, "kWh": NaN, "kW": 1.0}',
    b'{"intervalEnd": "2026-03-02 10:15:00", "kWh": 0.25, "kW": 1.0}',
    b'{"intervalEnd": "2026-03-02 10:15:00", "pulseCount": true, "kWh": 0.25, "kW": 1.0}',
    b'{"intervalEnd": "2026-03-02 10:15:00", "pulseCount": 1, "kWh": -2, "kW": 1.0}',
    b"",
    b'{"pad": "' + b"x" * 70_000 + b'"}',
]


def test_invalid_payloads_are_quarantined_with_reasons_and_ingest_goes_on(
    broker, service_factory, tmp_path
):
    service = service_factory()
    service.wait_ready()
    good = payloads(20)
    for bad, line in zip(BAD_PAYLOADS, good, strict=False):
        if bad:
            broker.publish(TOPIC, bad)
        else:  # mosquitto_pub sends an empty message only with -n
            subprocess.run(
                ["mosquitto_pub", *broker.client_args(), "-t", TOPIC, "-q", "1", "-n"], check=True
            )
        broker.publish(TOPIC, line)
    broker.publish_many(TOPIC, good[len(BAD_PAYLOADS) :])
    total = len(BAD_PAYLOADS) + len(good)
    status = service.wait_status(
        lambda s: s["counters"]["received"] == total and not s["spool"]["pending"]
    )
    assert status["counters"]["invalid"] == len(BAD_PAYLOADS)
    assert status["counters"]["inserted"] == 20
    assert counters_add_up(status)
    with Quarantine.in_data_dir(tmp_path / "data") as quarantine:
        entries = list(quarantine.entries("invalid"))
    assert sorted(e.raw for e in entries) == sorted(BAD_PAYLOADS)
    reasons = " | ".join(e.reason for e in entries)
    for needle in (
        "not valid JSON",
        "JSON object",
        "not UTF-8",
        "misaligned",
        "NaN",
        "required field is missing",
        "boolean",
        "0 or more",
        "empty",
        "over the",
    ):
        assert needle in reasons
    assert all("\n" not in e.reason for e in entries)
    assert len(embedded_rows(tmp_path / "data")) == 20
    log = (tmp_path / "data" / "logs" / "kyz_ingestor.log").read_text()
    assert "invalid: intervalEnd: 2026-03-02 10:07:00 is not on a 15-minute" in log


def test_database_outage_spools_everything_and_drains_once_it_returns(
    broker, service_factory, pg_server: PostgresServer, tmp_path
):
    database = new_database(pg_server)
    connection = pg_server.connection_string(database)
    service = service_factory(KYZ_SQL_CONNECTION_STRING=connection)
    service.wait_ready()
    service.wait_status(lambda s: s["sql"]["ok"])
    lines = payloads(120)
    try:
        pg_server.stop()
        broker.publish_many(TOPIC, lines)
        down = service.wait_status(
            lambda s: s["counters"]["received"] == 120 and not s["sql"]["ok"], timeout=40
        )
        assert down["spool"]["pending"] == 120  # all durable here, all acknowledged
        assert "PostgreSQL" in (down["sql"]["last_error"] or "")
    finally:
        pg_server.start()
    status = service.wait_status(lambda s: s["spool"]["pending"] == 0 and s["sql"]["ok"], 60)
    assert status["counters"]["inserted"] == 120
    assert status["counters"]["duplicates"] == 0
    assert counters_add_up(status)
    stored = pg_server.psql(
        "SELECT COUNT(*), COUNT(DISTINCT intervalend), SUM(pulsecount) FROM kyz_interval",
        db=database,
    ).split("|")
    assert [int(v) for v in stored] == [
        120,
        120,
        sum(json.loads(line)["pulseCount"] for line in lines),
    ]
    log = (tmp_path / "data" / "logs" / "kyz_ingestor.log").read_text()
    assert log.count("SQL unavailable") == 1  # the outage is logged once, not every retry
    assert "SQL is back after" in log
    assert pg_server.connection_string(database).split("Pwd=")[1].strip(";") not in log
    assert service.terminate() == 0


def test_sigkill_mid_stream_then_restart_loses_nothing_and_writes_nothing_twice(
    broker, service_factory, tmp_path
):
    service = service_factory()
    service.wait_ready()
    lines = payloads(3000)
    publisher = threading.Thread(target=broker.publish_many, args=(TOPIC, lines))
    publisher.start()
    service.wait_status(lambda s: s["counters"]["received"] >= 300)
    service.kill()
    publisher.join()
    restarted = service_factory()
    restarted.wait_status(
        lambda s: (
            s["mqtt"]["connected"]
            and s["spool"]["pending"] == 0
            and len(embedded_rows(tmp_path / "data")) == 3000
        ),
        timeout=60,
    )
    assert as_payload_rows(embedded_rows(tmp_path / "data")) == expected_rows(lines)
    assert restarted.terminate() == 0


def test_broker_restart_mid_stream_the_service_reconnects_and_resumes(
    broker, service_factory, tmp_path
):
    service = service_factory()
    service.wait_ready()
    lines = payloads(400)
    broker.publish_many(TOPIC, lines[:200])
    service.wait_status(lambda s: s["counters"]["received"] == 200)
    broker.restart()
    service.wait_ready()
    broker.publish_many(TOPIC, lines[200:])
    status = service.wait_status(
        lambda s: s["counters"]["received"] == 400 and not s["spool"]["pending"]
    )
    assert status["counters"]["inserted"] == 400
    assert as_payload_rows(embedded_rows(tmp_path / "data")) == expected_rows(lines)
    log = (tmp_path / "data" / "logs" / "kyz_ingestor.log").read_text()
    assert "MQTT connected again" in log


def test_messages_queued_while_the_service_is_stopped_arrive_on_start(
    broker, service_factory, tmp_path
):
    first = service_factory()
    first.wait_ready()
    assert first.terminate() == 0
    lines = payloads(250)
    broker.publish_many(TOPIC, lines)  # nobody connected: the broker queues for the session
    second = service_factory()
    status = second.wait_status(
        lambda s: s["counters"]["received"] == 250 and not s["spool"]["pending"]
    )
    assert status["counters"]["inserted"] == 250
    assert len(embedded_rows(tmp_path / "data")) == 250


def test_sigterm_exits_0_within_seconds_with_the_spool_flushed(broker, service_factory, tmp_path):
    service = service_factory()
    service.wait_ready()
    broker.publish_many(TOPIC, payloads(500))
    service.wait_status(lambda s: s["counters"]["received"] >= 100)
    assert service.terminate(timeout=10) == 0
    final = json.loads((tmp_path / "data" / "status.json").read_text())
    assert final["state"] == "stopped"
    assert final["spool"]["pending"] == 0
    assert len(embedded_rows(tmp_path / "data")) == final["counters"]["inserted"]
    assert counters_add_up(final)


def test_second_headless_on_the_same_data_dir_exits_2_naming_the_first(
    broker, service_factory, tmp_path
):
    first = service_factory()
    first.wait_ready()
    result = subprocess.run(
        [sys.executable, "-m", "kyzconsole", "--headless"],
        env=first.env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert f"pid {first.process.pid}" in result.stderr
    assert "already ingesting" in result.stderr


def test_service_starts_with_the_broker_down_and_connects_when_it_comes_up(tmp_path):
    with MosquittoBroker() as broker:
        broker.stop()
        data = tmp_path / "data"
        service = HeadlessService(data, service_env(data, broker.port)).start()
        try:
            down = service.wait_status(lambda s: s["mqtt"]["last_error"] is not None)
            assert not down["mqtt"]["connected"]
            broker.start()
            service.wait_ready(timeout=60)
            broker.publish(TOPIC, payloads(1)[0])
            service.wait_status(lambda s: s["counters"]["inserted"] == 1)
            assert service.terminate() == 0
        finally:
            service.close()


def test_headless_never_imports_textual(broker, tmp_path):
    data = tmp_path / "data"
    service = HeadlessService(data, service_env(data, broker.port), "-X", "importtime").start()
    try:
        service.wait_ready()
        assert service.terminate() == 0
    finally:
        service.close()
    imports = (data / "service-stderr.log").read_text()
    assert "kyzconsole.engine.ingest" in imports  # proves importtime listed the real imports
    assert "paho" in imports
    assert "textual" not in imports


def test_nothing_is_acknowledged_before_it_is_durable(broker, service_factory, tmp_path):
    data = tmp_path / "data"
    service = service_factory()
    service.wait_ready()
    blocker = sqlite3.connect(data / "spool.db", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # the spool cannot commit while this is held
    lines = payloads(5)
    try:
        broker.publish_many(TOPIC, lines)
        deadline = time.monotonic() + 20
        while broker.log_text().count("Sending PUBLISH to kyz-sql-ingestor") < 5:
            assert time.monotonic() < deadline, broker.log_text()[-2000:]
            time.sleep(0.05)  # the broker's log is the only witness of delivery
        service.kill()  # it holds the messages but could not make them durable
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    restarted = service_factory()
    status = restarted.wait_status(lambda s: s["counters"]["inserted"] == 5, timeout=30)
    assert status["counters"]["received"] == 5  # redelivered: they were never acknowledged
    assert as_payload_rows(embedded_rows(data)) == expected_rows(lines)


def test_status_command_exit_codes_follow_the_service(broker, service_factory, tmp_path, capsys):
    from kyzconsole.cli.main import main

    data = tmp_path / "data"
    assert main(["status", "--data-dir", str(data)]) == 3
    assert "not running" in capsys.readouterr().out
    service = service_factory()
    service.wait_ready()
    service.wait_status(lambda s: s["sql"]["ok"])
    assert main(["status", "--data-dir", str(data), "--json"]) == 0
    healthy = json.loads(capsys.readouterr().out)
    assert healthy["mqtt"]["connected"] is True and healthy["sql"]["ok"] is True
    for key in ("received", "inserted", "duplicates", "conflicts", "invalid"):
        assert isinstance(healthy["counters"][key], int)
    assert isinstance(healthy["spool"]["pending"], int)
    broker.stop()
    service.wait_status(lambda s: not s["mqtt"]["connected"])
    assert main(["status", "--data-dir", str(data)]) == 1
    assert "MQTT not connected" in capsys.readouterr().out
    broker.start()
    service.wait_ready(timeout=60)
    assert service.terminate() == 0
    assert main(["status", "--data-dir", str(data)]) == 3


def test_quarantine_lists_and_exports_what_replay_accepts_once_fixed(
    broker, service_factory, tmp_path, capsys
):
    from kyzconsole.cli.main import main

    data = tmp_path / "data"
    service = service_factory()
    service.wait_ready()
    good = payloads(3)
    broken = good[1].replace('"pulseCount": ', '"pulseCount": "').replace(', "kWh"', '", "kWh"', 1)
    conflict = json.dumps(json.loads(good[0]) | {"pulseCount": 7})
    broker.publish_many(TOPIC, [good[0], broken, good[2], conflict])
    service.wait_status(lambda s: s["counters"]["received"] == 4 and not s["spool"]["pending"])
    assert main(["quarantine", "--data-dir", str(data), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted(e["kind"] for e in listed) == ["conflict", "invalid"]
    invalid = next(e for e in listed if e["kind"] == "invalid")
    assert invalid["raw"] == broken and invalid["source"] == f"mqtt:{TOPIC}"
    assert "pulseCount: must be an integer" in invalid["reason"]
    export = tmp_path / "fix-me.jsonl"
    assert (
        main(
            [
                "quarantine",
                "export",
                "--data-dir",
                str(data),
                "--kind",
                "invalid",
                "--output",
                str(export),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert export.read_text() == broken + "\n"
    export.write_text(good[1] + "\n")  # the engineer fixes the line
    service.terminate()
    assert main(["replay", "--data-dir", str(data), "--json", str(export)]) == 0
    assert json.loads(capsys.readouterr().out)["inserted"] == 1
    assert as_payload_rows(embedded_rows(data)) == expected_rows(good)


SECURE_ACL = """\
user plc
topic write pri/energy/kyz/interval

user ingest
topic read pri/energy/kyz/interval
"""


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_service_over_tls_with_passwords_and_acl_ingests_what_the_plc_publishes(tmp_path, protocol):
    users = {"plc": "plc-secret-1", "ingest": "ingest-secret-2"}
    with MosquittoBroker(tls=True, users=users, acl_text=SECURE_ACL) as broker:
        data = tmp_path / "data"
        env = service_env(
            data,
            broker.port,
            KYZ_MQTT_HOST="localhost",
            KYZ_MQTT_TLS="true",
            KYZ_MQTT_CA_FILE=str(broker.ca_file),
            KYZ_MQTT_USERNAME="ingest",
            KYZ_MQTT_PASSWORD=users["ingest"],
            KYZ_MQTT_PROTOCOL=protocol,
        )
        service = HeadlessService(data, env).start()
        try:
            ready = service.wait_ready()
            assert ready["mqtt"]["broker"].startswith("mqtts://localhost:")
            lines = payloads(50)
            broker.publish_many(TOPIC, lines, user="plc", password=users["plc"])
            service.wait_status(lambda s: s["counters"]["inserted"] == 50)
            assert service.terminate() == 0
        finally:
            service.close()
        assert as_payload_rows(embedded_rows(data)) == expected_rows(lines)
        log = (data / "logs" / "kyz_ingestor.log").read_text()
        assert users["ingest"] not in log


def test_a_retained_message_is_ingested_and_flagged_once_as_a_publisher_mistake(
    broker, service_factory, tmp_path
):
    lines = payloads(3)
    broker.publish(TOPIC, lines[0], retain=True)
    broker.publish(TOPIC, lines[1], retain=True)  # replaces the retained message
    service = service_factory()
    service.wait_status(lambda s: s["counters"]["inserted"] == 1)  # the retained one, on subscribe
    broker.publish(TOPIC, lines[2])
    service.wait_status(lambda s: s["counters"]["inserted"] == 2)
    service.terminate()
    second = service_factory()  # a restart is delivered the retained message again: a duplicate
    second.wait_status(lambda s: s["counters"]["duplicates"] == 1)
    assert second.terminate() == 0
    log = (tmp_path / "data" / "logs" / "kyz_ingestor.log").read_text()
    assert log.count("retained message arrived") == 2  # once per process
    assert len(embedded_rows(tmp_path / "data")) == 2
