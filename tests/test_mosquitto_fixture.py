"""The MosquittoBroker fixture runs a real broker that behaves as the tests assume."""

from __future__ import annotations

import re

import pytest

from tests.servers.mosquitto import BrokerError, MosquittoBroker

TOPIC = "pri/energy/kyz/interval"
USERS = {"plc": "pw1", "ingest": "pw2"}
ACL = f"""\
user plc
topic write {TOPIC}

user ingest
topic read {TOPIC}
"""


def test_plain_broker_delivers_a_published_message_to_a_subscriber() -> None:
    with MosquittoBroker() as broker:
        broker.register_subscriber(TOPIC, "reader")
        broker.publish(TOPIC, '{"n": 1}')
        broker.publish_many(TOPIC, ['{"n": 2}', '{"n": 3}'])
        received = broker.subscribe_collect(TOPIC, 3, timeout=5, client_id="reader", clean=False)
    assert received == [b'{"n": 1}', b'{"n": 2}', b'{"n": 3}']


def test_plc_writes_and_ingest_reads_only_the_interval_topic() -> None:
    with MosquittoBroker(users=USERS, acl_text=ACL) as broker:
        broker.register_subscriber(TOPIC, "ingest-1", user="ingest", password="pw2")
        broker.publish(TOPIC, "from plc", user="plc", password="pw1")
        # Denied publishes are acknowledged and silently dropped, so they simply never arrive.
        broker.publish(TOPIC, "from ingest", user="ingest", password="pw2")
        broker.publish(f"{TOPIC}/other", "elsewhere", user="plc", password="pw1")
        received = broker.subscribe_collect(
            "pri/#", 3, timeout=1, user="ingest", password="pw2", client_id="ingest-1", clean=False
        )
        log = broker.log_text()
    assert received == [b"from plc"]
    assert re.search(r"Denied PUBLISH from \S+ \(d0, q1, r0, m\d+, 'pri/energy/kyz/interval'", log)


def test_anonymous_client_is_refused_when_users_are_configured() -> None:
    with (
        MosquittoBroker(users=USERS, acl_text=ACL) as broker,
        pytest.raises(BrokerError, match=r"not authori[sz]ed"),
    ):
        broker.publish(TOPIC, "anonymous")


def test_wrong_password_is_refused() -> None:
    with (
        MosquittoBroker(users=USERS, acl_text=ACL) as broker,
        pytest.raises(BrokerError, match=r"not authori[sz]ed") as refused,
    ):
        broker.publish(TOPIC, "guess", user="plc", password="wrong")
    assert "wrong" not in str(refused.value)


def test_tls_broker_round_trips_with_the_generated_ca() -> None:
    with MosquittoBroker(tls=True) as broker:
        assert broker.ca_file is not None and broker.ca_file.is_file()
        broker.register_subscriber(TOPIC, "tls-reader")
        broker.publish(TOPIC, "over tls")
        received = broker.subscribe_collect(
            TOPIC, 1, timeout=5, client_id="tls-reader", clean=False
        )
    assert received == [b"over tls"]


def test_restart_keeps_a_qos1_message_queued_for_an_offline_persistent_subscriber() -> None:
    with MosquittoBroker() as broker:
        broker.register_subscriber(TOPIC, "offline", qos=1)
        broker.publish(TOPIC, "queued before restart", qos=1)
        port = broker.port
        broker.restart()
        assert broker.port == port
        received = broker.subscribe_collect(TOPIC, 1, timeout=5, client_id="offline", clean=False)
    assert received == [b"queued before restart"]


def test_broker_that_cannot_start_raises_with_the_reason_and_cleans_up() -> None:
    broker = MosquittoBroker(extra_conf=["no_such_option 1"])
    with pytest.raises(BrokerError, match="no_such_option"), broker:
        pass
    assert not broker.root.exists()


def test_broker_cleans_up_its_temp_dir_and_process() -> None:
    with MosquittoBroker() as broker:
        root = broker.root
        assert broker.running
    assert not broker.running
    assert not root.exists()
