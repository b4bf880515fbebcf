"""The scripts in sql/: T-SQL parses, and the SQLite and PostgreSQL views give the reference's
answers on real databases loaded with the fixture month (tests/reporting_fixture.py)."""

from __future__ import annotations

import re
import sqlite3
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pyodbc
import pytest
import sqlglot
from sqlglot import exp

from kyzconsole.db.embedded import ensure_embedded_database
from kyzconsole.db.target import SqlTarget
from tests.conftest import REPO
from tests.reporting_fixture import (
    VIEWS,
    normalize,
    normalize_row,
    ref_daily,
    ref_latest,
    ref_monthly,
    sqlite_target_at,
    view_columns,
    view_rows,
)

TSQL_SCRIPTS = sorted((REPO / "sql").glob("*.sql"))
GO = re.compile(r"^\s*GO\s*$", re.IGNORECASE | re.MULTILINE)
# sqlglot 30 has no grammar for these T-SQL statements and keeps them as an opaque Command;
# anything else falling back to Command would mean it did not really parse.
OPAQUE_OK = ("CREATE USER",)


def batches(path: Path) -> list[str]:
    """The script's batches as sqlcmd and SSMS send them: split on GO lines."""
    return [b for b in GO.split(path.read_text(encoding="utf-8")) if b.strip()]


def parse_tsql(batch: str) -> list[exp.Expression]:
    parsed = sqlglot.parse(batch, read="tsql", error_level=sqlglot.ErrorLevel.RAISE)
    return [statement for statement in parsed if statement is not None]


def tsql_views() -> dict[str, list[str]]:
    """View name -> its column names, read from the parsed T-SQL of 003."""
    views = {}
    for batch in batches(REPO / "sql" / "003_dashboard_views.sql"):
        for statement in parse_tsql(batch):
            if isinstance(statement, exp.Create) and statement.kind == "VIEW":
                views[statement.this.name] = list(statement.expression.named_selects)
    return views


# -- T-SQL ------------------------------------------------------------------------------------


def test_every_tsql_script_is_there() -> None:
    names = {p.name for p in TSQL_SCRIPTS}
    assert {
        "001_create_table.sql",
        "002_indexes.sql",
        "003_dashboard_views.sql",
        "004_grafana_readonly_login.sql",
        "005_ingest_login.sql",
    } <= names


@pytest.mark.parametrize("path", TSQL_SCRIPTS, ids=lambda p: p.name)
def test_every_tsql_batch_parses_with_sqlglot(path: Path) -> None:
    for batch in batches(path):
        statements = parse_tsql(batch)
        assert statements, f"{path.name}: an empty batch"
        for statement in statements:
            if isinstance(statement, exp.Command):
                text = " ".join(f"{statement.this} {statement.expression}".upper().split())
                assert text.startswith(OPAQUE_OK), f"{path.name}: not really parsed: {text[:80]}"


def test_the_dashboard_views_are_create_or_alter_each_in_its_own_batch() -> None:
    for batch in batches(REPO / "sql" / "003_dashboard_views.sql"):
        statements = parse_tsql(batch)
        assert len(statements) == 1  # CREATE VIEW must be the only statement of its batch
        create = statements[0]
        assert isinstance(create, exp.Create) and create.kind == "VIEW"
        assert create.args.get("replace") or "OR ALTER" in create.sql(dialect="tsql").upper()
        assert re.match(r"\s*CREATE OR ALTER VIEW dbo\.", _without_comments(batch))


def _without_comments(batch: str) -> str:
    return "\n".join(line for line in batch.splitlines() if not line.lstrip().startswith("--"))


def test_the_reporting_indexes_are_guarded_and_named_as_documented() -> None:
    text = (REPO / "sql" / "002_indexes.sql").read_text(encoding="utf-8")
    creates = [
        s.find(exp.Create) for b in batches(REPO / "sql" / "002_indexes.sql") for s in parse_tsql(b)
    ]
    assert [c.this.this.name for c in creates if c is not None] == [
        "IX_KYZ_Interval_Total_kWh",
        "IX_KYZ_Interval_Exclude_Alarm",
    ]
    assert "WHERE Total_kWh IS NOT NULL" in text
    assert "INCLUDE (IntervalEnd, kWh, kW, PulseCount)" in text


def test_the_grafana_login_may_only_select_and_the_ingest_login_only_insert_and_select() -> None:
    def grants(name: str) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for batch in batches(REPO / "sql" / name):
            for statement in parse_tsql(batch):
                if isinstance(statement, exp.Grant):
                    privileges = {p.this.name.upper() for p in statement.args["privileges"]}
                    found.setdefault(statement.args["securable"].sql("tsql"), set()).update(
                        privileges
                    )
        return found

    assert grants("004_grafana_readonly_login.sql") == {
        "dbo.KYZ_Interval": {"SELECT"},
        **{f"dbo.{view}": {"SELECT"} for view in VIEWS},
    }
    assert grants("005_ingest_login.sql") == {"dbo.KYZ_Interval": {"INSERT", "SELECT"}}


# -- the same columns in the three dialects ------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def loaded(request: pytest.FixtureRequest) -> tuple[SqlTarget, list]:
    return request.getfixturevalue("sqlite_db" if request.param == "sqlite" else "pg_db")


def test_the_views_have_the_same_column_names_in_tsql_sqlite_and_postgresql(loaded) -> None:
    target, _ = loaded
    expected = tsql_views()
    assert sorted(expected) == sorted(VIEWS)
    for view in VIEWS:
        assert view_columns(target, view) == expected[view], view


def test_the_daily_view_equals_the_reference(loaded) -> None:
    target, records = loaded
    expected = ref_daily(records)
    rows = view_rows(target, "vw_KYZ_DailySummary")
    assert {row["date"]: row for row in rows} == {d: normalize_row(r) for d, r in expected.items()}


def test_the_daily_view_buckets_on_interval_start_and_shows_the_daylight_saving_day(
    loaded,
) -> None:
    target, _ = loaded
    days = {row["date"]: row for row in view_rows(target, "vw_KYZ_DailySummary")}
    feb28 = days[date(2026, 2, 28)]  # only the interval ending 2026-03-01 00:00:00
    assert feb28["interval_count"] == 1
    assert feb28["kW_peak_at"] == datetime(2026, 3, 1, 0, 0)
    assert days[date(2026, 3, 31)]["interval_count"] == 96  # includes the one ending 04-01 00:00
    assert days[date(2026, 3, 8)]["interval_count"] == 92  # spring forward
    assert days[date(2026, 3, 8)]["coverage_pct"] == Decimal("95.83")
    assert days[date(2026, 3, 15)]["interval_count"] == 80  # the 4-hour gap
    assert date(2026, 4, 1) not in days


def test_the_daily_peak_keeps_r17_but_not_invalid_alarms(loaded) -> None:
    target, _ = loaded
    days = {row["date"]: row for row in view_rows(target, "vw_KYZ_DailySummary")}
    r17_day, alarm_day = days[date(2026, 3, 10)], days[date(2026, 3, 12)]
    assert r17_day["kW_peak"] == Decimal(500)
    assert r17_day["kW_peak_excluding_r17"] < 120
    assert r17_day["r17_interval_count"] == 1
    assert alarm_day["kW_peak"] < 120  # the 900 kW alarm interval is no peak
    assert alarm_day["invalid_alarm_count"] == 1
    assert alarm_day["kWh_sum"] > 225  # but its energy counts
    assert days[date(2026, 3, 3)]["kW_peak_at"] == datetime(2026, 3, 3, 10, 0)  # tie: earliest


def test_the_monthly_view_equals_the_reference(loaded) -> None:
    target, records = loaded
    expected = ref_monthly(records, cycle_day=1, now=datetime.now())
    rows = view_rows(target, "vw_KYZ_MonthlyBillingDemandEstimate")
    assert {row["month_start"]: row for row in rows} == {
        m: normalize_row(r) for m, r in expected.items()
    }


def test_the_billing_peak_leaves_out_flagged_intervals_and_the_previous_months_midnight(
    loaded,
) -> None:
    target, _ = loaded
    months = {r["month_start"]: r for r in view_rows(target, "vw_KYZ_MonthlyBillingDemandEstimate")}
    march = months[date(2026, 3, 1)]
    assert march["peak_kW"] == Decimal(300)
    assert march["peak_at"] == datetime(2026, 3, 20, 17, 30)
    assert march["top3_avg_kW"] == Decimal("291.833333")  # (300 + 290 + 285.5) / 3
    assert march["provisional"] is False  # over, and 99.29% covered
    assert months[date(2026, 2, 1)]["peak_kW"] == Decimal(440)
    assert months[date(2026, 2, 1)]["provisional"] is True  # 1 interval: far below 98%


def test_the_latest_view_equals_the_reference(loaded) -> None:
    target, records = loaded
    (row,) = view_rows(target, "vw_KYZ_LatestInterval")
    expected = normalize_row(ref_latest(records, datetime.now()))
    assert abs(row.pop("age_minutes") - expected.pop("age_minutes")) <= 1
    assert row == expected
    assert row["is_stale"] is True


# -- the T-SQL views' logic, run on PostgreSQL ---------------------------------------------------

# What sqlglot's T-SQL -> PostgreSQL output still needs to run: the T-SQL table (BIT flags as
# integers, in a schema that shadows the real one) and the two functions it names for
# DATEFROMPARTS and SYSDATETIMEOFFSET. The plant zone becomes the session's own zone.
TSQL_SHIM = """
CREATE SCHEMA tsql_check;
CREATE TABLE tsql_check.KYZ_Interval AS
    SELECT IntervalEnd, PulseCount, kWh, kW, Total_kWh,
           R17Exclude::integer AS R17Exclude, KyzInvalidAlarm::integer AS KyzInvalidAlarm
    FROM public.KYZ_Interval;
CREATE FUNCTION tsql_check.date_from_parts(y numeric, m numeric, d integer) RETURNS date
    AS $$ SELECT make_date(y::integer, m::integer, d) $$ LANGUAGE sql;
CREATE FUNCTION tsql_check.current_timestamp_l_t_z() RETURNS timestamptz
    AS $$ SELECT now() $$ LANGUAGE sql;
"""


def tsql_view_as_postgres(view: str) -> str:
    for batch in batches(REPO / "sql" / "003_dashboard_views.sql"):
        (create,) = parse_tsql(batch)
        if create.this.name == view:
            text = create.expression.sql(dialect="postgres")
            text = text.replace("dbo.", "")
            return text.replace("N'Eastern Standard Time'", "current_setting('TimeZone')")
    raise AssertionError(view)


def test_the_tsql_views_logic_gives_the_reference_answers(pg_server, pg_db) -> None:
    # Not SQL Server, but the T-SQL text itself, transpiled by sqlglot and run on the fixture
    # month: its bucketing, peaks, ties, coverage and provisional rules are checked for real.
    target, records = pg_db
    database = target.connection_string.split("Database=")[1].split(";")[0]
    pg_server.psql(f"SET ROLE kyz_ingest;\n{TSQL_SHIM}", db=database)
    connection = pyodbc.connect(target.connection_string, autocommit=True)
    try:
        connection.execute("SET search_path = tsql_check, public")

        def rows(view: str) -> list[dict]:
            cursor = connection.execute(tsql_view_as_postgres(view))
            names = [d[0] for d in cursor.description]
            return [normalize_row(dict(zip(names, r, strict=True))) for r in cursor.fetchall()]

        def lower(row: dict) -> dict:
            return {k.lower(): v for k, v in normalize_row(row).items()}

        daily = {r["date"]: r for r in rows("vw_KYZ_DailySummary")}
        assert daily == {d: lower(r) for d, r in ref_daily(records).items()}
        monthly = {r["month_start"]: r for r in rows("vw_KYZ_MonthlyBillingDemandEstimate")}
        expected = ref_monthly(records, cycle_day=1, now=datetime.now())
        assert monthly == {m: lower(r) for m, r in expected.items()}
        (latest,) = rows("vw_KYZ_LatestInterval")
        reference = lower(ref_latest(records, datetime.now()))
        assert abs(latest.pop("age_minutes") - reference.pop("age_minutes")) <= 1
        assert {k: normalize(k, v) for k, v in latest.items()} == {
            k: normalize(k, v) for k, v in reference.items()
        }
    finally:
        connection.close()


# -- the embedded default gets its views ---------------------------------------------------------


def test_an_existing_kyz_db_without_views_gets_them_on_next_start(tmp_path: Path) -> None:
    target = sqlite_target_at(tmp_path)
    table = REPO / "kyzconsole" / "db" / "schema" / "sqlite_001_create_table.sql"
    with sqlite3.connect(tmp_path / "kyz.db") as db:  # as an earlier version left it
        db.executescript(table.read_text(encoding="utf-8"))
    ensure_embedded_database(target)
    ensure_embedded_database(target)  # and again: every start runs it
    with sqlite3.connect(tmp_path / "kyz.db") as db:
        views = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'view'")}
    assert views == set(VIEWS)
