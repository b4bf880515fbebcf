"""kyzconsole.db.reports on real databases: the same answers as the views and the reference."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from kyzconsole.config import ConfigError, load_settings
from kyzconsole.db import reports
from kyzconsole.db.errors import DatabaseError
from kyzconsole.db.target import SqlTarget
from kyzconsole.record import IntervalRecord
from tests.conftest import pg_target_for
from tests.reporting_fixture import (
    GAP_RUNS,
    normalize_row,
    ref_daily,
    ref_gaps,
    ref_latest,
    ref_monthly,
    view_columns,
    view_rows,
)
from tests.servers.postgres import PostgresServer, free_port

FEB_1, APR_30 = date(2026, 2, 1), date(2026, 4, 30)


@pytest.fixture(params=["sqlite", "postgresql"])
def loaded(
    request: pytest.FixtureRequest,
) -> Iterator[tuple[reports.ReportReader, SqlTarget, list]]:
    target, records = request.getfixturevalue("sqlite_db" if request.param == "sqlite" else "pg_db")
    with reports.ReportReader(target) as reader:
        yield reader, target, records


def rows(items: list) -> list[dict]:
    return [normalize_row(reports.as_dict(item)) for item in items]


def upto(records: list[IntervalRecord], now: datetime) -> list[IntervalRecord]:
    return [r for r in records if r.interval_end <= now]


# -- the same answers ---------------------------------------------------------------------------


def test_daily_equals_the_reference_and_the_daily_view(loaded) -> None:
    reader, target, records = loaded
    found = rows(reports.daily(reader, FEB_1, APR_30, 15))
    assert found == [normalize_row(r) for r in ref_daily(records).values()]
    view = sorted(view_rows(target, "vw_KYZ_DailySummary"), key=lambda r: r["date"])
    assert found == view


def test_a_days_report_holds_the_interval_ending_at_the_next_midnight_not_its_own(loaded) -> None:
    reader, _, _ = loaded
    (day,) = reports.daily(reader, date(2026, 3, 1), date(2026, 3, 1), 15)
    assert day.interval_count == 96
    assert day.kW_peak_at != datetime(2026, 3, 1, 0, 0)  # that one is 28 February's


def test_monthly_equals_the_reference_and_the_monthly_view(loaded) -> None:
    reader, target, records = loaded
    now = datetime.now()
    found = rows(reports.monthly(reader, FEB_1, APR_30, 15, 1, now))
    assert found == [normalize_row(r) for r in ref_monthly(records, 1, now).values()]
    view = sorted(
        view_rows(target, "vw_KYZ_MonthlyBillingDemandEstimate"), key=lambda r: r["month_start"]
    )
    assert found == view


def test_a_billing_cycle_day_of_15_shifts_the_period_boundaries(loaded) -> None:
    reader, _, records = loaded
    now = datetime.now()
    found = reports.monthly(reader, FEB_1, APR_30, 15, 15, now)
    assert rows(found) == [normalize_row(r) for r in ref_monthly(records, 15, now).values()]
    first, second = found
    assert (first.month_start, second.month_start) == (date(2026, 2, 15), date(2026, 3, 15))
    # Feb 28's midnight interval (440 kW) and 1-14 March are one period; the rest the next.
    assert (first.peak_kW, first.peak_at) == (440, datetime(2026, 3, 1, 0, 0))
    assert (second.peak_kW, second.peak_at) == (300, datetime(2026, 3, 20, 17, 30))
    assert first.provisional and second.provisional  # neither period is covered by the data


def test_latest_equals_the_reference_and_the_latest_view(loaded) -> None:
    reader, target, records = loaded
    now = datetime.now().replace(microsecond=0)
    found = normalize_row(reports.as_dict(reports.latest(reader, 15, now)))
    assert found == normalize_row(ref_latest(records, now))
    (view,) = view_rows(target, "vw_KYZ_LatestInterval")
    assert abs(view.pop("age_minutes") - found.pop("age_minutes")) <= 1
    assert view == found


def test_today_so_far_counts_received_against_expected(loaded) -> None:
    reader, _, records = loaded
    now = datetime(2026, 3, 15, 13, 7)  # the day of the 08:15-12:00 gap
    today = reports.today(reader, 15, now)
    expected = ref_daily(upto(records, now))[date(2026, 3, 15)]
    assert normalize_row(reports.as_dict(today)) == normalize_row(
        expected | {"expected_so_far": 52}
    )
    assert today.interval_count == 52 - 16


def test_the_month_to_date_estimate_is_provisional_and_ignores_the_future(loaded) -> None:
    reader, _, records = loaded
    now = datetime(2026, 3, 20, 17, 10)  # 20 minutes before the month's billing peak
    estimate = reports.month_to_date(reader, 15, 1, now)
    assert estimate is not None
    expected = ref_monthly(upto(records, now), 1, now)[date(2026, 3, 1)]
    assert normalize_row(reports.as_dict(estimate)) == normalize_row(expected)
    assert estimate.provisional
    assert estimate.peak_kW == 290  # the 300 kW interval has not happened yet


def test_gaps_finds_exactly_the_missing_runs(loaded) -> None:
    reader, _, records = loaded
    after, until = datetime(2026, 3, 1, 0, 0), datetime(2026, 4, 1, 0, 0)
    found = [(g.first, g.last, g.count) for g in reports.gaps(reader, after, until, 15)]
    assert found == GAP_RUNS == ref_gaps(records, after, until)


def test_gaps_at_the_edges_of_the_range(loaded) -> None:
    reader, _, records = loaded
    # Nothing stored after 1 April 00:00: the whole tail is one run; a range ending between
    # grid points stops at the last interval end before it.
    after, until = datetime(2026, 3, 31, 12, 0), datetime(2026, 4, 1, 6, 7)
    found = [(g.first, g.last, g.count) for g in reports.gaps(reader, after, until, 15)]
    assert found == [(datetime(2026, 4, 1, 0, 15), datetime(2026, 4, 1, 6, 0), 24)]
    assert found == ref_gaps(records, after, datetime(2026, 4, 1, 6, 0))
    inside = reports.gaps(reader, datetime(2026, 3, 15, 9, 7), datetime(2026, 3, 15, 9, 44), 15)
    assert [(g.first, g.last, g.count) for g in inside] == [
        (datetime(2026, 3, 15, 9, 15), datetime(2026, 3, 15, 9, 30), 2)
    ]
    assert reports.gaps(reader, datetime(2026, 3, 1), datetime(2026, 3, 8), 15) == []


def test_the_report_rows_carry_the_views_column_names(loaded) -> None:
    _, target, _ = loaded
    for item, view in (
        (reports.Latest, "vw_KYZ_LatestInterval"),
        (reports.DaySummary, "vw_KYZ_DailySummary"),
        (reports.BillingPeriod, "vw_KYZ_MonthlyBillingDemandEstimate"),
    ):
        assert [f.name for f in fields(item)] == view_columns(target, view)


def test_an_unreachable_database_is_a_database_error(pg_server: PostgresServer) -> None:
    target = pg_target_for(pg_server, "nowhere", sql_login_timeout=2)
    target = SqlTarget(
        connection_string=target.connection_string.replace(
            f"Port={pg_server.port}", f"Port={free_port()}"
        ),
        dialect=target.dialect,
        table=target.table,
        login_timeout=2,
    )
    with reports.ReportReader(target) as reader, pytest.raises(DatabaseError) as caught:
        reports.latest(reader, 15, datetime.now())
    assert caught.value.transient
    assert "unreachable" in str(caught.value)


# -- the rules, without a database --------------------------------------------------------------


def test_billing_periods_start_on_the_cycle_day_across_a_year_end() -> None:
    assert reports.period_start(date(2026, 1, 10), 15) == date(2025, 12, 15)
    assert reports.period_start(date(2026, 1, 15), 15) == date(2026, 1, 15)
    assert reports.period_start(date(2026, 12, 31), 1) == date(2026, 12, 1)


def test_the_interval_length_sets_the_day_and_the_expected_count() -> None:
    midnight = datetime(2026, 3, 2, 0, 0)
    assert reports.day_of(midnight, 30) == date(2026, 3, 1)
    assert reports.day_of(midnight + timedelta(minutes=5), 5) == date(2026, 3, 2)
    row = reports.Interval(midnight, 1, Decimal(1), Decimal(2), None, None, None)
    day = reports.summarize_day(date(2026, 3, 1), [row], 30)
    assert (day.expected_interval_count, str(day.coverage_pct)) == (48, "2.08")


def test_the_billing_cycle_day_setting_takes_1_to_28(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().billing_cycle_day == 1
    monkeypatch.setenv("KYZ_BILLING_CYCLE_DAY", "15")
    assert load_settings().billing_cycle_day == 15
    monkeypatch.setenv("KYZ_BILLING_CYCLE_DAY", "29")
    with pytest.raises(ConfigError, match="KYZ_BILLING_CYCLE_DAY"):
        load_settings()
