"""Replay of one large file in several processes: validation is CPU-bound Python, so a second
core helps (about 1.5 times as fast on two cores). Each process runs the ordinary Replay on its
part of the file with its own writer; this process takes the first part, so it works while the
others start.
Workers send their log lines and progress back here, so this process writes the one log file.

The outcome is the one a single process would give. A line whose interval an earlier part also
holds is set aside by its worker and replayed here after all the parts, in file order, so the
earlier line is the one stored and the later one is the duplicate or the conflict. The
writer's race handling is the backstop: nothing is written twice even so.
"""

from __future__ import annotations

import copy
import multiprocessing
import queue
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from loguru import logger

from kyzconsole.db.errors import DatabaseError
from kyzconsole.db.target import SqlTarget
from kyzconsole.db.writer import IntervalWriter
from kyzconsole.engine.replay import COUNTS, ProgressCallback, Replay, ReplaySummary
from kyzconsole.logs import FILE_ONLY
from kyzconsole.quarantine import Quarantine
from kyzconsole.record import ValidationRules
from kyzconsole.sources.files import InputFile
from kyzconsole.sources.interval_keys import IntervalKeys, scan_interval_keys

# Below this a second process costs more (its start-up) than it saves: on two cores a 4 MiB
# file took longer in two processes than in one, an 8 MiB file about 10% less.
PARALLEL_MIN_BYTES = 8 << 20
# The first part is this process's, which starts at once, while a worker must spawn and
# import first. With even parts the worker ended 0.2 s after this process on two cores; with
# the first part 2 MiB longer, both end within about 0.1 s of each other.
HEAD_START_BYTES = 2 << 20


class ReplayWorkerError(Exception):
    """A worker process died (killed, out of memory): its part is not known to be done."""


def worth_splitting(source: InputFile, jobs: int) -> bool:
    if jobs < 2 or source.name == "-":
        return False
    try:
        return Path(source.name).stat().st_size >= PARALLEL_MIN_BYTES
    except OSError:
        return False  # let the ordinary path report it


_channel: Any = None
_gate: Any = None


class _Turns:
    """The processes' shared lock around each write, given up on after `patience` seconds.

    Taking turns here is cheaper than waiting in the database's own lock, but it is only that:
    the database keeps the writes correct. So a process killed while it held the lock (the
    out-of-memory killer) must not stall the others: they wait a while, then go on without.
    """

    def __init__(self, lock: Any, patience: float = 10.0) -> None:
        self._lock, self._patience, self._held = lock, patience, False

    def __enter__(self) -> None:
        if self._lock is not None:
            self._held = self._lock.acquire(timeout=self._patience)
            if not self._held:
                logger.debug(
                    "replay: no turn at the write lock in {} s; going on without", self._patience
                )
                self._lock = None

    def __exit__(self, *exc: object) -> None:
        if self._held:
            self._lock.release()
            self._held = False


def _join(channel: Any, gate: Any) -> None:
    """Worker start-up: multiprocessing queues and locks are handed over when a process starts."""
    global _channel, _gate
    _channel, _gate = channel, gate


def _started() -> None:
    """Nothing: submitted only so that the pool starts its processes before the real work."""


def _worker(
    part: InputFile,
    number: int,
    target: SqlTarget,
    quarantine_path: Path | None,
    rules: ValidationRules,
    options: dict[str, Any],
    earlier: IntervalKeys,
) -> tuple[ReplaySummary, list[int]]:
    """Replay one part; return its summary and the lines it set aside."""
    channel = _channel
    logger.remove()
    logger.add(
        lambda message: channel.put(
            (
                "log",
                message.record["level"].name,
                str(message).rstrip(),
                bool(message.record["extra"].get(FILE_ONLY)),
            )
        ),
        level="INFO",
        format="{message}",
    )

    def progress(source: InputFile, summary: ReplaySummary) -> None:
        channel.put(("progress", number, source.bytes_read, summary.counts()))

    quarantine = Quarantine(quarantine_path) if quarantine_path is not None else None
    try:
        with IntervalWriter(target) as writer:
            replay = Replay(
                writer,
                quarantine,
                rules,
                progress=progress,
                write_gate=_Turns(_gate),
                set_aside=earlier,
                **options,
            )
            return replay.run([part]), replay.set_aside_lines
    finally:
        if quarantine is not None:
            quarantine.close()


class _Tally:
    """What every part has done so far, shown as one replay of the whole file."""

    def __init__(
        self, source: InputFile, parts: int, dry_run: bool, progress: ProgressCallback | None
    ) -> None:
        self.source, self.progress = source, progress
        self.done = [0] * parts
        self.counts: list[dict[str, int]] = [dict.fromkeys(COUNTS, 0) for _ in range(parts)]
        self.shown = ReplaySummary(dry_run=dry_run)

    def update(self, number: int, read_bytes: int, counts: dict[str, int]) -> None:
        self.done[number], self.counts[number] = read_bytes, counts
        self.source.bytes_read = sum(self.done)
        for key in COUNTS:
            setattr(self.shown, key, sum(c[key] for c in self.counts))
        if self.progress is not None:
            self.progress(self.source, self.shown)

    def take(self, message: tuple[Any, ...]) -> None:
        """One message from a worker: a log line to write here, or its progress."""
        if message[0] == "log":
            logger.bind(**{FILE_ONLY: message[3]}).log(message[1], message[2])
        else:
            self.update(*message[1:])


def replay_in_parts(
    source: InputFile,
    jobs: int,
    writer: IntervalWriter,
    quarantine: Quarantine | None,
    rules: ValidationRules,
    options: dict[str, Any],
    progress: ProgressCallback | None,
) -> ReplaySummary:
    """Replay `source` split into `jobs` parts; the summary is theirs added up."""
    parts = source.split(jobs, head_start=HEAD_START_BYTES)
    if len(parts) < 2:
        return Replay(writer, quarantine, rules, progress=progress, **options).run(parts)
    # Before any worker starts: a wrong login fails here, once, and the embedded database is
    # created by one process, not raced for by several. An outage is left to each part's
    # retries, as in one process.
    try:
        writer.connect()
    except DatabaseError as exc:
        if not exc.transient:
            raise
    # spawn, not fork: the same on Windows and Linux, and no forked copies of open connections.
    context = multiprocessing.get_context("spawn")
    channel = context.Queue()
    gate = context.Lock()
    quarantine_path = quarantine.path if quarantine is not None else None
    # One slot per part, and a last one for the set-aside lines replayed after them.
    tally = _Tally(source, len(parts) + 1, bool(options.get("dry_run")), progress)
    source.size = sum((p.end or 0) - p.start for p in parts)
    step = rules.interval_minutes * 60

    def drain(wait: float | None = None) -> None:
        try:
            while True:
                tally.take(channel.get(timeout=wait) if wait else channel.get_nowait())
                wait = None
        except queue.Empty:
            pass

    def first_part_progress(part: InputFile, summary: ReplaySummary) -> None:
        tally.update(0, part.bytes_read, summary.counts())
        drain()  # between this process's batches, the workers' news

    try:
        with ProcessPoolExecutor(
            len(parts) - 1, mp_context=context, initializer=_join, initargs=(channel, gate)
        ) as pool:
            for _ in parts[1:]:  # start every worker now: their start-up then overlaps the scans
                pool.submit(_started)
            futures: list[Future[tuple[ReplaySummary, list[int]]]] = []
            earlier: IntervalKeys | None = None
            for number, part in enumerate(parts[1:], start=1):
                # New objects each time: what was submitted may not be pickled for its worker yet.
                earlier = scan_interval_keys(copy.copy(parts[number - 1]), step, earlier)
                futures.append(
                    pool.submit(
                        _worker,
                        part,
                        number,
                        writer.target,
                        quarantine_path,
                        rules,
                        options,
                        earlier,
                    )
                )
            first = Replay(
                writer,
                quarantine,
                rules,
                progress=first_part_progress,
                write_gate=_Turns(gate),
                **options,
            )
            try:
                summaries = [first.run([parts[0]])]
            finally:
                # Even after an error here: a worker with unread messages could not exit.
                while not all(f.done() for f in futures) or not channel.empty():
                    drain(wait=0.1)  # until every worker is done and its last lines have arrived
            results = [f.result() for f in futures]  # re-raises a worker's error here
    except BrokenProcessPool:
        raise ReplayWorkerError(
            f"{source.label}: a replay process stopped before its part was done; the batches "
            "it committed stay. Run the same replay again (with --jobs 1 if this happens "
            "again): rows already stored then count as duplicates"
        ) from None
    summaries += [summary for summary, _ in results]
    later = _set_aside_parts(parts[1:], [lines for _, lines in results])
    if later:
        summaries.append(
            _replay_set_aside(later, source, writer, quarantine, rules, options, tally)
        )
    return _added(summaries, tally.shown.dry_run)


def _set_aside_parts(parts: list[InputFile], lines: list[list[int]]) -> list[InputFile]:
    later = []
    for part, numbers in zip(parts, lines, strict=True):
        if numbers:
            piece = copy.copy(part)
            piece.only_lines, piece.bytes_read = frozenset(numbers), 0
            later.append(piece)
    return later


def _replay_set_aside(
    later: list[InputFile],
    source: InputFile,
    writer: IntervalWriter,
    quarantine: Quarantine | None,
    rules: ValidationRules,
    options: dict[str, Any],
    tally: _Tally,
) -> ReplaySummary:
    """The lines whose interval an earlier part also holds, now that the earlier parts are in."""
    count = sum(len(p.only_lines or ()) for p in later)
    logger.info(
        "{}: {:,} {} an interval of an earlier part; replaying in file order",
        source.label,
        count,
        "line repeats" if count == 1 else "lines repeat",
    )
    last = len(tally.done) - 1  # the set-aside slot; its bytes were counted with their parts

    def show(_: InputFile, summary: ReplaySummary) -> None:
        tally.update(last, 0, summary.counts())

    return Replay(writer, quarantine, rules, progress=show, **options).run(later)


def _added(summaries: list[ReplaySummary], dry_run: bool) -> ReplaySummary:
    total = ReplaySummary(dry_run=dry_run)
    for item in summaries:
        for key in COUNTS:
            setattr(total, key, getattr(total, key) + getattr(item, key))
        total.problems += item.problems
    total.problems.sort(key=lambda p: (p.file, p.line))
    return total


def replay_files(
    files: list[InputFile],
    writer: IntervalWriter,
    quarantine: Quarantine | None,
    rules: ValidationRules,
    *,
    jobs: int = 1,
    progress: ProgressCallback | None = None,
    **options: Any,
) -> ReplaySummary:
    """Replay the files in order; a large one in `jobs` processes. Raises as Replay.run does."""
    started = time.perf_counter()
    results = []
    for source in files:
        # A dry run reads in one process: its would-be inserts are in that process's ledger.
        if worth_splitting(source, jobs) and not options.get("dry_run"):
            results.append(
                replay_in_parts(source, jobs, writer, quarantine, rules, options, progress)
            )
        else:
            replay = Replay(writer, quarantine, rules, progress=progress, **options)
            results.append(replay.run([source]))
    total = _added(results, bool(options.get("dry_run")))
    total.seconds = time.perf_counter() - started
    return total
