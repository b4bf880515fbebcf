"""A PLC stand-in: publishes plausible interval payloads (and chosen bad ones) to a broker."""

from __future__ import annotations

import json
import random
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from kyzconsole.record import INTERVAL_END_FORMAT, IntervalRecord
from kyzconsole.sources.simulated import plant_intervals

DEFAULT_TOPIC = "pri/energy/kyz/interval"
FLAG_EVERY = 53  # an occasional R17-excluded interval, as a real meter has now and then
DUPLICATE_WINDOW = 100  # duplicates are drawn from this many recent good payloads
NOT_AUTHORISED = (0x86, 0x87)  # bad user name or password, not authorized


class Kind(StrEnum):
    GOOD = "good"
    BAD = "bad"
    DUPLICATE = "duplicate"


# -- payloads ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What to publish: `count` good intervals, with bad and duplicate messages among them."""

    start: datetime
    count: int
    interval_minutes: int = 15
    seed: int = 1
    bad_every: int = 0
    duplicate_every: int = 0


def default_start(now: datetime, count: int, interval_minutes: int) -> datetime:
    """The first interval end such that the last one is the latest boundary at or before now."""
    step = timedelta(minutes=interval_minutes)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    boundary = midnight + step * ((now - midnight) // step)
    return boundary - step * max(0, count - 1)


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode("utf-8")


def _broken_json(record: IntervalRecord, step: timedelta) -> bytes:
    return encode(record.to_payload())[:-7]


def _misaligned(record: IntervalRecord, step: timedelta) -> bytes:
    # Half an interval is off the boundary for every interval length (seconds for 1 minute).
    moved = record.interval_end + step / 2
    return encode(record.to_payload() | {"intervalEnd": moved.strftime(INTERVAL_END_FORMAT)})


def _string_pulse_count(record: IntervalRecord, step: timedelta) -> bytes:
    return encode(record.to_payload() | {"pulseCount": str(record.pulse_count)})


def _nan_kwh(record: IntervalRecord, step: timedelta) -> bytes:
    return encode(record.to_payload() | {"kWh": float("nan")})  # json.dumps writes NaN


BAD_PAYLOADS: tuple[Callable[[IntervalRecord, timedelta], bytes], ...] = (
    _broken_json,
    _misaligned,
    _string_pulse_count,
    _nan_kwh,
)


def messages(plan: Plan) -> Iterator[tuple[Kind, bytes]]:
    """(kind, payload) in publish order; message numbers count every kind, from 1."""
    records = plant_intervals(
        plan.start,
        plan.count,
        interval_minutes=plan.interval_minutes,
        seed=plan.seed,
        flag_every=FLAG_EVERY,
    )
    return _interleave(records, plan)


def _interleave(records: Iterable[IntervalRecord], plan: Plan) -> Iterator[tuple[Kind, bytes]]:
    rng = random.Random(plan.seed)
    step = timedelta(minutes=plan.interval_minutes)
    recent: deque[bytes] = deque(maxlen=DUPLICATE_WINDOW)
    bad_count = 0
    number = 0
    for record in records:
        while True:
            number += 1
            if plan.bad_every and number % plan.bad_every == 0:
                yield Kind.BAD, BAD_PAYLOADS[bad_count % len(BAD_PAYLOADS)](record, step)
                bad_count += 1
            elif plan.duplicate_every and number % plan.duplicate_every == 0 and recent:
                yield Kind.DUPLICATE, rng.choice(recent)
            else:
                break
        payload = encode(record.to_payload())
        recent.append(payload)
        yield Kind.GOOD, payload


# -- publishing --------------------------------------------------------------------------------


class PublishError(Exception):
    """The broker cannot be reached or refuses; the message is one line for a person."""


@dataclass(frozen=True)
class BrokerOptions:
    host: str = "localhost"
    port: int = 1883
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    ca_file: Path | None = None
    client_id: str = "kyz-plc-simulator"
    qos: int = 1
    timeout: float = 10.0  # seconds for CONNACK and for each PUBACK

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


class Publisher:
    """One MQTT 5 connection; publish() returns once the broker has the message (PUBACK)."""

    def __init__(self, options: BrokerOptions) -> None:
        self.options = options
        self._connack = threading.Event()
        self._connack_code: ReasonCode | None = None
        self._disconnect_code: ReasonCode | None = None
        self._refused: dict[int, ReasonCode] = {}
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=options.client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        if options.username is not None:
            self._client.username_pw_set(options.username, options.password)
        if options.tls:
            self._client.tls_set(ca_certs=str(options.ca_file) if options.ca_file else None)

    def __enter__(self) -> Publisher:
        self.connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def connect(self) -> None:
        try:
            self._client.connect(self.options.host, self.options.port, keepalive=30)
        except ssl.SSLError as exc:
            detail = getattr(exc, "verify_message", None) or exc.reason or str(exc)
            raise PublishError(f"TLS failure: {detail}") from None
        except ConnectionRefusedError:
            raise PublishError("connection refused") from None
        except ConnectionResetError:
            reason = "the broker closed the connection"
            if self.options.tls:
                reason = f"TLS failure: {reason} during the handshake (not a TLS listener?)"
            raise PublishError(reason) from None
        except TimeoutError:
            raise PublishError("timed out connecting") from None
        except OSError as exc:
            raise PublishError(f"cannot connect: {exc.strerror or exc}") from None
        self._client.loop_start()
        self._await_connack()

    def _await_connack(self) -> None:
        if not self._connack.wait(self.options.timeout):
            self.close()
            raise PublishError(f"no answer (CONNACK) within {self.options.timeout:g} s")
        code = self._connack_code
        if code is None:  # closed before CONNACK: a plain client on a TLS port does this
            self.close()
            hint = "" if self.options.tls else " (a TLS listener? try --tls)"
            raise PublishError(f"the broker closed the connection before CONNACK{hint}")
        if code.is_failure:
            self.close()
            if code.value in NOT_AUTHORISED:
                raise PublishError(f"not authorised ({code})")
            raise PublishError(f"connection refused by the broker ({code})")

    def publish(self, topic: str, payload: bytes) -> None:
        info = self._client.publish(topic, payload, qos=self.options.qos)
        try:
            info.wait_for_publish(self.options.timeout)
        except (ValueError, RuntimeError) as exc:
            raise PublishError(self._lost_reason(str(exc))) from None
        if not info.is_published():
            raise PublishError(self._lost_reason(f"no PUBACK within {self.options.timeout:g} s"))
        refused = self._refused.pop(info.mid, None)
        if refused is not None:
            if refused.value in NOT_AUTHORISED:
                raise PublishError(f"not authorised to publish to {topic} ({refused})")
            raise PublishError(f"the broker refused a message on {topic} ({refused})")

    def _lost_reason(self, fallback: str) -> str:
        if self._disconnect_code is not None:
            return f"lost the connection ({self._disconnect_code})"
        return fallback

    def close(self) -> None:
        if self._client.is_connected():
            self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, code: ReasonCode, props: Any
    ) -> None:
        self._connack_code = code
        self._connack.set()

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, code: ReasonCode, props: Any
    ) -> None:
        self._disconnect_code = code
        # paho's loop thread would reconnect forever; this tool reports and stops instead.
        client.disconnect()
        self._connack.set()

    def _on_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, code: ReasonCode, props: Any
    ) -> None:
        # Called before the message is marked published, so publish() sees this in time.
        if code.is_failure:
            self._refused[mid] = code


@dataclass
class Tally:
    good: int = 0
    bad: int = 0
    duplicate: int = 0
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return self.good + self.bad + self.duplicate

    def add(self, kind: Kind) -> None:
        setattr(self, kind.value, getattr(self, kind.value) + 1)


def publish_all(
    publisher: Publisher,
    topic: str,
    stream: Iterable[tuple[Kind, bytes]],
    *,
    rate: float = 10.0,
    tally: Tally | None = None,
    progress: Callable[[Tally], None] | None = None,
) -> Tally:
    """Publish every message, at most `rate` a second (0: as fast as PUBACKs come back)."""
    tally = tally if tally is not None else Tally()
    began = time.monotonic()
    for number, (kind, payload) in enumerate(stream):
        if rate > 0:
            _sleep_until(began + number / rate)
        publisher.publish(topic, payload)
        tally.add(kind)
        tally.seconds = time.monotonic() - began
        if progress is not None:
            progress(tally)
    tally.seconds = time.monotonic() - began
    return tally


def _sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        time.sleep(delay)
