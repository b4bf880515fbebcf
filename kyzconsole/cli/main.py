"""Entry point: parse the command line, load settings, run one command, map errors to exits."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from loguru import logger

from kyzconsole import __version__
from kyzconsole.cli import replay_cmd, settings_cmd
from kyzconsole.cli.exit_codes import USAGE
from kyzconsole.config import ConfigError, load_settings
from kyzconsole.db.errors import DatabaseError
from kyzconsole.logs import setup_logging
from kyzconsole.sources.files import InputFileError

DESCRIPTION = """\
kyzconsole moves the plant's KYZ electricity-meter intervals into SQL, exactly once.

Settings come from (strongest first) command-line flags, KYZ_* environment variables,
a .env file in the working directory, a TOML file (--config, else KYZ_CONFIG, else
kyzconsole.toml in the platform config dir), then defaults. With no KYZ_SQL_* settings the
target is the embedded SQLite database kyz.db in the data dir.
"""
EPILOG = """\
examples:
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
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    parents = [_common_options(suppress=True)]
    replay_cmd.add_parser(commands, parents)

    config = commands.add_parser(
        "config",
        help="show the resolved settings, secrets masked",
        description="Show every setting as kyzconsole resolved it, with secrets masked.",
        epilog="example:\n  KYZ_SQL_SERVER=x.database.windows.net kyzconsole config --json",
        parents=parents,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    config.add_argument("--json", action="store_true", help="print as JSON")
    config.set_defaults(run=settings_cmd.run_config, log_file=None)

    paths = commands.add_parser(
        "paths",
        help="show where the config, data and log files are",
        description="Show the resolved config file, data dir, embedded database and log file.",
        epilog="example:\n  kyzconsole paths --data-dir D:\\kyz",
        parents=parents,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    paths.add_argument("--json", action="store_true", help="print as JSON")
    paths.set_defaults(run=settings_cmd.run_paths, log_file=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return USAGE
    try:
        settings = load_settings(
            args.config, data_dir=args.data_dir, log_dir=args.log_dir, log_level=args.log_level
        )
    except ConfigError as exc:
        print(f"kyzconsole: {exc}", file=sys.stderr)
        return USAGE
    log_dir = settings.resolved_log_dir if args.log_file else None
    setup_logging(
        log_dir,
        file_level=settings.log_level,
        stderr_level="WARNING",
        file_name=args.log_file or "kyz_ingestor.log",
    )
    try:
        return int(args.run(args, settings))
    except ConfigError as exc:
        print(f"kyzconsole: {exc}", file=sys.stderr)
        return USAGE
    except (DatabaseError, InputFileError) as exc:
        logger.error("{}", exc)
        return USAGE
    except KeyboardInterrupt:
        print("kyzconsole: interrupted; committed batches stay written", file=sys.stderr)
        return 130
