"""Live ingest: MQTT -> validation -> spool (then ack) -> writer -> SQL, with counters and status.

Three threads of our own besides paho's network thread:
- intake: takes messages from the source, validates them, commits them to the spool (valid)
  or the quarantine (invalid), and only then acknowledges them to the broker;
- forwarder: drains the spool to the database in order, removing rows only after the commit;
- status: writes the status file every second or so, and a summary to the log every minute.
"""

from __future__ import annotations

import itertools
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from loguru import logger

from kyzconsole import __version__
from kyzconsole.config import Settings
from kyzconsole.db.errors import DatabaseError
from kyzconsole.db.target import SqlTarget, resolve_target
from kyzconsole.db.writer import IntervalWriter, Outcome, WriteResult
from kyzconsole.engine.backoff import Backoff
from kyzconsole.engine.counters import Counters
from kyzconsole.engine.events import EngineEvent, HealthChanged, MessageOutcome, MessageReceived
from kyzconsole.logs import log_lines
from kyzconsole.quarantine import Quarantine, QuarantineEntry
from kyzconsole.record import INTERVAL_END_FORMAT, IntervalRecord, InvalidPayload, parse_payload
from kyzconsole.sources.mqtt import MqttMessage, MqttSource, MqttState
from kyzconsole.spool import Arrival, Spool, SpooledRecord
from kyzconsole.status_file import write_status

INTAKE_BATCH = 500
INTAKE_LINGER = 0.02  # seconds to gather more messages into one spool commit
FORWARD_BATCH = 1000
IDLE_PING_EVERY = 30.0
SUMMARY_EVERY = 60.0


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(sep=" ", timespec="seconds") if moment else None


def describe(record: IntervalRecord) -> str:
    return (
        f"{record.interval_end.strftime(INTERVAL_END_FORMAT)}: {record.pulse_count} pulses, "
        f"{record.kwh.normalize():f} kWh, {record.kw.normalize():f} kW"
    )


@dataclass
class SqlHealth:
    ok: bool | None = None  # None until the first attempt
    latency_ms: float | None = None
    last_error: str | None = None
    last_success: datetime | None = None
    down_since: float | None = None


class IngestEngine:
    """The one ingest path; `start()`, then `stop()` flushes and disconnects."""

    def __init__(
        self,
        settings: Settings,
        *,
        mode: str = "headless",
        on_event: Callable[[EngineEvent], None] | None = None,
        target: SqlTarget | None = None,
    ) -> None:
        self.settings = settings
        self.mode = mode
        self.rules = settings.validation_rules()
        self.data_dir = settings.resolved_data_dir
        self.target = target or resolve_target(settings)
        self.on_event = on_event
        self.spool = Spool.in_data_dir(self.data_dir)
        self.quarantine = Quarantine.in_data_dir(self.data_dir)
        self.writer = IntervalWriter(self.target)
        self.counters = Counters(recovered=self.spool.pending)
        self.sql = SqlHealth()
        self.source = MqttSource(settings, on_change=self._mqtt_changed)
        self.latest: IntervalRecord | None = None
        self.started = datetime.now()
        self._invalid_keys = itertools.count(-1, -1)
        self._intake_stop = threading.Event()
        self._forward_stop = threading.Event()
        self._status_stop = threading.Event()
        self._wake = threading.Event()
        self._drain_until: float | None = None
        self._mqtt_ok: bool | None = None
        self._threads: list[threading.Thread] = []
        self._stopped = False

    # -- life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        logger.info(
            "kyzconsole {} {} ingest: {} -> {} (data dir {}, {} spooled from before)",
            __version__,
            self.mode,
            self.source.state.broker,
            self.target.describe(),
            self.data_dir,
            self.spool.pending,
        )
        self._threads = [
            threading.Thread(target=self._intake_loop, name="kyz-intake", daemon=True),
            threading.Thread(target=self._forward_loop, name="kyz-forwarder", daemon=True),
            threading.Thread(target=self._status_loop, name="kyz-status", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        self.source.start()

    def stop(self, flush_timeout: float = 5.0) -> None:
        """Stop taking messages, flush the spool for up to `flush_timeout` s, disconnect."""
        if self._stopped or not self._threads:
            return
        self._stopped = True
        intake, forwarder, status = self._threads
        self._intake_stop.set()
        intake.join()
        self.source.stop()  # acknowledgements already queued go out before DISCONNECT
        self._drain_until = time.monotonic() + flush_timeout
        self._wake.set()
        forwarder.join(flush_timeout + self.target.query_timeout + 5)
        self._forward_stop.set()
        forwarder.join()
        self._status_stop.set()
        status.join()
        snapshot = self.counters.snapshot(self.spool.pending)
        logger.info(
            "stopped: {} received, {} inserted, {} duplicates, {} conflicts, {} invalid; "
            "{} left in the spool for next time",
            snapshot.received,
            snapshot.inserted,
            snapshot.duplicates,
            snapshot.conflicts,
            snapshot.invalid,
            snapshot.pending,
        )
        self._write_status(state="stopped")
        self.writer.close()
        self.spool.close()
        self.quarantine.close()

    # -- intake: source -> spool/quarantine -> ack -----------------------------------------

    def _intake_loop(self) -> None:
        messages = self.source.messages
        while not self._intake_stop.is_set():
            try:
                batch = [messages.get(timeout=0.2)]
            except queue.Empty:
                continue
            linger_until = time.monotonic() + INTAKE_LINGER
            while len(batch) < INTAKE_BATCH:
                try:
                    batch.append(messages.get(timeout=max(0.0, linger_until - time.monotonic())))
                except queue.Empty:
                    break
            self._take(batch)

    def _take(self, batch: list[MqttMessage]) -> None:
        arrivals: list[Arrival] = []
        rejected: list[QuarantineEntry] = []
        notes: list[tuple[MqttMessage, IntervalRecord | None, str | None, str | None]] = []
        for message in batch:
            source = f"mqtt:{message.topic}"
            try:
                parsed = parse_payload(message.payload, self.rules)
            except InvalidPayload as exc:
                rejected.append(
                    QuarantineEntry.invalid(
                        source, exc.reason, message.payload, message.received_at
                    )
                )
                notes.append((message, None, exc.reason, None))
                continue
            warning = parsed.warnings[0] if parsed.warnings else None
            arrivals.append(Arrival(parsed.record, source, message.received_at, message.payload))
            notes.append((message, parsed.record, None, warning))
        while True:
            try:
                ids = self.spool.add(arrivals)
                self.quarantine.add(rejected)
                break
            except sqlite3.Error as exc:
                # Not durable, so not acknowledged: the broker keeps them until we can write.
                logger.error("cannot write the spool in {} ({}); retrying", self.data_dir, exc)
                if self._intake_stop.wait(1.0):
                    return
        for message in batch:
            self.source.ack(message.mid, message.qos)
        self.counters.add(received=len(batch), invalid=len(rejected))
        self._wake.set()
        spool_ids = iter(ids)
        for message, record, reason, warning in notes:
            if reason is not None:
                logger.warning("invalid: {}", reason)
                key = next(self._invalid_keys)
            else:
                key = next(spool_ids)
                if warning:
                    logger.warning("warning: {}", warning)
            self._emit(MessageReceived.of(key, message, record, reason, warning))

    # -- forwarder: spool -> SQL -----------------------------------------------------------

    def _forward_loop(self) -> None:
        backoff = Backoff(self.settings.sql_retry_initial, self.settings.sql_retry_max)
        last_check = 0.0
        while not self._forward_stop.is_set():
            if self._drain_until is not None and (
                self.spool.pending == 0 or time.monotonic() > self._drain_until
            ):
                return
            batch = self.spool.oldest(FORWARD_BATCH)
            if not batch:
                if time.monotonic() - last_check > IDLE_PING_EVERY:
                    last_check = time.monotonic()
                    self._check_sql(backoff)
                self._wake.wait(0.5)
                self._wake.clear()
                continue
            if self._forward(batch):
                backoff.reset()
                last_check = time.monotonic()
            else:
                self._pause(backoff.next_delay())

    def _pause(self, delay: float) -> None:
        if self._drain_until is not None:
            delay = min(delay, max(0.0, self._drain_until - time.monotonic()))
        self._forward_stop.wait(delay)

    def _check_sql(self, backoff: Backoff) -> None:
        try:
            latency = self.writer.ping()
        except DatabaseError as exc:
            self._sql_failed(exc)
            self._pause(backoff.next_delay())
            return
        self._sql_ok(latency)

    def _forward(self, batch: list[SpooledRecord]) -> bool:
        started = time.perf_counter()
        try:
            results = self.writer.write([item.arrival.record for item in batch])
        except DatabaseError as exc:
            self._sql_failed(exc)
            return False
        self._sql_ok(time.perf_counter() - started)
        conflicts = [
            QuarantineEntry.conflict(
                item.arrival.source,
                result.record,
                result.existing,
                item.arrival.raw,
                item.arrival.received_at,
            )
            for item, result in zip(batch, results, strict=True)
            if result.outcome is Outcome.CONFLICT and result.existing is not None
        ]
        self.quarantine.add(conflicts)  # before the spool forgets them
        self.spool.remove([item.id for item in batch])
        self._count(batch, results)
        return True

    def _count(self, batch: list[SpooledRecord], results: list[WriteResult]) -> None:
        inserted = duplicates = conflicts = 0
        lines: list[str] = []  # one per inserted or duplicate message, logged in one call
        for item, result in zip(batch, results, strict=True):
            record = result.record
            if result.outcome is Outcome.INSERTED:
                inserted += 1
                lines.append(f"inserted {describe(record)}")
            elif result.outcome is Outcome.DUPLICATE:
                duplicates += 1
                lines.append(f"duplicate {describe(record)} (already stored, same values)")
            else:
                conflicts += 1
                assert result.existing is not None
                logger.warning(
                    "conflict {}: stored row kept ({}); both versions in quarantine",
                    describe(record),
                    describe(result.existing),
                )
            if result.outcome is not Outcome.CONFLICT and (
                self.latest is None or record.interval_end >= self.latest.interval_end
            ):
                self.latest = record
            self._emit(MessageOutcome(item.id, result.outcome.value, record, result.existing))
        log_lines("INFO", lines, name=__name__)
        self.counters.add(inserted=inserted, duplicates=duplicates, conflicts=conflicts)

    def _sql_ok(self, latency: float) -> None:
        health = self.sql
        if health.ok is False and health.down_since is not None:
            logger.info(
                "SQL is back after {:.0f} s: {}; draining {} spooled",
                time.monotonic() - health.down_since,
                self.target.describe(),
                self.spool.pending,
            )
        if health.ok is not True:
            self._emit(HealthChanged("sql", True, None))
        health.ok, health.latency_ms = True, latency * 1000
        health.last_error, health.last_success, health.down_since = None, datetime.now(), None

    def _sql_failed(self, exc: DatabaseError) -> None:
        health = self.sql
        if health.ok is not False:  # once per outage, not once per retry
            logger.error(
                "SQL unavailable: {}; rows stay spooled ({} pending)", exc, self.spool.pending
            )
            self._emit(HealthChanged("sql", False, str(exc)))
        elif health.last_error != str(exc):
            logger.debug("SQL still unavailable, now: {}", exc)
        if health.down_since is None:
            health.down_since = time.monotonic()
        health.ok, health.last_error = False, str(exc)

    # -- status ------------------------------------------------------------------------------

    def _mqtt_changed(self, state: MqttState) -> None:
        ok = state.connected and state.subscribed
        if ok != self._mqtt_ok:
            self._mqtt_ok = ok
            self._emit(HealthChanged("mqtt", ok, state.last_error))

    def _status_loop(self) -> None:
        next_summary = time.monotonic() + SUMMARY_EVERY
        while not self._status_stop.wait(self.settings.status_interval):
            self._write_status()
            if time.monotonic() >= next_summary:
                next_summary += SUMMARY_EVERY
                self._log_summary()

    def _log_summary(self) -> None:
        s = self.counters.snapshot(self.spool.pending)
        logger.info(
            "summary: received {}, inserted {}, duplicates {}, conflicts {}, invalid {}, "
            "pending {}, {:.0f}/min; MQTT {}, SQL {}",
            s.received,
            s.inserted,
            s.duplicates,
            s.conflicts,
            s.invalid,
            s.pending,
            s.per_minute,
            "up" if self.source.state.connected else "DOWN",
            {True: "ok", False: "DOWN", None: "not tried yet"}[self.sql.ok],
        )

    def _write_status(self, state: str = "running") -> None:
        try:
            write_status(self.data_dir, self.status(state))
        except OSError as exc:
            logger.error("cannot write the status file in {}: {}", self.data_dir, exc)

    def status(self, state: str = "running") -> dict[str, Any]:
        mqtt, sql = self.source.state, self.sql
        latest = self.latest
        return {
            "pid": os.getpid(),
            "version": __version__,
            "mode": self.mode,
            "state": state,
            "started": _iso(self.started),
            "updated": datetime.now().isoformat(sep=" ", timespec="milliseconds"),
            "mqtt": {
                "connected": bool(mqtt.connected),
                "subscribed": bool(mqtt.subscribed),
                "broker": mqtt.broker,
                "topic": self.settings.mqtt_topic,
                "client_id": self.settings.mqtt_client_id,
                "last_message": _iso(mqtt.last_message_at),
                "last_error": mqtt.last_error,
            },
            "sql": {
                "ok": bool(sql.ok),
                "target": self.target.describe(),
                "latency_ms": round(sql.latency_ms, 1) if sql.latency_ms is not None else None,
                "last_error": sql.last_error,
                "last_success": _iso(sql.last_success),
            },
            "counters": self.counters.snapshot(self.spool.pending).as_dict(),
            "spool": {"pending": self.spool.pending},
            "latest_interval": None
            if latest is None
            else latest.to_payload()
            | {
                "age_minutes": round((datetime.now() - latest.interval_end).total_seconds() / 60, 1)
            },
        }

    def _emit(self, event: EngineEvent) -> None:
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:  # a face's bug must never stop ingest
                logger.exception("event handler failed")
