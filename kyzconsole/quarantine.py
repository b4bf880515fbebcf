"""Quarantine: invalid payloads and conflicting intervals, kept with their reason for a person."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from kyzconsole.record import INTERVAL_END_FORMAT, IntervalRecord

QUARANTINE_FILE_NAME = "quarantine.db"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS quarantine (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    quarantined_at TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('invalid', 'conflict')),
    source        TEXT NOT NULL,
    received_at   TEXT,
    reason        TEXT NOT NULL,
    raw           BLOB,
    interval_end  TEXT,
    incoming      TEXT,
    existing      TEXT
);
"""


@dataclass(frozen=True)
class QuarantineEntry:
    """One quarantined item. For a conflict, `incoming` and `existing` are payload dicts."""

    kind: str  # "invalid" | "conflict"
    source: str  # "mqtt:<topic>" or "<file>:<line>"
    reason: str
    raw: bytes | None = None
    received_at: datetime | None = None
    interval_end: datetime | None = None
    incoming: dict[str, Any] | None = None
    existing: dict[str, Any] | None = None
    id: int | None = None
    quarantined_at: datetime | None = None

    @classmethod
    def invalid(
        cls, source: str, reason: str, raw: bytes, received_at: datetime | None = None
    ) -> QuarantineEntry:
        return cls("invalid", source, reason, raw=raw, received_at=received_at)

    @classmethod
    def conflict(
        cls,
        source: str,
        incoming: IntervalRecord,
        existing: IntervalRecord,
        raw: bytes | None = None,
        received_at: datetime | None = None,
    ) -> QuarantineEntry:
        end = incoming.interval_end.strftime(INTERVAL_END_FORMAT)
        return cls(
            "conflict",
            source,
            f"conflict: {end} is already stored with other values; the stored row was kept",
            raw=raw,
            received_at=received_at,
            interval_end=incoming.interval_end,
            incoming=incoming.to_payload(),
            existing=existing.to_payload(),
        )


class Quarantine:
    """A small SQLite file in the data dir; every add is committed before it returns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.executescript(_SCHEMA)

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> Quarantine:
        return cls(data_dir / QUARANTINE_FILE_NAME)

    def add(self, entries: Sequence[QuarantineEntry]) -> None:
        if not entries:
            return
        now = datetime.now().isoformat(sep=" ", timespec="seconds")
        rows = [
            (
                now,
                e.kind,
                e.source,
                _iso(e.received_at),
                e.reason,
                e.raw,
                _iso(e.interval_end),
                json.dumps(e.incoming) if e.incoming is not None else None,
                json.dumps(e.existing) if e.existing is not None else None,
            )
            for e in entries
        ]
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT INTO quarantine (quarantined_at, kind, source, received_at, reason, raw,"
                " interval_end, incoming, existing) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM quarantine").fetchone()[0])

    def entries(self, kind: str | None = None) -> Iterator[QuarantineEntry]:
        sql = (
            "SELECT id, quarantined_at, kind, source, received_at, reason, raw, interval_end,"
            " incoming, existing FROM quarantine"
        )
        args: tuple[Any, ...] = ()
        if kind:
            sql += " WHERE kind = ?"
            args = (kind,)
        for row in self._db.execute(sql + " ORDER BY id", args):
            yield QuarantineEntry(
                id=row[0],
                quarantined_at=_parse(row[1]),
                kind=row[2],
                source=row[3],
                received_at=_parse(row[4]),
                reason=row[5],
                raw=row[6],
                interval_end=_parse(row[7]),
                incoming=json.loads(row[8]) if row[8] else None,
                existing=json.loads(row[9]) if row[9] else None,
            )

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Quarantine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def export_line(entry: QuarantineEntry) -> str:
    """One line of an export for fixing by hand and `replay`: a conflict's incoming version as
    JSON, an invalid entry's raw text."""
    if entry.kind == "conflict" and entry.incoming is not None:
        return json.dumps(entry.incoming)
    raw = (entry.raw or b"").decode("utf-8", "replace")
    return " ".join(raw.splitlines())  # one entry, one line


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(sep=" ") if value is not None else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
