"""The one settings model: flags > environment > .env > TOML file > defaults."""

from __future__ import annotations

import sys
import tomllib
from contextvars import ContextVar
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from kyzconsole import paths
from kyzconsole.record import ValidationRules

SqlAuthentication = Literal[
    "SqlPassword",
    "ActiveDirectoryMsi",
    "ActiveDirectoryServicePrincipal",
    "ActiveDirectoryIntegrated",
    "ActiveDirectoryInteractive",
    "ActiveDirectoryPassword",
]
YesNo = Literal["yes", "no"]
VALID_INTERVAL_MINUTES = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)

_toml_file: ContextVar[Path | None] = ContextVar("kyz_toml_file", default=None)


class ConfigError(Exception):
    """Settings that cannot be used; the message says which and how to fix them."""


class Settings(BaseSettings):
    """Every setting kyzconsole reads. Environment names are KYZ_ + the field name in capitals."""

    model_config = SettingsConfigDict(
        env_prefix="KYZ_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    sql_connection_string: SecretStr | None = Field(
        None, description="full ODBC connection string; wins over the KYZ_SQL_* parts"
    )
    sql_server: str | None = Field(None, description="SQL Server host, e.g. x.database.windows.net")
    sql_database: str | None = Field(None, description="database name")
    sql_username: str | None = Field(None, description="SQL login")
    sql_password: SecretStr | None = Field(None, description="SQL password")
    sql_driver: str = Field("ODBC Driver 18 for SQL Server", description="ODBC driver name")
    sql_authentication: SqlAuthentication | None = Field(
        None, description="ODBC Driver 18 Authentication= value"
    )
    sql_encrypt: Literal["yes", "no", "strict"] = Field("yes", description="TLS to SQL Server")
    sql_trust_server_certificate: YesNo = Field(
        "no", description="skip server certificate validation (not for production)"
    )
    sql_dialect: Literal["auto", "mssql", "postgresql", "sqlite"] = Field(
        "auto", description="SQL dialect; auto reads it from the connection string's driver"
    )
    sql_table: str | None = Field(
        None, description="target table (dbo.KYZ_Interval; KYZ_Interval on SQLite)"
    )
    sql_login_timeout: int = Field(15, ge=1, le=300, description="seconds to log in")
    sql_query_timeout: int = Field(30, ge=1, le=3600, description="seconds per statement")
    sqlite_driver: str = Field(
        "SQLite3 ODBC Driver" if sys.platform == "win32" else "SQLite3",
        description="ODBC driver for the embedded default database",
    )
    data_dir: Path | None = Field(None, description="embedded database, spool, quarantine, status")
    log_dir: Path | None = Field(None, description="where kyz_ingestor.log goes")
    log_level: Literal["TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR"] = "INFO"
    interval_minutes: int = Field(15, description="meter interval length in minutes")
    billing_cycle_day: int = Field(
        1,
        ge=1,
        le=28,
        description="meter-read day of the month a billing period starts on (1 = calendar months)",
    )
    earliest_interval_end: datetime = Field(
        datetime(2000, 1, 1), description="intervals before this are invalid"
    )
    max_ahead_hours: float = Field(
        24.0, gt=0, description="intervals further ahead of this machine's clock are invalid"
    )

    mqtt_host: str = Field("localhost", description="MQTT broker host")
    mqtt_port: int | None = Field(
        None, ge=1, le=65535, description="broker port (default 1883, or 8883 with TLS)"
    )
    mqtt_topic: str = Field("pri/energy/kyz/interval", description="interval topic")
    mqtt_client_id: str = Field(
        "kyz-sql-ingestor", description="fixed client id: the broker keeps its session"
    )
    mqtt_username: str | None = Field(None, description="MQTT user")
    mqtt_password: SecretStr | None = Field(None, description="MQTT password")
    mqtt_tls: bool = Field(False, description="TLS to the broker")
    mqtt_ca_file: Path | None = Field(None, description="CA certificate (PEM) for TLS")
    mqtt_cert_file: Path | None = Field(None, description="client certificate (PEM)")
    mqtt_key_file: Path | None = Field(None, description="client key (PEM)")
    mqtt_keepalive: int = Field(60, ge=5, le=3600, description="keepalive seconds")
    mqtt_protocol: Literal["5", "3.1.1"] = Field("5", description="MQTT protocol version")
    mqtt_session_expiry: int = Field(
        7 * 24 * 3600,
        ge=0,
        description="MQTT 5 session expiry seconds: how long the broker queues for us offline",
    )
    mqtt_receive_maximum: int = Field(
        1000, ge=1, le=65535, description="MQTT 5 unacknowledged messages in flight to us"
    )
    console_keys: dict[str, str] = Field(
        default_factory=dict,
        description='console key remaps, binding id to keys, e.g. {"kyz.pause": "space"}',
    )
    sql_retry_initial: float = Field(5.0, gt=0, description="first wait after a SQL failure")
    sql_retry_max: float = Field(60.0, gt=0, description="longest wait between SQL retries")
    status_interval: float = Field(1.0, gt=0, le=2, description="seconds between status writes")

    @field_validator("mqtt_protocol", mode="before")
    @classmethod
    def _protocol_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value

    @property
    def resolved_mqtt_port(self) -> int:
        return self.mqtt_port or (8883 if self.mqtt_tls else 1883)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("interval_minutes")
    @classmethod
    def _divides_hour(cls, value: int) -> int:
        if value not in VALID_INTERVAL_MINUTES:
            raise ValueError(f"must divide an hour evenly, one of {VALID_INTERVAL_MINUTES}")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, dotenv_settings, _TomlSource(settings_cls))

    @property
    def resolved_data_dir(self) -> Path:
        return self.data_dir or paths.default_data_dir()

    @property
    def resolved_log_dir(self) -> Path:
        return self.log_dir or paths.default_log_dir()

    @property
    def uses_embedded_database(self) -> bool:
        return not (self.sql_connection_string or self.sql_server)

    def validation_rules(self) -> ValidationRules:
        return ValidationRules(
            interval_minutes=self.interval_minutes,
            earliest=self.earliest_interval_end,
            max_ahead=timedelta(hours=self.max_ahead_hours),
        )


class _TomlSource(PydanticBaseSettingsSource):
    """kyzconsole.toml: flat keys named like the fields (sql_server = "...")."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self.path = _toml_file.get()
        self.data: dict[str, Any] = {}
        if self.path is None or not self.path.is_file():
            return
        try:
            with self.path.open("rb") as handle:
                self.data = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"config file {self.path} cannot be read: {exc}") from None
        unknown = sorted(set(self.data) - set(settings_cls.model_fields))
        if unknown:
            raise ConfigError(
                f"config file {self.path} has unknown setting(s) {', '.join(unknown)}; "
                "see `kyzconsole config --help` for the names"
            )

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.data)


def config_file_path(explicit: Path | None) -> tuple[Path, bool]:
    """The TOML file to read and whether the user named it (then it must exist)."""
    if explicit is not None:
        return explicit, True
    from_env = paths.config_file_from_env()
    if from_env is not None:
        return from_env, True
    return paths.default_config_file(), False


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings; command-line flags come in as overrides. Raises ConfigError."""
    path, named = config_file_path(config_file)
    if named and not path.is_file():
        raise ConfigError(f"config file {path} does not exist (from --config or KYZ_CONFIG)")
    token = _toml_file.set(path)
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    finally:
        _toml_file.reset(token)


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors(include_url=False):
        name = str(error["loc"][0]) if error["loc"] else "settings"
        secret = "password" in name or "connection_string" in name
        shown = "***" if secret else repr(error.get("input"))
        lines.append(f"KYZ_{name.upper()}: {error['msg']} (got {shown})")
    return "invalid configuration: " + "; ".join(lines)
