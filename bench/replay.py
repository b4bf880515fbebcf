"""Replay throughput: kyzconsole replay end to end vs a bare pyodbc executemany.

    .venv/bin/python bench/replay.py [--count 200000] [--batch-size 1000]

Writes N synthetic intervals to a JSONL file, then in the same run:
  1. end to end: `kyzconsole replay FILE` in a subprocess into a fresh embedded database
     (parse, validate, classify, insert, commit), timed, with its peak RSS: once as it
     runs by default (--jobs 2 on two cores or more) and once with --jobs 1;
  2. the limit: the same rows pre-built as tuples, inserted with a bare pyodbc executemany
     into an identical table through the same SQLite ODBC driver, committing per batch;
  3. memory: end to end again with N/4 records, to show peak RSS does not grow with N.
Each is run --repeat times (default 3), in turn, and the best of each is compared: this
machine's speed drifts by a third from minute to minute, and a best-of is what it can do.
Prints records/s for each, the ratio, and the goals (>= 50,000 records/s, ratio <= 2.5).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import pyodbc

from kyzconsole.cli.replay_cmd import DEFAULT_JOBS
from kyzconsole.config import load_settings
from kyzconsole.db.embedded import ensure_embedded_database
from kyzconsole.db.target import resolve_target
from kyzconsole.engine.replay import BATCH_SIZE
from kyzconsole.sources.simulated import plant_intervals

START = datetime(2019, 1, 1, 0, 15)


def write_payloads(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for record in plant_intervals(START, count):
            handle.write(json.dumps(record.to_payload()) + "\n")


def end_to_end(
    path: Path, data_dir: Path, batch_size: int, jobs: int | None = None
) -> tuple[float, int, dict]:
    """Seconds, peak RSS in KiB (of the largest of its processes), and the JSON summary."""
    command = [
        sys.executable,
        "-m",
        "kyzconsole",
        "--data-dir",
        str(data_dir),
        "--log-dir",
        str(data_dir),
        "replay",
        "--json",
        "--batch-size",
        str(batch_size),
        *(["--jobs", str(jobs)] if jobs is not None else []),
        str(path),
    ]
    started = time.perf_counter()
    # wait4 reports the peak RSS of this child and the workers it waited for, not of every
    # child of this benchmark so far.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    output = process.stdout.read() if process.stdout else b""
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"replay failed with exit status {os.waitstatus_to_exitcode(status)}")
    return seconds, usage.ru_maxrss, json.loads(output)


def bare_executemany(count: int, data_dir: Path, batch_size: int) -> float:
    """Seconds for a bare executemany of pre-built rows into an identical embedded table."""
    target = resolve_target(load_settings(data_dir=data_dir))
    ensure_embedded_database(target)
    # The very parameters the writer binds for this dialect, built before the clock starts.
    rows = [target.dialect.bind(r) for r in plant_intervals(START, count)]
    connection = pyodbc.connect(target.connection_string, autocommit=False)
    cursor = connection.cursor()
    sql = f"INSERT INTO {target.table} VALUES (?, ?, ?, ?, ?, ?, ?)"
    started = time.perf_counter()
    for start in range(0, count, batch_size):
        cursor.executemany(sql, rows[start : start + batch_size])
        connection.commit()
    seconds = time.perf_counter() - started
    stored = cursor.execute(f"SELECT COUNT(*) FROM {target.table}").fetchone()[0]
    connection.close()
    assert stored == count, (stored, count)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n, small = args.count, max(1, args.count // 4)
    with tempfile.TemporaryDirectory(prefix="kyz-bench-") as tmp:
        root = Path(tmp)
        big, little = root / "big.jsonl", root / "small.jsonl"
        write_payloads(big, n)
        write_payloads(little, small)
        modes = {f"default, --jobs {DEFAULT_JOBS}": None, "--jobs 1": 1}
        times: dict[str, list[float]] = {label: [] for label in [*modes, "bare"]}
        memory: dict[str, tuple[int, int]] = {}
        for attempt in range(args.repeat):
            for label, jobs in modes.items():
                run_dir = root / f"e2e-{jobs}-{attempt}"
                seconds, rss, summary = end_to_end(big, run_dir, args.batch_size, jobs)
                assert summary["inserted"] == n and summary["invalid"] == 0, summary
                times[label].append(seconds)
                if attempt == 0:
                    small_dir = root / f"small-{jobs}"
                    _, rss_small, _ = end_to_end(little, small_dir, args.batch_size, jobs)
                    memory[label] = (rss, rss_small)
            times["bare"].append(bare_executemany(n, root / f"bare-{attempt}", args.batch_size))
    bare_rate = n / min(times["bare"])
    print(f"records                 {n:,} (batch {args.batch_size:,}), best of {args.repeat}")
    print(f"bare executemany limit  {bare_rate:>10,.0f} records/s  {spread(n, times['bare'])}")
    for label in modes:
        rate = n / min(times[label])
        rss, rss_small = memory[label]
        print(
            f"end to end, {label:<18} {rate:>8,.0f} records/s {spread(n, times[label])}  "
            f"ratio {bare_rate / rate:.2f} (goal <= 2.5)  "
            f">= 50,000/s {'met' if rate >= 50_000 else 'NOT met'}  "
            f"peak RSS {rss / 1024:.1f} MiB at {n:,}, {rss_small / 1024:.1f} MiB at {small:,}"
        )


def spread(n: int, seconds: list[float]) -> str:
    return f"(runs {n / max(seconds):,.0f}..{n / min(seconds):,.0f}/s)"


if __name__ == "__main__":
    main()
