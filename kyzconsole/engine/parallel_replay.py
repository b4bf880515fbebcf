"""Replay of one large file in several processes: validation is CPU-bound Python, so a second
core doubles throughput. Each process runs the ordinary Replay on its part of the file with its
own writer; the writer's race handling keeps keys that appear in two parts exactly once.
Workers send their log lines and progress back here, so this process writes the one log file.
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import fields
from pathlib import Path
from typing import Any

from loguru import logger

from kyzconsole.db.target import SqlTarget
from kyzconsole.db.writer import IntervalWriter
from kyzconsole.engine.replay import ProgressCallback, Replay, ReplaySummary
from kyzconsole.quarantine import Quarantine
from kyzconsole.record import ValidationRules
from kyzconsole.sources.files import InputFile

# Below this a second process costs more (its start-up) than it saves.
PARALLEL_MIN_BYTES = 4 << 20
COUNTS = ("read", "inserted", "duplicates", "conflicts", "invalid", "warnings")


def worth_splitting(source: InputFile, jobs: int) -> bool:
    if jobs < 2 or source.name == "-":
        return False
    try:
        return Path(source.name).stat().st_size >= PARALLEL_MIN_BYTES
    except OSError:
        return False  # let the ordinary path report it


_channel: Any = None
_gate: Any = None


def _join(channel: Any, gate: Any) -> None:
    """Worker start-up: multiprocessing queues and locks are handed over when a process starts."""
    global _channel, _gate
    _channel, _gate = channel, gate


def _worker(
    part: InputFile,
    number: int,
    target: SqlTarget,
    quarantine_path: Path | None,
    rules: ValidationRules,
    options: dict[str, Any],
) -> ReplaySummary:
    channel = _channel
    logger.remove()
    logger.add(
        lambda message: channel.put(("log", message.record["level"].name, str(message).rstrip())),
        level="INFO",
        format="{message}",
    )

    def progress(source: InputFile, summary: ReplaySummary) -> None:
        channel.put(
            ("progress", number, source.bytes_read, {k: getattr(summary, k) for k in COUNTS})
        )

    quarantine = Quarantine(quarantine_path) if quarantine_path is not None else None
    try:
        with IntervalWriter(target) as writer:
            replay = Replay(
                writer, quarantine, rules, progress=progress, write_gate=_gate, **options
            )
            return replay.run([part])
    finally:
        if quarantine is not None:
            quarantine.close()


def replay_in_parts(
    source: InputFile,
    jobs: int,
    target: SqlTarget,
    quarantine: Quarantine | None,
    rules: ValidationRules,
    options: dict[str, Any],
    progress: ProgressCallback | None,
) -> ReplaySummary:
    """Replay `source` split into `jobs` parts; the summary is theirs added up."""
    parts = source.split(jobs)
    # spawn, not fork: the same on Windows and Linux, and no forked copies of open connections.
    context = multiprocessing.get_context("spawn")
    channel = context.Queue()
    gate = context.Lock()
    quarantine_path = quarantine.path if quarantine is not None else None
    done = [0] * len(parts)
    counts: list[dict[str, int]] = [dict.fromkeys(COUNTS, 0) for _ in parts]
    shown = ReplaySummary(dry_run=bool(options.get("dry_run")))
    source.size = sum((p.end or 0) - p.start for p in parts)
    with ProcessPoolExecutor(
        len(parts), mp_context=context, initializer=_join, initargs=(channel, gate)
    ) as pool:
        futures: list[Future[ReplaySummary]] = [
            pool.submit(_worker, part, n, target, quarantine_path, rules, options)
            for n, part in enumerate(parts)
        ]
        while not all(f.done() for f in futures) or not channel.empty():
            # Drain until every worker is done and its last lines have arrived.
            try:
                message = channel.get(timeout=0.1)
            except queue.Empty:
                continue
            if message[0] == "log":
                logger.log(message[1], message[2])
            else:
                _, number, read_bytes, part_counts = message
                done[number], counts[number] = read_bytes, part_counts
                source.bytes_read = sum(done)
                for key in COUNTS:
                    setattr(shown, key, sum(c[key] for c in counts))
                if progress is not None:
                    progress(source, shown)
        summaries = [f.result() for f in futures]  # re-raises a worker's error here
    return _added(summaries, shown.dry_run)


def _added(summaries: list[ReplaySummary], dry_run: bool) -> ReplaySummary:
    total = ReplaySummary(dry_run=dry_run)
    for item in summaries:
        for f in fields(ReplaySummary):
            if f.name in COUNTS:
                setattr(total, f.name, getattr(total, f.name) + getattr(item, f.name))
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
        if worth_splitting(source, jobs):
            results.append(
                replay_in_parts(source, jobs, writer.target, quarantine, rules, options, progress)
            )
        else:
            replay = Replay(writer, quarantine, rules, progress=progress, **options)
            results.append(replay.run([source]))
    total = _added(results, bool(options.get("dry_run")))
    total.seconds = time.perf_counter() - started
    return total
