"""The spool: a durable local outbox between the broker's acknowledgement and the SQL commit."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from kyzconsole.record import IntervalRecord

SPOOL_FILE_NAME = "spool.db"
RECENT_LIMIT = 20_000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    spooled_at   TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    source       TEXT NOT NULL,
    record       TEXT NOT NULL,
    raw          BLOB
);
"""


@dataclass(frozen=True)
class Arrival:
    """A valid record on its way in, with where and when it came from."""

    record: IntervalRecord
    source: str
    received_at: datetime
    raw: bytes | None = None


@dataclass(frozen=True)
class SpooledRecord:
    id: int
    arrival: Arrival


class Spool:
    """SQLite in WAL mode with synchronous=FULL: once `add` returns, a power cut loses nothing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.executescript(_SCHEMA)
        self._pending = int(self._db.execute("SELECT COUNT(*) FROM spool").fetchone()[0])
        # What was just added, kept in memory too so the forwarder need not decode it again;
        # bounded, so a long outage falls back to reading the file.
        self._recent: dict[int, Arrival] = {}

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> Spool:
        return cls(data_dir / SPOOL_FILE_NAME)

    @property
    def pending(self) -> int:
        return self._pending

    def add(self, arrivals: Sequence[Arrival]) -> list[int]:
        """Commit the arrivals durably and return their ids; only then may the broker be told."""
        if not arrivals:
            return []
        now = datetime.now().isoformat(sep=" ", timespec="milliseconds")
        rows = [
            (now, a.received_at.isoformat(sep=" "), a.source, a.record.to_exact_json(), a.raw)
            for a in arrivals
        ]
        # One multi-row INSERT per chunk, not one per row: sqlite3 releases the GIL on every
        # statement, and with paho and the forwarder busy each release can cost milliseconds.
        ids: list[int] = []
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            for start in range(0, len(rows), 500):
                chunk = rows[start : start + 500]
                marks = ", ".join(["(?, ?, ?, ?, ?)"] * len(chunk))
                cursor = self._db.execute(
                    "INSERT INTO spool (spooled_at, received_at, source, record, raw)"
                    f" VALUES {marks}",
                    [value for row in chunk for value in row],
                )
                # Rows of one INSERT get consecutive ids: we hold the only write lock.
                last = int(cursor.lastrowid or 0)
                ids += range(last - len(chunk) + 1, last + 1)
            self._pending += len(rows)
            if len(self._recent) < RECENT_LIMIT:
                self._recent.update(zip(ids, arrivals, strict=True))
        return ids

    def oldest(self, limit: int) -> list[SpooledRecord]:
        """The next records to forward, in arrival order."""
        with self._lock:
            ids = [
                row[0]
                for row in self._db.execute("SELECT id FROM spool ORDER BY id LIMIT ?", (limit,))
            ]
            known = {i: self._recent[i] for i in ids if i in self._recent}
        missing = [i for i in ids if i not in known]
        for start in range(0, len(missing), 500):
            chunk = missing[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            with self._lock:
                rows = self._db.execute(
                    f"SELECT id, received_at, source, record, raw FROM spool WHERE id IN ({marks})",
                    chunk,
                ).fetchall()
            for row in rows:
                known[row[0]] = Arrival(
                    IntervalRecord.from_exact_json(row[3]),
                    row[2],
                    datetime.fromisoformat(row[1]),
                    row[4],
                )
        return [SpooledRecord(i, known[i]) for i in ids]

    def remove(self, ids: Sequence[int]) -> None:
        """Forget records the database has committed (or called duplicate or conflict)."""
        if not ids:
            return
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            removed = 0
            for start in range(0, len(ids), 500):
                chunk = list(ids[start : start + 500])
                marks = ", ".join("?" * len(chunk))
                removed += self._db.execute(
                    f"DELETE FROM spool WHERE id IN ({marks})", chunk
                ).rowcount
            self._pending -= removed
            for i in ids:
                self._recent.pop(i, None)

    def close(self) -> None:
        with self._lock:
            self._db.close()
