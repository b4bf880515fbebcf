"""The MQTT source: a persistent QoS 1 subscription whose messages are acknowledged by hand."""

from __future__ import annotations

import queue
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
from loguru import logger
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from kyzconsole.config import Settings
from kyzconsole.masking import SECRETS


@dataclass(frozen=True, slots=True)
class MqttMessage:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    mid: int
    received_at: datetime
    duplicate_delivery: bool = False


@dataclass
class MqttState:
    """What the console and the status file show about the broker link."""

    connected: bool = False
    broker: str = ""
    last_message_at: datetime | None = None
    last_error: str | None = None
    connected_since: datetime | None = None
    subscribed: bool = False
    refused: bool = False  # the broker refused us (auth, ACL): retrying will not help by itself
    extra: dict[str, Any] = field(default_factory=dict)


def broker_label(settings: Settings) -> str:
    scheme = "mqtts" if settings.mqtt_tls else "mqtt"
    return f"{scheme}://{settings.mqtt_host}:{settings.resolved_mqtt_port}"


def make_client(settings: Settings, client_id: str, *, persistent: bool) -> mqtt.Client:
    """A paho client with protocol, auth and TLS from the settings; not yet connected."""
    v5 = settings.mqtt_protocol == "5"
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
        clean_session=None if v5 else not persistent,
        manual_ack=persistent,
    )
    if settings.mqtt_username:
        password = settings.mqtt_password.get_secret_value() if settings.mqtt_password else None
        SECRETS.add(password)
        client.username_pw_set(settings.mqtt_username, password)
    if settings.mqtt_tls:
        client.tls_set(
            ca_certs=str(settings.mqtt_ca_file) if settings.mqtt_ca_file else None,
            certfile=str(settings.mqtt_cert_file) if settings.mqtt_cert_file else None,
            keyfile=str(settings.mqtt_key_file) if settings.mqtt_key_file else None,
            cert_reqs=ssl.CERT_REQUIRED,
        )
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    return client


def connect_properties(settings: Settings, *, persistent: bool) -> Properties | None:
    if settings.mqtt_protocol != "5":
        return None
    properties = Properties(PacketTypes.CONNECT)
    # Mosquitto treats a v5 client without SessionExpiryInterval as expiry 0: no session.
    properties.SessionExpiryInterval = settings.mqtt_session_expiry if persistent else 0
    properties.ReceiveMaximum = settings.mqtt_receive_maximum
    return properties


class MqttSource:
    """Subscribes and hands each message to a queue; `ack(mid)` once it is durable.

    paho's network thread runs only the tiny callbacks below: no I/O, no waiting.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        client_id: str | None = None,
        persistent: bool = True,
        on_change: Callable[[MqttState], None] | None = None,
    ) -> None:
        self.settings = settings
        self.persistent = persistent
        self.topic = settings.mqtt_topic
        self.messages: queue.Queue[MqttMessage] = queue.Queue()
        self.state = MqttState(broker=broker_label(settings))
        self._on_change = on_change
        self._retained_warned = False
        self._lock = threading.Lock()
        self._outage_logged = False
        self._closing = False
        self.client = make_client(
            settings, client_id or settings.mqtt_client_id, persistent=persistent
        )
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.on_connect_fail = self._on_connect_fail

    def start(self) -> None:
        """Connect in the background; paho keeps reconnecting with back-off until stop()."""
        self.client.connect_async(
            self.settings.mqtt_host,
            self.settings.resolved_mqtt_port,
            keepalive=self.settings.mqtt_keepalive,
            clean_start=not self.persistent if self.settings.mqtt_protocol == "5" else 3,
            properties=connect_properties(self.settings, persistent=self.persistent),
        )
        self.client.loop_start()

    def ack(self, mid: int, qos: int) -> None:
        if self.persistent and qos > 0:
            self.client.ack(mid, qos)

    def stop(self) -> None:
        """Disconnect cleanly (queued acknowledgements go out first) and stop the thread."""
        self._closing = True
        try:
            self.client.disconnect()
        finally:
            self.client.loop_stop()
        self._set(connected=False, subscribed=False)

    # -- paho callbacks: network thread, keep them tiny ------------------------------------

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        if reason.is_failure:
            self._outage(
                f"broker {self.state.broker} refused the connection: {reason}", refused=True
            )
            return
        if self._outage_logged:
            logger.info("MQTT connected again to {}", self.state.broker)
        else:
            logger.info(
                "MQTT connected to {} as {} (session present: {})",
                self.state.broker,
                self.settings.mqtt_client_id if self.persistent else "observer",
                getattr(flags, "session_present", False),
            )
        self._outage_logged = False
        self._set(connected=True, last_error=None, refused=False, connected_since=datetime.now())
        client.subscribe(self.topic, qos=1)

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, codes: Any, props: Any
    ) -> None:
        refused = [code for code in codes if code.is_failure]
        if refused:
            message = (
                f"broker {self.state.broker} refused the subscription to {self.topic} "
                f"({refused[0]}): check the broker's ACL for this user"
            )
            logger.error(message)
            self._set(subscribed=False, last_error=message, refused=True)
        else:
            self._set(subscribed=True)

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        if self.state.connected and not self._closing:
            self._outage(f"MQTT connection to {self.state.broker} lost ({reason}); reconnecting")
        self._set(connected=False, subscribed=False)

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        self._outage(f"cannot reach the MQTT broker {self.state.broker}; retrying")

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        now = datetime.now()
        self.state.last_message_at = now
        if message.retain and not self._retained_warned:
            self._retained_warned = True
            logger.warning(
                "a retained message arrived on {}: the publisher should publish with retain off "
                "(it is processed like any other; idempotency makes it harmless)",
                message.topic,
            )
        self.messages.put(
            MqttMessage(
                message.topic,
                bytes(message.payload),
                message.qos,
                bool(message.retain),
                message.mid,
                now,
                bool(message.dup),
            )
        )

    def _outage(self, text: str, *, refused: bool = False) -> None:
        if not self._outage_logged:
            (logger.error if refused else logger.warning)(text)
            self._outage_logged = True
        self._set(connected=False, last_error=text, refused=refused)

    def _set(self, **changes: Any) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(self.state, key, value)
        if self._on_change is not None:
            self._on_change(self.state)
