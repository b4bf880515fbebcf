"""Where kyzconsole keeps its files by default, on Windows and elsewhere."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "kyzconsole"
CONFIG_FILE_NAME = "kyzconsole.toml"
LOG_FILE_NAME = "kyz_ingestor.log"


def _machine_wide() -> bool:
    # On Windows the scheduled task (often SYSTEM or a service account) and the engineer's RDP
    # session must find the same files, so defaults live under ProgramData, not a user profile.
    return sys.platform == "win32"


def default_data_dir() -> Path:
    if _machine_wide():
        return Path(platformdirs.site_data_dir(APP_NAME, appauthor=False))
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_log_dir() -> Path:
    if _machine_wide():
        return default_data_dir() / "logs"
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def default_config_file() -> Path:
    if _machine_wide():
        return Path(platformdirs.site_config_dir(APP_NAME, appauthor=False)) / CONFIG_FILE_NAME
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / CONFIG_FILE_NAME


def config_file_from_env() -> Path | None:
    value = os.environ.get("KYZ_CONFIG")
    return Path(value) if value else None
