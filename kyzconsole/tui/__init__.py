"""The Textual console. Imported only by `kyzconsole` with no command: never by --headless."""

from __future__ import annotations

import asyncio
import signal
from types import FrameType
from typing import Any

from kyzconsole.config import Settings


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


def stop_on_hangup(app: Any) -> None:
    """A dropped SSH session sends SIGHUP, whose default would kill us before the spool is
    flushed: ask the app to exit instead, so run_console's clean stop runs."""
    if not hasattr(signal, "SIGHUP"):
        return  # Windows: a closed console window ends the process its own way

    def hangup(signum: int, frame: FrameType | None) -> None:
        asyncio.get_event_loop().call_soon_threadsafe(app.exit)

    signal.signal(signal.SIGHUP, hangup)


def run_demo(settings: Settings, *, theme: str = "dark") -> int:
    """`kyzconsole demo`: private Mosquitto + simulator + console on a throwaway data dir."""
    from kyzconsole.tui.demo import run_demo as run

    return run(settings, theme=theme)
