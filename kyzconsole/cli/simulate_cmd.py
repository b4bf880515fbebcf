"""`kyzconsole simulate`: act as the plant's PLC and publish interval payloads to a broker."""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import TextIO

from kyzconsole.cli.commands import add_command
from kyzconsole.cli.exit_codes import OK, USAGE
from kyzconsole.config import Settings
from kyzconsole.masking import SECRETS
from kyzconsole.record import INTERVAL_END_FORMAT
from kyzconsole.simulator import (
    DEFAULT_TOPIC,
    BrokerOptions,
    Plan,
    Publisher,
    PublishError,
    Tally,
    default_start,
    messages,
    publish_all,
)

PASSWORD_ENV = "KYZ_MQTT_PASSWORD"
HELP = "publish simulated PLC interval payloads to an MQTT broker (smoke tests, demos)"
DESCRIPTION = f"""\
Act as the plant's PLC: publish COUNT consecutive intervals of a plausible load shape as JSON
payloads on one topic, QoS 1 by default, waiting for the broker's PUBACK after each. Bad and
duplicate messages can be mixed in to watch the ingest side classify them; they come on top of
the COUNT good ones. Bad payloads cycle through broken JSON, a misaligned intervalEnd, a string
pulseCount and a NaN kWh. A duplicate re-sends an earlier good payload unchanged.

Nothing is ever published to a topic other than --topic. The password comes from --password or
else {PASSWORD_ENV}, and is never printed.
"""
EPILOG = """\
examples:
  kyzconsole simulate                             a day of intervals to localhost, 10 a second
  kyzconsole simulate --count 2880 --rate 0       a month, as fast as the broker acknowledges
  kyzconsole simulate --bad-every 10 --duplicate-every 7 --seed 3
  KYZ_MQTT_PASSWORD=... kyzconsole simulate --host broker.plant --tls --ca-file ca.crt \\
      --username plc --start "2026-01-05 00:15:00" --count 96

exit status: 0 everything published and acknowledged; 2 bad usage, or the broker could not be
reached or refused (connection refused, not authorised, TLS failure).
"""


def add_parser(
    commands: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]
) -> None:
    parser = add_command(
        commands,
        parents,
        "simulate",
        help=HELP,
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    _broker_options(parser.add_argument_group("broker"))
    _stream_options(parser.add_argument_group("messages"))
    parser.set_defaults(run=run_simulate, log_file=None)


def _broker_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--host", help="broker host (default: KYZ_MQTT_HOST, localhost)")
    group.add_argument(
        "--port", type=int, help="broker port (default: KYZ_MQTT_PORT, 1883, or 8883 with TLS)"
    )
    group.add_argument("--topic", help=f"topic (default: KYZ_MQTT_TOPIC, {DEFAULT_TOPIC})")
    group.add_argument("--username", help="MQTT user name")
    group.add_argument("--password", help=f"MQTT password (default: ${PASSWORD_ENV})")
    group.add_argument("--tls", action="store_true", help="connect with TLS")
    group.add_argument(
        "--ca-file", type=Path, metavar="PATH", help="CA certificate(s) to trust; implies --tls"
    )
    group.add_argument(
        "--client-id", default="kyz-plc-simulator", help="MQTT client id (default: %(default)s)"
    )
    group.add_argument(
        "--qos", type=int, choices=(0, 1), default=1, help="publish QoS (default: %(default)s)"
    )


def _stream_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--count", type=int, default=96, metavar="N", help="good intervals (default: %(default)s)"
    )
    group.add_argument(
        "--start",
        type=_interval_end,
        metavar='"YYYY-MM-DD HH:MM:SS"',
        help="the first interval's end (default: so the last ends at the latest boundary ≤ now)",
    )
    group.add_argument(
        "--rate",
        type=float,
        default=10.0,
        metavar="R",
        help="messages per second; 0 for as fast as possible (default: %(default)s)",
    )
    group.add_argument(
        "--bad-every", type=int, default=0, metavar="K", help="every K-th message is invalid"
    )
    group.add_argument(
        "--duplicate-every",
        type=int,
        default=0,
        metavar="K",
        help="every K-th message re-sends an earlier payload",
    )
    group.add_argument("--seed", type=int, help="random seed for a repeatable run")


def _interval_end(text: str) -> datetime:
    try:
        return datetime.strptime(text, INTERVAL_END_FORMAT)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD HH:MM:SS, got {text!r}") from None


def run_simulate(args: argparse.Namespace, settings: Settings) -> int:
    # The broker and topic default to the ingest's own settings; the login never does,
    # since the PLC has its own user on a broker with an ACL.
    args.host = args.host or settings.mqtt_host
    args.topic = args.topic or settings.mqtt_topic
    args.tls = args.tls or settings.mqtt_tls
    args.ca_file = args.ca_file or settings.mqtt_ca_file
    if args.port is None and settings.mqtt_port is not None:
        args.port = settings.mqtt_port
    problem = _usage_problem(args, settings.interval_minutes)
    if problem:
        print(f"kyzconsole simulate: {problem}", file=sys.stderr)
        return USAGE
    options = _broker(args)
    plan = _plan(args, settings.interval_minutes)
    tally = Tally()
    progress = _Progress(sys.stderr)
    began = time.monotonic()
    try:
        with Publisher(options) as publisher:
            publish_all(
                publisher,
                args.topic,
                messages(plan),
                rate=args.rate,
                tally=tally,
                progress=progress,
            )
    except PublishError as exc:
        after = f" after {tally.total:,} messages" if tally.total else ""
        print(f"kyzconsole simulate: {options.address}: {exc}{after}", file=sys.stderr)
        return USAGE
    tally.seconds = time.monotonic() - began
    print(
        f"published {tally.total} ({tally.good} good, {tally.bad} bad, "
        f"{tally.duplicate} duplicate) to {options.address} {args.topic} in {tally.seconds:.1f} s"
    )
    return OK


def _usage_problem(args: argparse.Namespace, interval_minutes: int) -> str | None:
    if args.count < 1:
        return "--count must be at least 1"
    if args.rate < 0:
        return "--rate must be 0 (as fast as possible) or more"
    for name in ("bad_every", "duplicate_every"):
        value = getattr(args, name)
        if value < 0 or value == 1:
            return f"--{name.replace('_', '-')} must be 0 (never) or at least 2"
    if not args.topic or any(ch in args.topic for ch in "+#\0"):
        return f"--topic must be one topic name without wildcards, got {args.topic!r}"
    start: datetime | None = args.start
    if start is not None and (start.minute % interval_minutes or start.second):
        return f"--start {start:%H:%M:%S} is not on a {interval_minutes}-minute boundary"
    return None


def _broker(args: argparse.Namespace) -> BrokerOptions:
    password = args.password if args.password is not None else os.environ.get(PASSWORD_ENV)
    SECRETS.add(password)
    tls = args.tls or args.ca_file is not None
    return BrokerOptions(
        host=args.host,
        port=args.port if args.port is not None else (8883 if tls else 1883),
        username=args.username,
        password=password,
        tls=tls,
        ca_file=args.ca_file,
        client_id=args.client_id,
        qos=args.qos,
    )


def _plan(args: argparse.Namespace, interval_minutes: int) -> Plan:
    start = args.start or default_start(datetime.now(), args.count, interval_minutes)
    seed = args.seed if args.seed is not None else time.time_ns()
    return Plan(
        start=start,
        count=args.count,
        interval_minutes=interval_minutes,
        seed=seed,
        bad_every=args.bad_every,
        duplicate_every=args.duplicate_every,
    )


class _Progress:
    """A line on stderr every few seconds while publishing."""

    def __init__(self, stream: TextIO, every: float = 5.0) -> None:
        self.stream = stream
        self.every = every
        self._last = time.monotonic()

    def __call__(self, tally: Tally) -> None:
        now = time.monotonic()
        if now - self._last < self.every:
            return
        self._last = now
        rate = tally.total / tally.seconds if tally.seconds else 0.0
        print(
            f"simulate: {tally.total:,} published ({tally.good:,} good, {tally.bad:,} bad, "
            f"{tally.duplicate:,} duplicate), {rate:,.0f}/s",
            file=self.stream,
            flush=True,
        )
