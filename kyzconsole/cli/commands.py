"""How every command registers itself: one shape, so --help reads the same everywhere."""

from __future__ import annotations

import argparse


def add_command(
    commands: argparse._SubParsersAction,
    parents: list[argparse.ArgumentParser],
    name: str,
    *,
    help: str,
    description: str,
    epilog: str,
) -> argparse.ArgumentParser:
    return commands.add_parser(
        name,
        help=help,
        description=description,
        epilog=epilog,
        parents=parents,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
