"""The two ways the console runs: ingesting in-process, or monitoring a running service.

Both offer the same small face to the app: `start(on_event)`, `status()`, `stop()`.
`on_event` is called from engine or observer threads; it must only post a message.
"""

from __future__ import annotations

import itertools
import os
import queue
import threading
from collections.abc import Callable
from typing import Any, Protocol

from loguru import logger

from kyzconsole.config import Settings
from kyzconsole.engine.events import EngineEvent, MessageReceived
from kyzconsole.engine.ingest import IngestEngine
from kyzconsole.lock import IngestLock
from kyzconsole.sources.mqtt import MqttSource
from kyzconsole.status_file import read_status

FLUSH_SECONDS = 5.0
EventSink = Callable[[EngineEvent], None]


class ConsoleMode(Protocol):
    name: str  # "ingest" | "monitor"
    valid_outcome: str  # the outcome a valid message has until the engine says more

    def start(self, on_event: EventSink) -> None: ...
    def status(self) -> dict[str, Any] | None: ...
    def stop(self) -> None: ...


class IngestMode:
    """This console holds the data dir's lock and runs the engine itself."""

    name = "ingest"
    valid_outcome = "pending"

    def __init__(self, settings: Settings, lock: IngestLock) -> None:
        self.settings = settings
        self.lock = lock
        self.engine = IngestEngine(settings, mode="console")
        self._started = False
        self._stopped = False
        self._stopping = threading.Lock()  # the UI's exit and the hang-up watchdog may both call

    def start(self, on_event: EventSink) -> None:
        self.engine.on_event = on_event
        self.engine.start()
        self._started = True

    def status(self) -> dict[str, Any] | None:
        return self.engine.status("stopping" if self._stopped else "running")

    def stop(self) -> None:
        """Stop taking messages and flush the spool to SQL, then let go of the lock."""
        with self._stopping:
            if self._stopped:
                return
            self._stopped = True
            try:
                if self._started:
                    self.engine.stop(flush_timeout=FLUSH_SECONDS)
                else:  # never started: still close the files the engine opened
                    self.engine.spool.close()
                    self.engine.quarantine.close()
            finally:
                self.lock.release()


class MonitorMode:
    """A service ingests; we read its status file and watch the topic with our own client."""

    name = "monitor"
    valid_outcome = "observed"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.rules = settings.validation_rules()
        self.client_id = f"{settings.mqtt_client_id}-console-{os.getpid()}"
        # Clean session, no manual ack: the observer must never hold messages at the broker.
        self.source = MqttSource(settings, client_id=self.client_id, persistent=False)
        self._keys = itertools.count(1)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._on_event: EventSink | None = None

    def start(self, on_event: EventSink) -> None:
        self._on_event = on_event
        self._thread = threading.Thread(target=self._watch, name="kyz-observer", daemon=True)
        self._thread.start()
        self.source.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                message = self.source.messages.get(timeout=0.2)
            except queue.Empty:
                continue
            event = MessageReceived.read(next(self._keys), message, self.rules)
            try:
                if self._on_event is not None:
                    self._on_event(event)
            except Exception:  # a face's bug must not stop the observer
                logger.exception("observer event handler failed")

    def status(self) -> dict[str, Any] | None:
        status = read_status(self.settings.resolved_data_dir)
        state = self.source.state
        observer = {
            "client_id": self.client_id,
            "connected": bool(state.connected and state.subscribed),
            "last_error": state.last_error,
        }
        return (status or {}) | {"observer": observer, "service_found": status is not None}

    def stop(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self.source.stop()
        if self._thread is not None:
            self._thread.join()
