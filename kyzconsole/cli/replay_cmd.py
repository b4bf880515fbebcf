"""`kyzconsole replay FILE...`: backfill from JSONL payloads or the PLC's microSD CSV."""

from __future__ import annotations

import argparse
import json
import os
import sys

from loguru import logger

from kyzconsole.cli.commands import add_command
from kyzconsole.cli.exit_codes import OK, RECORDS_FAILED
from kyzconsole.cli.progress import ReplayProgress
from kyzconsole.config import Settings
from kyzconsole.db.target import resolve_target
from kyzconsole.db.writer import IntervalWriter
from kyzconsole.engine.parallel_replay import replay_files
from kyzconsole.engine.replay import BATCH_SIZE, ReplaySummary
from kyzconsole.quarantine import Quarantine
from kyzconsole.sources.files import InputFile, InputFormat

# Validation is CPU-bound Python: a second process makes replay about 1.5 times as fast, a
# third on two cores does not help, and a one-core machine is better off with one.
DEFAULT_JOBS = min(2, os.cpu_count() or 1)
HELP = "backfill intervals from JSONL payload files or the PLC's microSD CSV export"
DESCRIPTION = """\
Read interval payloads from files and write them through the same validation and
idempotent writer as live ingest. Rows already stored with the same values are counted as
duplicates; rows stored with other values are conflicts and are never overwritten. Invalid
lines and conflicts go to the quarantine in the data dir.

Formats: JSONL (one payload per line, blank lines skipped) or the PLC's microSD CSV
(Date,Time,counter15min,LastEnergyUsage,LastDemand,...), told apart by the first line.
"""
EPILOG = """\
examples:
  kyzconsole replay payloads.jsonl
  kyzconsole replay --dry-run --json KYZ_2026-01.csv
  zcat old-payloads.jsonl.gz | kyzconsole replay -
  kyzconsole replay --jobs 1 five-years.jsonl     # one process, e.g. on a busy server

exit status: 0 all lines inserted or duplicate; 1 some invalid or conflicting;
2 bad usage or configuration, unreadable file, or the database could not be reached.
"""


def add_parser(
    commands: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    parser = add_command(
        commands,
        parents,
        "replay",
        help=HELP,
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="file to read; - for stdin")
    parser.add_argument(
        "--format",
        choices=[f.value for f in InputFormat],
        help="input format (default: detected from the first line)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="validate and classify against the database without writing anything",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the summary as one JSON object on stdout"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=BATCH_SIZE,
        metavar="N",
        help="records per database transaction (default: %(default)s)",
    )
    parser.add_argument(
        "--retry-for",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="how long to keep retrying a database outage before giving up (default: %(default)s)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=DEFAULT_JOBS,
        metavar="N",
        help="processes for a large file (8 MiB or more; default %(default)s, the cores here "
        "up to 2). The outcome is the same as with 1: the earlier of two lines for one "
        "interval is the one stored",
    )
    parser.set_defaults(run=run_replay, log_file="kyz_replay.log")


def run_replay(args: argparse.Namespace, settings: Settings) -> int:
    if args.batch_size < 1 or args.jobs < 1:
        raise SystemExit("kyzconsole replay: --batch-size and --jobs must be at least 1")
    target = resolve_target(settings)
    files = [
        InputFile(name, InputFormat(args.format) if args.format else None) for name in args.files
    ]
    progress = ReplayProgress()
    quarantine = None if args.dry_run else Quarantine.in_data_dir(settings.resolved_data_dir)
    logger.info(
        "replay of {} into {}{}",
        ", ".join(f.label for f in files),
        target.describe(),
        " (dry run)" if args.dry_run else "",
    )
    try:
        with IntervalWriter(target) as writer:
            summary = replay_files(
                files,
                writer,
                quarantine,
                settings.validation_rules(),
                jobs=args.jobs,
                progress=progress,
                dry_run=args.dry_run,
                batch_size=args.batch_size,
                retry_for=args.retry_for,
            )
    finally:
        progress.close()
        if quarantine is not None:
            quarantine.close()
    _report(summary, args.json)
    return RECORDS_FAILED if summary.failed else OK


def _report(summary: ReplaySummary, as_json: bool) -> None:
    logger.info(
        "replay done: {} read, {} inserted, {} duplicates, {} conflicts, {} invalid in {:.1f} s",
        summary.read,
        summary.inserted,
        summary.duplicates,
        summary.conflicts,
        summary.invalid,
        summary.seconds,
    )
    if as_json:
        print(json.dumps(summary.as_dict()))
        return
    verb = "would be inserted" if summary.dry_run else "inserted"
    rate = summary.read / summary.seconds if summary.seconds else 0.0
    print(
        f"{summary.read:,} read: {summary.inserted:,} {verb}, {summary.duplicates:,} duplicates, "
        f"{summary.conflicts:,} conflicts, {summary.invalid:,} invalid "
        f"({summary.seconds:.1f} s, {rate:,.0f} records/s)"
    )
    for problem in summary.problems[:20]:
        print(f"  {problem.file}:{problem.line}: {problem.outcome}: {problem.reason}")
    if len(summary.problems) > 20:
        print(f"  ... and {len(summary.problems) - 20:,} more: see `kyzconsole replay --json`")
    if summary.problems and not summary.dry_run:
        print("Invalid lines and conflicts were kept in the quarantine.", file=sys.stderr)
