"""The console keeping up with a fast PLC: 500 messages/s for 20 s, headless, in-process.

    .venv/bin/python bench/console.py [--rate 500] [--seconds 20]

A private Mosquitto on a free loopback port, the simulator publishing at --rate (QoS 1, each
publish waits for its PUBACK) and the console in ingest mode (`App.run_test`, 160x48) on a
throwaway embedded database: the `kyzconsole demo` pieces. Prints messages/s published and
received, the lag (published - received) at the end, the time to drain it, and peak RSS at 5 s,
halfway, three quarters and at the end (it must level off: the live table is bounded).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import time
from pathlib import Path

os.environ["TEXTUAL_ANIMATIONS"] = "none"
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from loguru import logger  # noqa: E402

from kyzconsole.config import load_settings  # noqa: E402
from kyzconsole.tui.app import KyzConsoleApp  # noqa: E402
from kyzconsole.tui.demo import DemoMode, DemoOptions  # noqa: E402


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def received(app: KyzConsoleApp) -> int:
    engine = app.mode.ingest.engine  # type: ignore[attr-defined]
    return int(engine.counters.snapshot(engine.spool.pending).as_dict()["received"])


async def run(rate: float, seconds: float) -> None:
    count = int(rate * seconds)
    options = DemoOptions(count=count, rate=rate, bad_every=0, duplicate_every=0, seed=1)
    mode = DemoMode(load_settings(), options)
    app = KyzConsoleApp(mode.settings, mode)
    samples: dict[str, tuple[float, float, int, int]] = {}
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            tally = mode.simulator.tally
            while tally.total == 0:
                await pilot.pause(0.01)
            began = time.monotonic()
            for mark in (5.0, seconds / 2, seconds * 3 / 4, seconds):
                while time.monotonic() - began < mark and not mode.simulator.done.is_set():
                    await pilot.pause(0.05)
                samples[f"{mark:g} s"] = (
                    peak_rss_mib(),
                    current_rss_mib(),
                    tally.total,
                    received(app),
                )
            while not mode.simulator.done.is_set():
                await pilot.pause(0.05)
            published_at = time.monotonic() - began
            lag_at_end = tally.total - received(app)
            while received(app) < tally.total:
                await pilot.pause(0.02)
            drained_at = time.monotonic() - began
            rows = app.message_log.rows
            print(f"target            {rate:g} msg/s for {seconds:g} s ({count} messages)")
            print(
                f"published         {tally.total} in {published_at:.1f} s: "
                f"{tally.total / published_at:.0f} msg/s"
            )
            print(
                f"received          {received(app)}; all in by {drained_at:.1f} s: "
                f"{received(app) / drained_at:.0f} msg/s"
            )
            print(
                f"lag at the end    {lag_at_end} messages (published - received), "
                f"drained {drained_at - published_at:.2f} s later"
            )
            for name, (peak, now, sent, got) in samples.items():
                print(
                    f"at {name:<6}         peak RSS {peak:.0f} MiB, RSS {now:.0f} MiB, "
                    f"published {sent}, received {got}, lag {sent - got}"
                )
            print(f"live table        {len(rows)} rows kept (bounded)")
            await pilot.press("q")
            while app.return_code is None:
                await pilot.pause(0.05)
    finally:
        mode.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    logger.remove()  # one INFO line per insert on stderr would be the benchmark's bottleneck
    asyncio.run(run(args.rate, args.seconds))


if __name__ == "__main__":
    main()
