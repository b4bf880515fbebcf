"""The Textual console. Imported only by `kyzconsole` with no command: never by --headless."""

from __future__ import annotations

from kyzconsole.config import Settings


def run_console(settings: Settings, *, theme: str = "dark") -> int:
    """Run the console until the user quits; in ingest mode the spool is flushed first."""
    from kyzconsole.tui.app import make_app

    app = make_app(settings, theme=theme, keymap=settings.console_keys or None)
    try:
        app.run()
    finally:
        app.mode.stop()  # a crash or a lost terminal still flushes and lets go of the lock
    if app.stop_error:
        print(f"kyzconsole: stopping failed: {app.stop_error}")
    return app.return_code or 0


def run_demo(settings: Settings, *, theme: str = "dark") -> int:
    """`kyzconsole demo`: private Mosquitto + simulator + console on a throwaway data dir."""
    from kyzconsole.tui.demo import run_demo as run

    return run(settings, theme=theme)
