"""A dropped SSH session: the console, in a real terminal (tmux), loses it and stops cleanly."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from tests.servers.mosquitto import MosquittoBroker
from tests.service import service_env


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_dropped_terminal_flushes_and_exits_instead_of_spinning(tmp_path: Path) -> None:
    socket = f"kyz-test-{uuid.uuid4().hex[:8]}"  # a private tmux server, nobody else's
    data = tmp_path / "data"
    with MosquittoBroker() as broker:
        env = service_env(data, broker.port)
        command = " ".join(
            [f"{k}={shlex.quote(v)}" for k, v in env.items() if k.startswith("KYZ_")]
            + [shlex.quote(sys.executable), "-m", "kyzconsole"]
        )
        tmux = ["tmux", "-L", socket]
        subprocess.run(
            [*tmux, "new-session", "-d", "-s", "console", "-x", "100", "-y", "30", command],
            check=True,
            env={**os.environ, "TERM": "xterm-256color"},
        )
        try:
            status_file = data / "status.json"
            deadline = time.monotonic() + 30
            status: dict = {}
            while not status.get("mqtt", {}).get("subscribed"):
                assert time.monotonic() < deadline, "the console did not start ingesting"
                time.sleep(0.1)  # the status file is the only window into the other process
                if status_file.exists():
                    status = json.loads(status_file.read_text())
            pid = status["pid"]
            broker.publish("pri/energy/kyz/interval", b"not json")
            subprocess.run([*tmux, "kill-server"], check=True)  # the terminal goes away: SIGHUP
            deadline = time.monotonic() + 20
            while alive(pid):
                assert time.monotonic() < deadline, "the console kept running without a terminal"
                time.sleep(0.1)
        finally:
            subprocess.run([*tmux, "kill-server"], capture_output=True)
    final = json.loads(status_file.read_text())
    assert final["state"] == "stopped"  # the engine's clean stop ran: spool flushed, lock freed
    assert final["spool"]["pending"] == 0


def test_after_a_hangup_the_watchdog_stops_the_mode_and_exits_if_the_ui_hangs(
    tmp_path: Path,
) -> None:
    # A UI stuck for good (Textual's output thread dead on a lost terminal, say): the main
    # thread sleeps; the watchdog must still stop the mode and end the process.
    marker = tmp_path / "stopped"
    script = f"""
import threading, time
from kyzconsole.tui import stop_at_last

class Mode:  # the part of a console mode the watchdog calls
    def stop(self):
        open({str(marker)!r}, "w").write("flushed")

threading.Thread(target=stop_at_last, args=(Mode().stop, 0.3), daemon=True).start()
time.sleep(60)
"""
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 20
    assert marker.read_text() == "flushed"
    assert b"still running" in result.stderr


def children(pid: int) -> list[tuple[int, bytes]]:
    """(pid, command line) of the processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if f"PPid:\t{pid}\n" in (entry / "status").read_text():
                found.append((int(entry.name), (entry / "cmdline").read_bytes()))
        except (OSError, ValueError):
            continue
    return found


def test_a_dropped_terminal_ends_the_demo_with_its_broker_and_files(tmp_path: Path) -> None:
    socket = f"kyz-test-{uuid.uuid4().hex[:8]}"
    tmux = ["tmux", "-L", socket]
    env = {**os.environ, "TERM": "xterm-256color", "TMPDIR": str(tmp_path)}
    command = f"{shlex.quote(sys.executable)} -m kyzconsole demo"
    subprocess.run(
        [*tmux, "new-session", "-d", "-s", "demo", "-x", "100", "-y", "30", command],
        check=True,
        env=env,
    )
    broker: list[tuple[int, bytes]] = []
    try:
        pane = subprocess.run(
            [*tmux, "list-panes", "-F", "#{pane_pid}"], capture_output=True, text=True, check=True
        )
        pid = int(pane.stdout.split()[0])
        deadline = time.monotonic() + 30
        while not broker:  # the demo is up once its private Mosquitto runs
            assert time.monotonic() < deadline, "the demo did not start its broker"
            time.sleep(0.1)
            broker = [c for c in children(pid) if b"mosquitto" in c[1]]
        roots = list(tmp_path.glob("kyz-demo-*"))
        assert len(roots) == 1
        status_file = roots[0] / "data" / "status.json"
        received = 0
        while not received:  # the simulator publishes and the console ingests
            assert time.monotonic() < deadline, "the demo did not start ingesting"
            time.sleep(0.1)  # the status file is the only window into the other process
            if status_file.exists():
                received = json.loads(status_file.read_text())["counters"]["received"]
        subprocess.run([*tmux, "kill-server"], check=True)
        deadline = time.monotonic() + 20
        while alive(pid) or alive(broker[0][0]):
            assert time.monotonic() < deadline, "the demo or its broker outlived the terminal"
            time.sleep(0.1)
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
        for child, _ in broker:  # a failed run must not leave its broker behind either
            if alive(child):
                os.kill(child, signal.SIGKILL)
    assert not roots[0].exists()  # the throwaway database and broker files are gone
