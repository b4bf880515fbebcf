"""Live ingest throughput: the headless service draining an MQTT backlog, and live.

    .venv/bin/python bench/ingest.py [--count 50000]

In one run, against a private Mosquitto on a free loopback port:
  1. backlog: N messages published at QoS 1 while the service is stopped (queued in its
     persistent session); then the service starts, timed until all N rows are in the embedded
     database;
  2. the limit: `mosquitto_sub -q 1 -C N` draining the same backlog from its own session;
  3. live: the service running while N more messages are published, timed from the first
     publish to the last row;
  4. memory: the backlog run again with N/4, to show peak RSS does not grow with N.
Prints messages/s, the ratio to the limit, peak RSS, and lost/duplicate counts (must be 0).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kyzconsole.sources.simulated import plant_intervals  # noqa: E402
from tests.servers.mosquitto import MosquittoBroker  # noqa: E402

TOPIC = "pri/energy/kyz/interval"


def payloads(count: int, start: datetime) -> list[str]:
    return [json.dumps(r.to_payload()) for r in plant_intervals(start, count)]


class Service:
    def __init__(self, data_dir: Path, port: int, client_id: str) -> None:
        self.data_dir = data_dir
        self.env = {k: v for k, v in os.environ.items() if k != "KYZ_DATA_DIR"} | {
            "KYZ_DATA_DIR": str(data_dir),
            "KYZ_LOG_DIR": str(data_dir / "logs"),
            "KYZ_MQTT_HOST": "127.0.0.1",
            "KYZ_MQTT_PORT": str(port),
            "KYZ_MQTT_CLIENT_ID": client_id,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kyzconsole", "--headless"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def status(self) -> dict:
        try:
            return json.loads((self.data_dir / "status.json").read_text())
        except (OSError, ValueError):
            return {}

    def wait_subscribed(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status = self.status()
            if status.get("pid") == self.process.pid and status["mqtt"]["subscribed"]:
                return
            time.sleep(0.05)
        raise SystemExit("the service did not subscribe within 30 s")

    def peak_rss_kib(self) -> int:
        """The process's high-water mark of resident memory (Linux /proc), in KiB."""
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return 0

    def stop(self) -> int:
        """SIGTERM, wait, and return the peak RSS of the process in KiB."""
        assert self.process is not None
        peak = self.peak_rss_kib()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(60)
        if code != 0:
            raise SystemExit(f"service exited {code}")
        return peak


def stored(data_dir: Path) -> tuple[int, int]:
    """(rows, distinct interval ends) in the embedded database."""
    try:
        with sqlite3.connect(data_dir / "kyz.db", timeout=10) as db:
            rows, distinct = db.execute(
                "SELECT COUNT(*), COUNT(DISTINCT IntervalEnd) FROM KYZ_Interval"
            ).fetchone()
    except sqlite3.Error:
        return 0, 0
    return rows, distinct


def wait_rows(data_dir: Path, count: int, timeout: float) -> float:
    started = time.perf_counter()
    while stored(data_dir)[0] < count:
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"only {stored(data_dir)[0]} of {count} rows after {timeout} s")
        time.sleep(0.02)
    return time.perf_counter()


def backlog_run(broker: MosquittoBroker, root: Path, count: int, name: str) -> dict:
    data = root / name
    service = Service(data, broker.port, f"bench-{name}")
    service.start()  # once, to create the persistent session
    service.wait_subscribed()
    service.stop()
    limit_id = f"bench-limit-{name}"
    broker.register_subscriber(TOPIC, limit_id)
    broker.publish_many(TOPIC, payloads(count, datetime(2020, 1, 1, 0, 15)))

    began = time.perf_counter()
    got = broker.subscribe_collect(TOPIC, count, timeout=600, client_id=limit_id, clean=False)
    limit_seconds = time.perf_counter() - began
    assert len(got) == count, (len(got), count)

    began = time.perf_counter()
    service.start()
    ended = wait_rows(data, count, timeout=600)
    rss = service.stop()
    rows, distinct = stored(data)
    counters = service.status().get("counters", {})
    return {
        "seconds": ended - began,
        "limit_seconds": limit_seconds,
        "rss_kib": rss,
        "lost": count - distinct,
        "duplicates": rows - distinct + counters.get("duplicates", 0),
    }


def live_run(broker: MosquittoBroker, root: Path, count: int) -> dict:
    data = root / "live"
    service = Service(data, broker.port, "bench-live")
    service.start()
    service.wait_subscribed()
    began = time.perf_counter()
    broker.publish_many(TOPIC, payloads(count, datetime(2022, 1, 1, 0, 15)))
    published = time.perf_counter() - began
    ended = wait_rows(data, count, timeout=600)
    rss = service.stop()
    rows, distinct = stored(data)
    return {
        "seconds": ended - began,
        "publish_seconds": published,
        "rss_kib": rss,
        "lost": count - distinct,
        "duplicates": rows - distinct,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=50_000)
    args = parser.parse_args()
    n, small = args.count, max(1, args.count // 4)
    with tempfile.TemporaryDirectory(prefix="kyz-bench-ingest-") as tmp:
        root = Path(tmp)
        with MosquittoBroker(max_queued_messages=max(200_000, 2 * n)) as broker:
            big = backlog_run(broker, root, n, "backlog")
            little = backlog_run(broker, root, small, "backlog-small")
            live = live_run(broker, root, n)
    rate, limit = n / big["seconds"], n / big["limit_seconds"]
    print(f"messages                     {n:,}")
    print(f"backlog drain, service       {rate:>10,.0f} msg/s  ({big['seconds']:.2f} s)")
    print(f"backlog drain, mosquitto_sub {limit:>10,.0f} msg/s  ({big['limit_seconds']:.2f} s)")
    print(f"ratio limit/service          {limit / rate:>10.2f}")
    print(f"goal >= 5,000 msg/s backlog  {'met' if rate >= 5000 else 'NOT met'}")
    print(
        f"live (publish while ingest)  {n / live['seconds']:>10,.0f} msg/s  "
        f"({live['seconds']:.2f} s; publishing alone took {live['publish_seconds']:.2f} s)"
    )
    print(
        f"peak RSS                     {big['rss_kib'] / 1024:>10.1f} MiB at {n:,}; "
        f"{little['rss_kib'] / 1024:.1f} MiB at {small:,}; live {live['rss_kib'] / 1024:.1f} MiB"
    )
    lost = big["lost"] + little["lost"] + live["lost"]
    twice = big["duplicates"] + little["duplicates"] + live["duplicates"]
    print(f"lost / written twice         {lost} / {twice}")


if __name__ == "__main__":
    main()
