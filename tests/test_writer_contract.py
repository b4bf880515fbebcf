"""IntervalWriter's contract, proved against real databases: embedded SQLite and PostgreSQL.

Every test checks what the database really holds through its own plain pyodbc connection.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyodbc
import pytest

from kyzconsole.config import load_settings
from kyzconsole.db.errors import PermanentDatabaseError, TransientDatabaseError
from kyzconsole.db.target import SqlTarget, resolve_target
from kyzconsole.db.writer import IntervalWriter, Outcome, WriteResult
from kyzconsole.record import IntervalRecord, parse_payload
from tests.conftest import new_database, pg_target_for
from tests.servers.postgres import INGEST_PASSWORD, INGEST_USER, PostgresServer

START = datetime(2024, 3, 1)
SIX = Decimal("0.000001")
COLUMNS = "IntervalEnd, PulseCount, kWh, kW, Total_kWh, R17Exclude, KyzInvalidAlarm"


def end(i: int) -> datetime:
    return START + timedelta(minutes=15 * i)


def record(i: int, **fields: Any) -> IntervalRecord:
    """Interval number i after START; payload field names override the defaults."""
    data: dict[str, Any] = {
        "intervalEnd": end(i).strftime("%Y-%m-%d %H:%M:%S"),
        "pulseCount": 100 + i,
        "kWh": Decimal("2.5"),
        "kW": Decimal("10"),
    }
    data.update(fields)
    return IntervalRecord.model_validate(data)


def raw_rows(target: SqlTarget, where: str = "") -> list[tuple[Any, ...]]:
    """The table's rows exactly as the driver returns them, ordered by IntervalEnd."""
    connection = pyodbc.connect(target.connection_string, autocommit=True)
    try:
        sql = f"SELECT {COLUMNS} FROM {target.table} {where} ORDER BY IntervalEnd"
        return [tuple(row) for row in connection.execute(sql).fetchall()]
    finally:
        connection.close()


def _flag(value: Any) -> bool | None:
    # psqlODBC returns BOOLEAN as '1'/'0' text; the SQLite driver returns integers.
    if value is None:
        return None
    assert value in (True, False, 1, 0, "1", "0"), f"unexpected flag {value!r}"
    return value in (True, 1, "1")


def _number(value: Any) -> Decimal | None:
    # PostgreSQL returns Decimal; SQLite keeps DECIMAL as REAL and the driver returns text.
    return None if value is None else Decimal(str(value)).quantize(SIX)


def stored(target: SqlTarget) -> list[tuple[Any, ...]]:
    """The rows as comparable values: (end, pulses, kWh, kW, total, r17, alarm)."""
    rows = []
    for row in raw_rows(target):
        moment = row[0] if isinstance(row[0], datetime) else datetime.fromisoformat(row[0])
        rows.append(
            (
                moment,
                int(row[1]),
                _number(row[2]),
                _number(row[3]),
                _number(row[4]),
                _flag(row[5]),
                _flag(row[6]),
            )
        )
    return rows


def as_row(r: IntervalRecord) -> tuple[Any, ...]:
    return (
        r.interval_end,
        r.pulse_count,
        r.kwh,
        r.kw,
        r.total_kwh,
        r.r17_exclude,
        r.kyz_invalid_alarm,
    )


def outcomes(results: list[WriteResult]) -> list[Outcome]:
    return [r.outcome for r in results]


def count_rows(target: SqlTarget) -> int:
    connection = pyodbc.connect(target.connection_string, autocommit=True)
    try:
        return connection.execute(f"SELECT COUNT(*) FROM {target.table}").fetchone()[0]
    finally:
        connection.close()


# -- outcomes -------------------------------------------------------------------------------


def test_a_new_interval_is_inserted_with_all_its_values(any_target: SqlTarget) -> None:
    r = record(1, total_kWh=Decimal("987.654321"), r17Exclude=True, kyzInvalidAlarm=False)
    with IntervalWriter(any_target) as writer:
        results = writer.write([r])
    assert outcomes(results) == [Outcome.INSERTED]
    assert results[0].record == r and results[0].existing is None
    assert stored(any_target) == [
        (end(1), 101, Decimal("2.500000"), Decimal("10.000000"), Decimal("987.654321"), True, False)
    ]


def test_the_same_interval_sent_again_is_a_duplicate_and_stays_one_row(
    any_target: SqlTarget,
) -> None:
    r = record(1, total_kWh=5, r17Exclude=False, kyzInvalidAlarm=True)
    with IntervalWriter(any_target) as writer:
        assert outcomes(writer.write([r])) == [Outcome.INSERTED]
        again = writer.write([r])
    assert outcomes(again) == [Outcome.DUPLICATE]
    assert again[0].existing is not None and as_row(again[0].existing) == as_row(r)
    assert stored(any_target) == [as_row(r)]


def test_a_resent_payload_with_numbers_written_differently_is_a_duplicate(
    any_target: SqlTarget,
) -> None:
    first = parse_payload(
        b'{"intervalEnd": "2024-03-01 00:15:00", "pulseCount": 7, "kWh": 1, "kW": 4,'
        b' "total_kWh": 1234.5, "r17Exclude": 0}'
    ).record
    resent = parse_payload(
        b'{"intervalEnd": "2024-03-01 00:15:00", "pulseCount": 7.0, "kWh": 1.000000,'
        b' "kW": 4.0000, "total_kWh": 1.2345e3, "r17Exclude": false}'
    ).record
    with IntervalWriter(any_target) as writer:
        assert outcomes(writer.write([first])) == [Outcome.INSERTED]
        assert outcomes(writer.write([resent])) == [Outcome.DUPLICATE]
    assert stored(any_target) == [
        (end(1), 7, Decimal("1.000000"), Decimal("4.000000"), Decimal("1234.500000"), False, None)
    ]


def test_other_values_for_a_stored_interval_are_a_conflict_carrying_the_stored_row(
    any_target: SqlTarget,
) -> None:
    original = record(1, total_kWh=Decimal("100.000001"), r17Exclude=True)
    with IntervalWriter(any_target) as writer:
        writer.write([original])
        for changed in (
            record(1, kWh=Decimal("2.500001"), total_kWh=Decimal("100.000001"), r17Exclude=True),
            record(1, total_kWh=Decimal("100.000002"), r17Exclude=True),
            record(1, total_kWh=Decimal("100.000001"), r17Exclude=False),
            record(1, total_kWh=Decimal("100.000001")),
            record(1, pulseCount=999, total_kWh=Decimal("100.000001"), r17Exclude=True),
        ):
            (result,) = writer.write([changed])
            assert result.outcome is Outcome.CONFLICT, changed
            assert result.record == changed
            assert result.existing is not None
            assert as_row(result.existing) == as_row(original)
    assert stored(any_target) == [as_row(original)]


def test_a_conflict_never_overwrites_and_the_rest_of_the_batch_goes_in(
    any_target: SqlTarget,
) -> None:
    original = record(2, kWh=Decimal("3"), kW=Decimal("12"))
    with IntervalWriter(any_target) as writer:
        writer.write([original])
        results = writer.write(
            [record(1), record(2, kWh=Decimal("4"), kW=Decimal("16")), record(3)]
        )
    assert outcomes(results) == [Outcome.INSERTED, Outcome.CONFLICT, Outcome.INSERTED]
    assert stored(any_target) == [as_row(record(1)), as_row(original), as_row(record(3))]


def test_the_same_key_twice_in_one_batch_with_the_same_values_is_a_duplicate(
    any_target: SqlTarget,
) -> None:
    with IntervalWriter(any_target) as writer:
        results = writer.write([record(1), record(2), record(1)])
    assert outcomes(results) == [Outcome.INSERTED, Outcome.INSERTED, Outcome.DUPLICATE]
    assert stored(any_target) == [as_row(record(1)), as_row(record(2))]


def test_the_same_key_twice_in_one_batch_with_other_values_keeps_the_first(
    any_target: SqlTarget,
) -> None:
    first, second = record(1), record(1, kWh=Decimal("9"), kW=Decimal("36"))
    with IntervalWriter(any_target) as writer:
        results = writer.write([first, second])
    assert outcomes(results) == [Outcome.INSERTED, Outcome.CONFLICT]
    assert results[1].existing == first
    assert stored(any_target) == [as_row(first)]


def test_missing_optional_fields_are_stored_as_null(any_target: SqlTarget) -> None:
    bare = record(1)
    some = record(2, kyzInvalidAlarm=True)
    with IntervalWriter(any_target) as writer:
        assert outcomes(writer.write([bare, some])) == [Outcome.INSERTED] * 2
    (row1, row2) = raw_rows(any_target)
    assert row1[4] is None and row1[5] is None and row1[6] is None
    assert row2[4] is None and row2[5] is None and row2[6] is not None
    assert stored(any_target) == [
        (end(1), 101, Decimal("2.500000"), Decimal("10.000000"), None, None, None),
        (end(2), 102, Decimal("2.500000"), Decimal("10.000000"), None, None, True),
    ]
    nulls = raw_rows(any_target, "WHERE Total_kWh IS NULL AND R17Exclude IS NULL")
    assert [r[1] for r in nulls] == [101, 102]


def test_flags_and_nulls_reach_postgres_as_real_booleans_and_nulls(
    pg_server: PostgresServer, pg_target: SqlTarget
) -> None:
    with IntervalWriter(pg_target) as writer:
        writer.write(
            [
                record(1, r17Exclude=True, kyzInvalidAlarm=False, total_kWh=Decimal("0.1")),
                record(2),
            ]
        )
    database = pg_target.connection_string.split("Database=")[1].split(";")[0]
    # What the server holds, read by psql rather than through psqlODBC's type mapping.
    text = pg_server.psql(
        "SELECT intervalend, pulsecount, kwh, kw, coalesce(total_kwh::text, 'NULL'),"
        " coalesce(r17exclude::text, 'NULL'), coalesce(kyzinvalidalarm::text, 'NULL'),"
        " pg_typeof(r17exclude) FROM kyz_interval ORDER BY intervalend",
        db=database,
    )
    assert text.splitlines() == [
        "2024-03-01 00:15:00|101|2.500000|10.000000|0.100000|true|false|boolean",
        "2024-03-01 00:30:00|102|2.500000|10.000000|NULL|NULL|NULL|boolean",
    ]


def test_decimals_are_stored_exactly_at_six_places(any_target: SqlTarget) -> None:
    values = ["0.1", "12345.678901", "0.000001", "999999999999.999999", "0"]
    records = [
        record(i, kWh=Decimal(v), kW=Decimal(v), total_kWh=Decimal(v))
        for i, v in enumerate(values, 1)
    ]
    with IntervalWriter(any_target) as writer:
        writer.write(records)
        # Read back and re-sent: every one compares equal to what is stored.
        assert outcomes(writer.write(records)) == [Outcome.DUPLICATE] * len(values)
    rows = raw_rows(any_target)
    if any_target.dialect.name == "postgresql":
        # NUMERIC(18,6): the exact digits, always six places.
        assert [str(r[2]) for r in rows] == [
            "0.100000",
            "12345.678901",
            "0.000001",
            "999999999999.999999",
            "0.000000",
        ]
        assert all(isinstance(r[c], Decimal) for r in rows for c in (2, 3, 4))
    else:
        # SQLite keeps REAL: the six-place values that fit 15 digits come back exactly.
        assert [Decimal(str(r[2])).quantize(SIX) for r in rows[:3]] == [
            Decimal("0.100000"),
            Decimal("12345.678901"),
            Decimal("0.000001"),
        ]
    assert [r[2] for r in stored(any_target)][:3] == [
        Decimal("0.100000"),
        Decimal("12345.678901"),
        Decimal("0.000001"),
    ]


@pytest.mark.parametrize(
    "spread",
    [1, 500],  # consecutive intervals (read as one range) and intervals days apart (by key)
    ids=["read-as-a-range", "read-by-key"],
)
def test_a_batch_meets_exactly_its_own_stored_rows_however_far_apart(
    any_target: SqlTarget, spread: int
) -> None:
    numbers = [n * spread for n in range(0, 40, 2)]  # every other interval of a span
    between = [record(n + 1, pulseCount=7) for n in numbers[:-1]]  # stored, not in the batch
    stored_first = [record(n, pulseCount=8) for n in numbers[:5]]  # stored, in the batch
    with IntervalWriter(any_target) as writer:
        writer.write(between + stored_first)
        results = writer.write([record(n) for n in numbers])
    assert outcomes(results) == [Outcome.CONFLICT] * 5 + [Outcome.INSERTED] * 15
    assert [r.existing for r in results[:5]] == stored_first
    rows = {row[0]: row[1] for row in stored(any_target)}
    assert len(rows) == len(between) + len(numbers)
    assert all(rows[end(n + 1)] == 7 for n in numbers[:-1])  # the rows between, untouched


def test_a_large_batch_is_inserted_exactly_once(any_target: SqlTarget) -> None:
    n = 3000
    dialect = any_target.dialect
    assert n > dialect.rows_per_insert and n > dialect.keys_per_select
    records = [record(i, total_kWh=Decimal(i) / 1000, r17Exclude=i % 2 == 0) for i in range(n)]
    with IntervalWriter(any_target) as writer:
        first = writer.write(records)
        again = writer.write(list(reversed(records)))
    assert Counter(outcomes(first)) == {Outcome.INSERTED: n}
    assert Counter(outcomes(again)) == {Outcome.DUPLICATE: n}
    assert count_rows(any_target) == n
    assert stored(any_target) == [as_row(r) for r in records]


def test_an_empty_batch_writes_nothing(any_target: SqlTarget) -> None:
    with IntervalWriter(any_target) as writer:
        assert writer.write([]) == []
        assert writer.classify([]) == []
        writer.ping()
    assert count_rows(any_target) == 0


def test_classify_is_a_dry_run_that_writes_nothing(any_target: SqlTarget) -> None:
    with IntervalWriter(any_target) as writer:
        writer.write([record(1), record(2)])
        before = stored(any_target)
        results = writer.classify([record(1), record(2, kWh=Decimal("7")), record(3), record(3)])
        assert outcomes(results) == [
            Outcome.DUPLICATE,
            Outcome.CONFLICT,
            Outcome.INSERTED,
            Outcome.DUPLICATE,
        ]
        assert results[1].existing is not None
        assert as_row(results[1].existing) == as_row(record(2))
        # The same writer still writes afterwards: the dry run left no transaction behind.
        assert stored(any_target) == before
        assert outcomes(writer.write([record(3)])) == [Outcome.INSERTED]
    assert stored(any_target) == [as_row(record(1)), as_row(record(2)), as_row(record(3))]


def test_two_writers_racing_on_the_same_keys_store_each_key_once(any_target: SqlTarget) -> None:
    keys, window, rounds = 60, 30, 8
    barrier = threading.Barrier(2, timeout=30)
    reports: dict[str, list[WriteResult]] = {"a": [], "b": []}
    errors: list[BaseException] = []

    def run(name: str, seed: int) -> None:
        rng = random.Random(seed)
        try:
            with IntervalWriter(any_target) as writer:
                writer.connect()
                for n in range(rounds):
                    first = (n * (keys - window)) // (rounds - 1)
                    batch = [record(i) for i in range(first, first + window)]
                    rng.shuffle(batch)
                    barrier.wait()
                    reports[name] += writer.write(batch)
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(name, seed)) for seed, name in enumerate("ab")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    every = reports["a"] + reports["b"]
    assert len(every) == 2 * rounds * window
    inserted = Counter(r.record.interval_end for r in every if r.outcome is Outcome.INSERTED)
    assert inserted == {end(i): 1 for i in range(keys)}
    assert Counter(outcomes(every)) == {
        Outcome.INSERTED: keys,
        Outcome.DUPLICATE: len(every) - keys,
    }
    assert stored(any_target) == [as_row(record(i)) for i in range(keys)]


# -- errors ---------------------------------------------------------------------------------


def test_a_stopped_postgres_is_transient_and_the_same_writer_recovers_after_restart(
    pg_server: PostgresServer, pg_target: SqlTarget
) -> None:
    writer = IntervalWriter(pg_target)
    try:
        assert outcomes(writer.write([record(1)])) == [Outcome.INSERTED]
        pg_server.stop()
        try:
            # First on the connection the server dropped, then on a refused fresh connection.
            for _ in range(2):
                with pytest.raises(TransientDatabaseError) as caught:
                    writer.write([record(2)])
                assert INGEST_PASSWORD not in str(caught.value)
                assert "127.0.0.1" in str(caught.value)
        finally:
            pg_server.start()
        assert outcomes(writer.write([record(2), record(1)])) == [
            Outcome.INSERTED,
            Outcome.DUPLICATE,
        ]
    finally:
        writer.close()
    assert stored(pg_target) == [as_row(record(1)), as_row(record(2))]


def test_the_query_timeout_cancels_a_blocked_write_as_transient_on_postgres(
    pg_server: PostgresServer, pg_target: SqlTarget
) -> None:
    database = pg_target.connection_string.split("Database=")[1].split(";")[0]
    target = pg_target_for(pg_server, database, sql_query_timeout=1)
    locked = threading.Event()

    def hold_table_lock() -> None:
        locked.set()
        pg_server.psql(
            "BEGIN; LOCK TABLE kyz_interval IN ACCESS EXCLUSIVE MODE;"
            " SELECT pg_sleep(2.5); COMMIT;",
            db=database,
        )

    with IntervalWriter(target) as writer:
        writer.write([record(1)])
        holder = threading.Thread(target=hold_table_lock)
        holder.start()
        try:
            locked.wait(5)
            for _ in range(100):  # until the DBA's session really holds the lock
                granted = pg_server.psql(
                    "SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' "
                    "AND relation = 'kyz_interval'::regclass AND granted",
                    db=database,
                )
                if granted.strip() == "1":
                    break
            started = time.monotonic()
            with pytest.raises(TransientDatabaseError) as caught:
                writer.write([record(2)])
            assert time.monotonic() - started < 2.4
            assert caught.value.code == "57014"
        finally:
            holder.join(10)
        assert outcomes(writer.write([record(2)])) == [Outcome.INSERTED]
    assert stored(pg_target) == [as_row(record(1)), as_row(record(2))]


def test_a_row_the_dbas_check_constraint_refuses_is_permanent_not_a_lost_race(
    pg_server: PostgresServer, pg_target: SqlTarget
) -> None:
    database = pg_target.connection_string.split("Database=")[1].split(";")[0]
    pg_server.psql(
        "ALTER TABLE kyz_interval ADD CONSTRAINT ck_kwh_sane CHECK (kWh < 1000)", db=database
    )
    with IntervalWriter(pg_target) as writer:
        with pytest.raises(PermanentDatabaseError) as caught:
            writer.write([record(1), record(2, kWh=Decimal("5000"), kW=Decimal("20000"))])
        assert caught.value.code == "23514"
        assert "ck_kwh_sane" in str(caught.value)
        assert count_rows(pg_target) == 0  # the whole batch rolled back
        assert outcomes(writer.write([record(1)])) == [Outcome.INSERTED]
    assert stored(pg_target) == [as_row(record(1))]


def test_a_wrong_password_is_permanent_login_failed_without_the_password(
    pg_server: PostgresServer, pg_target: SqlTarget
) -> None:
    wrong = "Wr0ng;{pass}word"
    database = pg_target.connection_string.split("Database=")[1].split(";")[0]
    settings = load_settings(
        sql_connection_string=pg_server.connection_string(database, INGEST_USER, wrong)
    )
    target = resolve_target(settings)
    with IntervalWriter(target) as writer, pytest.raises(PermanentDatabaseError) as caught:
        writer.write([record(1)])
    message = str(caught.value)
    assert "login failed" in message.lower()
    assert wrong not in message and "Wr0ng" not in message
    assert INGEST_PASSWORD not in message
    assert "password authentication failed" in message  # the server's own reason, kept
    assert count_rows(pg_target) == 0


def test_a_database_without_the_table_is_permanent_and_names_the_table(
    pg_server: PostgresServer,
) -> None:
    if not pg_server.running:
        pg_server.start()
    database = new_database(pg_server, with_table=False)
    target = pg_target_for(pg_server, database)
    try:
        for attempt in ("write", "ping", "classify"):
            with IntervalWriter(target) as writer, pytest.raises(PermanentDatabaseError) as caught:
                if attempt == "ping":
                    writer.ping()
                else:
                    getattr(writer, attempt)([record(1)])
            message = str(caught.value)
            assert "KYZ_Interval" in message and "001_create_table.sql" in message, message
            assert INGEST_PASSWORD not in message
        tables = pg_server.psql(
            "SELECT count(*) FROM pg_tables WHERE tablename = 'kyz_interval'", db=database
        )
        assert tables.strip() == "0"  # the app never ran DDL on the external database
    finally:
        pg_server.drop_database(database)


def test_the_embedded_default_file_and_table_are_created_on_first_use(tmp_path: Path) -> None:
    data_dir = tmp_path / "not" / "yet" / "there"
    target = resolve_target(load_settings(data_dir=data_dir))
    assert target.is_embedded and target.embedded_path == data_dir / "kyz.db"
    assert not target.embedded_path.exists()
    with IntervalWriter(target) as writer:
        assert outcomes(writer.write([record(1)])) == [Outcome.INSERTED]
    assert target.embedded_path.is_file()
    connection = pyodbc.connect(target.connection_string, autocommit=True)
    try:
        names = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            ).fetchall()
        ]
    finally:
        connection.close()
    assert names == ["KYZ_Interval"]
    assert stored(target) == [as_row(record(1))]
    # A second writer on the existing file finds the table and the row.
    with IntervalWriter(target) as writer:
        assert outcomes(writer.write([record(1)])) == [Outcome.DUPLICATE]
    assert count_rows(target) == 1
