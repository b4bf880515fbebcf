"""`kyzconsole simulate` against a real Mosquitto broker, collected by mosquitto_sub."""

from __future__ import annotations

import argparse
import itertools
import time
from datetime import datetime, timedelta

import pytest

from kyzconsole.cli import simulate_cmd
from kyzconsole.config import load_settings
from kyzconsole.record import IntervalRecord, InvalidPayload, parse_payload
from tests.servers.mosquitto import MosquittoBroker, free_port

TOPIC = "pri/energy/kyz/interval"
USERS = {"plc": "pw-plc-1", "ingest": "pw-ingest-2"}
ACL = f"user plc\ntopic write {TOPIC}\n\nuser ingest\ntopic read {TOPIC}\n"
STEP = timedelta(minutes=15)


def simulate(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="kyzconsole")
    simulate_cmd.add_parser(parser.add_subparsers(dest="command"), [])
    args = parser.parse_args(["simulate", *argv])
    return simulate_cmd.run_simulate(args, load_settings())


def broker_flags(broker: MosquittoBroker) -> list[str]:
    return ["--host", broker.host, "--port", str(broker.port), "--rate", "0"]


def classify(payloads: list[bytes]) -> tuple[list[IntervalRecord], list[bytes], list[str]]:
    """Good records in arrival order, byte-identical repeats, and the bad ones' reasons."""
    good: list[IntervalRecord] = []
    seen: set[bytes] = set()
    repeats: list[bytes] = []
    reasons: list[str] = []
    for payload in payloads:
        try:
            record = parse_payload(payload).record
        except InvalidPayload as exc:
            reasons.append(exc.reason)
            continue
        if payload in seen:
            repeats.append(payload)
        else:
            seen.add(payload)
            good.append(record)
    return good, repeats, reasons


def test_publishes_exactly_the_planned_good_bad_and_duplicate_messages(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with MosquittoBroker() as broker:
        broker.register_subscriber("#", "collector")
        code = simulate(
            *broker_flags(broker),
            *("--count", "12", "--bad-every", "5", "--duplicate-every", "7", "--seed", "3"),
            *("--start", "2026-01-05 00:15:00"),
        )
        # One more than planned, so a stray extra message would show up before the timeout.
        received = broker.subscribe_collect("#", 18, timeout=1, client_id="collector", clean=False)
    out = capsys.readouterr().out
    assert code == 0
    # Messages 5, 10, 15 are bad, 7 and 14 duplicates, the other twelve good.
    assert out.startswith(f"published 17 (12 good, 3 bad, 2 duplicate) to 127.0.0.1:{broker.port}")
    assert f" {TOPIC} in " in out
    good, repeats, reasons = classify(received)
    assert len(received) == 17
    assert (len(good), len(repeats), len(reasons)) == (12, 2, 3)
    assert [r.interval_end for r in good] == [
        datetime(2026, 1, 5, 0, 15) + STEP * n for n in range(12)
    ]


def test_good_payloads_carry_consistent_demand_and_a_rising_meter_total() -> None:
    with MosquittoBroker() as broker:
        broker.register_subscriber(TOPIC, "collector")
        assert simulate(*broker_flags(broker), "--count", "96", "--seed", "7") == 0
        received = broker.subscribe_collect(
            TOPIC, 96, timeout=5, client_id="collector", clean=False
        )
    good, repeats, reasons = classify(received)
    assert (len(good), repeats, reasons) == (96, [], [])
    assert all(r.kw == r.kwh * 4 for r in good)
    totals = [r.total_kwh for r in good if r.total_kwh is not None]
    assert len(totals) == 96
    assert all(b > a for a, b in itertools.pairwise(totals))
    ends = [r.interval_end for r in good]
    assert all(b - a == STEP for a, b in itertools.pairwise(ends))


def test_bad_payloads_cycle_through_every_kind_and_all_fail_validation() -> None:
    with MosquittoBroker() as broker:
        broker.register_subscriber(TOPIC, "collector")
        code = simulate(*broker_flags(broker), "--count", "5", "--bad-every", "2", "--seed", "1")
        received = broker.subscribe_collect(TOPIC, 9, timeout=5, client_id="collector", clean=False)
    assert code == 0
    good, _, reasons = classify(received)
    assert len(good) == 5
    assert len(reasons) == 4
    assert "not valid JSON" in reasons[0]
    assert "misaligned" in reasons[1]
    assert reasons[2].startswith("pulseCount: must be an integer")
    assert "NaN" in reasons[3]


def test_default_start_ends_the_run_at_the_latest_interval_boundary() -> None:
    def boundary() -> datetime:
        now = datetime.now()
        return now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)

    with MosquittoBroker() as broker:
        broker.register_subscriber(TOPIC, "collector")
        before = boundary()
        assert simulate(*broker_flags(broker), "--count", "3") == 0
        after = boundary()
        received = broker.subscribe_collect(TOPIC, 3, timeout=5, client_id="collector", clean=False)
    good, _, _ = classify(received)
    assert good[-1].interval_end in (before, after)
    assert good[0].interval_end == good[-1].interval_end - 2 * STEP


def test_rate_paces_the_messages() -> None:
    with MosquittoBroker() as broker:
        began = time.monotonic()
        code = simulate("--host", broker.host, "--port", str(broker.port), "--count", "10")
        code_fast = simulate(*broker_flags(broker), "--count", "10", "--rate", "20")
        elapsed = time.monotonic() - began
    assert (code, code_fast) == (0, 0)
    # 10 a second by default (0.9 s for ten), then 20 a second (0.45 s).
    assert 1.3 <= elapsed < 5


def test_unreachable_broker_exits_2_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    code = simulate("--host", "127.0.0.1", "--port", str(free_port()), "--count", "3")
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err.strip().endswith("connection refused")
    assert len(captured.err.strip().splitlines()) == 1


def test_tls_with_users_publishes_as_the_plc_with_the_password_from_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KYZ_MQTT_PASSWORD", USERS["plc"])
    with MosquittoBroker(tls=True, users=USERS, acl_text=ACL) as broker:
        broker.register_subscriber(TOPIC, "ingest-1", user="ingest", password=USERS["ingest"])
        code = simulate(
            *("--host", "localhost", "--port", str(broker.port), "--rate", "0"),
            *("--ca-file", str(broker.ca_file), "--username", "plc", "--count", "8"),
        )
        received = broker.subscribe_collect(
            TOPIC, 8, 5, user="ingest", password=USERS["ingest"], client_id="ingest-1", clean=False
        )
    captured = capsys.readouterr()
    assert code == 0
    assert len(classify(received)[0]) == 8
    assert USERS["plc"] not in captured.out + captured.err


def test_wrong_password_is_not_authorised_and_never_printed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with MosquittoBroker(users=USERS, acl_text=ACL) as broker:
        code = simulate(*broker_flags(broker), "--username", "plc", "--password", "guessed-pw")
    captured = capsys.readouterr()
    assert code == 2
    assert "not authorised" in captured.err
    assert "guessed-pw" not in captured.out + captured.err


def test_topic_the_acl_denies_is_reported_as_not_authorised(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with MosquittoBroker(users=USERS, acl_text=ACL) as broker:
        code = simulate(
            *broker_flags(broker),
            *("--username", "plc", "--password", USERS["plc"], "--topic", "pri/other"),
        )
    assert code == 2
    assert "not authorised to publish to pri/other" in capsys.readouterr().err


def test_untrusted_server_certificate_is_a_tls_failure(capsys: pytest.CaptureFixture[str]) -> None:
    with MosquittoBroker(tls=True) as broker:
        code = simulate(*broker_flags(broker), "--tls", "--count", "1")
    assert code == 2
    assert "TLS failure" in capsys.readouterr().err


def test_plain_client_on_a_tls_port_is_told_to_try_tls(capsys: pytest.CaptureFixture[str]) -> None:
    with MosquittoBroker(tls=True) as broker:
        code = simulate(*broker_flags(broker), "--count", "1")
    assert code == 2
    assert "try --tls" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "problem"),
    [
        (["--count", "0"], "--count"),
        (["--bad-every", "1"], "--bad-every"),
        (["--topic", "pri/#"], "wildcards"),
        (["--start", "2026-01-05 00:07:00"], "boundary"),
    ],
)
def test_unusable_options_exit_2_before_connecting(
    flags: list[str], problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert simulate("--port", str(free_port()), *flags) == 2
    assert problem in capsys.readouterr().err


def test_simulated_day_carries_an_occasional_r17_flag():
    from datetime import datetime as _dt

    from kyzconsole.record import parse_payload
    from kyzconsole.simulator import FLAG_EVERY, Kind, Plan, messages

    plan = Plan(start=_dt(2026, 1, 5, 0, 15), count=2 * FLAG_EVERY, interval_minutes=15, seed=3)
    flags = [
        parse_payload(raw).record.r17_exclude for kind, raw in messages(plan) if kind is Kind.GOOD
    ]
    assert flags.count(True) == 2
