"""Which database to write to: the connection string, its dialect and table, from settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kyzconsole.config import ConfigError, Settings
from kyzconsole.db.dialects import DIALECTS, Dialect, check_table_name, dialect_for_driver
from kyzconsole.masking import SECRETS, mask_secrets

EMBEDDED_FILE_NAME = "kyz.db"


@dataclass(frozen=True)
class SqlTarget:
    """A resolved database target. `connection_string` holds secrets: never print it."""

    connection_string: str
    dialect: Dialect
    table: str
    embedded_path: Path | None = None
    login_timeout: int = 15
    query_timeout: int = 30
    # The meter interval: how many rows a range of interval ends can hold (IntervalWriter).
    interval_minutes: int = 15

    @property
    def is_embedded(self) -> bool:
        return self.embedded_path is not None

    def describe(self) -> str:
        """A name for the target that is safe to log and show."""
        if self.embedded_path is not None:
            return f"embedded SQLite {self.embedded_path}"
        parts = parse_connection_string(self.connection_string)
        server = parts.get("server") or parts.get("servername") or parts.get("host")
        database = parts.get("database") or parts.get("dbname")
        if parts.get("dsn"):
            where = f"DSN {parts['dsn']}"
        elif self.dialect.name == "sqlite":
            where = f"SQLite {database}"
        else:
            where = f"{server or '?'}"
            port = parts.get("port")
            if port:
                where += f":{port}"
            if database:
                where += f"/{database}"
        return f"{self.dialect.name} {where} table {self.table}"

    def masked_connection_string(self) -> str:
        return mask_secrets(self.connection_string)


def parse_connection_string(text: str) -> dict[str, str]:
    """ODBC key=value pairs, keys lower-cased; braced values may hold ';' and '}}'."""
    result: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        eq = text.find("=", i)
        if eq < 0:
            break
        key = text[i:eq].strip().lower()
        j = eq + 1
        while j < n and text[j] == " ":
            j += 1
        if j < n and text[j] == "{":
            k, value_chars = j + 1, []
            while k < n:
                if text[k] == "}":
                    if k + 1 < n and text[k + 1] == "}":
                        value_chars.append("}")
                        k += 2
                        continue
                    break
                value_chars.append(text[k])
                k += 1
            value = "".join(value_chars)
            end = text.find(";", k)
        else:
            end = text.find(";", j)
            value = text[j : end if end >= 0 else n].strip()
        if key:
            result[key] = value
        if end < 0:
            break
        i = end + 1
    return result


def odbc_value(value: str) -> str:
    """Brace a value when it holds characters that would end it early."""
    if any(ch in value for ch in ";{}=") or value != value.strip():
        return "{" + value.replace("}", "}}") + "}"
    return value


def resolve_target(settings: Settings) -> SqlTarget:
    """The target the settings name, or the embedded default. Raises ConfigError."""
    if settings.sql_connection_string is not None:
        connection_string = settings.sql_connection_string.get_secret_value()
        SECRETS.add(parse_connection_string(connection_string).get("pwd"))
        SECRETS.add(parse_connection_string(connection_string).get("password"))
        dialect = _dialect(settings, parse_connection_string(connection_string).get("driver", ""))
        embedded = None
    elif settings.sql_server:
        connection_string = _mssql_connection_string(settings)
        dialect = _dialect(settings, settings.sql_driver)
        embedded = None
    else:
        embedded = settings.resolved_data_dir / EMBEDDED_FILE_NAME
        connection_string = embedded_connection_string(settings.sqlite_driver, embedded)
        dialect = DIALECTS["sqlite"]
    table = settings.sql_table or dialect.default_table
    try:
        check_table_name(table)
    except ValueError as exc:
        raise ConfigError(f"KYZ_SQL_TABLE: {exc}") from None
    return SqlTarget(
        connection_string=connection_string,
        dialect=dialect,
        table=table,
        embedded_path=embedded,
        login_timeout=settings.sql_login_timeout,
        query_timeout=settings.sql_query_timeout,
        interval_minutes=settings.interval_minutes,
    )


def embedded_connection_string(driver: str, path: Path) -> str:
    # FULL sync: a row the spool hands over must survive a power cut once committed.
    return (
        f"Driver={odbc_value(driver)};Database={odbc_value(str(path))};"
        "Timeout=10000;SyncPragma=FULL;JournalMode=WAL"
    )


def _dialect(settings: Settings, driver: str) -> Dialect:
    if settings.sql_dialect != "auto":
        return DIALECTS[settings.sql_dialect]
    dialect = dialect_for_driver(driver)
    if dialect is None:
        raise ConfigError(
            f"cannot tell the SQL dialect from driver {driver!r}; set KYZ_SQL_DIALECT to "
            "mssql, postgresql or sqlite"
        )
    return dialect


def _mssql_connection_string(settings: Settings) -> str:
    server = settings.sql_server or ""
    if "," not in server and not server.lower().startswith(("tcp:", "np:", "lpc:")):
        server = f"tcp:{server},1433"
    parts = [
        f"Driver={{{settings.sql_driver}}}",
        f"Server={odbc_value(server)}",
    ]
    if settings.sql_database:
        parts.append(f"Database={odbc_value(settings.sql_database)}")
    if settings.sql_authentication:
        parts.append(f"Authentication={settings.sql_authentication}")
    if settings.sql_username:
        parts.append(f"Uid={odbc_value(settings.sql_username)}")
    if settings.sql_password is not None:
        password = settings.sql_password.get_secret_value()
        SECRETS.add(password)
        parts.append(f"Pwd={odbc_value(password)}")
    parts += [
        f"Encrypt={settings.sql_encrypt}",
        f"TrustServerCertificate={settings.sql_trust_server_certificate}",
        f"Connection Timeout={settings.sql_login_timeout}",
        # Idle-connection breaks are healed by the driver before we ever see them.
        "ConnectRetryCount=3",
        "ConnectRetryInterval=10",
    ]
    return ";".join(parts) + ";"
