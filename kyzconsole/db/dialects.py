"""What differs between SQL Server, PostgreSQL and SQLite: SQL text and how to read an error.

The writer asks a dialect for statements and for what an error means; it never spells SQL itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

import pyodbc

from kyzconsole.db.errors import DatabaseError, PermanentDatabaseError, TransientDatabaseError
from kyzconsole.masking import SECRETS
from kyzconsole.record.model import SCALE, IntervalRecord

COLUMNS = (
    "IntervalEnd",
    "PulseCount",
    "kWh",
    "kW",
    "Total_kWh",
    "R17Exclude",
    "KyzInvalidAlarm",
)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?\Z")
_NATIVE_NUMBER = re.compile(r"\((\d+)\)")


def check_table_name(table: str) -> str:
    if not _IDENTIFIER.match(table):
        raise ValueError(
            f"table name {table!r} must be NAME or SCHEMA.NAME (letters, digits, underscore)"
        )
    return table


def error_parts(exc: pyodbc.Error) -> tuple[str, str]:
    """(SQLSTATE, message) of a pyodbc error, with secrets scrubbed from the message."""
    args = exc.args
    state = str(args[0]) if args else ""
    message = str(args[1]) if len(args) > 1 else (str(args[0]) if args else type(exc).__name__)
    return state, SECRETS.scrub(message)


def short_message(message: str) -> str:
    """The driver's text without its [vendor][driver] prefixes and trailing call name."""
    text = re.sub(r"^(\[[^\]]*\]\s*)+", "", message.strip())
    text = re.sub(r"\s*\((SQL\w+)\)\s*$", "", text)
    return " ".join(text.split())


@dataclass(frozen=True)
class Dialect:
    """The base behaviour, close to ANSI; subclasses override what their database does."""

    name: ClassVar[str] = "ansi"
    default_table: ClassVar[str] = "KYZ_Interval"
    rows_per_insert: ClassVar[int] = 100
    keys_per_select: ClassVar[int] = 500
    # Significant digits the storage keeps; None means DECIMAL(18,6) exactly.
    stored_digits: ClassVar[int | None] = None

    def select_existing(self, table: str, count: int) -> str:
        marks = ", ".join("?" * count)
        return f"SELECT {', '.join(COLUMNS)} FROM {table} WHERE IntervalEnd IN ({marks})"

    def select_range(self, table: str) -> str:
        """The stored rows from one interval end to another (two parameters), both included."""
        return f"SELECT {', '.join(COLUMNS)} FROM {table} WHERE IntervalEnd BETWEEN ? AND ?"

    def insert(self, table: str, rows: int) -> str:
        values = ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * rows)
        return (
            f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES {values} "
            "ON CONFLICT (IntervalEnd) DO NOTHING"
        )

    def write_lock(self, table: str) -> str | None:
        """A statement that takes the write lock before the batch's read, or None."""
        return None

    def bind(self, r: IntervalRecord) -> tuple[Any, ...]:
        """One record's parameters for the insert, in COLUMNS order."""
        return (r.interval_end, *r.values())

    def permissions(self, table: str) -> tuple[str, list[str]] | None:
        """SQL (and parameters) answering (can insert, can select), or None if it can't tell."""
        return None

    def table_probe(self, table: str) -> str:
        """A statement that fails unless the table has the expected columns."""
        return f"SELECT {', '.join(COLUMNS)} FROM {table} WHERE 1 = 0"

    def comparable(self, value: Decimal | None) -> object:
        """A value as the storage holds it, so a re-sent interval compares equal."""
        if value is None:
            return None
        if self.stored_digits is not None:
            # REAL storage keeps 15 significant digits: compare those, as text.
            return format(float(value), f".{self.stored_digits}g")
        return value.quantize(SCALE)

    def configure(self, connection: pyodbc.Connection, query_timeout: int) -> None:
        connection.timeout = query_timeout

    def is_duplicate_key(self, exc: pyodbc.Error) -> bool:
        # Only unique_violation: NOT NULL, CHECK and foreign-key failures are IntegrityError too,
        # and treating them as a lost race would retry them and hide the real cause.
        state, _ = error_parts(exc)
        return state == "23505"

    def translate(self, exc: pyodbc.Error, target: str) -> DatabaseError:
        """Turn a driver error into a transient or permanent one with advice."""
        state, message = error_parts(exc)
        text = short_message(message)
        if state.startswith("08") or state in ("HYT00", "HYT01", "40001", "40P01"):
            return TransientDatabaseError(
                f"lost or could not open the connection to {target} [{state}]: {text}", code=state
            )
        return PermanentDatabaseError(
            f"{target} refused the statement [{state}]: {text}", code=state
        )


@dataclass(frozen=True)
class SqliteDialect(Dialect):
    name: ClassVar[str] = "sqlite"
    default_table: ClassVar[str] = "KYZ_Interval"
    stored_digits: ClassVar[int | None] = 15  # DECIMAL has REAL storage in SQLite

    def bind(self, r: IntervalRecord) -> tuple[Any, ...]:
        # SQLite stores these as REAL whatever we bind; a float binds several times faster
        # than a Decimal through pyodbc and lands on the same stored value.
        total = None if r.total_kwh is None else float(r.total_kwh)
        return (
            r.interval_end,
            r.pulse_count,
            float(r.kwh),
            float(r.kw),
            total,
            r.r17_exclude,
            r.kyz_invalid_alarm,
        )

    def configure(self, connection: pyodbc.Connection, query_timeout: int) -> None:
        connection.setdecoding(pyodbc.SQL_CHAR, encoding="utf-8")
        connection.setencoding(encoding="utf-8")
        # The busy timeout is in the connection string (Timeout=); the driver has no query timeout.

    def write_lock(self, table: str) -> str | None:
        # The driver opens a deferred transaction: two writers that both read first then
        # deadlock on the upgrade ("database is locked" after the whole busy timeout). A
        # no-op UPDATE first takes the write lock, waiting on the busy timeout as it should.
        return f"UPDATE {table} SET PulseCount = PulseCount WHERE 1 = 0"

    def is_duplicate_key(self, exc: pyodbc.Error) -> bool:
        _, message = error_parts(exc)
        return "UNIQUE constraint failed" in message or "PRIMARY KEY must be unique" in message

    def translate(self, exc: pyodbc.Error, target: str) -> DatabaseError:
        state, message = error_parts(exc)
        text = short_message(message)
        lowered = text.lower()
        if "database is locked" in lowered or "busy" in lowered or "disk i/o" in lowered:
            return TransientDatabaseError(
                f"{target} is locked by another process: {text}; will retry", code=state
            )
        if "no such table" in lowered or "no such column" in lowered:
            return PermanentDatabaseError(
                f"{target} lacks the KYZ_Interval table or its columns ({text}): apply the "
                "SQLite table script, or unset KYZ_SQL_* to use the embedded default",
                code=state,
            )
        if "unable to open" in lowered or "readonly" in lowered or "read-only" in lowered:
            return PermanentDatabaseError(
                f"cannot open {target} for writing ({text}): check the path and permissions",
                code=state,
            )
        if state.startswith("IM") or "driver" in lowered:
            return PermanentDatabaseError(_driver_advice(text, target), code=state)
        return PermanentDatabaseError(f"{target}: {text}", code=state)


@dataclass(frozen=True)
class PostgresDialect(Dialect):
    name: ClassVar[str] = "postgresql"
    default_table: ClassVar[str] = "KYZ_Interval"

    def permissions(self, table: str) -> tuple[str, list[str]] | None:
        return (
            "SELECT has_table_privilege(?, 'INSERT'), has_table_privilege(?, 'SELECT')",
            [table, table],
        )

    def configure(self, connection: pyodbc.Connection, query_timeout: int) -> None:
        # psqlODBC refuses SQL_ATTR_CONNECTION_TIMEOUT (what Connection.timeout sets, HY000
        # "unsupported connect attribute 113"), so the server enforces the query timeout.
        connection.execute(f"SET statement_timeout = {int(query_timeout) * 1000}")
        connection.commit()

    def translate(self, exc: pyodbc.Error, target: str) -> DatabaseError:
        state, message = error_parts(exc)
        text = short_message(message)
        lowered = text.lower()
        if state.startswith("28") or "password authentication failed" in lowered:
            return PermanentDatabaseError(
                f"PostgreSQL login failed on {target} ({text}): check the Uid/Pwd in "
                "KYZ_SQL_CONNECTION_STRING",
                code=state,
            )
        if state.startswith("IM"):
            return PermanentDatabaseError(_driver_advice(text, target), code=state)
        if state == "42P01" or ('relation "' in lowered and "does not exist" in lowered):
            return PermanentDatabaseError(
                f"{target} has no KYZ_Interval table ({text}): apply "
                "sql/postgresql/001_create_table.sql by hand, or set KYZ_SQL_TABLE",
                code=state,
            )
        if state == "42501" or "permission denied" in lowered:
            return PermanentDatabaseError(
                f"the login lacks permission on {target} ({text}): grant INSERT and SELECT "
                "on the table",
                code=state,
            )
        if (
            state.startswith(("08", "57P", "53"))
            or state in ("HYT00", "HYT01", "40001", "40P01", "57014")  # 57014: query timeout
            or "server closed the connection" in lowered
            or "could not connect" in lowered
            or "connection refused" in lowered
            or "no connection to the server" in lowered
            or "connection has been lost" in lowered  # psqlODBC, HY000, on a dropped link
            or "could not send data to server" in lowered
            or "savepoint failed" in lowered  # psqlODBC's statement rollback on a dead link
        ):
            return TransientDatabaseError(
                f"PostgreSQL at {target} is unreachable or restarting [{state}]: {text}",
                code=state,
            )
        return PermanentDatabaseError(
            f"{target} refused the statement [{state}]: {text}", code=state
        )


# Azure SQL's documented transient errors, and the network errors that mean a dropped link.
MSSQL_TRANSIENT = frozenset(
    (926, 4060, 4221, 615, 10928, 10929, 10936, 40197, 40501, 40613, 49918, 49919, 49920)
) | frozenset((0, 20, 64, 233, 10053, 10054, 10060, 1205))
MSSQL_DUPLICATE_KEY = frozenset((2627, 2601))


@dataclass(frozen=True)
class MssqlDialect(Dialect):
    name: ClassVar[str] = "mssql"
    default_table: ClassVar[str] = "dbo.KYZ_Interval"
    # 250 rows x 7 parameters = 1,750, under SQL Server's 2,100 per statement.
    rows_per_insert: ClassVar[int] = 250
    keys_per_select: ClassVar[int] = 1000

    def select_existing(self, table: str, count: int) -> str:
        # UPDLOCK + HOLDLOCK take key-range locks, so no other writer can insert these keys
        # between this read and our insert in the same transaction.
        marks = ", ".join("?" * count)
        return (
            f"SELECT {', '.join(COLUMNS)} FROM {table} WITH (UPDLOCK, HOLDLOCK) "
            f"WHERE IntervalEnd IN ({marks})"
        )

    def select_range(self, table: str) -> str:
        # The same locks over the whole key range, gaps included.
        return (
            f"SELECT {', '.join(COLUMNS)} FROM {table} WITH (UPDLOCK, HOLDLOCK) "
            "WHERE IntervalEnd BETWEEN ? AND ?"
        )

    def insert(self, table: str, rows: int) -> str:
        values = ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * rows)
        columns = ", ".join(COLUMNS)
        return (
            f"INSERT INTO {table} ({columns}) SELECT {', '.join('v.' + c for c in COLUMNS)} "
            f"FROM (VALUES {values}) AS v ({columns}) "
            f"WHERE NOT EXISTS (SELECT 1 FROM {table} AS t WITH (UPDLOCK, HOLDLOCK) "
            "WHERE t.IntervalEnd = v.IntervalEnd)"
        )

    def table_probe(self, table: str) -> str:
        return f"SELECT TOP (0) {', '.join(COLUMNS)} FROM {table}"

    def permissions(self, table: str) -> tuple[str, list[str]] | None:
        return (
            "SELECT HAS_PERMS_BY_NAME(?, 'OBJECT', 'INSERT'), "
            "HAS_PERMS_BY_NAME(?, 'OBJECT', 'SELECT')",
            [table, table],
        )

    def is_duplicate_key(self, exc: pyodbc.Error) -> bool:
        return bool(_native_numbers(exc) & MSSQL_DUPLICATE_KEY)

    def translate(self, exc: pyodbc.Error, target: str) -> DatabaseError:
        state, message = error_parts(exc)
        text = short_message(message)
        numbers = _native_numbers(exc)
        number = max(numbers) if numbers else None
        tag = f"{number}" if number is not None else state
        if 18456 in numbers:
            return PermanentDatabaseError(
                f"SQL login failed on {target} (18456): check KYZ_SQL_USERNAME/KYZ_SQL_PASSWORD "
                "or KYZ_SQL_AUTHENTICATION",
                code="18456",
            )
        if numbers & MSSQL_TRANSIENT or state.startswith("08") or state in ("HYT00", "HYT01"):
            return TransientDatabaseError(
                f"SQL Server at {target} is unreachable or busy ({tag}): {text}; will retry",
                code=tag,
            )
        if 208 in numbers or 207 in numbers:
            return PermanentDatabaseError(
                f"{target} lacks the table or its columns ({tag}): apply sql/001_create_table.sql "
                "by hand, or set KYZ_SQL_TABLE",
                code=tag,
            )
        if numbers & {229, 230, 262, 300}:
            return PermanentDatabaseError(
                f"the login lacks permission on {target} ({tag}): grant INSERT and SELECT on "
                "the table (sql/005_ingest_login.sql)",
                code=tag,
            )
        if state.startswith("IM"):
            return PermanentDatabaseError(_driver_advice(text, target), code=state)
        if "certificate" in text.lower() or "ssl" in text.lower():
            return PermanentDatabaseError(
                f"TLS to {target} failed ({tag}): {text}; check the server name matches its "
                "certificate (KYZ_SQL_TRUST_SERVER_CERTIFICATE=yes only for testing)",
                code=tag,
            )
        return PermanentDatabaseError(f"{target} refused the statement ({tag}): {text}", code=tag)


def _native_numbers(exc: pyodbc.Error) -> set[int]:
    _, message = error_parts(exc)
    return {int(n) for n in _NATIVE_NUMBER.findall(message)}


def _driver_advice(text: str, target: str) -> str:
    installed = ", ".join(pyodbc.drivers()) or "none"
    return f"ODBC driver for {target} is not usable ({text}); installed ODBC drivers: {installed}"


DIALECTS: dict[str, Dialect] = {
    "mssql": MssqlDialect(),
    "postgresql": PostgresDialect(),
    "sqlite": SqliteDialect(),
}


def dialect_for_driver(driver: str) -> Dialect | None:
    lowered = driver.lower()
    if "sql server" in lowered or "msodbcsql" in lowered or "freetds" in lowered:
        return DIALECTS["mssql"]
    if "postgres" in lowered or "psqlodbc" in lowered:
        return DIALECTS["postgresql"]
    if "sqlite" in lowered:
        return DIALECTS["sqlite"]
    return None
