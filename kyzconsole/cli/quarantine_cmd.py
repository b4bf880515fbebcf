"""`kyzconsole quarantine`: list what was set aside, and export it for fixing and `replay`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from kyzconsole.cli.commands import add_command
from kyzconsole.cli.exit_codes import OK
from kyzconsole.config import Settings
from kyzconsole.quarantine import QUARANTINE_FILE_NAME, Quarantine, QuarantineEntry, export_line

DESCRIPTION = """\
The quarantine keeps every invalid payload (raw bytes, source, received time, reason) and every
conflict (the incoming and the stored version) in quarantine.db in the data dir.

  list     one line per entry (default)
  export   one payload per line, ready to fix by hand and give to `kyzconsole replay`:
           an invalid entry as its raw text, a conflict as its incoming payload as JSON.
"""
EPILOG = """\
examples:
  kyzconsole quarantine
  kyzconsole quarantine list --kind conflict --json
  kyzconsole quarantine export --output fix-me.jsonl
  kyzconsole replay fix-me.jsonl          (after fixing the lines)
"""


def add_parser(
    commands: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    parser = add_command(
        commands,
        parents,
        "quarantine",
        help="list or export invalid payloads and conflicts",
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    parser.add_argument("action", nargs="?", choices=["list", "export"], default="list")
    parser.add_argument("--kind", choices=["invalid", "conflict"], help="only this kind")
    parser.add_argument("--json", action="store_true", help="list as JSON")
    parser.add_argument(
        "--output", type=Path, metavar="FILE", help="export to FILE instead of stdout"
    )
    parser.set_defaults(run=run_quarantine, log_file=None)


def entry_dict(entry: QuarantineEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "kind": entry.kind,
        "quarantined_at": _iso(entry.quarantined_at),
        "received_at": _iso(entry.received_at),
        "source": entry.source,
        "reason": entry.reason,
        "raw": entry.raw.decode("utf-8", "replace") if entry.raw is not None else None,
        "interval_end": _iso(entry.interval_end),
        "incoming": entry.incoming,
        "existing": entry.existing,
    }


def run_quarantine(args: argparse.Namespace, settings: Settings) -> int:
    path = settings.resolved_data_dir / QUARANTINE_FILE_NAME
    if not path.exists():
        print(f"the quarantine is empty ({path} does not exist yet)", file=sys.stderr)
        if args.json:
            print("[]")
        return OK
    with Quarantine(path) as quarantine:
        entries = list(quarantine.entries(args.kind))
    if args.action == "export":
        text = "".join(export_line(e) + "\n" for e in entries)
        if args.output:
            args.output.write_text(text, encoding="utf-8")
            print(f"exported {len(entries)} entries to {args.output}", file=sys.stderr)
        else:
            sys.stdout.write(text)
        return OK
    if args.json:
        print(json.dumps([entry_dict(e) for e in entries], indent=2))
        return OK
    if not entries:
        print("the quarantine is empty")
    for e in entries:
        print(f"#{e.id} {_iso(e.quarantined_at)} {e.kind:<8} {e.source}: {e.reason}")
    return OK


def _iso(value: Any) -> str | None:
    return value.isoformat(sep=" ") if value is not None else None
