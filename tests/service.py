"""Helpers to run the real `kyzconsole --headless` process and wait on what it reports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kyzconsole.engine.events import EngineEvent

TOPIC = "pri/energy/kyz/interval"


def service_env(data_dir: Path, broker_port: int, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("KYZ_")}
    env |= {
        "KYZ_DATA_DIR": str(data_dir),
        "KYZ_LOG_DIR": str(data_dir / "logs"),
        "KYZ_MQTT_HOST": "127.0.0.1",
        "KYZ_MQTT_PORT": str(broker_port),
        "KYZ_SQL_RETRY_INITIAL": "0.2",
        "KYZ_SQL_RETRY_MAX": "1",
        "KYZ_STATUS_INTERVAL": "0.2",
    }
    return env | settings


class HeadlessService:
    """`python -m kyzconsole --headless` as a child process; its status file is how we watch it."""

    def __init__(self, data_dir: Path, env: dict[str, str], *extra_args: str) -> None:
        self.data_dir = data_dir
        self.env = env
        self.extra_args = extra_args
        self.process: subprocess.Popen[bytes] | None = None
        self.stderr_path = data_dir / "service-stderr.log"

    def start(self) -> HeadlessService:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.stderr_path.open("ab") as err:
            self.process = subprocess.Popen(
                [sys.executable, *self.extra_args, "-m", "kyzconsole", "--headless"],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        return self

    def status(self) -> dict[str, Any] | None:
        try:
            status = json.loads((self.data_dir / "status.json").read_text())
        except (OSError, ValueError):
            return None
        return status if self.process and status.get("pid") == self.process.pid else None

    def wait_status(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"service exited {self.process.returncode}: {self.stderr()}")
            status = self.status()
            if status is not None and predicate(status):
                return status
            time.sleep(0.1)  # the status file is written every 0.2 s; there is no event to await
        raise AssertionError(f"timed out; last status {self.status()}; stderr: {self.stderr()}")

    def wait_ready(self, timeout: float = 30) -> dict:
        return self.wait_status(
            lambda s: s["mqtt"]["connected"] and s["mqtt"]["subscribed"], timeout
        )

    def terminate(self, timeout: float = 20) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text()[-3000:]
        except OSError:
            return ""

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


class EventLog:
    """Collects engine events from any thread; tests wait on a condition, not a sleep."""

    def __init__(self) -> None:
        self.events: list[EngineEvent] = []
        self._changed = threading.Condition()

    def __call__(self, event: EngineEvent) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[list[EngineEvent]], bool], timeout: float = 20) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self.events), timeout):
                raise AssertionError(f"timed out waiting; {len(self.events)} events so far")
