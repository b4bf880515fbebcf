"""`kyzconsole test-conn` against real brokers (TLS, passwords, ACL) and real databases."""

from __future__ import annotations

import glob
import json
import subprocess

import pytest

from kyzconsole.cli.main import main
from tests.conftest import new_database
from tests.servers.mosquitto import MosquittoBroker

TOPIC = "pri/energy/kyz/interval"
ACL = """\
user plc
topic write pri/energy/kyz/interval

user ingest
topic read pri/energy/kyz/interval

user grafana
topic read nothing/here
"""
USERS = {"plc": "plc-pw-1", "ingest": "ingest-pw-2", "grafana": "grafana-pw-3"}


def checks(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, dict]]:
    code = main(["test-conn", "--json", *args])
    listed = json.loads(capsys.readouterr().out)
    return code, {c["check"]: c for c in listed}


@pytest.fixture(scope="module")
def secure_broker():
    with MosquittoBroker(tls=True, users=USERS, acl_text=ACL) as broker:
        yield broker


def use_broker(monkeypatch, broker: MosquittoBroker, user: str | None, password: str | None):
    monkeypatch.setenv("KYZ_MQTT_HOST", "localhost")
    monkeypatch.setenv("KYZ_MQTT_PORT", str(broker.port))
    if broker.tls:
        monkeypatch.setenv("KYZ_MQTT_TLS", "true")
        monkeypatch.setenv("KYZ_MQTT_CA_FILE", str(broker.ca_file))
    if user:
        monkeypatch.setenv("KYZ_MQTT_USERNAME", user)
    if password:
        monkeypatch.setenv("KYZ_MQTT_PASSWORD", password)


def test_all_checks_pass_over_tls_with_the_ingest_login(
    secure_broker, monkeypatch, capsys, tmp_path
):
    use_broker(monkeypatch, secure_broker, "ingest", USERS["ingest"])
    code, result = checks(capsys, "--data-dir", str(tmp_path / "d"), "--log-dir", str(tmp_path))
    assert code == 0, result
    assert "over TLS as ingest" in result["MQTT connect"]["detail"]
    assert "granted at QoS 1" in result["MQTT subscription"]["detail"]
    assert all(c["ok"] for c in result.values())


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_wrong_password_is_a_clear_failure_without_the_password(
    secure_broker, monkeypatch, capsys, tmp_path, protocol
):
    use_broker(monkeypatch, secure_broker, "ingest", "not-the-password-123")
    monkeypatch.setenv("KYZ_MQTT_PROTOCOL", protocol)
    code = main(["test-conn", "--data-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 2
    line = next(x for x in out.splitlines() if "MQTT connect" in x)
    assert line.startswith("✗")
    assert "refused the connection as ingest" in line
    assert "KYZ_MQTT_PASSWORD" in line
    assert "not-the-password-123" not in out


def dynsec_plugin() -> str:
    found = sorted(glob.glob("/usr/lib/*/mosquitto_dynamic_security.so"))
    assert found, "Debian's mosquitto package ships the dynamic security plugin"
    return found[0]


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_subscription_refused_by_the_broker_is_a_clear_failure(
    monkeypatch, capsys, tmp_path, protocol
):
    # Mosquitto's acl_file never refuses a subscription (it drops the messages instead);
    # its dynamic-security plugin does refuse, as other brokers do. A client with no role
    # may subscribe to nothing.
    config = tmp_path / "dynamic-security.json"
    subprocess.run(
        ["mosquitto_ctrl", "dynsec", "init", str(config), "admin", "admin-pw-9"],
        check=True,
        capture_output=True,
    )
    extra = [f"plugin {dynsec_plugin()}", f"plugin_opt_config_file {config}"]
    with MosquittoBroker(extra_conf=extra) as broker:
        subprocess.run(
            [
                "mosquitto_ctrl",
                "-h",
                broker.host,
                "-p",
                str(broker.port),
                "-u",
                "admin",
                "-P",
                "admin-pw-9",
                "dynsec",
                "createClient",
                "grafana",
                "-p",
                USERS["grafana"],
            ],
            check=True,
            capture_output=True,
        )
        use_broker(monkeypatch, broker, "grafana", USERS["grafana"])
        monkeypatch.setenv("KYZ_MQTT_PROTOCOL", protocol)
        code, result = checks(capsys, "--data-dir", str(tmp_path))
    assert code == 2
    assert result["MQTT connect"]["ok"]
    subscription = result["MQTT subscription"]
    assert not subscription["ok"]
    assert f"refused the subscription to {TOPIC}" in subscription["detail"]
    assert "ACL" in subscription["fix"]


def test_acl_file_subscription_passes_with_a_note_on_what_it_cannot_tell(
    secure_broker, monkeypatch, capsys, tmp_path
):
    use_broker(monkeypatch, secure_broker, "grafana", USERS["grafana"])
    code, result = checks(capsys, "--data-dir", str(tmp_path), "--log-dir", str(tmp_path))
    assert code == 0
    assert result["MQTT subscription"]["ok"]
    assert "acl_file" in result["MQTT subscription"]["detail"]


def test_tls_without_the_right_ca_fails_with_tls_advice(
    secure_broker, monkeypatch, capsys, tmp_path
):
    use_broker(monkeypatch, secure_broker, "ingest", USERS["ingest"])
    monkeypatch.delenv("KYZ_MQTT_CA_FILE")  # the system store does not know the test CA
    code, result = checks(capsys, "--data-dir", str(tmp_path))
    assert code == 2
    assert "TLS" in result["MQTT connect"]["detail"]
    assert "KYZ_MQTT_CA_FILE" in result["MQTT connect"]["fix"]


def test_anonymous_is_refused_by_a_broker_with_a_password_file(
    secure_broker, monkeypatch, capsys, tmp_path
):
    use_broker(monkeypatch, secure_broker, None, None)
    code, result = checks(capsys, "--data-dir", str(tmp_path))
    assert code == 2
    assert "refused the connection (anonymous)" in result["MQTT connect"]["detail"]


def test_unreachable_broker_says_what_to_check(monkeypatch, capsys, tmp_path):
    with MosquittoBroker() as broker:
        port = broker.port
    monkeypatch.setenv("KYZ_MQTT_PORT", str(port))
    code, result = checks(capsys, "--data-dir", str(tmp_path))
    assert code == 2
    assert "cannot reach" in result["MQTT connect"]["detail"]
    assert "KYZ_MQTT_HOST" in result["MQTT connect"]["fix"]


def test_missing_odbc_driver_lists_the_installed_ones(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("KYZ_SQL_SERVER", "plant.database.windows.net")
    monkeypatch.setenv("KYZ_SQL_DRIVER", "ODBC Driver 99 for SQL Server")
    code, result = checks(capsys, "--data-dir", str(tmp_path))
    assert code == 2
    driver = result["ODBC driver"]
    assert not driver["ok"]
    assert "SQLite3" in driver["detail"] and "PostgreSQL Unicode" in driver["detail"]
    assert "SQL login" not in result  # no point trying to log in without a driver


def test_postgres_login_table_and_permissions(pg_server, monkeypatch, capsys, tmp_path):
    database = new_database(pg_server)
    connection = pg_server.connection_string(database)
    monkeypatch.setenv("KYZ_SQL_CONNECTION_STRING", connection)
    code, result = checks(capsys, "--data-dir", str(tmp_path))
    assert result["SQL login"]["ok"] and result["SQL table"]["ok"]
    assert result["SQL permissions"]["ok"]
    pg_server.psql("CREATE ROLE kyz_reader LOGIN PASSWORD 'reader-pw'", db=database)
    pg_server.psql("GRANT SELECT ON kyz_interval TO kyz_reader", db=database)
    monkeypatch.setenv(
        "KYZ_SQL_CONNECTION_STRING",
        pg_server.connection_string(database, "kyz_reader", "reader-pw"),
    )
    code, result = checks(capsys, "--data-dir", str(tmp_path))
    assert code == 2
    assert "lacks INSERT" in result["SQL permissions"]["detail"]
    pg_server.psql("DROP OWNED BY kyz_reader; DROP ROLE kyz_reader", db=database)


def test_postgres_wrong_password_and_missing_table(pg_server, monkeypatch, capsys, tmp_path):
    bare = new_database(pg_server, with_table=False)
    monkeypatch.setenv("KYZ_SQL_CONNECTION_STRING", pg_server.connection_string(bare))
    _, result = checks(capsys, "--data-dir", str(tmp_path))
    assert result["SQL login"]["ok"]
    assert not result["SQL table"]["ok"]
    assert "001_create_table.sql" in result["SQL table"]["detail"]
    wrong = pg_server.connection_string(bare, password="Wrong-Secret-77")
    monkeypatch.setenv("KYZ_SQL_CONNECTION_STRING", wrong)
    code = main(["test-conn", "--data-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 2
    assert "login failed" in out
    assert "Wrong-Secret-77" not in out
