"""`kyzconsole config` and `kyzconsole paths`: what the settings resolve to, secrets masked."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from kyzconsole.cli.commands import add_command
from kyzconsole.cli.exit_codes import OK
from kyzconsole.config import Settings, config_file_path
from kyzconsole.db.target import resolve_target
from kyzconsole.logs import INGEST_LOG
from kyzconsole.masking import MASK, mask_secrets
from kyzconsole.quarantine import QUARANTINE_FILE_NAME


def add_parsers(
    commands: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    config = add_command(
        commands,
        parents,
        "config",
        help="show the resolved settings, secrets masked",
        description="Show every setting as kyzconsole resolved it, with secrets masked.",
        epilog="example:\n  KYZ_SQL_SERVER=x.database.windows.net kyzconsole config --json",
    )
    paths = add_command(
        commands,
        parents,
        "paths",
        help="show where the config, data and log files are",
        description="Show the resolved config file, data dir, embedded database and log file.",
        epilog="example:\n  kyzconsole paths --data-dir D:\\kyz",
    )
    for parser, run in ((config, run_config), (paths, run_paths)):
        parser.add_argument("--json", action="store_true", help="print as JSON")
        parser.set_defaults(run=run, log_file=None)


def resolved_config(settings: Settings) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = MASK if name.endswith("password") else mask_secrets(value.get_secret_value())
        elif isinstance(value, Path) or (
            value is not None and not isinstance(value, int | float | str | bool)
        ):
            value = str(value)
        values[f"KYZ_{name.upper()}"] = value
    target = resolve_target(settings)
    # Unset paths and table show what they resolve to, so the output answers "where?".
    values["KYZ_DATA_DIR"] = str(settings.resolved_data_dir)
    values["KYZ_LOG_DIR"] = str(settings.resolved_log_dir)
    values["KYZ_SQL_TABLE"] = target.table
    values["(target)"] = target.describe()
    values["(dialect)"] = target.dialect.name
    values["(connection string)"] = target.masked_connection_string()
    return values


def run_config(args: argparse.Namespace, settings: Settings) -> int:
    values = resolved_config(settings)
    if args.json:
        print(json.dumps(values, indent=2))
        return OK
    width = max(len(key) for key in values)
    for key, value in values.items():
        shown = "(unset)" if value is None else value
        print(f"{key:<{width}}  {shown}")
    return OK


def resolved_paths(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    config_file, named = config_file_path(args.config)
    data_dir = settings.resolved_data_dir
    log_dir = settings.resolved_log_dir
    return {
        "config_file": str(config_file),
        "config_file_exists": config_file.is_file(),
        "config_file_from": "--config or KYZ_CONFIG" if named else "platform default",
        "data_dir": str(data_dir),
        "embedded_database": str(data_dir / "kyz.db") if settings.uses_embedded_database else None,
        "quarantine": str(data_dir / QUARANTINE_FILE_NAME),
        "log_dir": str(log_dir),
        "log_file": str(log_dir / INGEST_LOG),
    }


def run_paths(args: argparse.Namespace, settings: Settings) -> int:
    values = resolved_paths(args, settings)
    if args.json:
        print(json.dumps(values, indent=2))
        return OK
    width = max(len(key) for key in values)
    for key, value in values.items():
        print(f"{key:<{width}}  {'(not used)' if value is None else value}")
    return OK
