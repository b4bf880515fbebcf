"""The status file: the running service's health, replaced atomically every second or two."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

STATUS_FILE_NAME = "status.json"


def write_status(data_dir: Path, status: dict[str, Any]) -> None:
    """Write to a temp file in the same dir, then replace: readers never see half a file."""
    data_dir.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".status-", suffix=".json", dir=data_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(status, handle, indent=2, default=str)
        os.replace(temp, data_dir / STATUS_FILE_NAME)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def read_status(data_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((data_dir / STATUS_FILE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
