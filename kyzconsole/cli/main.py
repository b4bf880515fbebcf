"""Entry point: parse the command line, load settings, run one command, map errors to exits."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from loguru import logger

from kyzconsole import __version__
from kyzconsole.cli import (
    gaps_cmd,
    quarantine_cmd,
    replay_cmd,
    report_cmd,
    settings_cmd,
    simulate_cmd,
    status_cmd,
    testconn_cmd,
)
from kyzconsole.cli.commands import add_command
from kyzconsole.cli.exit_codes import USAGE
from kyzconsole.config import ConfigError, Settings, load_settings
from kyzconsole.db.errors import DatabaseError
from kyzconsole.engine.parallel_replay import ReplayWorkerError
from kyzconsole.logs import INGEST_LOG, setup_logging
from kyzconsole.sources.files import InputFileError

CONSOLE_LOG = "kyz_console.log"  # one log file per process: Windows cannot rotate a shared one

DESCRIPTION = """\
kyzconsole moves the plant's KYZ electricity-meter intervals into SQL, exactly once.

Settings come from (strongest first) command-line flags, KYZ_* environment variables,
a .env file in the working directory, a TOML file (--config, else KYZ_CONFIG, else
kyzconsole.toml in the platform config dir), then defaults. With no KYZ_SQL_* settings the
target is the embedded SQLite database kyz.db in the data dir.
"""
EPILOG = """\
examples:
  kyzconsole                              the interactive console (ingest, or monitor the service)
  kyzconsole demo                         the console on a private broker and simulator
  kyzconsole --headless                   run the ingest service (MQTT -> SQL)
  kyzconsole test-conn                    check SQL and MQTT before the first run
  kyzconsole status                       is the service healthy?
  kyzconsole simulate --count 96          publish a day of test intervals
  kyzconsole report daily                 daily kWh and peaks, as the Grafana views show them
  kyzconsole gaps                         missing intervals in the last 7 days
  kyzconsole replay payloads.jsonl        backfill from a file
  kyzconsole config                       show the resolved settings (secrets masked)
  kyzconsole paths                        show where files live
  kyzconsole COMMAND --help               more on one command

exit status: 0 success; 1 the work ran but some records were invalid or conflicts;
2 bad usage or configuration, or a resource could not be reached.
"""


def _common_options(suppress: bool) -> argparse.ArgumentParser:
    """Options every command takes, before or after the command name."""
    default = argparse.SUPPRESS if suppress else None
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("settings")
    group.add_argument(
        "--config", type=Path, metavar="PATH", default=default, help="TOML settings file"
    )
    group.add_argument(
        "--data-dir", type=Path, metavar="DIR", default=default, help="overrides KYZ_DATA_DIR"
    )
    group.add_argument(
        "--log-dir", type=Path, metavar="DIR", default=default, help="overrides KYZ_LOG_DIR"
    )
    group.add_argument(
        "--log-level",
        metavar="LEVEL",
        default=default,
        help="overrides KYZ_LOG_LEVEL (DEBUG, INFO, WARNING, ...)",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kyzconsole",
        description=DESCRIPTION,
        epilog=EPILOG,
        parents=[_common_options(suppress=False)],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"kyzconsole {__version__}")
    parser.add_argument(
        "--headless",
        action="store_true",
        help="run the unattended ingest service: MQTT -> spool -> SQL, until SIGTERM/Ctrl+C",
    )
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    parents = [_common_options(suppress=True)]
    replay_cmd.add_parser(commands, parents)
    status_cmd.add_parser(commands, parents)
    testconn_cmd.add_parser(commands, parents)
    quarantine_cmd.add_parser(commands, parents)
    report_cmd.add_parser(commands, parents)
    gaps_cmd.add_parser(commands, parents)
    simulate_cmd.add_parser(commands, parents)

    settings_cmd.add_parsers(commands, parents)
    demo = add_command(
        commands,
        parents,
        "demo",
        help="see the console work: a private broker, the simulator, a throwaway database",
        description=(
            "Start a private Mosquitto on a free loopback port, the PLC simulator publishing a\n"
            "day of intervals at an accelerated clock (a few bad and duplicate payloads mixed\n"
            "in), and the console in ingest mode on a throwaway embedded database. Quitting\n"
            "(q) stops all of it and removes it. Needs the mosquitto program installed."
        ),
        epilog="example:\n  kyzconsole demo",
    )
    demo.set_defaults(run=_demo, log_file=None)
    return parser


def _headless_stderr_level(settings: Settings) -> str:
    # A line per message on a terminal is useful; under Task Scheduler or a service wrapper
    # nobody reads stderr live, the log file has every line, and writing both costs throughput.
    return settings.log_level if sys.stderr.isatty() else "WARNING"


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from kyzconsole.tui import run_demo  # lazily: --headless must never import Textual

    return run_demo(settings)


def _console(args: argparse.Namespace, settings: Settings) -> int:
    from kyzconsole.tui import run_console  # lazily: --headless must never import Textual

    return run_console(settings)


def _headless(args: argparse.Namespace, settings: Settings) -> int:
    from kyzconsole.cli.headless import run_headless

    return run_headless(settings)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.headless and getattr(args, "run", None):
        parser.error("--headless takes no command")
    if args.headless:
        args.run, args.log_file = _headless, INGEST_LOG
    console = not getattr(args, "run", None)
    if console:
        args.run, args.log_file = _console, CONSOLE_LOG
    try:
        settings = load_settings(
            args.config, data_dir=args.data_dir, log_dir=args.log_dir, log_level=args.log_level
        )
    except ConfigError as exc:
        print(f"kyzconsole: {exc}", file=sys.stderr)
        return USAGE
    log_dir = settings.resolved_log_dir if args.log_file else None
    if console:
        stderr_level = None  # any stderr line would print over the console's screen
    elif args.headless:
        stderr_level = _headless_stderr_level(settings)
    else:
        stderr_level = "WARNING"
    setup_logging(
        log_dir,
        file_level=settings.log_level,
        stderr_level=stderr_level,
        file_name=args.log_file or INGEST_LOG,
    )
    try:
        return int(args.run(args, settings))
    except ConfigError as exc:
        print(f"kyzconsole: {exc}", file=sys.stderr)
        return USAGE
    except (DatabaseError, InputFileError, ReplayWorkerError) as exc:
        logger.error("{}", exc)
        return USAGE
    except KeyboardInterrupt:
        print("kyzconsole: interrupted; committed batches stay written", file=sys.stderr)
        return 130
