"""Replay throughput: kyzconsole replay end to end vs a bare pyodbc executemany.

    .venv/bin/python bench/replay.py [--count 200000] [--batch-size 1000]

Writes N synthetic intervals to a JSONL file, then in the same run:
  1. end to end: `kyzconsole replay FILE` in a subprocess into a fresh embedded database
     (parse, validate, classify, insert, commit), timed, with its peak RSS;
  2. the limit: the same rows pre-built as tuples, inserted with a bare pyodbc executemany
     into an identical table through the same SQLite ODBC driver, committing per batch;
  3. memory: end to end again with N/4 records, to show peak RSS does not grow with N.
Prints records/s for both, the ratio, and the goals (>= 50,000 records/s, ratio <= 2.5).
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
    path: Path, data_dir: Path, batch_size: int, jobs: int = 1
) -> tuple[float, int, dict]:
    """Seconds, peak RSS in KiB, and the replay's JSON summary."""
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
        "--jobs",
        str(jobs),
        str(path),
    ]
    started = time.perf_counter()
    # wait4 reports the peak RSS of this one child, not of every child so far.
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
    args = parser.parse_args()
    n, small = args.count, max(1, args.count // 4)
    with tempfile.TemporaryDirectory(prefix="kyz-bench-") as tmp:
        root = Path(tmp)
        big, little = root / "big.jsonl", root / "small.jsonl"
        write_payloads(big, n)
        write_payloads(little, small)
        e2e, rss, summary = end_to_end(big, root / "e2e", args.batch_size)
        assert summary["inserted"] == n and summary["invalid"] == 0, summary
        e2e_2, _, summary_2 = end_to_end(big, root / "e2e-jobs2", args.batch_size, jobs=2)
        assert summary_2["inserted"] == n and summary_2["invalid"] == 0, summary_2
        _, rss_small, _ = end_to_end(little, root / "e2e-small", args.batch_size)
        bare = bare_executemany(n, root / "bare", args.batch_size)
    bare_rate = n / bare
    print(f"records                 {n:,} (batch {args.batch_size:,})")
    print(f"bare executemany limit  {bare_rate:>10,.0f} records/s  ({bare:.2f} s)")
    for label, seconds in (("one process (default)", e2e), ("--jobs 2", e2e_2)):
        rate = n / seconds
        print(
            f"end to end, {label:<22} {rate:>8,.0f} records/s ({seconds:.2f} s)  "
            f"ratio {bare_rate / rate:.2f} (goal <= 2.5)  "
            f">= 50,000/s {'met' if rate >= 50_000 else 'NOT met'}"
        )
    print(
        f"peak RSS                {rss / 1024:>10.1f} MiB at {n:,}; "
        f"{rss_small / 1024:.1f} MiB at {small:,}"
    )


if __name__ == "__main__":
    main()
