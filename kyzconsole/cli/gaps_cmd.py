"""`kyzconsole gaps`: the intervals missing from the database, as runs, and how to backfill."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, time, timedelta

from kyzconsole.cli.commands import add_command
from kyzconsole.cli.exit_codes import OK, RECORDS_FAILED, USAGE
from kyzconsole.cli.report_cmd import TIME_FORMAT, add_range_options, rows_to_json
from kyzconsole.config import Settings
from kyzconsole.db import reports
from kyzconsole.db.errors import DatabaseError
from kyzconsole.db.target import resolve_target

DEFAULT_DAYS = 7
# An interval is due a little after it ends: the PLC publishes it then, and it may be in flight.
GRACE = timedelta(minutes=5)
HINT = (
    "to backfill: copy the PLC's microSD export covering these times and run "
    "`kyzconsole replay KYZ_YYYY-MM.csv` (intervals already stored count as duplicates)"
)

DESCRIPTION = """\
List the interval ends missing from the database between two days, as runs: the first and
last missing interval end and how many. An interval counts as due 5 minutes after it ends.

The PLC keeps every interval on its microSD card; backfill a gap from its CSV export with
`kyzconsole replay`. With a local-time key the spring-forward hour never exists, so it shows
as a gap of 1 hour (4 intervals of 15 minutes) that no export can fill.
"""
EPILOG = """\
examples:
  kyzconsole gaps                                    the last 7 days
  kyzconsole gaps --from 2026-03-01 --to 2026-03-31
  kyzconsole gaps --json | jq '.[].count'

--from defaults to 7 days ago, --to to today. --json prints a list of objects with first,
last (YYYY-MM-DD HH:MM:SS) and count; the backfill hint then goes to stderr.

exit status: 0 no gaps; 1 gaps found; 2 bad usage or configuration, or the database could
not be reached.
"""


def add_parser(
    commands: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    parser = add_command(
        commands,
        parents,
        "gaps",
        help="list missing intervals as runs, with how to backfill them",
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    add_range_options(parser, f"{DEFAULT_DAYS} days ago")
    parser.add_argument("--json", action="store_true", help="print a list of JSON objects")
    parser.set_defaults(run=run_gaps, log_file=None)


def run_gaps(args: argparse.Namespace, settings: Settings) -> int:
    now = datetime.now().replace(microsecond=0)
    first = args.from_date or (now.date() - timedelta(days=DEFAULT_DAYS))
    last = args.to_date or now.date()
    if first > last:
        print("kyzconsole gaps: --from is after --to", file=sys.stderr)
        return USAGE
    after = datetime.combine(first, time())
    upto = min(datetime.combine(last + timedelta(days=1), time()), now - GRACE)
    target = resolve_target(settings)
    try:
        with reports.ReportReader(target) as reader:
            found = reports.gaps(reader, after, upto, settings.interval_minutes)
    except DatabaseError as exc:
        print(f"kyzconsole gaps: {exc}", file=sys.stderr)
        return USAGE
    if args.json:
        print(rows_to_json([reports.as_dict(gap) for gap in found]))
        if found:
            print(HINT, file=sys.stderr)
        return RECORDS_FAILED if found else OK
    span = f"between {after.strftime(TIME_FORMAT)} and {upto.strftime(TIME_FORMAT)}"
    if not found:
        print(f"no gaps {span}")
        return OK
    missing = sum(gap.count for gap in found)
    print(f"{len(found)} gap(s), {missing} missing interval(s) {span}:")
    print(f"  {'first missing':<19}  {'last missing':<19}  count")
    for gap in found:
        print(
            f"  {gap.first.strftime(TIME_FORMAT)}  {gap.last.strftime(TIME_FORMAT)}  {gap.count:>5}"
        )
    print(HINT)
    return RECORDS_FAILED
