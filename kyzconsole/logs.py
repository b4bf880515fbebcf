"""Logging through loguru: a daily-rotated file kept 30 days, stderr, secrets masked."""

from __future__ import annotations

import inspect
import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from loguru import logger

from kyzconsole.masking import SECRETS

INGEST_LOG = "kyz_ingestor.log"
FILE_FORMAT = "{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <8} | {name}:{line} | {message}"
STDERR_FORMAT = "<level>{level: <8}</level> {message}"
# A record bound with this (logger.bind(file_only=True)) goes to the log file, not the terminal.
FILE_ONLY = "file_only"


class InterceptHandler(logging.Handler):
    """Sends standard `logging` records (paho's among them) into loguru."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        frame, depth = inspect.currentframe(), 0
        while frame is not None and (depth == 0 or frame.f_code.co_filename == logging.__file__):
            frame = frame.f_back
            depth += 1
        logger.opt(depth=depth, exception=record.exc_info).log(level, record.getMessage())


def log_lines(level: str, lines: list[str], *, name: str) -> None:
    """Many one-line events in a single loguru call, each line laid out as the file's format.

    A loguru call costs about 25 us; at thousands of messages a second, one call per message
    would be a quarter of the service's CPU. The lines are identical to separate calls' lines
    but for the source line number.
    """
    if not lines:
        return
    stamp = datetime.now().strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    prefix = f"{stamp} | {level: <8} | {name} | "
    logger.opt(raw=True).log(level, "".join(f"{prefix}{line}\n" for line in lines))


def _scrub(record: Any) -> None:
    record["message"] = SECRETS.scrub(record["message"])


def setup_logging(
    log_dir: Path | None,
    *,
    file_level: str = "INFO",
    stderr_level: str | None = "INFO",
    file_name: str = INGEST_LOG,
) -> Path | None:
    """Configure loguru for this process. Returns the log file, or None if it can't be written.

    One process, one log file: on Windows a file another process holds open cannot be rotated.
    """
    logger.remove()
    logger.configure(patcher=_scrub)
    if stderr_level is not None:
        logger.add(
            sys.stderr,
            level=stderr_level,
            format=STDERR_FORMAT,
            colorize=None,
            filter=lambda record: not record["extra"].get(FILE_ONLY),
        )
    logging.basicConfig(handlers=[InterceptHandler()], level=logging.INFO, force=True)
    if log_dir is None:
        return None
    path = log_dir / file_name
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        logger.add(
            path,
            level=file_level,
            format=FILE_FORMAT,
            rotation="00:00",
            retention="30 days",
            encoding="utf-8",
        )
    except OSError as exc:
        logger.warning(
            "cannot write the log file {} ({}); logging to stderr only: set KYZ_LOG_DIR",
            path,
            exc.strerror or exc,
        )
        return None
    return path
