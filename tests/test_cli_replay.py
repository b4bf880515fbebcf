"""`kyzconsole replay` end to end through the CLI, on the embedded default (real SQLite ODBC)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from kyzconsole.cli.main import main
from kyzconsole.quarantine import Quarantine
from kyzconsole.sources.files import InputFile
from kyzconsole.sources.simulated import plant_intervals

GOOD = '{"intervalEnd": "2026-01-05 00:15:00", "pulseCount": 4, "kWh": 1.0, "kW": 4.0}'
CSV_HEADER = (
    "Date,Time,counter15min,LastEnergyUsage,LastDemand,TotalEnergyUsed,"
    "R17_Last_ExcludeDemand,KYZ_InvalidAlarm"
)


def payload_lines(count: int, start: datetime = datetime(2026, 1, 5, 0, 15)) -> list[str]:
    return [json.dumps(r.to_payload()) for r in plant_intervals(start, count)]


def stored_rows(data_dir: Path) -> list[tuple]:
    # Read the file with stdlib sqlite3: an independent reader, not the code under test.
    with sqlite3.connect(data_dir / "kyz.db") as db:
        return db.execute(
            "SELECT IntervalEnd, PulseCount, kWh, kW, Total_kWh, R17Exclude, KyzInvalidAlarm"
            " FROM KYZ_Interval ORDER BY IntervalEnd"
        ).fetchall()


def replay(tmp_path: Path, *args: str) -> int:
    return main(
        ["--data-dir", str(tmp_path / "data"), "--log-dir", str(tmp_path / "logs"), "replay", *args]
    )


def split_even_small_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parallel replay for the small files of these tests, split into equal parts."""
    from kyzconsole.engine import parallel_replay

    monkeypatch.setattr(parallel_replay, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(parallel_replay, "HEAD_START_BYTES", 0)


def summary_of(capsys: pytest.CaptureFixture[str]) -> dict:
    return json.loads(capsys.readouterr().out)


def test_jsonl_replay_inserts_every_line_once_and_again_counts_duplicates(tmp_path, capsys):
    source = tmp_path / "payloads.jsonl"
    source.write_text("\n".join(payload_lines(300)) + "\n\n")
    assert replay(tmp_path, "--json", str(source)) == 0
    first = summary_of(capsys)
    assert (first["read"], first["inserted"], first["duplicates"]) == (300, 300, 0)
    assert replay(tmp_path, "--json", str(source)) == 0
    second = summary_of(capsys)
    assert (second["read"], second["inserted"], second["duplicates"]) == (300, 0, 300)
    rows = stored_rows(tmp_path / "data")
    assert len(rows) == 300
    assert rows[0][0].startswith("2026-01-05 00:15:00")


def test_summary_counts_add_up_and_name_each_problem(tmp_path, capsys):
    lines = payload_lines(5)
    conflict = json.loads(lines[2]) | {"pulseCount": 999999}
    lines += [
        '{"intervalEnd": "2026-01-05 12:07:00", "pulseCount": 1, "kWh": 0.25, "kW": 1.0}',
        "not json at all",
        json.dumps(conflict),
    ]
    source = tmp_path / "mixed.jsonl"
    source.write_text("\n".join(lines) + "\n")
    assert replay(tmp_path, "--json", str(source)) == 1
    summary = summary_of(capsys)
    assert summary["read"] == 8
    assert (summary["inserted"], summary["duplicates"]) == (5, 0)
    assert (summary["conflicts"], summary["invalid"]) == (1, 2)
    parts = summary["inserted"] + summary["duplicates"] + summary["conflicts"] + summary["invalid"]
    assert parts == summary["read"]
    problems = {(p["line"], p["outcome"]) for p in summary["problems"]}
    assert problems == {(6, "invalid"), (7, "invalid"), (8, "conflict")}
    reasons = {p["line"]: p["reason"] for p in summary["problems"]}
    assert "misaligned" in reasons[6]
    assert "not valid JSON" in reasons[7]
    assert "already stored with other values" in reasons[8]
    # The conflict never overwrote the stored row.
    assert [r[1] for r in stored_rows(tmp_path / "data")][2] == json.loads(lines[2])["pulseCount"]


def test_invalid_lines_and_conflicts_are_kept_in_quarantine_with_both_versions(tmp_path, capsys):
    lines = payload_lines(2)
    changed = json.loads(lines[1]) | {"kWh": 123.5, "kW": 494.0}
    source = tmp_path / "q.jsonl"
    source.write_text("\n".join([*lines, '{"pulseCount": 1}', json.dumps(changed)]) + "\n")
    assert replay(tmp_path, str(source)) == 1
    capsys.readouterr()
    with Quarantine.in_data_dir(tmp_path / "data") as quarantine:
        entries = list(quarantine.entries())
    kinds = [e.kind for e in entries]
    assert sorted(kinds) == ["conflict", "invalid"]
    invalid = next(e for e in entries if e.kind == "invalid")
    assert invalid.raw == b'{"pulseCount": 1}'
    assert "intervalEnd: required field is missing" in invalid.reason
    assert invalid.source.endswith("q.jsonl:3")
    conflict = next(e for e in entries if e.kind == "conflict")
    assert conflict.incoming is not None and conflict.existing is not None
    assert conflict.incoming["kWh"] == 123.5
    assert conflict.existing["kWh"] == json.loads(lines[1])["kWh"]


def test_plc_csv_export_with_bom_is_detected_and_replayed(tmp_path, capsys):
    source = tmp_path / "KYZ_2026-01.csv"
    source.write_bytes(
        (
            "\ufeff" + CSV_HEADER + "\r\n"
            "01/05/2026,00:15:00.000,4,1.0,4.0,100.5,R17=0,ALARM0\r\n"
            "01/05/2026,00:29:59.998,8,2.0,8.0,102.5,R17=1,ALARM0\r\n"
            "01/05/2026,00:45:00,x,2.0,8.0,104.5,0,0\r\n"
        ).encode()
    )
    assert replay(tmp_path, "--json", str(source)) == 1
    summary = summary_of(capsys)
    assert (summary["read"], summary["inserted"], summary["invalid"]) == (3, 2, 1)
    assert summary["problems"][0]["line"] == 4
    assert "pulseCount" in summary["problems"][0]["reason"]
    rows = stored_rows(tmp_path / "data")
    assert [(r[0][:19], r[1], r[5]) for r in rows] == [
        ("2026-01-05 00:15:00", 4, 0),
        ("2026-01-05 00:30:00", 8, 1),
    ]
    assert rows[1][4] == 102.5


def test_dry_run_classifies_but_writes_nothing(tmp_path, capsys):
    source = tmp_path / "p.jsonl"
    source.write_text("\n".join(payload_lines(10)) + "\n")
    other = tmp_path / "more.jsonl"
    other.write_text("\n".join(payload_lines(20)) + "\nbroken\n")
    assert replay(tmp_path, str(source)) == 0
    capsys.readouterr()
    assert replay(tmp_path, "--dry-run", "--json", str(other)) == 1
    summary = summary_of(capsys)
    assert summary["dry_run"] is True
    assert (summary["inserted"], summary["duplicates"], summary["invalid"]) == (10, 10, 1)
    assert len(stored_rows(tmp_path / "data")) == 10
    with Quarantine.in_data_dir(tmp_path / "data") as quarantine:
        assert quarantine.count() == 0


def test_dry_run_settles_repeats_across_batches_as_the_real_run_does(tmp_path, capsys):
    payloads = payload_lines(30)
    changed = json.dumps(json.loads(payloads[0]) | {"pulseCount": 1})
    lines = [*payloads[:5], changed, *payloads[5:], changed, payloads[29], payloads[3]]
    source = tmp_path / "p.jsonl"
    source.write_text("\n".join(lines) + "\n")
    (tmp_path / "stored.jsonl").write_text(payloads[3] + "\n")
    assert replay(tmp_path, str(tmp_path / "stored.jsonl")) == 0
    capsys.readouterr()
    assert replay(tmp_path, "--dry-run", "--json", "--batch-size", "10", str(source)) == 1
    dry = summary_of(capsys)
    assert replay(tmp_path, "--json", "--batch-size", "10", str(source)) == 1
    real = summary_of(capsys)
    # Line 6 meets line 1 in the first batch; line 32 meets it three batches later; lines 33
    # and 34 repeat a line of this file and a stored row: all settled as the real run settles.
    assert [(p["line"], p["outcome"]) for p in dry["problems"]] == [
        (6, "conflict"),
        (32, "conflict"),
    ]
    assert (dry["inserted"], dry["duplicates"], dry["conflicts"]) == (29, 3, 2)
    for key in ("read", "inserted", "duplicates", "conflicts", "invalid", "problems"):
        assert dry[key] == real[key], key


def test_format_flag_overrides_detection(tmp_path, capsys):
    source = tmp_path / "odd.txt"
    source.write_text(
        "Date,Time,counter15min,LastEnergyUsage,LastDemand\n01/05/2026,00:15:00,4,1,4\n"
    )
    assert replay(tmp_path, "--format", "jsonl", "--json", str(source)) == 1
    assert summary_of(capsys)["invalid"] == 2
    assert replay(tmp_path, "--format", "csv", "--json", str(source)) == 0
    assert summary_of(capsys)["inserted"] == 1


def test_unknown_format_and_missing_file_exit_2_with_a_reason(tmp_path, capsys):
    odd = tmp_path / "odd.txt"
    odd.write_text("hello world\n")
    assert replay(tmp_path, str(odd)) == 2
    assert "cannot tell the format" in capsys.readouterr().err
    assert replay(tmp_path, str(tmp_path / "absent.jsonl")) == 2
    assert "no such file" in capsys.readouterr().err


def test_csv_without_required_columns_exits_2_naming_them(tmp_path, capsys):
    source = tmp_path / "bad.csv"
    source.write_text("Date,Time,counter15min\n01/05/2026,00:15:00,4\n")
    assert replay(tmp_path, str(source)) == 2
    err = capsys.readouterr().err
    assert "LastEnergyUsage" in err and "LastDemand" in err


def test_replay_reads_standard_input_in_a_real_process(tmp_path):
    data = tmp_path / "data"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kyzconsole",
            "--data-dir",
            str(data),
            "--log-dir",
            str(tmp_path / "logs"),
            "replay",
            "--json",
            "-",
        ],
        input="\n".join([*payload_lines(4), GOOD.replace("00:15", "23:45")]) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["inserted"] == 5
    assert len(stored_rows(data)) == 5


def test_plain_summary_on_stdout_when_not_json(tmp_path, capsys):
    source = tmp_path / "p.jsonl"
    source.write_text("\n".join(payload_lines(3)) + "\n{}\n")
    assert replay(tmp_path, str(source)) == 1
    out = capsys.readouterr().out
    assert "4 read: 3 inserted, 0 duplicates, 0 conflicts, 1 invalid" in out
    assert "p.jsonl:4: invalid: intervalEnd: required field is missing" in out


def test_replay_writes_its_own_log_file(tmp_path, capsys):
    source = tmp_path / "p.jsonl"
    source.write_text("\n".join(payload_lines(3)) + "\n")
    assert replay(tmp_path, str(source)) == 0
    log = (tmp_path / "logs" / "kyz_replay.log").read_text()
    assert "replay done: 3 read, 3 inserted" in log


def test_unreachable_database_exits_2_and_says_why(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(
        "KYZ_SQL_CONNECTION_STRING",
        "Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=1;Database=x;Uid=u;Pwd=s3cret-pw;",
    )
    source = tmp_path / "p.jsonl"
    source.write_text(GOOD + "\n")
    assert replay(tmp_path, "--retry-for", "0", str(source)) == 2
    err = capsys.readouterr().err
    assert "PostgreSQL" in err and "unreachable" in err
    assert "s3cret-pw" not in err


def replay_both_ways(tmp_path: Path, capsys, *args: str, jobs: str = "2") -> tuple[dict, dict]:
    """The same file in one process and in `jobs`, each into its own fresh data dir."""
    results = []
    for processes in ("1", jobs):
        root = tmp_path / f"jobs{processes}"
        code = replay(root, "--jobs", processes, "--json", *args)
        summary = summary_of(capsys)
        summary.pop("seconds")
        results.append({"exit": code, "summary": summary, "rows": stored_rows(root / "data")})
    return results[0], results[1]


def test_a_large_file_replayed_in_two_processes_lands_exactly_once(tmp_path, capsys, monkeypatch):

    split_even_small_files(monkeypatch)
    payloads = payload_lines(4000)
    repeated = payloads[10]  # once in the first half, again in the second: a duplicate
    changed = json.dumps(json.loads(payloads[20]) | {"pulseCount": 1})  # a conflict, far away
    # A broken line in each part: both processes write to the quarantine at once.
    lines = [*payloads[:100], "{broken", *payloads[100:3000], "broken line", *payloads[3000:]]
    lines += [repeated, changed]
    source = tmp_path / "big.jsonl"
    source.write_text("\n".join(lines) + "\n")
    root = tmp_path / "two"
    assert replay(root, "--jobs", "2", "--json", str(source)) == 1
    summary = summary_of(capsys)
    assert summary["read"] == 4004
    assert (summary["inserted"], summary["duplicates"]) == (4000, 1)
    assert (summary["conflicts"], summary["invalid"]) == (1, 2)
    # The file's own line numbers, and file order kept: the earlier line 21 is stored, so its
    # changed copy on the last line is the conflict, as in one process.
    problems = [(p["line"], p["outcome"]) for p in summary["problems"]]
    assert problems == [(101, "invalid"), (3002, "invalid"), (4004, "conflict")]
    rows = stored_rows(root / "data")
    assert len(rows) == 4000 and len({r[0] for r in rows}) == 4000
    assert rows[20][1] == json.loads(payloads[20])["pulseCount"] != 1
    with Quarantine.in_data_dir(root / "data") as quarantine:
        kinds = sorted(e.kind for e in quarantine.entries())
        assert kinds == ["conflict", "invalid", "invalid"]
    log = (root / "logs" / "kyz_replay.log").read_text()
    assert "invalid: " in log and "big.jsonl line 3002" in log  # the workers' lines reach it
    assert "2 lines repeat an interval of an earlier part" in log


def test_two_processes_settle_every_repeated_interval_as_one_process_does(
    tmp_path, capsys, monkeypatch
):

    split_even_small_files(monkeypatch)
    payloads = payload_lines(3000)

    def variant(n: int, **changes: object) -> str:
        return json.dumps(json.loads(payloads[n]) | changes)

    lines = [
        *payloads[:1520],
        # Early in the second part, repeats of intervals at the end of the first: without care
        # the second process, a batch of 100 in, would store these before the first got there.
        *(variant(n, pulseCount=7) for n in range(1490, 1496)),
        variant(1496, pulseCount=8).replace('"intervalEnd": ', '"intervalEnd"  :\t'),
        payloads[1497].replace('"intervalEnd"', '"interval\\u0045nd"'),  # a duplicate, escaped
        variant(1490, pulseCount=9),  # the same interval again, other values again
        variant(2000, pulseCount=5),  # first seen in this part: stored; the original conflicts
        *payloads[1520:],
        payloads[3],  # a duplicate of the first part
        variant(2000, pulseCount=6),  # a conflict within the second part
    ]
    source = tmp_path / "mixed.jsonl"
    source.write_text("\n".join(lines) + "\n")
    second_part = InputFile(str(source)).split(2)[1]
    assert 1500 < second_part.first_line <= 1521  # originals in the first part, repeats not

    one, two = replay_both_ways(tmp_path, capsys, "--batch-size", "100", str(source))
    assert two == one
    assert (one["summary"]["conflicts"], one["summary"]["duplicates"]) == (10, 2)
    conflicts = [p["line"] for p in one["summary"]["problems"] if p["outcome"] == "conflict"]
    assert conflicts[:8] == [*range(1521, 1528), 1529]  # the later lines, not the originals
    log = (tmp_path / "jobs2" / "logs" / "kyz_replay.log").read_text()
    assert "10 lines repeat an interval of an earlier part" in log


def test_two_processes_keep_the_header_and_file_order_of_a_csv_export(
    tmp_path, capsys, monkeypatch
):

    split_even_small_files(monkeypatch)
    rows = [CSV_HEADER]
    for n in range(1, 401):
        hours, minutes = divmod(n * 15, 60)
        day = 5 + hours // 24
        rows.append(f"01/{day:02d}/2026,{hours % 24:02d}:{minutes:02d}:00,4,1.0,4.0,{100 + n},0,0")
    # The PLC stamps a row a few milliseconds early: the same interval as the second row.
    rows.append("01/05/2026,00:29:59.996,5,1.25,5.0,777,0,0")
    source = tmp_path / "export.csv"
    source.write_text("\n".join(rows) + "\n")
    one, two = replay_both_ways(tmp_path, capsys, str(source))
    assert two == one
    assert (one["summary"]["read"], one["summary"]["inserted"]) == (401, 400)
    assert [(p["line"], p["outcome"]) for p in one["summary"]["problems"]] == [(402, "conflict")]
    assert len(two["rows"]) == 400
    log = (tmp_path / "jobs2" / "logs" / "kyz_replay.log").read_text()
    assert "1 line repeats an interval of an earlier part" in log


def test_replaying_a_file_already_in_logs_duplicates_as_runs(tmp_path, capsys):
    source = tmp_path / "p.jsonl"
    source.write_text("\n".join(payload_lines(2500)) + "\n")
    assert replay(tmp_path, str(source)) == 0
    assert replay(tmp_path, "--json", "--batch-size", "1000", str(source)) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["duplicates"] == 2500
    log = (tmp_path / "logs" / "kyz_replay.log").read_text()
    runs = [line for line in log.splitlines() if "duplicate: " in line]
    assert len(runs) == 3  # batches of 1000, 1000, 500
    assert "duplicate: 1000 intervals 2026-01-05 00:15:00 .. " in runs[0]


def test_the_installed_command_replays_a_large_file_in_two_processes(tmp_path):
    # The real entry point, as an engineer runs it: spawned workers must start from it too.
    # (--jobs 2 is the default on two cores or more; given here so one core tests it too.)
    from kyzconsole.engine.parallel_replay import PARALLEL_MIN_BYTES

    command = Path(sys.executable).with_name("kyzconsole")
    payloads = payload_lines(60_000, start=datetime(2024, 1, 1, 0, 15))
    source = tmp_path / "years.jsonl"
    source.write_text("\n".join([*payloads, payloads[0]]) + "\n")
    assert source.stat().st_size >= PARALLEL_MIN_BYTES
    data, logs = tmp_path / "data", tmp_path / "logs"
    result = subprocess.run(
        [
            str(command),
            "--data-dir",
            str(data),
            "--log-dir",
            str(logs),
            "replay",
            "--jobs",
            "2",
            "--json",
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["read"], summary["inserted"], summary["duplicates"]) == (60_001, 60_000, 1)
    assert len(stored_rows(data)) == 60_000
    assert "1 line repeats an interval of an earlier part" in (logs / "kyz_replay.log").read_text()


def test_a_worker_that_dies_is_an_error_that_says_what_to_do(tmp_path, capsys, monkeypatch):
    import os
    import signal
    import threading

    split_even_small_files(monkeypatch)
    source = tmp_path / "big.jsonl"
    source.write_text("\n".join(payload_lines(20_000)) + "\n")
    killed: list[int] = []

    def kill_the_worker() -> None:
        # A real SIGKILL, as the out-of-memory killer would send, to this test's spawned child.
        deadline = time.monotonic() + 30
        while not killed and time.monotonic() < deadline:
            for entry in Path("/proc").iterdir():
                try:
                    status = (entry / "status").read_text()
                    command = (entry / "cmdline").read_bytes()
                except OSError:
                    continue
                if f"PPid:\t{os.getpid()}\n" in status and b"spawn_main" in command:
                    os.kill(int(entry.name), signal.SIGKILL)
                    killed.append(int(entry.name))
            time.sleep(0.01)

    killer = threading.Thread(target=kill_the_worker)
    killer.start()
    code = replay(tmp_path, "--jobs", "2", "--batch-size", "100", str(source))
    killer.join()
    assert killed
    assert code == 2
    err = capsys.readouterr().err
    assert "a replay process stopped before its part was done" in err
    assert "Run the same replay again" in err
    if (tmp_path / "data" / "kyz.db").exists():  # killed before anything was written: none
        rows = stored_rows(tmp_path / "data")
        assert len(rows) == len({r[0] for r in rows})  # whatever was committed, nothing twice


def _hold_forever(lock) -> None:  # in a child process
    lock.acquire()
    time.sleep(60)


def test_the_write_turns_go_on_without_a_holder_that_was_killed() -> None:
    import multiprocessing
    import signal

    from kyzconsole.engine.parallel_replay import _Turns

    context = multiprocessing.get_context("spawn")
    lock = context.Lock()
    holder = context.Process(target=_hold_forever, args=(lock,))
    holder.start()
    deadline = time.monotonic() + 30
    while lock.acquire(timeout=0.05):  # until the child has it
        lock.release()
        assert time.monotonic() < deadline
    holder.kill()
    holder.join()
    assert holder.exitcode == -signal.SIGKILL
    turns = _Turns(lock, patience=0.3)
    started = time.monotonic()
    with turns:
        pass
    with turns:  # and no more waiting after that
        pass
    assert 0.25 < time.monotonic() - started < 5


def test_the_terminal_gets_the_first_twenty_problems_and_the_log_gets_all(tmp_path, capsys):
    from kyzconsole.engine.replay import SHOWN_PROBLEMS

    payloads = payload_lines(40)
    lines = [line if n % 2 else "{broken" for n, line in enumerate(payloads)]  # 20 good, 20 bad
    lines += [json.dumps(json.loads(payloads[1]) | {"pulseCount": 1})] * 5  # 5 conflicts
    source = tmp_path / "p.jsonl"
    source.write_text("\n".join(lines) + "\n")
    assert replay(tmp_path, str(source)) == 1
    err = capsys.readouterr().err
    shown = [line for line in err.splitlines() if "invalid: " in line or "conflict: " in line]
    assert len(shown) == SHOWN_PROBLEMS == 20
    assert "more invalid lines, conflicts and warnings follow" in err
    log = (tmp_path / "logs" / "kyz_replay.log").read_text()
    assert sum("| invalid: " in line for line in log.splitlines()) == 20
    assert sum("| conflict: " in line for line in log.splitlines()) == 5


def test_a_workers_problems_past_twenty_reach_the_log_file_only(tmp_path, capsys, monkeypatch):

    split_even_small_files(monkeypatch)
    source = tmp_path / "p.jsonl"
    source.write_text("\n".join([*payload_lines(2000), *["{broken"] * 60]) + "\n")
    assert replay(tmp_path, "--jobs", "2", str(source)) == 1
    err = capsys.readouterr().err
    assert sum("invalid: " in line for line in err.splitlines()) == 20  # all in the second part
    log = (tmp_path / "logs" / "kyz_replay.log").read_text()
    assert sum("invalid: " in line for line in log.splitlines()) == 60


def test_three_processes_chain_what_each_earlier_part_holds(tmp_path, capsys, monkeypatch):
    split_even_small_files(monkeypatch)
    payloads = payload_lines(3000)

    def variant(n: int, pulses: int) -> str:
        return json.dumps(json.loads(payloads[n]) | {"pulseCount": pulses})

    # Thirds of about 1000 lines; halfway through the second, a repeat of the first third, and
    # halfway through the last, repeats of the first and of the second.
    lines = [*payloads[:1500], variant(10, 1), *payloads[1500:2500], variant(11, 2)]
    lines += [variant(1500, 3), payloads[12], *payloads[2500:]]
    source = tmp_path / "thirds.jsonl"
    source.write_text("\n".join(lines) + "\n")
    parts = InputFile(str(source)).split(3)
    assert [p.first_line < n for p, n in zip(parts[1:], (1501, 2502), strict=True)] == [True] * 2
    one, three = replay_both_ways(tmp_path, capsys, "--batch-size", "100", str(source), jobs="3")
    assert three == one
    assert (one["summary"]["conflicts"], one["summary"]["duplicates"]) == (3, 1)
    log = (tmp_path / "jobs3" / "logs" / "kyz_replay.log").read_text()
    assert "4 lines repeat an interval of an earlier part" in log
