"""`kyzconsole report` and `kyzconsole gaps` on real databases loaded with the fixture month."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest

from kyzconsole.cli import gaps_cmd, report_cmd
from kyzconsole.config import Settings, load_settings
from kyzconsole.db.target import SqlTarget
from tests.reporting_fixture import (
    GAP_RUNS,
    load,
    normalize_row,
    postgres_database,
    ref_daily,
    ref_monthly,
    sqlite_target_at,
    view_rows,
)
from tests.servers.postgres import PostgresServer, free_port


def parser() -> argparse.ArgumentParser:
    """The two commands as kyzconsole.cli.main registers them."""
    top = argparse.ArgumentParser(prog="kyzconsole")
    commands = top.add_subparsers(dest="command")
    report_cmd.add_parser(commands, [])
    gaps_cmd.add_parser(commands, [])
    return top


def run(capsys: pytest.CaptureFixture[str], settings: Settings, *argv: str) -> tuple[int, str, str]:
    args = parser().parse_args(argv)
    code = args.run(args, settings)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def sqlite_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SqlTarget, list]:
    directory = tmp_path_factory.mktemp("cli-sqlite")
    target = sqlite_target_at(directory)
    return directory, target, load(target)


@pytest.fixture(scope="module")
def pg_db(pg_server: PostgresServer) -> Iterator[tuple[str, SqlTarget, list]]:
    name, target = postgres_database(pg_server)
    yield pg_server.connection_string(name), target, load(target)
    if pg_server.running:
        pg_server.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def loaded(request: pytest.FixtureRequest) -> tuple[dict, SqlTarget, list]:
    """(settings overrides, target, records) for the database under test."""
    if request.param == "sqlite":
        directory, target, records = request.getfixturevalue("sqlite_db")
        return {"data_dir": directory}, target, records
    connection_string, target, records = request.getfixturevalue("pg_db")
    return {"sql_connection_string": connection_string}, target, records


def json_rows(out: str) -> list[dict]:
    return [normalize_row(row) for row in json.loads(out)]


def test_report_daily_json_agrees_with_the_view_and_the_reference(capsys, loaded) -> None:
    overrides, target, records = loaded
    code, out, _ = run(capsys, load_settings(**overrides), "report", "daily", "--json")
    assert code == 0
    found = json_rows(out)
    assert found == [normalize_row(r) for r in ref_daily(records).values()]
    assert found == sorted(view_rows(target, "vw_KYZ_DailySummary"), key=lambda r: r["date"])


def test_report_daily_json_is_dates_times_and_numbers(capsys, loaded) -> None:
    overrides, _, _ = loaded
    argv = ("report", "daily", "--from", "2026-02-28", "--to", "2026-02-28", "--json")
    code, out, _ = run(capsys, load_settings(**overrides), *argv)
    assert code == 0
    (row,) = json.loads(out)
    assert row["date"] == "2026-02-28"
    assert row["kW_peak_at"] == "2026-03-01 00:00:00"
    assert row["kWh_sum"] == 110 and isinstance(row["kWh_sum"], float)
    assert row["interval_count"] == 1 and row["expected_interval_count"] == 96


def test_report_monthly_json_agrees_with_the_view(capsys, loaded) -> None:
    overrides, target, records = loaded
    code, out, _ = run(capsys, load_settings(**overrides), "report", "monthly", "--json")
    assert code == 0
    found = json_rows(out)
    view = view_rows(target, "vw_KYZ_MonthlyBillingDemandEstimate")
    assert found == sorted(view, key=lambda r: r["month_start"])
    assert found == [normalize_row(r) for r in ref_monthly(records, 1, datetime.now()).values()]


def test_report_monthly_follows_the_billing_cycle_day_setting(capsys, loaded) -> None:
    overrides, _, records = loaded
    settings = load_settings(billing_cycle_day=15, **overrides)
    code, out, _ = run(capsys, settings, "report", "monthly", "--json")
    assert code == 0
    found = json_rows(out)
    assert [r["month_start"] for r in found] == [date(2026, 2, 15), date(2026, 3, 15)]
    assert found == [normalize_row(r) for r in ref_monthly(records, 15, datetime.now()).values()]


def test_report_latest_json_agrees_with_the_view(capsys, loaded) -> None:
    overrides, target, _ = loaded
    code, out, _ = run(capsys, load_settings(**overrides), "report", "latest", "--json")
    assert code == 0
    (found,) = json_rows(out)
    (view,) = view_rows(target, "vw_KYZ_LatestInterval")
    assert abs(view.pop("age_minutes") - found.pop("age_minutes")) <= 1
    assert found == view
    assert json.loads(out)[0]["IntervalEnd"] == "2026-04-01 00:00:00"


def test_report_today_shows_nothing_received_yet_today(capsys, loaded) -> None:
    overrides, _, _ = loaded
    code, out, _ = run(capsys, load_settings(**overrides), "report", "today", "--json")
    assert code == 0
    (today,) = json.loads(out)
    assert today["date"] == date.today().isoformat()
    assert today["interval_count"] == 0 and today["kWh_sum"] == 0 and today["kW_peak"] is None
    assert 0 <= today["expected_so_far"] <= 96


def test_report_daily_prints_a_readable_table(capsys, loaded) -> None:
    overrides, _, _ = loaded
    argv = ("report", "daily", "--from", "2026-03-08", "--to", "2026-03-08")
    code, out, _ = run(capsys, load_settings(**overrides), *argv)
    assert code == 0
    header, row = out.splitlines()
    assert header.split()[:3] == ["date", "kWh_sum", "kW_peak"]
    assert row.split()[0] == "2026-03-08" and " 92 " in row and "95.83" in row


def test_gaps_lists_the_missing_runs_and_exits_1(capsys, loaded) -> None:
    overrides, _, _ = loaded
    argv = ("gaps", "--from", "2026-03-01", "--to", "2026-03-31", "--json")
    code, out, err = run(capsys, load_settings(**overrides), *argv)
    assert code == 1
    stamp = "%Y-%m-%d %H:%M:%S"
    expected = [
        {"first": f.strftime(stamp), "last": t.strftime(stamp), "count": n} for f, t, n in GAP_RUNS
    ]
    assert json.loads(out) == expected
    assert "kyzconsole replay" in err and "microSD" in err


def test_gaps_text_names_each_run_and_how_to_backfill(capsys, loaded) -> None:
    overrides, _, _ = loaded
    argv = ("gaps", "--from", "2026-03-15", "--to", "2026-03-15")
    code, out, _ = run(capsys, load_settings(**overrides), *argv)
    assert code == 1
    assert "2026-03-15 08:15:00  2026-03-15 12:00:00     16" in out
    assert out.rstrip().splitlines()[-1].startswith("to backfill:")


def test_gaps_exits_0_when_nothing_is_missing(capsys, loaded) -> None:
    overrides, _, _ = loaded
    argv = ("gaps", "--from", "2026-03-01", "--to", "2026-03-07")
    code, out, _ = run(capsys, load_settings(**overrides), *argv)
    assert (code, out.split()[:2]) == (0, ["no", "gaps"])


def test_both_commands_exit_2_when_the_database_cannot_be_reached(capsys) -> None:
    dead = (
        f"Driver={{PostgreSQL Unicode}};Server=127.0.0.1;Port={free_port()};"
        "Database=kyz;Uid=kyz_ingest;Pwd=secret-pw;"
    )
    settings = load_settings(sql_connection_string=dead, sql_login_timeout=2)
    for argv in (("report", "latest"), ("gaps",)):
        code, out, err = run(capsys, settings, *argv)
        assert code == 2, argv
        assert "unreachable" in err and "secret-pw" not in err + out


def test_from_after_to_is_a_usage_error(capsys, tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    for command in ("report", "gaps"):
        code, _, err = run(capsys, settings, command, "--from", "2026-03-02", "--to", "2026-03-01")
        assert code == 2 and "--from is after --to" in err


def test_a_bad_date_is_refused_by_the_parser(capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        parser().parse_args(["report", "daily", "--from", "03/01/2026"])
    assert exited.value.code == 2
    assert "is not a date YYYY-MM-DD" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["report", "gaps"])
def test_help_has_a_description_and_examples(capsys, command: str) -> None:
    with pytest.raises(SystemExit) as exited:
        parser().parse_args([command, "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    assert "examples:" in text and f"kyzconsole {command}" in text and "exit status" in text


def test_report_on_an_empty_embedded_database_says_so(capsys, tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    code, out, _ = run(capsys, settings, "report", "daily")
    assert code == 0 and out.startswith("no intervals stored")
    code, out, _ = run(capsys, settings, "report", "latest", "--json")
    assert (code, json.loads(out)) == (0, [])
