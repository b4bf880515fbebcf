"""`kyzconsole report`: the latest interval, today so far, daily totals, billing demand."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from kyzconsole.cli.commands import add_command
from kyzconsole.cli.exit_codes import OK, USAGE
from kyzconsole.config import Settings
from kyzconsole.db import reports
from kyzconsole.db.errors import DatabaseError
from kyzconsole.db.target import resolve_target

KINDS = ("latest", "today", "daily", "monthly")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

DESCRIPTION = """\
Report what the database holds, with the same rules and column names as the Grafana views
in sql/003_dashboard_views.sql:

  latest   the newest interval, its age, and whether data has stopped (vw_KYZ_LatestInterval)
  today    today so far: kWh, peak kW and when, intervals received vs expected, flagged counts
  daily    one row per day (vw_KYZ_DailySummary)
  monthly  billing demand estimate per billing period (vw_KYZ_MonthlyBillingDemandEstimate);
           periods start on KYZ_BILLING_CYCLE_DAY (default 1, calendar months)

Days and months are bucketed on the interval START: the interval ending 00:00:00 belongs to
the day before. Demand peaks leave out invalid-alarm intervals; billing peaks (monthly, and
kW_peak_excluding_r17) leave out R17-excluded ones too. Energy counts every interval.
"""
EPILOG = """\
examples:
  kyzconsole report                                  today so far
  kyzconsole report latest --json
  kyzconsole report daily --from 2026-03-01 --to 2026-03-31
  KYZ_BILLING_CYCLE_DAY=15 kyzconsole report monthly --json

--from defaults to the first stored interval's day, --to to today. --json prints a list of
objects keyed by the view's column names (dates YYYY-MM-DD, times YYYY-MM-DD HH:MM:SS,
numbers as JSON numbers, flags as true/false/null).

exit status: 0 success; 2 bad usage or configuration, or the database could not be reached.
"""


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def add_parser(
    commands: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    parser = add_command(
        commands,
        parents,
        "report",
        help="latest interval, today so far, daily totals, monthly billing demand",
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    parser.add_argument(
        "kind", nargs="?", choices=KINDS, default="today", help="what to report (default: today)"
    )
    add_range_options(parser, "the first stored interval's day")
    parser.add_argument("--json", action="store_true", help="print a list of JSON objects")
    parser.set_defaults(run=run_report, log_file=None)


def add_range_options(parser: argparse.ArgumentParser, default_from: str) -> None:
    parser.add_argument(
        "--from",
        dest="from_date",
        type=parse_date,
        metavar="DATE",
        help=f"first day, YYYY-MM-DD (default: {default_from})",
    )
    parser.add_argument(
        "--to", dest="to_date", type=parse_date, metavar="DATE", help="last day (default: today)"
    )


def run_report(args: argparse.Namespace, settings: Settings) -> int:
    if args.from_date and args.to_date and args.from_date > args.to_date:
        print("kyzconsole report: --from is after --to", file=sys.stderr)
        return USAGE
    target = resolve_target(settings)
    now = datetime.now().replace(microsecond=0)
    try:
        with reports.ReportReader(target) as reader:
            rows = _rows(args, settings, reader, now)
    except DatabaseError as exc:
        print(f"kyzconsole report: {exc}", file=sys.stderr)
        return USAGE
    if args.json:
        print(rows_to_json(rows))
    elif not rows:
        print(f"no intervals stored in {target.describe()} for this report")
    elif args.kind in ("latest", "today"):
        print(vertical(rows[0]))
    else:
        print(table(rows))
        if args.kind == "monthly":
            _monthly_note(settings, rows)
    return OK


def _rows(
    args: argparse.Namespace, settings: Settings, reader: reports.ReportReader, now: datetime
) -> list[dict[str, Any]]:
    minutes = settings.interval_minutes
    if args.kind == "latest":
        newest = reports.latest(reader, minutes, now)
        return [reports.as_dict(newest)] if newest else []
    if args.kind == "today":
        return [reports.as_dict(reports.today(reader, minutes, now))]
    first, last = args.from_date, args.to_date or now.date()
    if first is None:
        stored = reader.first_end()
        if stored is None:
            return []
        first = reports.day_of(stored, minutes)
    if args.kind == "daily":
        return [reports.as_dict(day) for day in reports.daily(reader, first, last, minutes)]
    periods = reports.monthly(reader, first, last, minutes, settings.billing_cycle_day, now)
    return [reports.as_dict(period) for period in periods]


def _monthly_note(settings: Settings, rows: list[dict[str, Any]]) -> None:
    if settings.billing_cycle_day != 1:
        print(f"billing periods start on day {settings.billing_cycle_day} of the month")
    if any(row["provisional"] for row in rows):
        print("provisional: coverage below 98% or the period is not over yet")


# -- output ---------------------------------------------------------------------------------------


def json_value(value: Any) -> str:
    """One value as JSON; a Decimal as an exact JSON number, not a rounded float."""
    if value is None or isinstance(value, bool | int | str):
        return json.dumps(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return json.dumps(value.strftime(TIME_FORMAT))
    if isinstance(value, date):
        return json.dumps(value.isoformat())
    return json.dumps(value)


def rows_to_json(rows: Sequence[dict[str, Any]]) -> str:
    objects = [
        "{" + ", ".join(f"{json.dumps(k)}: {json_value(v)}" for k, v in row.items()) + "}"
        for row in rows
    ]
    return "[" + ",\n ".join(objects) + "]"


def text_value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        places = min(3, max(0, -int(value.as_tuple().exponent)))
        return f"{value:,.{places}f}"
    if isinstance(value, datetime):
        return value.strftime(TIME_FORMAT)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def table(rows: Sequence[dict[str, Any]]) -> str:
    headers = list(rows[0])
    cells = [[text_value(row[h]) for h in headers] for row in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    numeric = [_is_number(rows[0][h]) for h in headers]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if right else v.ljust(w)
            for v, w, right in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), *(line(c) for c in cells)])


def _is_number(value: Any) -> bool:
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def vertical(row: dict[str, Any]) -> str:
    width = max(len(k) for k in row)
    return "\n".join(f"{k.ljust(width)}  {text_value(v)}" for k, v in row.items())
