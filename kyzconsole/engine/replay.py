"""Replay: backfill intervals from files through validation, the writer and quarantine."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from loguru import logger

from kyzconsole.db.errors import DatabaseError
from kyzconsole.db.writer import IntervalWriter, Outcome, WriteResult
from kyzconsole.engine.backoff import Backoff
from kyzconsole.quarantine import Quarantine, QuarantineEntry
from kyzconsole.record import INTERVAL_END_FORMAT, IntervalRecord, InvalidPayload, ValidationRules
from kyzconsole.record.payload import parse_payload
from kyzconsole.record.plc_csv import parse_csv_line
from kyzconsole.sources.files import InputFile, InputFormat

BATCH_SIZE = 1000


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
    ) -> None:
        self.writer = writer
        self.quarantine = quarantine
        self.rules = rules
        self.dry_run = dry_run
        self.batch_size = batch_size
        self.retry_for = retry_for
        self.progress = progress
        self.sleep = sleep
        self.summary = ReplaySummary(dry_run=dry_run)

    def run(self, files: Sequence[InputFile]) -> ReplaySummary:
        """Raises InputFileError for an unreadable file and DatabaseError once retries run out."""
        started = time.perf_counter()
        try:
            for source in files:
                self._replay_file(source)
        finally:
            self.summary.seconds = time.perf_counter() - started
        return self.summary

    def _replay_file(self, source: InputFile) -> None:
        # Double buffering: the next batch is parsed here while the writer thread stores the
        # last one, so parsing overlaps the database's own time.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kyz-replay-writer") as pool:
            writing: Future[None] | None = None
            batch: list[_Pending] = []
            rejected: list[QuarantineEntry] = []
            for number, raw in source.lines():
                pending = self._parse(source, number, raw, rejected)
                if pending is not None:
                    batch.append(pending)
                if len(batch) >= self.batch_size:
                    writing = self._hand_over(pool, writing, source, batch, rejected)
                    batch, rejected = [], []
            writing = self._hand_over(pool, writing, source, batch, rejected)
            self._finish(writing, source)
        self.summary.problems.sort(key=lambda p: (p.file, p.line))

    def _parse(
        self, source: InputFile, number: int, raw: bytes, rejected: list[QuarantineEntry]
    ) -> _Pending | None:
        self.summary.read += 1
        try:
            if source.format is InputFormat.CSV:
                parsed = parse_csv_line(raw, source.csv_index, self.rules, source.csv_delimiter)
            else:
                parsed = parse_payload(raw, self.rules)
        except InvalidPayload as exc:
            self._invalid(source, number, raw, exc.reason, rejected)
            return None
        if parsed.warnings:
            self.summary.warnings += 1
            logger.warning("{} line {}: {}", source.label, number, parsed.warnings[0])
        if parsed.unknown_fields:
            logger.debug("{} line {}: ignored {}", source.label, number, parsed.unknown_fields)
        return _Pending(parsed.record, number, raw)

    def _hand_over(
        self,
        pool: ThreadPoolExecutor,
        writing: Future[None] | None,
        source: InputFile,
        batch: list[_Pending],
        rejected: list[QuarantineEntry],
    ) -> Future[None] | None:
        self._finish(writing, source)
        if not batch and not rejected:
            return None
        return pool.submit(self._flush, source, batch, rejected)

    def _finish(self, writing: Future[None] | None, source: InputFile) -> None:
        if writing is None:
            return
        writing.result()  # re-raises the writer's DatabaseError here
        if self.progress is not None:
            self.progress(source, self.summary)

    def _invalid(
        self, source: InputFile, number: int, raw: bytes, reason: str, rejected: list[Any]
    ) -> None:
        self.summary.invalid += 1
        self.summary.problems.append(Problem(source.label, number, "invalid", reason))
        logger.warning("invalid: {} line {}: {}", source.label, number, reason)
        rejected.append(QuarantineEntry.invalid(f"{source.label}:{number}", reason, raw.rstrip()))

    def _flush(
        self, source: InputFile, batch: list[_Pending], rejected: list[QuarantineEntry]
    ) -> None:
        if batch:
            results = self._write([p.record for p in batch])
            for pending, result in zip(batch, results, strict=True):
                if result.outcome is Outcome.INSERTED:
                    self.summary.inserted += 1
                else:
                    self._count(source, pending, result, rejected)
        if rejected and self.quarantine is not None and not self.dry_run:
            self.quarantine.add(rejected)

    def _write(self, records: list[IntervalRecord]) -> list[WriteResult]:
        backoff = Backoff()
        give_up = time.monotonic() + self.retry_for
        while True:
            try:
                if self.dry_run:
                    return self.writer.classify(records)
                return self.writer.write(records)
            except DatabaseError as exc:
                delay = backoff.next_delay()
                if not exc.transient or time.monotonic() + delay > give_up:
                    raise
                logger.warning("{}; retrying in {:.0f} s", exc, delay)
                self.sleep(delay)

    def _count(
        self,
        source: InputFile,
        pending: _Pending,
        result: WriteResult,
        rejected: list[QuarantineEntry],
    ) -> None:
        summary = self.summary
        end = pending.record.interval_end.strftime(INTERVAL_END_FORMAT)
        if result.outcome is Outcome.DUPLICATE:
            summary.duplicates += 1
            logger.info("duplicate: {} already stored with the same values", end)
        else:
            summary.conflicts += 1
            assert result.existing is not None
            entry = QuarantineEntry.conflict(
                f"{source.label}:{pending.line}",
                pending.record,
                result.existing,
                pending.raw.rstrip(),
            )
            summary.problems.append(Problem(source.label, pending.line, "conflict", entry.reason))
            logger.warning(
                "conflict: {} line {}: {} stored {} incoming {}",
                source.label,
                pending.line,
                end,
                entry.existing,
                entry.incoming,
            )
            rejected.append(entry)
