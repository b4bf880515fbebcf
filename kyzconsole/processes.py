"""Child processes kyzconsole starts itself (the demo's private Mosquitto)."""

from __future__ import annotations

import signal
import subprocess


def stop_gently(process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """SIGTERM, so the child can save its state (Mosquitto its persistence); kill if it hangs."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
