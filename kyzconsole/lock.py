"""One ingest per data dir: an exclusive lock on DATA_DIR/ingest.lock, held while running."""

from __future__ import annotations

import json
import os
import socket
import sys
from datetime import datetime
from pathlib import Path
from typing import IO, Any

LOCK_FILE_NAME = "ingest.lock"
# Windows locks a byte range; lock one far past the text so others can still read who holds it.
_WINDOWS_LOCK_OFFSET = 1 << 20


class LockHeld(Exception):
    """Another process ingests on this data dir; the message names it."""


def _try_lock(handle: IO[str]) -> bool:
    if sys.platform == "win32":
        import msvcrt

        handle.seek(_WINDOWS_LOCK_OFFSET)
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def read_holder(data_dir: Path) -> dict[str, Any] | None:
    try:
        text = (data_dir / LOCK_FILE_NAME).read_text(encoding="utf-8")
        return json.loads(text) if text.strip() else None
    except (OSError, ValueError):
        return None


def describe_holder(holder: dict[str, Any] | None) -> str:
    if not holder:
        return "another process"
    return (
        f"kyzconsole {holder.get('mode', 'ingest')} (pid {holder.get('pid')} on "
        f"{holder.get('host')}, started {holder.get('started')})"
    )


class IngestLock:
    """`acquire()` or raise LockHeld; `release()` when the engine stops."""

    def __init__(self, data_dir: Path, mode: str = "headless") -> None:
        self.path = data_dir / LOCK_FILE_NAME
        self.mode = mode
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        if not _try_lock(handle):
            handle.close()
            raise LockHeld(
                f"{describe_holder(read_holder(self.path.parent))} is already ingesting with "
                f"data dir {self.path.parent}; stop it first, or use another KYZ_DATA_DIR"
            )
        handle.seek(0)
        handle.truncate()
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "mode": self.mode,
            "started": datetime.now().isoformat(sep=" ", timespec="seconds"),
        }
        handle.write(json.dumps(holder))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.seek(0)
            self._handle.truncate()
            self._handle.close()  # closing drops the lock
            self._handle = None

    def __enter__(self) -> IngestLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def is_held(data_dir: Path) -> bool:
    """True while some process holds the ingest lock on this data dir."""
    path = data_dir / LOCK_FILE_NAME
    if not path.exists():
        return False
    with path.open("a+", encoding="utf-8") as handle:
        # If our probe gets the lock, nobody holds it; closing the handle releases it again.
        return not _try_lock(handle)
