"""The pre-scan parallel replay uses to keep file order: it must never miss an interval end."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kyzconsole.record import InvalidPayload, ValidationRules, parse_payload
from kyzconsole.record.plc_csv import parse_csv_line
from kyzconsole.sources.files import InputFile, InputFormat
from kyzconsole.sources.interval_keys import IntervalKeys, scan_interval_keys

RULES = ValidationRules(clock=lambda: datetime(2030, 1, 1))
START = datetime(2026, 3, 1)
# Each example writes a file: no deadline; tmp_path is reused, which these tests allow for.
SCAN_SETTINGS: dict = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture],
}


STEP = 900


def seconds(moment: datetime) -> int:
    return moment.toordinal() * 86400 + moment.hour * 3600 + moment.minute * 60 + moment.second


def keys_of(*moments: datetime) -> IntervalKeys:
    keys = IntervalKeys(STEP)
    keys.add(seconds(m) for m in moments)
    return keys


def test_interval_keys_hold_what_was_put_in_and_nothing_else() -> None:
    inside = [START + timedelta(minutes=15 * n) for n in (0, 3, 4, 100)]
    keys = keys_of(*inside, inside[1])  # a repeat is kept once
    assert len(keys) == 4
    assert all(moment in keys for moment in inside)
    for outside in (
        START - timedelta(minutes=15),
        START + timedelta(minutes=30),
        START + timedelta(minutes=50),
        START.replace(year=2027),
    ):
        assert outside not in keys
    assert START.date() not in keys and "2026-03-01 00:00:00" not in keys
    assert START not in IntervalKeys(STEP)


def test_a_year_in_time_order_with_two_gaps_is_three_runs() -> None:
    year = [START + timedelta(minutes=15 * n) for n in range(35_040)]
    keys = keys_of(*year[:1000], *year[1010:20_000], *year[20_001:])
    assert keys.runs == 3 and len(keys) == 35_040 - 11
    assert year[1009] not in keys and year[1010] in keys and year[20_000] not in keys


def test_copy_is_independent_of_the_original() -> None:
    keys = keys_of(START)
    other = keys.copy()
    other.add([seconds(START) + STEP])
    assert START + timedelta(minutes=15) in other and START + timedelta(minutes=15) not in keys


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(
            st.integers(0, 400).map(lambda n: n * STEP) | st.integers(0, 400 * STEP), max_size=30
        ),
        max_size=4,
    ),
    st.lists(st.integers(-STEP, 401 * STEP), max_size=50),
)
def test_interval_keys_answer_as_a_plain_set_would(
    batches: list[list[int]], probes: list[int]
) -> None:
    base = datetime(2020, 1, 1)
    keys, plain = IntervalKeys(STEP), set()
    for batch in batches:  # in any order, with repeats and off-step values
        keys.add(seconds(base) + offset for offset in batch)
        plain.update(batch)
    assert len(keys) == len(plain)
    for second in [*probes, *plain]:
        moment = base + timedelta(seconds=second)
        assert (moment in keys) == (seconds(moment) - seconds(base) in plain)


def scanned(tmp_path: Path, text: str) -> IntervalKeys:
    path = tmp_path / "part.txt"
    path.write_text(text, encoding="utf-8")
    (part,) = InputFile(str(path)).split(1)
    return scan_interval_keys(part, STEP)


def test_the_scan_finds_every_spelling_of_the_member(tmp_path: Path) -> None:
    lines = [
        '{"intervalEnd": "2026-03-01 00:15:00", "pulseCount": 1, "kWh": 0.25, "kW": 1.0}',
        '{"pulseCount":1,"kWh":0.25,"kW":1.0,"intervalEnd"\t:\r "2026-03-01 00:30:00"}',
        '{"interval\\u0045nd": "2026-03-01 00:45:00", "pulseCount": 1, "kWh": 0.25, "kW": 1.0}',
        '{"intervalEnd": "2026-03-01 01:00:00", "intervalEnd": "2026-03-01 01:15:00", '
        '"pulseCount": 1, "kWh": 0.25, "kW": 1.0}',
        '\ufeff{"intervalEnd": "2026-03-01 01:30:00", "note": "a \\"quoted\\" word",'
        ' "pulseCount": 1, "kWh": 0.25, "kW": 1.0}',
        "not json at all",
        '{"intervalEnd": "yesterday"}',
    ]
    keys = scanned(tmp_path, "\n".join(lines) + "\n")
    for minutes in (15, 30, 45, 75, 90):
        assert START + timedelta(minutes=minutes) in keys
    assert len(keys) == 6  # 01:00 too, from the repeated member json drops: more is harmless


def test_the_scan_reads_the_csv_date_and_time_wherever_the_header_puts_them(
    tmp_path: Path,
) -> None:
    text = (
        "counter15min;LastEnergyUsage;LastDemand;Time;Date\n"
        "4;1.0;4.0;00:15:00;03/01/2026\n"
        '4;1.0;4.0;"00:29:59.996";03/01/2026\n'
        "4;1.0;4.0;00:45:00;not a date\n"
        "short\n"
    )
    keys = scanned(tmp_path, text)
    assert START + timedelta(minutes=15) in keys and START + timedelta(minutes=30) in keys
    assert len(keys) == 2


members = st.sampled_from(['"intervalEnd"', '"interval\\u0045nd"', '"\\u0069ntervalEnd"'])
blank = st.sampled_from(["", " ", "\t", " \r "])  # no newline: one payload, one line
moments = st.integers(0, 3000).map(lambda n: START + timedelta(minutes=15 * n))
extras = st.dictionaries(
    st.sampled_from(["note", "intervalEnd_old", "x"]),
    st.one_of(st.text(max_size=20), st.integers(), st.just('"intervalEnd": "2026-03-01"')),
    max_size=2,
)


@st.composite
def payload_lines(draw: st.DrawFn) -> str:
    moment = draw(moments).strftime("%Y-%m-%d %H:%M:%S")
    value = (
        json.dumps(moment)
        if draw(st.booleans())
        else '"' + "".join(f"\\u{ord(c):04x}" if draw(st.booleans()) else c for c in moment) + '"'
    )
    member = f"{draw(members)}{draw(blank)}:{draw(blank)}{value}"
    rest = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in draw(extras).items()]
    rest += ['"pulseCount": 1', '"kWh": 0.25', '"kW": 1.0']
    at = draw(st.integers(0, len(rest)))
    body = ", ".join([*rest[:at], member, *rest[at:]])
    return "{" + draw(blank) + body + draw(blank) + "}"


@settings(max_examples=150, **SCAN_SETTINGS)
@given(st.lists(payload_lines(), min_size=1, max_size=20))
def test_the_scan_never_misses_the_interval_of_a_valid_line(
    tmp_path: Path, lines: list[str]
) -> None:
    keys = scanned(tmp_path, "\n".join(lines) + "\n")
    for line in lines:
        try:
            record = parse_payload(line.encode(), RULES).record
        except InvalidPayload:
            continue
        assert record.interval_end in keys, line


@settings(max_examples=100, **SCAN_SETTINGS)
@given(
    st.lists(
        st.tuples(
            moments,
            st.sampled_from(["", ".004", ".996", ".5"]),
            st.booleans(),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_the_csv_scan_never_misses_the_interval_of_a_valid_row(
    tmp_path: Path, rows: list[tuple[datetime, str, bool]]
) -> None:
    header = "Date,Time,counter15min,LastEnergyUsage,LastDemand"
    lines = []
    for moment, fraction, quoted in rows:
        stamp = moment - timedelta(seconds=1) if fraction in (".996", ".5") else moment
        date, time = stamp.strftime("%m/%d/%Y"), stamp.strftime("%H:%M:%S") + fraction
        lines.append(f'"{date}",{time},4,1.0,4.0' if quoted else f"{date},{time},4,1.0,4.0")
    keys = scanned(tmp_path, "\n".join([header, *lines]) + "\n")
    source = InputFile("-", InputFormat.CSV)
    source._read_header(header.encode())
    for line in lines:
        try:
            record = parse_csv_line(line.encode(), source.csv_index, RULES).record
        except InvalidPayload:
            continue
        assert record.interval_end in keys, line
