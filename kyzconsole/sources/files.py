"""Input files for replay: JSONL payloads or the PLC's microSD CSV, read as a stream."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

from kyzconsole.record.plc_csv import header_index, sniff_delimiter, split_csv_line


class InputFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


class InputFileError(Exception):
    """A file that cannot be replayed at all (missing, unreadable, unknown format)."""


class InputFile:
    """One file (or '-' for standard input), its format, and its lines as raw bytes."""

    def __init__(self, name: str, format: InputFormat | None = None) -> None:
        self.name = name
        self.requested_format = format
        self.bytes_read = 0
        self.size: int | None = None
        self.format: InputFormat | None = None
        self.csv_index: dict[str, int] = {}
        self.csv_delimiter = ","
        # A part of a file (see split): bytes [start, end), the first line's number.
        self.start = 0
        self.end: int | None = None
        self.first_line = 1
        # Only these line numbers, when set: the lines parallel replay set aside (see split).
        self.only_lines: frozenset[int] | None = None

    @property
    def label(self) -> str:
        return "stdin" if self.name == "-" else self.name

    def _open(self) -> BinaryIO:
        if self.name == "-":
            return sys.stdin.buffer
        path = Path(self.name)
        try:
            self.size = path.stat().st_size
            return path.open("rb")
        except FileNotFoundError:
            raise InputFileError(f"{self.name}: no such file") from None
        except IsADirectoryError:
            raise InputFileError(f"{self.name}: is a directory, not a file") from None
        except OSError as exc:
            raise InputFileError(f"{self.name}: cannot be read ({exc.strerror})") from None

    def lines(self) -> Iterator[tuple[int, bytes]]:
        """Data lines with their 1-based line numbers; blank lines and the CSV header skipped."""
        handle = self._open()
        try:
            number = self.first_line - 1
            if self.start:
                handle.seek(self.start)
            remaining = self.end - self.start if self.end is not None else None
            only = self.only_lines
            if remaining is not None:
                self.size = remaining
            for raw in handle:
                if remaining is not None:
                    if remaining <= 0:
                        break
                    remaining -= len(raw)
                number += 1
                self.bytes_read += len(raw)
                if not raw.strip():
                    continue
                if self.format is None:
                    self.format = self.requested_format or detect_format(raw, self.label)
                    if self.format is InputFormat.CSV:
                        self._read_header(raw)
                        continue
                if only is None or number in only:
                    yield number, raw
        finally:
            if handle is not sys.stdin.buffer:
                handle.close()

    def chunks(self, size: int = 1 << 20) -> Iterator[bytes]:
        """The raw bytes of this file or part in pieces of about `size`, each ending at a line end
        (the header and blank lines included). For a fast scan, where lines() costs too much."""
        handle = self._open()
        try:
            handle.seek(self.start)
            remaining = self.end - self.start if self.end is not None else None
            while remaining is None or remaining > 0:
                block = handle.read(size if remaining is None else min(size, remaining))
                if not block:
                    break
                if not block.endswith(b"\n") and (remaining is None or len(block) < remaining):
                    block += handle.readline()  # parts end at line ends, so this stays inside
                if remaining is not None:
                    block = block[:remaining]
                    remaining -= len(block)
                yield block
        finally:
            if handle is not sys.stdin.buffer:
                handle.close()

    def split(self, parts: int, head_start: int = 0) -> list[InputFile]:
        """This file as up to `parts` pieces, cut at line ends, for parallel replay; the first
        piece `head_start` bytes longer than the others.

        Reads the format (and a CSV header) first, so each piece knows it; line numbers in the
        pieces are the file's own.
        """
        handle = self._open()
        try:
            data_start, line = 0, 1
            for raw in handle:
                if raw.strip():
                    self.format = self.requested_format or detect_format(raw, self.label)
                    if self.format is InputFormat.CSV:
                        self._read_header(raw)
                        data_start, line = data_start + len(raw), line + 1
                    break
                data_start, line = data_start + len(raw), line + 1
            size = handle.seek(0, 2)
            cuts = [data_start]
            for k in range(1, parts):
                rest = max(0, size - data_start - head_start)
                handle.seek(max(cuts[-1], data_start + head_start + rest * k // parts))
                handle.readline()  # move to the start of the next line
                if handle.tell() < size and handle.tell() > cuts[-1]:
                    cuts.append(handle.tell())
            cuts.append(size)
            pieces, line_number = [], line
            for begin, finish in itertools.pairwise(cuts):
                piece = InputFile(self.name, self.format)
                piece.format, piece.csv_index = self.format, dict(self.csv_index)
                piece.csv_delimiter = self.csv_delimiter
                piece.start, piece.end, piece.first_line = begin, finish, line_number
                pieces.append(piece)
                handle.seek(begin)
                line_number += _count_newlines(handle, finish - begin)
            return pieces
        finally:
            if handle is not sys.stdin.buffer:
                handle.close()

    def _read_header(self, raw: bytes) -> None:
        self.csv_delimiter = sniff_delimiter(raw)
        try:
            self.csv_index = header_index(split_csv_line(raw, self.csv_delimiter))
        except ValueError as exc:
            raise InputFileError(f"{self.label} line 1: {exc}") from None


def _count_newlines(handle: BinaryIO, length: int) -> int:
    count = 0
    while length > 0:
        block = handle.read(min(length, 1 << 20))
        if not block:
            break
        count += block.count(b"\n")
        length -= len(block)
    return count


def detect_format(first_line: bytes, label: str) -> InputFormat:
    text = first_line.decode("utf-8-sig", errors="replace").strip()
    if text.startswith("{"):
        return InputFormat.JSONL
    lowered = text.lower()
    if "date" in lowered and "time" in lowered and ("," in text or ";" in text):
        return InputFormat.CSV
    raise InputFileError(
        f"{label}: cannot tell the format: the first line is neither a JSON object nor a PLC "
        "CSV header (Date,Time,counter15min,...); use --format jsonl or --format csv"
    )
