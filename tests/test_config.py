"""Settings sources and their order: flags > environment > .env > TOML file > defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from kyzconsole.config import ConfigError, load_settings


def write_toml(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_any_source(tmp_path):
    settings = load_settings()
    assert settings.interval_minutes == 15
    assert settings.log_level == "INFO"
    assert settings.sql_driver == "ODBC Driver 18 for SQL Server"
    assert (settings.sql_encrypt, settings.sql_trust_server_certificate) == ("yes", "no")
    assert settings.uses_embedded_database


def test_each_source_overrides_the_weaker_ones(tmp_path, monkeypatch):
    toml = write_toml(
        tmp_path / "k.toml",
        'log_level = "DEBUG"\ninterval_minutes = 5\nsql_table = "toml_table"\n'
        'sql_database = "toml_db"\n',
    )
    (tmp_path / ".env").write_text("KYZ_INTERVAL_MINUTES=10\nKYZ_SQL_TABLE=dotenv_table\n")
    monkeypatch.setenv("KYZ_SQL_TABLE", "env_table")
    settings = load_settings(toml, log_level="warning")
    assert settings.log_level == "WARNING"  # flag beats TOML
    assert settings.sql_table == "env_table"  # environment beats .env and TOML
    assert settings.interval_minutes == 10  # .env beats TOML
    assert settings.sql_database == "toml_db"  # TOML beats the default


def test_kyz_config_names_the_toml_file(tmp_path, monkeypatch):
    toml = write_toml(tmp_path / "plant.toml", "interval_minutes = 30\n")
    monkeypatch.setenv("KYZ_CONFIG", str(toml))
    assert load_settings().interval_minutes == 30


def test_named_config_file_that_does_not_exist_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_unknown_key_in_toml_is_an_error_that_names_it(tmp_path):
    toml = write_toml(tmp_path / "k.toml", 'sql_sever = "typo.example"\n')
    with pytest.raises(ConfigError, match="sql_sever"):
        load_settings(toml)


def test_broken_toml_says_which_file(tmp_path):
    toml = write_toml(tmp_path / "k.toml", "interval_minutes = = 3\n")
    with pytest.raises(ConfigError, match=r"k\.toml"):
        load_settings(toml)


@pytest.mark.parametrize(
    ("name", "value", "needle"),
    [
        ("KYZ_INTERVAL_MINUTES", "7", "divide an hour"),
        ("KYZ_SQL_ENCRYPT", "maybe", "KYZ_SQL_ENCRYPT"),
        ("KYZ_SQL_AUTHENTICATION", "ActiveDirectoryDefault", "KYZ_SQL_AUTHENTICATION"),
        ("KYZ_LOG_LEVEL", "LOUD", "KYZ_LOG_LEVEL"),
    ],
)
def test_invalid_values_are_config_errors_naming_the_variable(monkeypatch, name, value, needle):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=needle):
        load_settings()


def test_unrelated_entries_in_dotenv_are_ignored(tmp_path):
    (tmp_path / ".env").write_text("PATH_TO_SOMETHING=1\nKYZ_LOG_LEVEL=error\n")
    assert load_settings().log_level == "ERROR"


def test_validation_rules_follow_the_settings(monkeypatch):
    monkeypatch.setenv("KYZ_INTERVAL_MINUTES", "5")
    monkeypatch.setenv("KYZ_MAX_AHEAD_HOURS", "2")
    monkeypatch.setenv("KYZ_EARLIEST_INTERVAL_END", "2020-01-01 00:00:00")
    rules = load_settings().validation_rules()
    assert rules.interval_minutes == 5
    assert rules.max_ahead.total_seconds() == 7200
    assert rules.earliest.year == 2020


def test_secret_values_never_show_in_a_config_error(monkeypatch):
    monkeypatch.setenv("KYZ_SQL_PASSWORD", "Sup3r-Secret!")
    monkeypatch.setenv("KYZ_INTERVAL_MINUTES", "7")
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert "Sup3r-Secret!" not in str(error.value)
