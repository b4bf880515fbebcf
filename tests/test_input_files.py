"""InputFile's parts for parallel replay: cut at line ends, nothing lost, nothing read twice."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kyzconsole.sources.files import InputFile, InputFormat

FILE_SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
lines = st.lists(
    st.one_of(st.just(""), st.text(alphabet='{}":, \rab0123', min_size=1, max_size=30)),
    min_size=1,
    max_size=40,
)


def write(tmp_path: Path, body: list[str], trailing_newline: bool) -> Path:
    path = tmp_path / "payloads.jsonl"
    text = "\n".join(["{}", *body]) + ("\n" if trailing_newline else "")
    path.write_bytes(text.encode())
    return path


@FILE_SETTINGS
@given(lines, st.integers(1, 5), st.integers(0, 600), st.booleans())
def test_the_parts_hold_every_line_once_with_the_files_own_numbers(
    tmp_path: Path, body: list[str], parts: int, head_start: int, trailing_newline: bool
) -> None:
    path = write(tmp_path, body, trailing_newline)
    whole = list(InputFile(str(path), InputFormat.JSONL).lines())
    pieces = InputFile(str(path), InputFormat.JSONL).split(parts, head_start)
    assert 1 <= len(pieces) <= parts
    assert [line for piece in pieces for line in piece.lines()] == whole


def test_the_first_part_gets_its_head_start(tmp_path: Path) -> None:
    path = write(tmp_path, [f'{{"n": {n}}}' for n in range(10_000, 20_000)], True)
    first, second = InputFile(str(path)).split(2, head_start=20_000)
    assert first.end is not None and second.end is not None
    lengths = (first.end - first.start, second.end - second.start)
    assert 19_900 < lengths[0] - lengths[1] < 20_100  # give or take the line it is cut at
    assert len(InputFile(str(path)).split(2, head_start=path.stat().st_size)) == 1


@FILE_SETTINGS
@given(lines, st.integers(1, 4), st.integers(1, 64), st.booleans())
def test_chunks_are_a_parts_bytes_cut_at_line_ends(
    tmp_path: Path, body: list[str], parts: int, size: int, trailing_newline: bool
) -> None:
    path = write(tmp_path, body, trailing_newline)
    data = path.read_bytes()
    for piece in InputFile(str(path), InputFormat.JSONL).split(parts):
        chunks = list(piece.chunks(size))
        assert b"".join(chunks) == data[piece.start : piece.end]
        assert all(chunk.endswith(b"\n") for chunk in chunks[:-1])


def test_only_lines_reads_just_those_lines(tmp_path: Path) -> None:
    path = write(tmp_path, ['{"a": 1}', "", '{"a": 3}', '{"a": 4}'], True)
    source = InputFile(str(path))
    source.only_lines = frozenset({4, 5, 99})
    assert list(source.lines()) == [(4, b'{"a": 3}\n'), (5, b'{"a": 4}\n')]


def test_only_lines_still_reads_a_csv_header_outside_them(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "Date,Time,counter15min,LastEnergyUsage,LastDemand\n01/05/2026,00:15:00,4,1,4\n"
    )
    source = InputFile(str(path))
    source.only_lines = frozenset({2})
    assert list(source.lines()) == [(2, b"01/05/2026,00:15:00,4,1,4\n")]
    assert source.format is InputFormat.CSV and source.csv_index["Time"] == 1
