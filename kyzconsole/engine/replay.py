"""Replay: backfill intervals from files through validation, the writer and quarantine."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Container, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from loguru import logger

from kyzconsole.db.errors import DatabaseError
from kyzconsole.db.writer import IntervalWriter, Outcome, WriteResult
from kyzconsole.engine.backoff import Backoff
from kyzconsole.engine.dry_run import DryRunLedger
from kyzconsole.logs import FILE_ONLY
from kyzconsole.quarantine import Quarantine, QuarantineEntry
from kyzconsole.record import INTERVAL_END_FORMAT, IntervalRecord, InvalidPayload, ValidationRules
from kyzconsole.record.payload import parse_payload
from kyzconsole.record.plc_csv import parse_csv_line
from kyzconsole.sources.files import InputFile, InputFormat

# Records per transaction. Larger batches pay the per-batch costs (the read of stored rows,
# the commit's fsync, the parallel workers' hand-over) less often: 5000 ran 40% faster than
# 1000 in bench/replay.py, and a 5000-row transaction is still a fraction of a second.
BATCH_SIZE = 5000
# Line-by-line problems shown on the terminal per process; the rest go to the log file only,
# as the summary at the end lists them anyway and thousands would bury the progress bar.
SHOWN_PROBLEMS = 20


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    outcome: str  # "invalid" | "conflict"
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "outcome": self.outcome,
            "reason": self.reason,
        }


COUNTS = ("read", "inserted", "duplicates", "conflicts", "invalid", "warnings")


@dataclass
class ReplaySummary:
    read: int = 0
    inserted: int = 0
    duplicates: int = 0
    conflicts: int = 0
    invalid: int = 0
    warnings: int = 0
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0
    dry_run: bool = False

    @property
    def failed(self) -> bool:
        return bool(self.invalid or self.conflicts)

    def counts(self) -> dict[str, int]:
        return {key: getattr(self, key) for key in COUNTS}

    def as_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "inserted": self.inserted,
            "duplicates": self.duplicates,
            "conflicts": self.conflicts,
            "invalid": self.invalid,
            "warnings": self.warnings,
            "dry_run": self.dry_run,
            "seconds": round(self.seconds, 3),
            "problems": [p.as_dict() for p in self.problems],
        }


ProgressCallback = Callable[[InputFile, ReplaySummary], None]


class _Pending(NamedTuple):
    record: IntervalRecord
    line: int
    raw: bytes


class Replay:
    """One replay run over one or more files; `run()` returns the summary."""

    def __init__(
        self,
        writer: IntervalWriter,
        quarantine: Quarantine | None,
        rules: ValidationRules,
        *,
        dry_run: bool = False,
        batch_size: int = BATCH_SIZE,
        retry_for: float = 60.0,
        progress: ProgressCallback | None = None,
        sleep: Callable[[float], None] = time.sleep,
        write_gate: AbstractContextManager[Any] | None = None,
        set_aside: Container[datetime] = (),
    ) -> None:
        self.writer = writer
        # Held around each database write: parallel replay workers take turns here, which is
        # cheaper than waiting in the database's own lock (SQLite's busy handler sleeps).
        self.write_gate = write_gate or contextlib.nullcontext()
        self.quarantine = quarantine
        self.rules = rules
        self.dry_run = dry_run
        self.batch_size = batch_size
        self.retry_for = retry_for
        self.progress = progress
        self.sleep = sleep
        self.summary = ReplaySummary(dry_run=dry_run)
        # Parallel replay: lines whose interval an earlier part of the file also holds are not
        # written here but listed, for the parent to replay after every part, in file order.
        self.set_aside = set_aside
        self.set_aside_lines: list[int] = []
        self._ledger: DryRunLedger | None = None  # a dry run's would-be inserts
        self._problems_logged = 0

    def run(self, files: Sequence[InputFile]) -> ReplaySummary:
        """Raises InputFileError for an unreadable file and DatabaseError once retries run out."""
        started = time.perf_counter()
        if self.dry_run:
            self._ledger = DryRunLedger(self.writer.same_values)
        try:
            for source in files:
                self._replay_file(source)
        finally:
            self.summary.seconds = time.perf_counter() - started
            if self._ledger is not None:
                self._ledger.close()
                self._ledger = None
        return self.summary

    def _replay_file(self, source: InputFile) -> None:
        batch: list[_Pending] = []
        rejected: list[QuarantineEntry] = []
        for number, raw in source.lines():
            pending = self._parse(source, number, raw, rejected)
            if pending is not None:
                batch.append(pending)
            if len(batch) >= self.batch_size:
                self._flush(source, batch, rejected)
                batch, rejected = [], []
        self._flush(source, batch, rejected)
        self.summary.problems.sort(key=lambda p: (p.file, p.line))

    def _parse(
        self, source: InputFile, number: int, raw: bytes, rejected: list[QuarantineEntry]
    ) -> _Pending | None:
        try:
            if source.format is InputFormat.CSV:
                parsed = parse_csv_line(raw, source.csv_index, self.rules, source.csv_delimiter)
            else:
                parsed = parse_payload(raw, self.rules)
        except InvalidPayload as exc:
            self.summary.read += 1
            self._invalid(source, number, raw, exc.reason, rejected)
            return None
        if parsed.record.interval_end in self.set_aside:
            self.set_aside_lines.append(number)  # read, warned about and counted when replayed
            return None
        self.summary.read += 1
        if parsed.warnings:
            self.summary.warnings += 1
            self._problem_log().warning("{} line {}: {}", source.label, number, parsed.warnings[0])
        if parsed.unknown_fields:
            logger.debug("{} line {}: ignored {}", source.label, number, parsed.unknown_fields)
        return _Pending(parsed.record, number, raw)

    def _invalid(
        self, source: InputFile, number: int, raw: bytes, reason: str, rejected: list[Any]
    ) -> None:
        self.summary.invalid += 1
        self.summary.problems.append(Problem(source.label, number, "invalid", reason))
        self._problem_log().warning("invalid: {} line {}: {}", source.label, number, reason)
        rejected.append(QuarantineEntry.invalid(f"{source.label}:{number}", reason, raw.rstrip()))

    def _flush(
        self, source: InputFile, batch: list[_Pending], rejected: list[QuarantineEntry]
    ) -> None:
        if batch:
            results = self._write([p.record for p in batch])
            run: list[IntervalRecord] = []  # consecutive duplicates, logged as one line
            for pending, result in zip(batch, results, strict=True):
                if result.outcome is Outcome.DUPLICATE:
                    run.append(result.record)
                    continue
                _log_duplicates(source, run)
                run = []
                if result.outcome is Outcome.INSERTED:
                    self.summary.inserted += 1
                else:
                    self._conflict(source, pending, result, rejected)
            _log_duplicates(source, run)
            self.summary.duplicates += sum(r.outcome is Outcome.DUPLICATE for r in results)
        if rejected and self.quarantine is not None and not self.dry_run:
            self.quarantine.add(rejected)
        if self.progress is not None:
            self.progress(source, self.summary)

    def _write(self, records: list[IntervalRecord]) -> list[WriteResult]:
        backoff = Backoff()
        give_up = time.monotonic() + self.retry_for
        while True:
            try:
                with self.write_gate:
                    if self._ledger is not None:
                        return self._ledger.settle(self.writer.classify(records))
                    return self.writer.write(records)
            except DatabaseError as exc:
                delay = backoff.next_delay()
                if not exc.transient or time.monotonic() + delay > give_up:
                    raise
                logger.warning("{}; retrying in {:.0f} s", exc, delay)
                self.sleep(delay)

    def _conflict(
        self, source: InputFile, pending: _Pending, result: WriteResult, rejected: list[Any]
    ) -> None:
        self.summary.conflicts += 1
        assert result.existing is not None
        entry = QuarantineEntry.conflict(
            f"{source.label}:{pending.line}", pending.record, result.existing, pending.raw.rstrip()
        )
        self.summary.problems.append(Problem(source.label, pending.line, "conflict", entry.reason))
        self._problem_log().warning(
            "conflict: {} line {}: {} stored {} incoming {}",
            source.label,
            pending.line,
            pending.record.interval_end.strftime(INTERVAL_END_FORMAT),
            entry.existing,
            entry.incoming,
        )
        rejected.append(entry)

    def _problem_log(self) -> Any:
        """loguru's logger for one more problem line: after SHOWN_PROBLEMS, the file's only."""
        self._problems_logged += 1
        if self._problems_logged <= SHOWN_PROBLEMS:
            return logger
        if self._problems_logged == SHOWN_PROBLEMS + 1:
            logger.warning(
                "more invalid lines, conflicts and warnings follow: they go to the log file "
                "only, and the summary at the end counts them"
            )
        return logger.bind(**{FILE_ONLY: True})


def _log_duplicates(source: InputFile, run: list[IntervalRecord]) -> None:
    """One INFO line per run of consecutive duplicates: a re-replayed year is a few lines."""
    if not run:
        return
    first = run[0].interval_end.strftime(INTERVAL_END_FORMAT)
    if len(run) == 1:
        logger.info("duplicate: {} in {} already stored with the same values", first, source.label)
        return
    logger.info(
        "duplicate: {} intervals {} .. {} in {} already stored with the same values",
        len(run),
        first,
        run[-1].interval_end.strftime(INTERVAL_END_FORMAT),
        source.label,
    )
