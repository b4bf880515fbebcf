"""`kyzconsole test-conn`: a checklist of everything ingest needs, each ✓ or ✗ with a fix."""

from __future__ import annotations

import argparse
import json
import sys

from kyzconsole.cli.commands import add_command
from kyzconsole.cli.exit_codes import OK, USAGE
from kyzconsole.config import Settings
from kyzconsole.engine.checks import Check, run_checks

DESCRIPTION = """\
Check, one line each: the configuration, the ODBC driver, the SQL login, the table and its
columns, INSERT and SELECT permission, the MQTT connection (TLS and auth), the subscription to
the interval topic at QoS 1, and that the data and log dirs are writable. Nothing is published
and nothing is written to the database. Secrets are masked.

exit status: 0 every check passed; 2 a check failed (something could not be reached or
used) or the configuration itself is invalid.
"""
EPILOG = """\
examples:
  kyzconsole test-conn
  kyzconsole test-conn --json
  kyzconsole test-conn --config C:\\ProgramData\\kyzconsole\\kyzconsole.toml
"""


def add_parser(
    commands: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    parser = add_command(
        commands,
        parents,
        "test-conn",
        help="check SQL and MQTT connectivity, one line per check",
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    parser.add_argument("--json", action="store_true", help="print the checks as a JSON list")
    parser.set_defaults(run=run_test_conn, log_file=None)


def marks() -> tuple[str, str]:
    """✓ and ✗ where the terminal can print them (a Windows console may not)."""
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        "✓✗".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return "OK  ", "FAIL"
    return "✓", "✗"


def format_check(check: Check) -> str:
    good, bad = marks()
    line = f"{good if check.ok else bad} {check.name}: {check.detail}"
    if not check.ok and check.fix:
        line += f" -> {check.fix}"
    return line


def run_test_conn(args: argparse.Namespace, settings: Settings) -> int:
    source = f" (from {args.config})" if args.config else ""
    results = []
    for check in run_checks(settings, config_source=source):
        results.append(check)
        if not args.json:
            print(format_check(check), flush=True)
    if args.json:
        print(json.dumps([c.as_dict() for c in results], indent=2))
    return OK if all(c.ok for c in results) else USAGE
