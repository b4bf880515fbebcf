"""The example broker set-up in docs/mosquitto/ works as docs/MOSQUITTO_SETUP.md says.

The broker runs from docs/mosquitto/mosquitto.conf itself: only the Windows paths under
C:\\ProgramData\\mosquitto\\ and the listener's port are substituted. Its certificates come from
docs/mosquitto/make-certs.sh, its users from mosquitto_passwd, its ACL is docs/mosquitto/acl.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from kyzconsole.cli.main import main
from tests.servers.mosquitto import BrokerError, MosquittoBroker

DOCS = Path(__file__).resolve().parent.parent / "docs" / "mosquitto"
CONF = DOCS / "mosquitto.conf"
ACL = DOCS / "acl"
MAKE_CERTS = DOCS / "make-certs.sh"
TOPIC = "pri/energy/kyz/interval"
PASSWORDS = {"kyz_plc": "plc-pw-4417", "kyz_ingest": "ingest-pw-9021"}
WINDOWS_DIR = re.compile(r"C:\\ProgramData\\mosquitto\\(\S*)")


def conf_for_this_machine() -> str:
    """The documented mosquitto.conf with its Windows paths and its TLS port substituted."""
    text = CONF.read_text(encoding="utf-8")
    assert re.search(r"^listener 8883$", text, re.MULTILINE), "the doc's TLS listener moved"
    text = re.sub(r"^listener 8883$", "listener {port} 127.0.0.1", text, flags=re.MULTILINE)
    return WINDOWS_DIR.sub(lambda m: "{root}/" + m.group(1).replace("\\", "/"), text)


def prepare_broker_files(root: Path) -> None:
    """What MOSQUITTO_SETUP.md has the engineer do under C:\\ProgramData\\mosquitto\\."""
    for folder in ("data", "log"):
        (root / folder).mkdir()
    subprocess.run(
        ["sh", str(MAKE_CERTS), str(root / "certs"), "localhost", "127.0.0.1"],
        check=True,
        capture_output=True,
    )
    (root / "certs" / "ca.key").unlink()  # the doc keeps the CA key off the broker
    passwd = str(root / "passwd")
    first = True
    for user, password in PASSWORDS.items():
        create = ["-c"] if first else []
        subprocess.run(
            ["mosquitto_passwd", *create, "-b", passwd, user, password],
            check=True,
            capture_output=True,
        )
        first = False
    shutil.copy(ACL, root / "acl")


@contextmanager
def example_broker(conf_text: str) -> Iterator[MosquittoBroker]:
    example = MosquittoBroker(conf_text=conf_text)
    try:
        prepare_broker_files(example.root)
        example.start()
        yield example
    finally:
        example.cleanup()


@pytest.fixture(scope="module")
def broker() -> Iterator[MosquittoBroker]:
    with example_broker(conf_for_this_machine()) as example:
        yield example


def login(user: str) -> dict[str, str]:
    return {"user": user, "password": PASSWORDS[user]}


def test_acl_names_exactly_the_plc_and_the_ingest_user() -> None:
    users = re.findall(r"^user (\S+)$", ACL.read_text(encoding="utf-8"), re.MULTILINE)
    assert users == ["kyz_plc", "kyz_ingest"]


def test_queue_limit_covers_a_month_of_fifteen_minute_intervals() -> None:
    text = CONF.read_text(encoding="utf-8")
    limit = int(re.search(r"^max_queued_messages (\d+)$", text, re.MULTILINE).group(1))
    assert limit >= 30 * 96
    assert "30 days x 96 = 2,880" in text
    for line in ("allow_anonymous false", "persistence true", "per_listener_settings false"):
        assert re.search(rf"^{line}$", text, re.MULTILINE), line


def test_plc_publishes_over_tls_and_the_ingest_user_receives_it(broker) -> None:
    assert broker.tls and broker.ca_file is not None and broker.ca_file.name == "ca.crt"
    broker.register_subscriber(TOPIC, "ingest-reads", **login("kyz_ingest"))
    broker.publish(TOPIC, '{"n": 1}', **login("kyz_plc"))
    received = broker.subscribe_collect(
        TOPIC, 1, timeout=5, client_id="ingest-reads", clean=False, **login("kyz_ingest")
    )
    assert received == [b'{"n": 1}']


def test_plc_user_reads_nothing_on_any_topic(broker) -> None:
    broker.register_subscriber("#", "plc-snoops", **login("kyz_plc"))
    broker.register_subscriber(TOPIC, "ingest-control", **login("kyz_ingest"))
    broker.publish(TOPIC, '{"n": 2}', **login("kyz_plc"))
    control = broker.subscribe_collect(
        TOPIC, 1, timeout=5, client_id="ingest-control", clean=False, **login("kyz_ingest")
    )
    snooped = broker.subscribe_collect(
        "#", 1, timeout=1, client_id="plc-snoops", clean=False, **login("kyz_plc")
    )
    assert control == [b'{"n": 2}']  # it was published ...
    assert snooped == []  # ... and the PLC's own subscription got none of it


def test_ingest_user_cannot_publish_on_the_interval_topic(broker) -> None:
    broker.register_subscriber(TOPIC, "ingest-watch", **login("kyz_ingest"))
    broker.publish(TOPIC, "forged by ingest", **login("kyz_ingest"))  # acknowledged, dropped
    broker.publish(TOPIC, "from the plc", **login("kyz_plc"))
    received = broker.subscribe_collect(
        TOPIC, 2, timeout=1, client_id="ingest-watch", clean=False, **login("kyz_ingest")
    )
    assert received == [b"from the plc"]


def test_anonymous_client_is_refused(broker) -> None:
    with pytest.raises(BrokerError, match=r"not authori[sz]ed"):
        broker.publish(TOPIC, "anonymous")


def test_wrong_password_is_refused(broker) -> None:
    with pytest.raises(BrokerError, match=r"not authori[sz]ed"):
        broker.publish(TOPIC, "guess", user="kyz_plc", password="not-it")


def test_tls_listener_refuses_a_client_that_does_not_trust_the_generated_ca(broker) -> None:
    args = ["mosquitto_pub", "-h", broker.host, "-p", str(broker.port), "-t", TOPIC]
    args += ["-m", "x", "-u", "kyz_plc", "-P", PASSWORDS["kyz_plc"], "--capath", "/etc/ssl/certs"]
    result = subprocess.run(args, capture_output=True, timeout=30)
    assert result.returncode != 0
    assert b"TLS error" in result.stderr


def test_plain_mqtt_is_refused_on_the_tls_port(broker) -> None:
    args = ["mosquitto_pub", "-h", broker.host, "-p", str(broker.port), "-t", TOPIC, "-m", "x"]
    args += ["-u", "kyz_plc", "-P", PASSWORDS["kyz_plc"]]
    result = subprocess.run(args, capture_output=True, timeout=30)
    assert result.returncode != 0


def test_queued_interval_survives_a_broker_restart(broker) -> None:
    broker.register_subscriber(TOPIC, "ingest-offline", **login("kyz_ingest"))
    broker.publish(TOPIC, "queued while the ingest was stopped", **login("kyz_plc"))
    broker.restart()
    received = broker.subscribe_collect(
        TOPIC, 1, timeout=5, client_id="ingest-offline", clean=False, **login("kyz_ingest")
    )
    assert received == [b"queued while the ingest was stopped"]
    assert (broker.root / "data" / "mosquitto.db").is_file()


def test_denied_publish_is_logged_only_with_log_type_debug(broker) -> None:
    broker.publish(TOPIC, "forged again", **login("kyz_ingest"))
    assert broker.log_file == broker.root / "log" / "mosquitto.log"
    assert "Denied PUBLISH" not in broker.log_text()
    with example_broker(conf_for_this_machine() + "log_type debug\n") as debug:
        debug.publish(TOPIC, "forged", **login("kyz_ingest"))
        log = debug.log_text()
    assert re.search(r"Denied PUBLISH from \S+ .*'pri/energy/kyz/interval'", log)


def test_full_queue_logs_outgoing_messages_dropped_at_the_documented_log_types() -> None:
    small = conf_for_this_machine().replace("max_queued_messages 10000", "max_queued_messages 2")
    with example_broker(small) as full:
        full.register_subscriber(TOPIC, "kyz-sql-ingestor", **login("kyz_ingest"))
        full.publish_many(TOPIC, [f"n{i}" for i in range(5)], **login("kyz_plc"))
        log = full.log_text()
    assert "Outgoing messages are being dropped for client kyz-sql-ingestor" in log


def test_test_conn_passes_for_the_ingest_user(broker, monkeypatch, capsys, tmp_path) -> None:
    for name, value in {
        "KYZ_MQTT_HOST": "localhost",
        "KYZ_MQTT_PORT": str(broker.port),
        "KYZ_MQTT_TLS": "true",
        "KYZ_MQTT_CA_FILE": str(broker.ca_file),
        "KYZ_MQTT_USERNAME": "kyz_ingest",
        "KYZ_MQTT_PASSWORD": PASSWORDS["kyz_ingest"],
    }.items():
        monkeypatch.setenv(name, value)
    code = main(
        ["test-conn", "--json", "--data-dir", str(tmp_path / "d"), "--log-dir", str(tmp_path)]
    )
    checks = {c["check"]: c for c in json.loads(capsys.readouterr().out)}
    assert code == 0, checks
    assert "over TLS as kyz_ingest" in checks["MQTT connect"]["detail"]
    assert PASSWORDS["kyz_ingest"] not in json.dumps(checks)
