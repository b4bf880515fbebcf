"""Progress for long work: a bar on a terminal, a plain line every few seconds otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from kyzconsole.engine.replay import ReplaySummary
from kyzconsole.sources.files import InputFile


def _counts(summary: ReplaySummary) -> str:
    return (
        f"{summary.read:,} read, {summary.inserted:,} inserted, {summary.duplicates:,} duplicate, "
        f"{summary.conflicts:,} conflict, {summary.invalid:,} invalid"
    )


class ReplayProgress:
    """Call with (file, summary) after each batch; `close()` when done."""

    def __init__(self, stream: TextIO | None = None, every: float = 5.0) -> None:
        self.stream = stream or sys.stderr
        self.every = every
        self._last = time.monotonic()
        self._bar: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        if self.stream.isatty():
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[counts]}"),
                console=Console(file=self.stream),
                transient=False,
            )
            self._bar.start()

    def __call__(self, source: InputFile, summary: ReplaySummary) -> None:
        if self._bar is not None:
            task = self._tasks.get(source.label)
            if task is None:
                task = self._bar.add_task(source.label, total=source.size, counts="")
                self._tasks[source.label] = task
            self._bar.update(task, completed=source.bytes_read, counts=_counts(summary))
            return
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            done = ""
            if source.size:
                done = f" ({100 * source.bytes_read / source.size:.0f}% of {source.label})"
            print(f"replay: {_counts(summary)}{done}", file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
