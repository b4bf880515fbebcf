"""The Textual console. Imported only by `kyzconsole` with no command: never by --headless."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from loguru import logger

from kyzconsole.config import Settings

# How long the clean stop may take after a hang-up before stop_at_last does it instead.
HANGUP_GRACE_SECONDS = 5.0


def run_console(settings: Settings, *, theme: str = "dark") -> int:
    """Run the console until the user quits; in ingest mode the spool is flushed first."""
    from kyzconsole.tui.app import make_app

    app = make_app(settings, theme=theme, keymap=settings.console_keys or None)
    stop_on_hangup(app)
    try:
        app.run()
    finally:
        app.mode.stop()  # a crash or a lost terminal still flushes and lets go of the lock
    if app.stop_error:
        print(f"kyzconsole: stopping failed: {app.stop_error}")
    return app.return_code or 0


def stop_on_hangup(
    app: Any, finish: Callable[[], None] | None = None, grace: float = HANGUP_GRACE_SECONDS
) -> None:
    """A dropped SSH session sends SIGHUP, whose default would kill us before the spool is
    flushed: ask the app to exit instead, so the caller's clean stop runs. `finish` is what
    stop_at_last runs if that never comes (default: stop the app's mode)."""
    if not hasattr(signal, "SIGHUP"):
        return  # Windows: a closed console window ends the process its own way

    def hangup(signum: int, frame: FrameType | None) -> None:
        _discard_output()
        threading.Thread(
            target=stop_at_last,
            args=(finish or app.mode.stop, grace),
            daemon=True,
            name="hangup-watchdog",
        ).start()
        asyncio.get_event_loop().call_soon_threadsafe(app.exit)

    signal.signal(signal.SIGHUP, hangup)


def _discard_output() -> None:
    """Point stdout and stderr at the null device. With the terminal gone a write fails, and a
    failed write kills Textual's output thread, whose bounded queue then blocks the app (and
    its shutdown) for good once it fills."""
    null = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        with contextlib.suppress(OSError):
            os.dup2(null, fd)
    os.close(null)


def stop_at_last(finish: Callable[[], None], grace: float) -> None:
    """The last resort after a hang-up: if the process is still here after `grace` seconds,
    run `finish` here (flush the spool, free the lock) and exit, whatever the UI is doing."""
    time.sleep(grace)
    logger.warning(
        "the console was still running {:.0f} s after its terminal went away; "
        "stopping the engine and exiting",
        grace,
    )
    try:
        finish()
    finally:
        os._exit(0)


def run_demo(settings: Settings, *, theme: str = "dark") -> int:
    """`kyzconsole demo`: private Mosquitto + simulator + console on a throwaway data dir."""
    from kyzconsole.tui.demo import run_demo as run

    return run(settings, theme=theme)
