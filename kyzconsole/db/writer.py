"""IntervalWriter: idempotent batch insert into KYZ_Interval that never overwrites a row."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, NamedTuple

import pyodbc

from kyzconsole.db.embedded import ensure_embedded_database
from kyzconsole.db.errors import DatabaseError, TransientDatabaseError
from kyzconsole.db.target import SqlTarget
from kyzconsole.db.values import stored_flag
from kyzconsole.record import IntervalRecord

# How often one batch is re-read and retried when another writer inserted the same keys
# between our read and our insert (or our rows count came up short).
RACE_RETRIES = 5


class Outcome(StrEnum):
    INSERTED = "inserted"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"


class WriteResult(NamedTuple):  # one per record per batch: cheap to make
    record: IntervalRecord
    outcome: Outcome
    existing: IntervalRecord | None = None  # the stored version, for a conflict or duplicate


class IntervalWriter:
    """Writes batches of records through pyodbc; one connection, reopened after a failure."""

    def __init__(self, target: SqlTarget) -> None:
        self.target = target
        self.dialect = target.dialect
        self._connection: pyodbc.Connection | None = None
        self._interval = timedelta(minutes=target.interval_minutes)
        self._embedded_ready = False

    # -- connection -------------------------------------------------------------------------

    def connect(self) -> None:
        """Open the connection if it is not open. Raises DatabaseError."""
        if self._connection is not None:
            return
        if self.target.is_embedded and not self._embedded_ready:
            ensure_embedded_database(self.target)
            self._embedded_ready = True
        try:
            connection = pyodbc.connect(
                self.target.connection_string,
                autocommit=False,
                timeout=self.target.login_timeout,
            )
            self.dialect.configure(connection, self.target.query_timeout)
        except pyodbc.Error as exc:
            raise self.dialect.translate(exc, self.target.describe()) from None
        self._connection = connection

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(pyodbc.Error):
                self._connection.close()
            self._connection = None

    def __enter__(self) -> IntervalWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ping(self) -> float:
        """Check the table is there and readable; return the round trip in seconds."""
        started = time.perf_counter()
        self._run(lambda cursor: cursor.execute(self.dialect.table_probe(self.target.table)))
        return time.perf_counter() - started

    def permissions(self) -> tuple[bool, bool] | None:
        """(can insert, can select) on the table, where the database can say; else None."""
        query = self.dialect.permissions(self.target.table)
        if query is None:
            path = self.target.embedded_path
            if path is not None:
                return os.access(path, os.W_OK), os.access(path, os.R_OK)
            return None
        sql, params = query

        def ask(cursor: pyodbc.Cursor) -> tuple[bool, bool]:
            row = cursor.execute(sql, params).fetchone()
            cursor.connection.rollback()
            return stored_flag(row[0]) is True, stored_flag(row[1]) is True

        return self._run(ask)

    # -- writing ----------------------------------------------------------------------------

    def write(self, records: Sequence[IntervalRecord]) -> list[WriteResult]:
        """Insert what is new, in one transaction; report every record's outcome."""
        if not records:
            return []
        for _ in range(RACE_RETRIES + 1):
            results = self._run(lambda cursor: self._write_once(cursor, records))
            if results is not None:
                return results
        raise TransientDatabaseError(
            f"another writer kept inserting the same intervals into {self.target.describe()}; "
            "will retry the batch"
        )

    def classify(self, records: Sequence[IntervalRecord]) -> list[WriteResult]:
        """What write() would report, without writing (replay --dry-run)."""
        if not records:
            return []

        def read(cursor: pyodbc.Cursor) -> list[WriteResult]:
            results = self._outcomes(records, self._existing(cursor, records))
            cursor.connection.rollback()
            return results

        return self._run(read)

    def _write_once(
        self, cursor: pyodbc.Cursor, records: Sequence[IntervalRecord]
    ) -> list[WriteResult] | None:
        lock = self.dialect.write_lock(self.target.table)
        if lock is not None:
            cursor.execute(lock)
        results = self._outcomes(records, self._existing(cursor, records))
        # Key order: two writers with overlapping batches then lock keys in the same order and
        # one waits for the other instead of deadlocking (PostgreSQL 40P01).
        fresh = sorted(
            (r.record for r in results if r.outcome is Outcome.INSERTED),
            key=lambda record: record.interval_end,
        )
        if self._insert(cursor, fresh) != len(fresh):
            cursor.connection.rollback()  # lost a race: re-read and classify again
            return None
        cursor.connection.commit()
        return results

    def _run(self, work: Any) -> Any:
        self.connect()
        assert self._connection is not None
        try:
            cursor = self._connection.cursor()
            try:
                return work(cursor)
            finally:
                cursor.close()
        except pyodbc.Error as exc:
            self._rollback()
            if self.dialect.is_duplicate_key(exc):
                return None  # the backstop: a concurrent insert beat us to a key
            # After any other failure the connection's state is suspect: retry on a fresh one.
            self.close()
            raise self.dialect.translate(exc, self.target.describe()) from None
        except DatabaseError:
            self._rollback()
            raise

    def _rollback(self) -> None:
        if self._connection is None:
            return
        try:
            self._connection.rollback()
        except pyodbc.Error:
            self.close()

    def _existing(
        self, cursor: pyodbc.Cursor, records: Sequence[IntervalRecord]
    ) -> dict[datetime, IntervalRecord]:
        keys = sorted({r.interval_end for r in records})
        found: dict[datetime, IntervalRecord] = {}
        if len(keys) > 1 and keys[-1] - keys[0] <= self._interval * 2 * len(keys):
            # A batch of mostly consecutive intervals (a file, a backlog): one read of the
            # range costs a fraction of reading the keys by list, and can return at most
            # twice as many rows. Rows that are not in the batch are simply not asked about.
            cursor.execute(self.dialect.select_range(self.target.table), keys[0], keys[-1])
            rows = cursor.fetchall()
        else:
            rows = []
            step = self.dialect.keys_per_select
            for start in range(0, len(keys), step):
                chunk = keys[start : start + step]
                cursor.execute(self.dialect.select_existing(self.target.table, len(chunk)), chunk)
                rows += cursor.fetchall()
        for row in rows:
            stored = self._stored(row)
            found[stored.interval_end] = stored
        return found

    def _stored(self, row: Sequence[Any]) -> IntervalRecord:
        end = row[0]
        if isinstance(end, str):  # a driver that hands back text
            end = datetime.fromisoformat(end)
        return IntervalRecord.trusted(
            interval_end=end.replace(microsecond=0),
            pulse_count=int(row[1]),
            kwh=_decimal(row[2]),
            kw=_decimal(row[3]),
            total_kwh=None if row[4] is None else _decimal(row[4]),
            r17_exclude=stored_flag(row[5]),
            kyz_invalid_alarm=stored_flag(row[6]),
        )

    def _outcomes(
        self, records: Iterable[IntervalRecord], existing: dict[datetime, IntervalRecord]
    ) -> list[WriteResult]:
        seen = dict(existing)
        results = []
        for record in records:
            before = seen.get(record.interval_end)
            if before is None:
                seen[record.interval_end] = record
                results.append(WriteResult(record, Outcome.INSERTED))
            elif self.same_values(before, record):
                results.append(WriteResult(record, Outcome.DUPLICATE, before))
            else:
                results.append(WriteResult(record, Outcome.CONFLICT, before))
        return results

    def same_values(self, a: IntervalRecord, b: IntervalRecord) -> bool:
        """Whether the table would hold `a` and `b` alike: a duplicate, not a conflict."""
        same = self.dialect.comparable
        return (
            a.pulse_count == b.pulse_count
            and same(a.kwh) == same(b.kwh)
            and same(a.kw) == same(b.kw)
            and same(a.total_kwh) == same(b.total_kwh)
            and a.r17_exclude == b.r17_exclude
            and a.kyz_invalid_alarm == b.kyz_invalid_alarm
        )

    def _insert(self, cursor: pyodbc.Cursor, records: Sequence[IntervalRecord]) -> int:
        inserted = 0
        bind = self.dialect.bind
        step = self.dialect.rows_per_insert
        for start in range(0, len(records), step):
            chunk = records[start : start + step]
            params: list[Any] = []
            for r in chunk:
                params += bind(r)
            cursor.execute(self.dialect.insert(self.target.table, len(chunk)), params)
            inserted += cursor.rowcount
        return inserted


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))
