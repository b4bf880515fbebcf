"""`kyzconsole --headless`: the unattended ingest service (Task Scheduler, a service wrapper)."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

from loguru import logger

from kyzconsole.cli.exit_codes import OK, USAGE
from kyzconsole.config import Settings
from kyzconsole.engine.ingest import IngestEngine
from kyzconsole.lock import IngestLock, LockHeld

FLUSH_SECONDS = 5.0


def run_headless(settings: Settings) -> int:
    lock = IngestLock(settings.resolved_data_dir, mode="headless")
    try:
        lock.acquire()
    except LockHeld as exc:
        logger.error("{}", exc)
        return USAGE
    stop = threading.Event()
    # Our threads hand work to each other around short GIL-free calls (sqlite, pyodbc,
    # sockets); a shorter switch interval stops each hand-over waiting up to 5 ms.
    sys.setswitchinterval(0.001)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        logger.info("received {}: stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    if sys.platform == "win32":
        signal.signal(signal.SIGBREAK, on_signal)  # Ctrl+Break, and what a service wrapper sends
    try:
        engine = IngestEngine(settings, mode="headless")
        engine.start()
        try:
            while not stop.wait(0.5):
                pass
        finally:
            engine.stop(flush_timeout=FLUSH_SECONDS)
    finally:
        lock.release()
    return OK
