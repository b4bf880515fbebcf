"""The dialects' SQL text and error reading, and how settings become a target.

SQL Server cannot run here: its T-SQL is checked with sqlglot's T-SQL parser, and its errors are
pyodbc.Error values built with the text ODBC Driver 18 produces. SQLite and PostgreSQL errors come
from the real drivers.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pyodbc
import pytest
import sqlglot
from hypothesis import given
from hypothesis import strategies as st
from sqlglot import exp

from kyzconsole.config import ConfigError, load_settings
from kyzconsole.db.dialects import (
    COLUMNS,
    DIALECTS,
    MssqlDialect,
    PostgresDialect,
    SqliteDialect,
    check_table_name,
    dialect_for_driver,
)
from kyzconsole.db.embedded import ensure_embedded_database
from kyzconsole.db.errors import PermanentDatabaseError, TransientDatabaseError
from kyzconsole.db.target import (
    SqlTarget,
    odbc_value,
    parse_connection_string,
    resolve_target,
)
from tests.servers.postgres import INGEST_PASSWORD

REPO = Path(__file__).resolve().parent.parent
TSQL_SCRIPTS = sorted((REPO / "sql").glob("*.sql"))  # sql/postgresql/ is not T-SQL
MSSQL = MssqlDialect()
TABLE = "dbo.KYZ_Interval"
MAX_PARAMETERS = 2100
MAX_VALUES_ROWS = 1000
ROW = (datetime(2024, 3, 1, 0, 15), 7, Decimal("1.000000"), Decimal("4.000000"), None, None, None)
ODBC18 = "[Microsoft][ODBC Driver 18 for SQL Server]"


def parse_tsql(text: str) -> list[exp.Expression]:
    statements = sqlglot.parse(text, read="tsql", error_level=sqlglot.ErrorLevel.RAISE)
    assert statements and all(s is not None for s in statements)
    return [s for s in statements if s is not None]


def placeholders(statement: exp.Expression) -> int:
    return sum(1 for _ in statement.find_all(exp.Placeholder))


def batches(script: str) -> list[str]:
    """sqlcmd/SSMS scripts split on GO lines, which are not T-SQL themselves."""
    parts = re.split(r"(?im)^\s*GO\s*(?:--.*)?$", script)
    return [p for p in parts if p.strip()]


# -- T-SQL text -----------------------------------------------------------------------------


def test_mssql_select_range_is_valid_tsql_locking_the_range_with_two_parameters() -> None:
    text = MSSQL.select_range(TABLE)
    (statement,) = parse_tsql(text)
    assert isinstance(statement, exp.Select)
    assert placeholders(statement) == 2 == text.count("?")
    assert "WITH (UPDLOCK, HOLDLOCK)" in statement.sql(dialect="tsql")
    assert isinstance(statement.args["where"].this, exp.Between)
    assert [c.name for c in statement.expressions] == list(COLUMNS)


@pytest.mark.parametrize("count", [1, 2, 999, 1000])
def test_mssql_select_existing_is_valid_tsql_with_one_parameter_per_key(count: int) -> None:
    text = MSSQL.select_existing(TABLE, count)
    (statement,) = parse_tsql(text)
    assert isinstance(statement, exp.Select)
    assert placeholders(statement) == count == text.count("?")
    assert "WITH (UPDLOCK, HOLDLOCK)" in statement.sql(dialect="tsql")
    assert [c.name for c in statement.expressions] == list(COLUMNS)


@pytest.mark.parametrize("rows", [1, 2, 249, 250])
def test_mssql_insert_is_one_valid_guarded_tsql_insert(rows: int) -> None:
    text = MSSQL.insert(TABLE, rows)
    (statement,) = parse_tsql(text)
    assert isinstance(statement, exp.Insert)
    assert placeholders(statement) == rows * len(COLUMNS) == text.count("?")
    values = statement.find(exp.Values)
    assert values is not None and len(values.expressions) == rows
    where = statement.find(exp.Where)
    assert where is not None and where.find(exp.Exists) is not None
    assert "MERGE" not in text.upper() and "IGNORE_DUP_KEY" not in text.upper()


def test_mssql_table_probe_is_valid_tsql_that_reads_no_rows() -> None:
    (statement,) = parse_tsql(MSSQL.table_probe(TABLE))
    assert isinstance(statement, exp.Select)
    assert [c.name for c in statement.expressions] == list(COLUMNS)
    assert "TOP 0" in statement.sql(dialect="tsql") or "TOP (0)" in MSSQL.table_probe(TABLE)
    assert placeholders(statement) == 0


def test_mssql_batches_stay_within_sql_server_parameter_and_values_limits() -> None:
    select = MSSQL.select_existing(TABLE, MSSQL.keys_per_select)
    insert = MSSQL.insert(TABLE, MSSQL.rows_per_insert)
    assert select.count("?") <= MAX_PARAMETERS
    assert insert.count("?") <= MAX_PARAMETERS
    assert MSSQL.rows_per_insert * len(COLUMNS) <= MAX_PARAMETERS
    assert MSSQL.rows_per_insert <= MAX_VALUES_ROWS
    assert MSSQL.keys_per_select <= MAX_PARAMETERS


def test_a_malformed_statement_fails_the_tsql_check() -> None:
    # The check above has teeth: sqlglot's T-SQL parser raises on broken text.
    with pytest.raises(sqlglot.errors.ParseError):
        parse_tsql(MSSQL.insert(TABLE, 1).replace("SELECT 1 FROM", "SELECT 1 FRM WHERE"))


def test_there_are_tsql_scripts_to_check() -> None:
    assert TSQL_SCRIPTS, "no sql/*.sql T-SQL scripts found"
    assert all("postgresql" not in p.parts for p in TSQL_SCRIPTS)


@pytest.mark.parametrize("script", TSQL_SCRIPTS, ids=lambda p: p.name)
def test_every_tsql_script_parses(script: Path) -> None:
    for batch in batches(script.read_text(encoding="utf-8-sig")):
        parse_tsql(batch)


def test_the_table_script_creates_the_columns_the_dialects_use() -> None:
    (create,) = parse_tsql((REPO / "sql" / "001_create_table.sql").read_text(encoding="utf-8"))
    assert isinstance(create, exp.Create)
    names = [c.name for c in create.find_all(exp.ColumnDef)]
    assert names == list(COLUMNS)
    assert create.this.this.name == "KYZ_Interval" and create.this.this.db == "dbo"


@pytest.mark.parametrize("name", ["KYZ_Interval", "dbo.KYZ_Interval", "s_1.t_2"])
def test_plain_table_names_are_accepted(name: str) -> None:
    assert check_table_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "1abc", "dbo.KYZ;DROP TABLE x", "a.b.c", "[dbo].[x]", "x y", "t--"]
)
def test_table_names_that_could_inject_sql_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        check_table_name(name)


# -- errors from the real SQLite driver -----------------------------------------------------


def _sqlite_connection(target: SqlTarget) -> pyodbc.Connection:
    ensure_embedded_database(target)
    return pyodbc.connect(target.connection_string, autocommit=True)


def _raised(connection: pyodbc.Connection, sql: str, *params: object) -> pyodbc.Error:
    with pytest.raises(pyodbc.Error) as caught:
        connection.execute(sql, *params)
    return caught.value


def _insert_sql(table: str) -> str:
    return f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?)"


def test_sqlite_duplicate_key_from_the_real_driver_is_recognised(sqlite_target: SqlTarget) -> None:
    connection = _sqlite_connection(sqlite_target)
    try:
        connection.execute(_insert_sql(sqlite_target.table), *ROW)
        error = _raised(connection, _insert_sql(sqlite_target.table), *ROW)
        not_null = _raised(
            connection,
            _insert_sql(sqlite_target.table),
            datetime(2024, 3, 2),
            None,
            1,
            1,
            None,
            None,
            None,
        )
    finally:
        connection.close()
    dialect = sqlite_target.dialect
    assert isinstance(dialect, SqliteDialect)
    assert dialect.is_duplicate_key(error)
    assert not dialect.is_duplicate_key(not_null)
    assert not MSSQL.is_duplicate_key(error)


def test_sqlite_missing_table_from_the_real_driver_is_permanent(sqlite_target: SqlTarget) -> None:
    connection = _sqlite_connection(sqlite_target)
    try:
        error = _raised(connection, SqliteDialect().table_probe("No_Such_Table"))
    finally:
        connection.close()
    translated = sqlite_target.dialect.translate(error, sqlite_target.describe())
    assert isinstance(translated, PermanentDatabaseError)
    assert "KYZ_Interval" in str(translated) and "no such table" in str(translated)
    assert not sqlite_target.dialect.is_duplicate_key(error)


def test_sqlite_locked_by_another_writer_from_the_real_driver_is_transient(
    sqlite_target: SqlTarget,
) -> None:
    holder = _sqlite_connection(sqlite_target)
    impatient = pyodbc.connect(
        sqlite_target.connection_string.replace("Timeout=10000", "Timeout=50"), autocommit=True
    )
    try:
        holder.execute("BEGIN IMMEDIATE")
        holder.execute(_insert_sql(sqlite_target.table), *ROW)
        error = _raised(impatient, _insert_sql(sqlite_target.table), *ROW)
        holder.execute("ROLLBACK")
    finally:
        impatient.close()
        holder.close()
    translated = sqlite_target.dialect.translate(error, sqlite_target.describe())
    assert isinstance(translated, TransientDatabaseError)
    assert not sqlite_target.dialect.is_duplicate_key(error)


# -- errors from the real PostgreSQL driver -------------------------------------------------


def test_postgres_duplicate_key_from_the_real_driver_is_recognised(pg_target: SqlTarget) -> None:
    connection = pyodbc.connect(pg_target.connection_string, autocommit=True)
    try:
        connection.execute(_insert_sql(pg_target.table), *ROW)
        duplicate = _raised(connection, _insert_sql(pg_target.table), *ROW)
        not_null = _raised(
            connection,
            _insert_sql(pg_target.table),
            datetime(2024, 3, 2),
            None,
            1,
            1,
            None,
            None,
            None,
        )
        missing = _raised(connection, PostgresDialect().table_probe("No_Such_Table"))
    finally:
        connection.close()
    dialect = pg_target.dialect
    assert isinstance(dialect, PostgresDialect)
    assert isinstance(duplicate, pyodbc.IntegrityError) and duplicate.args[0] == "23505"
    assert dialect.is_duplicate_key(duplicate)
    # A NOT NULL or CHECK violation is an IntegrityError too, but no duplicate: retrying it as
    # a lost race would hide the real cause.
    assert isinstance(not_null, pyodbc.IntegrityError) and not_null.args[0] == "23502"
    assert not dialect.is_duplicate_key(not_null)
    assert not dialect.is_duplicate_key(missing)
    translated = dialect.translate(missing, pg_target.describe())
    assert isinstance(translated, PermanentDatabaseError) and translated.code == "42P01"
    assert "001_create_table.sql" in str(translated)
    assert INGEST_PASSWORD not in str(translated)


# -- SQL Server errors, as ODBC Driver 18 words them ----------------------------------------


def _mssql_error(kind: type[pyodbc.Error], state: str, text: str, call: str) -> pyodbc.Error:
    return kind(state, f"[{state}] {ODBC18}{text} ({call})")


DUPLICATE_2627 = _mssql_error(
    pyodbc.IntegrityError,
    "23000",
    "[SQL Server]Violation of PRIMARY KEY constraint 'PK_KYZ_Interval'. Cannot insert duplicate "
    "key in object 'dbo.KYZ_Interval'. The duplicate key value is (2024-03-01 00:15:00). (2627)",
    "SQLExecDirectW",
)
DUPLICATE_2601 = _mssql_error(
    pyodbc.IntegrityError,
    "23000",
    "[SQL Server]Cannot insert duplicate key row in object 'dbo.KYZ_Interval' with unique index "
    "'UX_KYZ_Interval_End'. The duplicate key value is (2024-03-01 00:15:00). (2601)",
    "SQLExecDirectW",
)
NOT_NULL_515 = _mssql_error(
    pyodbc.IntegrityError,
    "23000",
    "[SQL Server]Cannot insert the value NULL into column 'PulseCount', table "
    "'kyz.dbo.KYZ_Interval'; column does not allow nulls. INSERT fails. (515)",
    "SQLExecDirectW",
)
LOGIN_18456 = _mssql_error(
    pyodbc.InterfaceError,
    "28000",
    "[SQL Server]Login failed for user 'kyz_ingest'. (18456)",
    "SQLDriverConnect",
)
UNAVAILABLE_40613 = _mssql_error(
    pyodbc.OperationalError,
    "HY000",
    "[SQL Server]Database 'kyz' on server 'plant-sql' is not currently available. Please retry "
    "the connection later. If the problem persists, contact customer support, and provide them "
    "the session tracing ID of '2B7C3A4E-0000-0000-0000-000000000000'. (40613)",
    "SQLDriverConnect",
)
BUSY_40501 = _mssql_error(
    pyodbc.OperationalError,
    "42000",
    "[SQL Server]The service is currently busy. Retry the request after 10 seconds. Incident ID: "
    "{B5A1D6F0-1111-2222-3333-444455556666}. Code: 4325376. (40501)",
    "SQLExecDirectW",
)
RESET_10054 = _mssql_error(
    pyodbc.OperationalError,
    "08S01",
    "TCP Provider: An existing connection was forcibly closed by the remote host.\r\n (10054)",
    "SQLExecDirectW",
)
MISSING_208 = _mssql_error(
    pyodbc.ProgrammingError,
    "42S02",
    "[SQL Server]Invalid object name 'dbo.KYZ_Interval'. (208)",
    "SQLExecDirectW",
)
TIMEOUT_HYT00 = _mssql_error(
    pyodbc.OperationalError, "HYT00", "Query timeout expired (0)", "SQLExecDirectW"
)
PERMISSION_229 = _mssql_error(
    pyodbc.ProgrammingError,
    "42000",
    "[SQL Server]The INSERT permission was denied on the object 'KYZ_Interval', database 'kyz', "
    "schema 'dbo'. (229)",
    "SQLExecDirectW",
)


@pytest.mark.parametrize("error", [DUPLICATE_2627, DUPLICATE_2601], ids=["2627", "2601"])
def test_mssql_primary_key_and_unique_index_violations_are_duplicates(
    error: pyodbc.Error,
) -> None:
    assert MSSQL.is_duplicate_key(error)


@pytest.mark.parametrize(
    "error",
    [NOT_NULL_515, LOGIN_18456, UNAVAILABLE_40613, BUSY_40501, RESET_10054, MISSING_208],
    ids=["515", "18456", "40613", "40501", "10054", "208"],
)
def test_mssql_other_errors_are_not_duplicates(error: pyodbc.Error) -> None:
    assert not MSSQL.is_duplicate_key(error)


def test_mssql_login_failure_is_permanent_and_names_the_settings() -> None:
    error = MSSQL.translate(LOGIN_18456, "mssql tcp:plant-sql,1433/kyz table dbo.KYZ_Interval")
    assert isinstance(error, PermanentDatabaseError)
    assert error.code == "18456"
    assert "login failed" in str(error).lower() and "KYZ_SQL_PASSWORD" in str(error)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (UNAVAILABLE_40613, "40613"),
        (BUSY_40501, "40501"),
        (RESET_10054, "10054"),
        (TIMEOUT_HYT00, "0"),
    ],
    ids=["40613", "40501", "10054", "HYT00"],
)
def test_mssql_azure_and_network_errors_are_transient(error: pyodbc.Error, code: str) -> None:
    translated = MSSQL.translate(error, "plant-sql")
    assert isinstance(translated, TransientDatabaseError)
    assert translated.transient and translated.code == code


def test_mssql_missing_table_is_permanent_and_points_at_the_script() -> None:
    translated = MSSQL.translate(MISSING_208, "plant-sql")
    assert isinstance(translated, PermanentDatabaseError) and translated.code == "208"
    assert "sql/001_create_table.sql" in str(translated)


def test_mssql_permission_denied_is_permanent_and_says_what_to_grant() -> None:
    translated = MSSQL.translate(PERMISSION_229, "plant-sql")
    assert isinstance(translated, PermanentDatabaseError) and translated.code == "229"
    assert "grant INSERT and SELECT" in str(translated)


def test_translated_errors_are_one_line_without_driver_prefixes_or_secrets() -> None:
    leaky = _mssql_error(
        pyodbc.Error,
        "HY000",
        "[SQL Server]Bad option in 'Server=x;Uid=u;Pwd={s3cr;et}};Encrypt=yes'",
        "SQLDriverConnect",
    )
    for dialect in DIALECTS.values():
        message = str(dialect.translate(leaky, "target"))
        assert "s3cr" not in message and "Pwd=***" in message
        assert ODBC18 not in message and "(SQLDriverConnect)" not in message
        assert "\n" not in str(dialect.translate(RESET_10054, "target"))


# -- connection strings and targets ---------------------------------------------------------

AWKWARD = ["plain", "a;b", "{braced}", "p}w", "x=y", " lead", "trail ", "}}", "};{", "Pwd=z;"]


@pytest.mark.parametrize("value", AWKWARD)
def test_odbc_values_round_trip_through_the_parser(value: str) -> None:
    text = f"Driver={{PostgreSQL Unicode}};Pwd={odbc_value(value)};Uid={odbc_value('u;1')};X=2"
    parsed = parse_connection_string(text)
    assert parsed == {"driver": "PostgreSQL Unicode", "pwd": value, "uid": "u;1", "x": "2"}


@given(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")))
def test_any_value_round_trips_through_odbc_value_and_the_parser(value: str) -> None:
    parsed = parse_connection_string(f"Server=h;Pwd={odbc_value(value)};Database=d")
    assert parsed["pwd"] == (value.strip() if odbc_value(value) == value else value)
    assert parsed["server"] == "h" and parsed["database"] == "d"


def test_connection_string_keys_are_case_insensitive_and_spaces_tolerated() -> None:
    parsed = parse_connection_string("DRIVER={SQLite3}; Database = /tmp/x y.db ;TIMEOUT=5")
    assert parsed == {"driver": "SQLite3", "database": "/tmp/x y.db", "timeout": "5"}


@pytest.mark.parametrize(
    ("driver", "dialect"),
    [
        ("{PostgreSQL Unicode}", "postgresql"),
        ("{PostgreSQL ANSI}", "postgresql"),
        ("{SQLite3}", "sqlite"),
        ("SQLite3 ODBC Driver", "sqlite"),
        ("{ODBC Driver 18 for SQL Server}", "mssql"),
        ("{FreeTDS}", "mssql"),
    ],
)
def test_resolve_target_picks_the_dialect_from_the_driver(driver: str, dialect: str) -> None:
    target = resolve_target(
        load_settings(sql_connection_string=f"Driver={driver};Server=h;Database=d;Pwd=pw123;")
    )
    assert target.dialect.name == dialect
    assert target.table == DIALECTS[dialect].default_table
    assert dialect_for_driver(driver) is DIALECTS[dialect]
    assert not target.is_embedded


def test_an_unknown_driver_needs_an_explicit_dialect() -> None:
    text = "Driver={Acme ODBC};Server=h;Database=d;"
    with pytest.raises(ConfigError, match="KYZ_SQL_DIALECT"):
        resolve_target(load_settings(sql_connection_string=text))
    target = resolve_target(load_settings(sql_connection_string=text, sql_dialect="postgresql"))
    assert target.dialect.name == "postgresql"


def test_an_unsafe_table_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="KYZ_SQL_TABLE"):
        resolve_target(
            load_settings(
                sql_connection_string="Driver={PostgreSQL Unicode};Server=h;",
                sql_table="x; DROP TABLE y",
            )
        )


def test_sql_server_parts_from_the_environment_build_an_encrypted_connection_string(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    password = "p;w}d{S3cret"
    monkeypatch.setenv("KYZ_SQL_SERVER", "plant.database.windows.net")
    monkeypatch.setenv("KYZ_SQL_DATABASE", "kyz")
    monkeypatch.setenv("KYZ_SQL_USERNAME", "kyz_ingest")
    monkeypatch.setenv("KYZ_SQL_PASSWORD", password)
    target = resolve_target(load_settings())
    parts = parse_connection_string(target.connection_string)
    assert target.dialect.name == "mssql" and target.table == "dbo.KYZ_Interval"
    assert parts["driver"] == "ODBC Driver 18 for SQL Server"
    assert parts["server"] == "tcp:plant.database.windows.net,1433"
    assert parts["database"] == "kyz" and parts["uid"] == "kyz_ingest"
    assert parts["pwd"] == password
    assert parts["encrypt"] == "yes" and parts["trustservercertificate"] == "no"
    assert "authentication" not in parts
    for shown in (target.describe(), target.masked_connection_string()):
        assert password not in shown and "S3cret" not in shown
    assert target.describe() == (
        "mssql tcp:plant.database.windows.net,1433/kyz table dbo.KYZ_Interval"
    )
    assert "Pwd=***" in target.masked_connection_string()


def test_sql_server_parts_keep_an_explicit_port_and_authentication() -> None:
    target = resolve_target(
        load_settings(
            sql_server="tcp:10.0.0.5,14330",
            sql_database="kyz",
            sql_authentication="ActiveDirectoryMsi",
            sql_trust_server_certificate="yes",
        )
    )
    parts = parse_connection_string(target.connection_string)
    assert parts["server"] == "tcp:10.0.0.5,14330"
    assert parts["authentication"] == "ActiveDirectoryMsi"
    assert parts["trustservercertificate"] == "yes" and "pwd" not in parts


def test_postgres_target_never_shows_its_password(pg_target: SqlTarget) -> None:
    assert INGEST_PASSWORD in pg_target.connection_string
    for shown in (pg_target.describe(), pg_target.masked_connection_string()):
        assert INGEST_PASSWORD not in shown and "ingest;pw" not in shown
    assert pg_target.describe().startswith("postgresql 127.0.0.1:")
    assert "Pwd=***" in pg_target.masked_connection_string()


def test_the_embedded_default_target_lives_in_the_data_dir(tmp_path: Path) -> None:
    target = resolve_target(load_settings(data_dir=tmp_path))
    assert target.is_embedded and target.embedded_path == tmp_path / "kyz.db"
    assert target.dialect.name == "sqlite" and target.table == "KYZ_Interval"
    assert target.describe() == f"embedded SQLite {tmp_path / 'kyz.db'}"
    assert parse_connection_string(target.connection_string)["database"] == str(tmp_path / "kyz.db")
