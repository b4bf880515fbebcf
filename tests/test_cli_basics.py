"""The command line's shape: help, version, exit codes, config and paths with secrets masked."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from kyzconsole import __version__
from kyzconsole.cli.main import build_parser, main


def commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return sorted(sub.choices)


def test_version_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"kyzconsole {__version__}"


@pytest.mark.parametrize("command", commands())
def test_every_command_has_help_with_an_example(command, capsys):
    with pytest.raises(SystemExit) as stop:
        main([command, "--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    assert "example" in text
    assert f"kyzconsole {command}" in text


def test_no_command_opens_the_console_with_the_resolved_settings(monkeypatch, tmp_path):
    import kyzconsole.tui

    opened = []
    monkeypatch.setattr(
        kyzconsole.tui, "run_console", lambda settings: opened.append(settings) or 0
    )
    assert main(["--data-dir", str(tmp_path), "--log-dir", str(tmp_path)]) == 0
    assert [s.resolved_data_dir for s in opened] == [tmp_path]
    assert (tmp_path / "kyz_console.log").exists()  # its own log file, not the service's


def test_unknown_flag_is_a_usage_error_exit_2(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["replay", "--no-such-flag", "x"])
    assert stop.value.code == 2


def test_python_dash_m_runs_the_same_cli():
    result = subprocess.run(
        [sys.executable, "-m", "kyzconsole", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert "kyzconsole replay" in result.stdout


def test_config_masks_passwords_from_parts_and_connection_strings(monkeypatch, capsys):
    monkeypatch.setenv("KYZ_SQL_SERVER", "plant.database.windows.net")
    monkeypatch.setenv("KYZ_SQL_USERNAME", "kyz_ingest")
    monkeypatch.setenv("KYZ_SQL_PASSWORD", "Hunter2-very-secret")
    assert main(["config", "--json"]) == 0
    out = capsys.readouterr().out
    assert "Hunter2-very-secret" not in out
    values = json.loads(out)
    assert values["KYZ_SQL_PASSWORD"] == "***"
    assert values["(dialect)"] == "mssql"
    assert "Pwd=***" in values["(connection string)"]
    assert "Encrypt=yes" in values["(connection string)"]
    monkeypatch.setenv(
        "KYZ_SQL_CONNECTION_STRING",
        "Driver={PostgreSQL Unicode};Server=db;Database=kyz;Uid=u;Pwd={a;b}}c};",
    )
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    assert "a;b" not in out and "}c" not in out
    assert "postgresql" in out


def test_embedded_default_when_no_sql_settings(tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path), "config", "--json"]) == 0
    values = json.loads(capsys.readouterr().out)
    assert values["(dialect)"] == "sqlite"
    assert values["(target)"] == f"embedded SQLite {tmp_path / 'kyz.db'}"


def test_paths_reports_data_log_and_config_locations(tmp_path, capsys):
    assert (
        main(
            ["paths", "--json", "--data-dir", str(tmp_path / "d"), "--log-dir", str(tmp_path / "l")]
        )
        == 0
    )
    values = json.loads(capsys.readouterr().out)
    assert values["data_dir"] == str(tmp_path / "d")
    assert values["embedded_database"] == str(tmp_path / "d" / "kyz.db")
    assert values["log_file"] == str(tmp_path / "l" / "kyz_ingestor.log")
    assert values["config_file"].endswith("kyzconsole.toml")


def test_bad_setting_exits_2_naming_the_variable(monkeypatch, capsys):
    monkeypatch.setenv("KYZ_INTERVAL_MINUTES", "7")
    assert main(["config"]) == 2
    assert "KYZ_INTERVAL_MINUTES" in capsys.readouterr().err
