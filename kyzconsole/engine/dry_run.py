"""What a dry run would have written so far, so that a later line meets it as in a real run.

The database answers for what is stored; this answers for what the run itself would have
added. It lives in a throwaway SQLite file, not in memory, so a dry run of years of intervals
stays as small as the real run.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path

from kyzconsole.db.writer import Outcome, WriteResult
from kyzconsole.record import IntervalRecord

LOOKUP_CHUNK = 500  # keys per SELECT; far below SQLite's limit on parameters


class DryRunLedger:
    def __init__(self, same: Callable[[IntervalRecord, IntervalRecord], bool]) -> None:
        self._same = same
        self._dir = tempfile.TemporaryDirectory(prefix="kyz-dry-run-")
        self._db = sqlite3.connect(Path(self._dir.name) / "would-insert.db", isolation_level=None)
        self._db.execute("PRAGMA journal_mode=OFF")  # throwaway: nothing to recover
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute(
            "CREATE TABLE would_insert (interval_end TEXT PRIMARY KEY, record TEXT) WITHOUT ROWID"
        )

    def settle(self, results: Sequence[WriteResult]) -> list[WriteResult]:
        """The database's answers, with earlier would-be inserts of this run taken into account."""
        earlier = self._lookup(
            r.record.interval_end for r in results if r.outcome is Outcome.INSERTED
        )
        settled = []
        for result in results:
            before = earlier.get(result.record.interval_end)
            if result.outcome is not Outcome.INSERTED or before is None:
                settled.append(result)
                continue
            outcome = Outcome.DUPLICATE if self._same(before, result.record) else Outcome.CONFLICT
            settled.append(WriteResult(result.record, outcome, before))
        self._db.execute("BEGIN")
        self._db.executemany(
            "INSERT INTO would_insert VALUES (?, ?)",
            [
                (r.record.interval_end.isoformat(" "), r.record.to_exact_json())
                for r in settled
                if r.outcome is Outcome.INSERTED
            ],
        )
        self._db.execute("COMMIT")
        return settled

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()

    def _lookup(self, moments: Iterable[datetime]) -> dict[datetime, IntervalRecord]:
        keys = [m.isoformat(" ") for m in moments]
        found: dict[datetime, IntervalRecord] = {}
        for start in range(0, len(keys), LOOKUP_CHUNK):
            chunk = keys[start : start + LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT record FROM would_insert WHERE interval_end IN ({marks})", chunk
            )
            for (text,) in rows:
                record = IntervalRecord.from_exact_json(text)
                found[record.interval_end] = record
        return found
