"""`kyzconsole demo`: a private Mosquitto, the PLC simulator, the console on a throwaway data dir.

Everything lives in one temp dir and stops when the console quits: the simulator first, then the
ingest (which flushes), then the broker; then the temp dir is removed.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from kyzconsole.config import Settings
from kyzconsole.lock import IngestLock
from kyzconsole.logs import setup_logging
from kyzconsole.processes import stop_gently
from kyzconsole.simulator import (
    BrokerOptions,
    Kind,
    Plan,
    Publisher,
    PublishError,
    Tally,
    default_start,
    messages,
    publish_all,
)
from kyzconsole.tui.modes import EventSink, IngestMode

HOST = "127.0.0.1"
DEMO_LOG = "kyz_demo.log"
READY_SECONDS = 10.0
SUBSCRIBED_SECONDS = 30.0


class DemoError(RuntimeError):
    """The demo could not start (no mosquitto binary, broker did not listen, ...)."""


@dataclass(frozen=True)
class DemoOptions:
    """A day of intervals in about 80 s, with a few bad and duplicate payloads among them."""

    count: int = 96
    rate: float = 1.25  # messages a second; 0: as fast as the broker acknowledges
    bad_every: int = 17
    duplicate_every: int = 13
    seed: int | None = None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.2):
            return True
    except OSError:
        return False


class PrivateBroker:
    """`mosquitto -c` with a generated config on a free loopback port, in `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.log_file = root / "mosquitto.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        mosquitto = shutil.which("mosquitto") or (
            "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
        )
        if mosquitto is None:
            raise DemoError("mosquitto is not installed: the demo needs it (see the README)")
        lines = [
            f"listener {self.port} {HOST}",
            "allow_anonymous true",  # a listener line turns it off by default (Mosquitto 2.0)
            "persistence false",
            "max_queued_messages 100000",
            f"log_dest file {self.log_file}",
        ]
        if os.geteuid() == 0:  # else it drops to the mosquitto user and cannot open the log
            lines.append("user root")
        conf = self.root / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self._process = subprocess.Popen(
            [mosquitto, "-c", str(conf)],
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + READY_SECONDS
        while not _port_open(self.port):  # mosquitto prints nothing when it is ready
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise DemoError(f"mosquitto did not start on {HOST}:{self.port}: {self._tail()}")
            time.sleep(0.05)

    def _tail(self) -> str:
        try:
            text = self.log_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return " | ".join(text.splitlines()[-3:]) or "(empty log)"

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            stop_gently(process)


class SimulatorThread:
    """Publishes the plan once the console is subscribed; stops early when asked."""

    def __init__(
        self,
        options: BrokerOptions,
        topic: str,
        plan: Plan,
        rate: float,
        ready: Callable[[], bool],
    ) -> None:
        self.options = options
        self.topic = topic
        self.plan = plan
        self.rate = rate
        self.ready = ready  # the console's subscription is in place
        self.tally = Tally()
        self.error: str | None = None
        self.done = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kyz-demo-plc", daemon=True)

    @property
    def planned(self) -> int:
        return sum(1 for _ in messages(self.plan))

    def start(self) -> None:
        self._thread.start()

    def _stream(self) -> Iterator[tuple[Kind, bytes]]:
        return itertools.takewhile(lambda _: not self._stop.is_set(), messages(self.plan))

    def _run(self) -> None:
        try:
            deadline = time.monotonic() + SUBSCRIBED_SECONDS
            while not self.ready():
                if self._stop.wait(0.05):
                    return
                if time.monotonic() > deadline:
                    self.error = "the console did not subscribe in time; nothing published"
                    return
            with Publisher(self.options) as publisher:
                publish_all(publisher, self.topic, self._stream(), rate=self.rate, tally=self.tally)
        except PublishError as exc:
            if not self._stop.is_set():
                self.error = str(exc)
        finally:
            self.done.set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=15)


class DemoMode:
    """Ingest mode with a private broker and a simulator around it: `stop()` ends them all."""

    name = "ingest"
    valid_outcome = "pending"

    def __init__(self, settings: Settings, options: DemoOptions | None = None) -> None:
        options = options or DemoOptions()
        self.root = Path(tempfile.mkdtemp(prefix="kyz-demo-"))
        self._stopped = False
        self._stopping = threading.Lock()
        try:
            self.broker = PrivateBroker(self.root)
            self.broker.start()
            self.settings = demo_settings(settings, self.root, self.broker.port)
            lock = IngestLock(self.settings.resolved_data_dir, mode="console")
            lock.acquire()  # a fresh dir: nobody else can hold it
            self.ingest = IngestMode(self.settings, lock)
        except BaseException:
            self.broker.stop()
            shutil.rmtree(self.root, ignore_errors=True)
            raise
        minutes = self.settings.interval_minutes
        plan = Plan(
            start=default_start(datetime.now(), options.count, minutes),
            count=options.count,
            interval_minutes=minutes,
            seed=options.seed if options.seed is not None else time.time_ns(),
            bad_every=options.bad_every,
            duplicate_every=options.duplicate_every,
        )
        publisher = BrokerOptions(
            host=HOST, port=self.broker.port, client_id=f"kyz-demo-plc-{uuid.uuid4().hex[:6]}"
        )
        self.simulator = SimulatorThread(
            publisher, self.settings.mqtt_topic, plan, options.rate, self._subscribed
        )

    def _subscribed(self) -> bool:
        state = self.ingest.engine.source.state
        return bool(state.connected and state.subscribed)

    def start(self, on_event: EventSink) -> None:
        self.ingest.start(on_event)
        self.simulator.start()

    def status(self) -> dict[str, Any] | None:
        return self.ingest.status()

    def stop(self) -> None:
        """Simulator, then the ingest's flush, then the broker. Idempotent, and safe to call
        from the hang-up watchdog while the UI's own stop runs."""
        with self._stopping:
            if self._stopped:
                return
            self._stopped = True
            try:
                self.simulator.stop()
                self.ingest.stop()
            finally:
                self.broker.stop()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def demo_settings(settings: Settings, root: Path, port: int) -> Settings:
    """The user's settings (interval length, billing day, …) aimed at the private parts only."""
    return settings.model_copy(
        update={
            "data_dir": root / "data",
            "log_dir": root / "logs",
            "sql_connection_string": None,
            "sql_server": None,
            "sql_table": None,
            "sql_dialect": "auto",
            "mqtt_host": HOST,
            "mqtt_port": port,
            "mqtt_username": None,
            "mqtt_password": None,
            "mqtt_tls": False,
            "mqtt_ca_file": None,
            "mqtt_cert_file": None,
            "mqtt_key_file": None,
            "mqtt_client_id": f"kyz-demo-{uuid.uuid4().hex[:8]}",
            "status_interval": 0.5,
        }
    )


def run_demo(settings: Settings, *, theme: str = "dark", options: DemoOptions | None = None) -> int:
    """Run the demo until the user quits; everything it started is stopped and removed."""
    from kyzconsole.tui import stop_on_hangup
    from kyzconsole.tui.app import KyzConsoleApp

    try:
        mode = DemoMode(settings, options)
    except DemoError as exc:
        print(f"kyzconsole demo: {exc}")
        return 1
    # The log goes to the demo's own dir; a line on stderr would print over the screen.
    setup_logging(
        mode.settings.resolved_log_dir,
        file_level=settings.log_level,
        stderr_level=None,
        file_name=DEMO_LOG,
    )
    try:
        app = KyzConsoleApp(mode.settings, mode, theme=theme)
        stop_on_hangup(app, mode.cleanup)  # a dropped session must not leave the broker behind
        app.run()
    finally:
        mode.stop()
        setup_logging(None, stderr_level="WARNING")  # closes the file before its dir goes
        mode.cleanup()
    if app.stop_error:
        print(f"kyzconsole demo: stopping failed: {app.stop_error}")
    if mode.simulator.error:
        print(f"kyzconsole demo: the simulator stopped: {mode.simulator.error}")
    tally = mode.simulator.tally
    print(
        f"kyzconsole demo: published {tally.total} ({tally.good} good, {tally.bad} bad, "
        f"{tally.duplicate} duplicate); broker stopped, {mode.root} removed"
    )
    return app.return_code or 0
