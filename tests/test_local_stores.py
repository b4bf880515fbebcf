"""The service's own files: spool, lock, status assessment. Real SQLite files, real locks."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from kyzconsole.cli.status_cmd import NOT_RUNNING, assess
from kyzconsole.lock import IngestLock, LockHeld, is_held, read_holder
from kyzconsole.record import parse_payload
from kyzconsole.spool import Arrival, Spool

RAW = b'{"intervalEnd": "2026-01-31 14:15:00", "pulseCount": 42, "kWh": 0.1, "kW": 0.4}'


def arrival(raw: bytes = RAW) -> Arrival:
    return Arrival(parse_payload(raw).record, "mqtt:t", datetime(2026, 1, 31, 14, 15, 3), raw)


def test_spool_survives_a_reopen_with_exact_decimals_in_order(tmp_path):
    spool = Spool.in_data_dir(tmp_path)
    other = RAW.replace(b"14:15", b"14:30").replace(b"0.1", b"123456.654321")
    ids = spool.add([arrival(), arrival(other)])
    assert ids == [ids[0], ids[0] + 1]
    spool.close()
    reopened = Spool.in_data_dir(tmp_path)  # a new process: nothing in memory
    assert reopened.pending == 2
    items = reopened.oldest(10)
    assert [i.id for i in items] == ids
    assert items[0].arrival.record.kwh == Decimal("0.100000")
    assert items[1].arrival.record.kwh == Decimal("123456.654321")
    assert items[1].arrival.raw == other
    reopened.remove([ids[0]])
    assert reopened.pending == 1
    assert [i.id for i in reopened.oldest(10)] == [ids[1]]


def test_spool_ids_stay_consecutive_across_large_batches(tmp_path):
    spool = Spool.in_data_dir(tmp_path)
    ids = spool.add([arrival() for _ in range(1234)])
    assert ids == list(range(ids[0], ids[0] + 1234))
    assert [i.id for i in spool.oldest(2000)] == ids


def test_a_second_lock_on_the_same_data_dir_is_refused_naming_the_holder(tmp_path):
    with IngestLock(tmp_path, mode="headless"):
        assert is_held(tmp_path)
        holder = read_holder(tmp_path)
        assert holder is not None and holder["mode"] == "headless"
        with pytest.raises(LockHeld, match=r"pid \d+"):
            IngestLock(tmp_path, mode="console").acquire()
        # Another process sees it held too.
        probe = subprocess.run(
            [
                sys.executable,
                "-c",
                f"from kyzconsole.lock import is_held; from pathlib import "
                f"Path; print(is_held(Path({str(tmp_path)!r})))",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert probe.stdout.strip() == "True"
    assert not is_held(tmp_path)


def status(updated: datetime, mqtt: bool = True, sql: bool = True) -> dict:
    return {
        "state": "running",
        "updated": updated.isoformat(sep=" "),
        "mqtt": {"connected": mqtt, "last_error": None if mqtt else "connection refused"},
        "sql": {"ok": sql, "last_error": None if sql else "login failed"},
    }


def test_status_assessment_healthy_unhealthy_stale_and_not_running():
    now = datetime.now()
    assert assess(status(now), running=True) == (0, [])
    code, problems = assess(status(now, sql=False), running=True)
    assert code == 1 and "login failed" in problems[0]
    code, problems = assess(status(now - timedelta(seconds=60)), running=True)
    assert code == 1 and "stale" in problems[0]
    assert assess(status(now), running=False)[0] == NOT_RUNNING
    assert assess(None, running=True)[0] == NOT_RUNNING
    assert assess(json.loads(json.dumps(status(now) | {"state": "stopped"})), True)[0] == 3
