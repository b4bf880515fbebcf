"""The interval ends a part of an input file may hold, read without validating the lines.

Parallel replay gives each process a part of one file. For an interval in two parts to be
settled as one process would settle it (the earlier line wins, the later one is the duplicate
or the conflict), a later part needs to know which intervals an earlier part holds. Reading
them here costs about a microsecond a line; validating costs ten.

The scan may find more than the lines hold (an interval of a line that will turn out invalid),
never less: a later line is then only set aside without need, and still settled in order.
"""

from __future__ import annotations

import json
import re
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from datetime import datetime

from kyzconsole.record.model import InvalidPayload
from kyzconsole.record.plc_csv import csv_interval_end, split_csv_line
from kyzconsole.sources.files import InputFile, InputFormat

# Without a backslash in the line, a JSON string is its bytes between the quotes, so this finds
# every intervalEnd member (a repeated member included; json keeps the last of them).
_JSON_INTERVAL_END = re.compile(rb'"intervalEnd"[ \t\r]*:[ \t\r]*"([^"\\\n]*)"')


class IntervalKeys:
    """A set of interval ends, kept as runs of evenly spaced seconds: a file in time order takes
    one run per gap in its data, however long it is, and is cheap to hand to another process."""

    def __init__(self, step: int) -> None:
        self.step = step  # the interval length in seconds
        self._starts, self._ends = array("q"), array("q")

    def copy(self) -> IntervalKeys:
        other = IntervalKeys(self.step)
        other._starts, other._ends = array("q", self._starts), array("q", self._ends)
        return other

    def add(self, seconds: Iterable[int]) -> None:
        starts, ends, step = self._starts, self._ends, self.step
        out_of_order = []
        for second in seconds:
            if ends and second <= ends[-1]:
                if not self._holds(second):
                    out_of_order.append(second)
            elif ends and second == ends[-1] + step:
                ends[-1] = second
            else:
                starts.append(second)
                ends.append(second)
        if out_of_order:  # a file not in time order: lay the runs out again, sorted
            everything = sorted({*self._expanded(), *out_of_order})
            self._starts, self._ends = array("q"), array("q")
            self.add(everything)

    def __contains__(self, moment: object) -> bool:
        return isinstance(moment, datetime) and self._holds(_seconds(moment))

    def __len__(self) -> int:
        return sum(
            (end - start) // self.step + 1
            for start, end in zip(self._starts, self._ends, strict=True)
        )

    def _holds(self, second: int) -> bool:
        at = bisect_right(self._starts, second) - 1
        return at >= 0 and second <= self._ends[at] and (second - self._starts[at]) % self.step == 0

    def _expanded(self) -> Iterator[int]:
        for start, end in zip(self._starts, self._ends, strict=True):
            yield from range(start, end + 1, self.step)

    @property
    def runs(self) -> int:
        return len(self._starts)


def scan_interval_keys(
    part: InputFile, step: int, earlier: IntervalKeys | None = None
) -> IntervalKeys:
    """`earlier` (not changed) and every interval end a valid line of `part` could carry.

    `step` is the interval length in seconds; `part` already knows its format.
    """
    keys = earlier.copy() if earlier is not None else IntervalKeys(step)
    keys.add(_seconds(moment) for moment in _interval_ends(part))
    return keys


def _interval_ends(part: InputFile) -> Iterator[datetime]:
    if part.format is InputFormat.CSV:
        texts: Iterable[str] = (t for _, raw in part.lines() for t in _csv_interval_end(part, raw))
    else:
        texts = (t for block in part.chunks() for t in _json(block))
    for text in texts:
        try:
            yield datetime.fromisoformat(text)
        except ValueError:
            continue  # not a date-time: that line is invalid and writes nothing


def _json(block: bytes) -> list[str]:
    """The intervalEnd texts in a block of whole JSONL lines."""
    if b"\\" not in block:
        return [m.decode("utf-8", "replace") for m in _JSON_INTERVAL_END.findall(block)]
    texts = []
    for line in block.split(b"\n"):
        if b"\\" not in line:
            texts += [m.decode("utf-8", "replace") for m in _JSON_INTERVAL_END.findall(line)]
            continue
        try:  # an escape could spell the name or the value: ask the real decoder
            data = json.loads(line.decode("utf-8").removeprefix("\ufeff"))
        except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError included
            continue
        value = data.get("intervalEnd") if isinstance(data, dict) else None
        if isinstance(value, str):
            texts.append(value)
    return texts


def _csv_interval_end(part: InputFile, raw: bytes) -> list[str]:
    try:
        cells = split_csv_line(raw, part.csv_delimiter)
        date, time = cells[part.csv_index["Date"]], cells[part.csv_index["Time"]]
        return [csv_interval_end(date.strip(), time.strip())]
    except (InvalidPayload, IndexError):
        return []


def _seconds(moment: datetime) -> int:
    return moment.toordinal() * 86400 + moment.hour * 3600 + moment.minute * 60 + moment.second
