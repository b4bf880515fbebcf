"""Input files for replay: JSONL payloads or the PLC's microSD CSV, read as a stream."""

from __future__ import annotations

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
            number = 0
            for raw in handle:
                number += 1
                self.bytes_read += len(raw)
                if not raw.strip():
                    continue
                if self.format is None:
                    self.format = self.requested_format or detect_format(raw, self.label)
                    if self.format is InputFormat.CSV:
                        self._read_header(raw)
                        continue
                yield number, raw
        finally:
            if handle is not sys.stdin.buffer:
                handle.close()

    def _read_header(self, raw: bytes) -> None:
        self.csv_delimiter = sniff_delimiter(raw)
        try:
            self.csv_index = header_index(split_csv_line(raw, self.csv_delimiter))
        except ValueError as exc:
            raise InputFileError(f"{self.label} line 1: {exc}") from None


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
