"""Connection checks for `test-conn` (and the console's test-conn modal): each one line, ✓ or ✗.

Never publishes anything, and never uses the service's MQTT client id.
"""

from __future__ import annotations

import os
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyodbc

from kyzconsole.config import Settings
from kyzconsole.db.errors import DatabaseError
from kyzconsole.db.target import SqlTarget, parse_connection_string, resolve_target
from kyzconsole.db.writer import IntervalWriter
from kyzconsole.masking import SECRETS
from kyzconsole.sources.mqtt import broker_label, connect_properties, make_client

MQTT_TIMEOUT = 10.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, object]:
        return {"check": self.name, "ok": self.ok, "detail": self.detail, "fix": self.fix}


def run_checks(settings: Settings, *, config_source: str = "") -> Iterator[Check]:
    """Yield each check as it finishes, so a person sees progress on a slow network."""
    target = resolve_target(settings)
    yield Check("configuration", True, f"valid{config_source}; SQL target {target.describe()}")
    driver = _driver_check(target)
    yield driver
    if driver.ok:
        yield from _sql_checks(target)
    yield from _mqtt_checks(settings)
    yield _writable("data dir", settings.resolved_data_dir, "KYZ_DATA_DIR")
    yield _writable("log dir", settings.resolved_log_dir, "KYZ_LOG_DIR")


def _driver_check(target: SqlTarget) -> Check:
    parts = parse_connection_string(target.connection_string)
    installed = pyodbc.drivers()
    if "dsn" in parts and "driver" not in parts:
        sources = pyodbc.dataSources()
        if parts["dsn"] in sources:
            return Check("ODBC driver", True, f"DSN {parts['dsn']} uses {sources[parts['dsn']]}")
        return Check(
            "ODBC driver",
            False,
            f"DSN {parts['dsn']} is not defined",
            f"define it in ODBC Data Sources (64-bit); defined: {', '.join(sources) or 'none'}",
        )
    driver = parts.get("driver", "")
    if driver in installed:
        return Check("ODBC driver", True, f"{driver} is installed")
    fix = "install it"
    if target.dialect.name == "mssql":
        fix = "install Microsoft ODBC Driver 18 for SQL Server, or set KYZ_SQL_DRIVER"
    elif target.dialect.name == "sqlite":
        fix = "install the SQLite3 ODBC driver (Debian: libsqliteodbc), or set KYZ_SQLITE_DRIVER"
    return Check(
        "ODBC driver",
        False,
        f"{driver or '(none named)'} is not installed; installed: {', '.join(installed) or 'none'}",
        fix,
    )


def _sql_checks(target: SqlTarget) -> Iterator[Check]:
    writer = IntervalWriter(target)
    try:
        started = time.perf_counter()
        try:
            writer.connect()
        except DatabaseError as exc:
            yield Check("SQL login", False, str(exc), "fix the login, then run test-conn again")
            return
        yield Check(
            "SQL login",
            True,
            f"{target.describe()} ({(time.perf_counter() - started) * 1000:.0f} ms)",
        )
        try:
            writer.ping()
        except DatabaseError as exc:
            yield Check("SQL table", False, str(exc), "apply the table script in sql/ by hand")
            return
        yield Check("SQL table", True, f"{target.table} has the expected columns")
        try:
            rights = writer.permissions()
        except DatabaseError as exc:
            yield Check("SQL permissions", False, str(exc))
            return
        if rights is None:
            yield Check("SQL permissions", True, "not reported by this database; skipped")
            return
        can_insert, can_select = rights
        missing = [name for name, ok in (("INSERT", can_insert), ("SELECT", can_select)) if not ok]
        if missing:
            yield Check(
                "SQL permissions",
                False,
                f"the login lacks {' and '.join(missing)} on {target.table}",
                f"GRANT {', '.join(missing)} ON {target.table} TO the ingest login",
            )
        else:
            yield Check("SQL permissions", True, f"INSERT and SELECT on {target.table}")
    finally:
        writer.close()


def _mqtt_checks(settings: Settings) -> Iterator[Check]:
    broker = broker_label(settings)
    client_id = f"{settings.mqtt_client_id}-testconn-{os.getpid()}"
    client = make_client(settings, client_id, persistent=False)
    connected = threading.Event()
    subscribed = threading.Event()
    outcome: dict[str, object] = {}

    def on_connect(c: Any, u: Any, flags: Any, reason: Any, props: Any) -> None:
        outcome["connect"] = reason
        connected.set()

    def on_subscribe(c: Any, u: Any, mid: int, codes: Any, props: Any) -> None:
        outcome["subscribe"] = codes
        subscribed.set()

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    auth = f" as {settings.mqtt_username}" if settings.mqtt_username else " (anonymous)"
    try:
        client.connect(
            settings.mqtt_host,
            settings.resolved_mqtt_port,
            keepalive=settings.mqtt_keepalive,
            properties=connect_properties(settings, persistent=False),
        )
    except ssl.SSLError as exc:
        yield Check(
            "MQTT connect",
            False,
            f"TLS to {broker} failed: {exc.reason or exc}",
            "check KYZ_MQTT_CA_FILE holds the CA that signed the broker's certificate, and that "
            "KYZ_MQTT_HOST matches the certificate's name",
        )
        return
    except OSError as exc:
        yield Check(
            "MQTT connect",
            False,
            f"cannot reach {broker}: {exc.strerror or exc}",
            "is Mosquitto running? check KYZ_MQTT_HOST/KYZ_MQTT_PORT and the firewall",
        )
        return
    client.loop_start()
    try:
        if not connected.wait(MQTT_TIMEOUT):
            yield Check(
                "MQTT connect", False, f"{broker} did not answer within {MQTT_TIMEOUT:.0f} s"
            )
            return
        reason = outcome["connect"]
        if getattr(reason, "is_failure", False):
            yield Check(
                "MQTT connect",
                False,
                SECRETS.scrub(f"{broker} refused the connection{auth}: {reason}"),
                "check KYZ_MQTT_USERNAME/KYZ_MQTT_PASSWORD and the broker's password file",
            )
            return
        tls = " over TLS" if settings.mqtt_tls else ""
        yield Check("MQTT connect", True, f"connected to {broker}{tls}{auth}")
        client.subscribe(settings.mqtt_topic, qos=1)
        yield _subscription(settings, subscribed, outcome)
    finally:
        client.disconnect()
        client.loop_stop()


def _subscription(settings: Settings, done: threading.Event, outcome: dict[str, object]) -> Check:
    topic = settings.mqtt_topic
    if not done.wait(MQTT_TIMEOUT):
        return Check("MQTT subscription", False, f"no answer to the subscription to {topic}")
    codes = outcome["subscribe"]
    code = codes[0] if isinstance(codes, list) and codes else None
    if code is None or getattr(code, "is_failure", True):
        return Check(
            "MQTT subscription",
            False,
            f"the broker refused the subscription to {topic} ({code})",
            "the broker's ACL must let this user read the topic",
        )
    granted = getattr(code, "value", code)
    if granted != 1:
        return Check(
            "MQTT subscription",
            False,
            f"{topic} granted at QoS {granted}, not 1",
            "allow QoS 1 for this user on the broker",
        )
    return Check(
        "MQTT subscription",
        True,
        f"{topic} granted at QoS 1 (a Mosquitto acl_file never refuses a subscription, it "
        "drops what it denies: check its `topic read` line for this user)",
    )


def _writable(name: str, directory: Path, variable: str) -> Check:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".kyz-write-test-"):
            pass
    except OSError as exc:
        return Check(
            name,
            False,
            f"{directory} is not writable ({exc.strerror or exc})",
            f"grant the service account write access, or set {variable}",
        )
    return Check(name, True, f"{directory} is writable")
