"""`kyzconsole status`: is the service running, is data arriving, is it landing in SQL."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any

from kyzconsole.cli.commands import add_command
from kyzconsole.cli.exit_codes import OK, RECORDS_FAILED
from kyzconsole.config import Settings
from kyzconsole.lock import is_held
from kyzconsole.status_file import read_status

NOT_RUNNING = 3
STALE_AFTER = 10.0  # seconds; the service writes every second or two

DESCRIPTION = """\
Print the running service's status file: MQTT connection, SQL health, counters since it
started, spool pending and the latest interval.

exit status: 0 running and healthy; 1 running but unhealthy (MQTT down, SQL failing) or its
status is stale; 3 no service is running on this data dir.
"""
EPILOG = """\
examples:
  kyzconsole status
  kyzconsole status --json | jq .counters
"""


def add_parser(
    commands: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    parser = add_command(
        commands,
        parents,
        "status",
        help="show the running service's health and counters",
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    parser.add_argument("--json", action="store_true", help="print the status file as JSON")
    parser.set_defaults(run=run_status, log_file=None)


def assess(status: dict[str, Any] | None, running: bool) -> tuple[int, list[str]]:
    """The exit code and the reasons behind it."""
    if not running or status is None or status.get("state") == "stopped":
        return NOT_RUNNING, ["no kyzconsole ingest is running on this data dir"]
    problems = []
    updated = datetime.fromisoformat(status["updated"])
    age = (datetime.now() - updated).total_seconds()
    if age > STALE_AFTER:
        problems.append(f"status is stale: last written {age:.0f} s ago")
    if not status["mqtt"]["connected"]:
        problems.append(f"MQTT not connected: {status['mqtt'].get('last_error') or 'connecting'}")
    if not status["sql"]["ok"]:
        problems.append(f"SQL not ok: {status['sql'].get('last_error') or 'not tried yet'}")
    return (RECORDS_FAILED if problems else OK), problems


def run_status(args: argparse.Namespace, settings: Settings) -> int:
    data_dir = settings.resolved_data_dir
    status = read_status(data_dir)
    code, problems = assess(status, is_held(data_dir))
    if args.json:
        print(json.dumps((status or {}) | {"healthy": code == OK, "problems": problems}, indent=2))
        return code
    if code == NOT_RUNNING:
        print(f"not running: no kyzconsole ingest holds {data_dir}")
        if status:
            print(f"last status: {status.get('state')} at {status.get('updated')}")
        return code
    assert status is not None
    mqtt, sql, counters = status["mqtt"], status["sql"], status["counters"]
    latest = status.get("latest_interval")
    lines = [
        f"kyzconsole {status['version']} {status['mode']}, pid {status['pid']}, "
        f"started {status['started']}, updated {status['updated']}",
        f"MQTT  {'connected' if mqtt['connected'] else 'DOWN'}  {mqtt['broker']} "
        f"{mqtt['topic']}; last message {mqtt['last_message'] or 'none yet'}",
        f"SQL   {'ok' if sql['ok'] else 'FAILING'}  {sql['target']}"
        + (f"; {sql['latency_ms']} ms" if sql["latency_ms"] is not None else "")
        + (f"; last error: {sql['last_error']}" if sql["last_error"] else ""),
        f"counts  received {counters['received']}, inserted {counters['inserted']}, "
        f"duplicates {counters['duplicates']}, conflicts {counters['conflicts']}, "
        f"invalid {counters['invalid']}; spool pending {status['spool']['pending']}",
        "latest  "
        + (
            f"{latest['intervalEnd']}  {latest['kWh']} kWh  {latest['kW']} kW "
            f"({latest['age_minutes']} min ago)"
            if latest
            else "none yet"
        ),
    ]
    print("\n".join(lines))
    for problem in problems:
        print(f"unhealthy: {problem}")
    return code
