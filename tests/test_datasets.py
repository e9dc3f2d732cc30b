"""Local data files: JSONL, JSON, parquet; clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.datasets import DataUnavailable, read_records


def test_formats(tmp_path: Path) -> None:
    rows = [{"a": 1}, {"a": 2}]
    (tmp_path / "x.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    (tmp_path / "x.json").write_text(json.dumps(rows))
    (tmp_path / "wrapped.json").write_text(json.dumps({"data": rows}))
    import pandas as pd

    pd.DataFrame(rows).to_parquet(tmp_path / "x.parquet")
    for name in ("x.jsonl", "x.json", "wrapped.json", "x.parquet"):
        assert [r["a"] for r in read_records(tmp_path / name)] == [1, 2]


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(DataUnavailable, match="not found"):
        read_records(tmp_path / "missing.jsonl")
    (tmp_path / "bad.jsonl").write_text("{not json\n")
    with pytest.raises(DataUnavailable, match=r"bad.jsonl line 1 column 2: invalid JSON"):
        read_records(tmp_path / "bad.jsonl")
    (tmp_path / "scalar.json").write_text("[1, 2]")
    with pytest.raises(DataUnavailable, match="list of JSON objects"):
        read_records(tmp_path / "scalar.json")


def test_schema_mismatch_names_the_record(tmp_path: Path) -> None:
    from tasks.aime import aime2024

    (tmp_path / "a.jsonl").write_text(json.dumps({"question": "q"}) + "\n")
    with pytest.raises(DataUnavailable, match="a.jsonl line 1: does not follow the HuggingFaceH4/aime_2024 schema"):
        aime2024(data=str(tmp_path / "a.jsonl"))
    (tmp_path / "a.json").write_text(json.dumps([{"problem": "p", "answer": "1", "id": 1}, {"question": "q"}]))
    with pytest.raises(DataUnavailable, match="a.json record 2: does not follow"):
        aime2024(data=str(tmp_path / "a.json"))


# --------------------------------------------------------------------------- where a broken line is


def _broken(rows: list[str], bad_line: int, suffix: str = ".jsonl") -> str:
    """JSON lines with line ``bad_line`` (1-based) cut short."""
    lines = list(rows)
    lines[bad_line - 1] = lines[bad_line - 1][: max(1, len(lines[bad_line - 1]) - 3)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("name", ["d.jsonl", "d.json", "d.txt", "d.jsonl.gz"])
def test_broken_line_is_reported_at_its_line_in_the_file(tmp_path: Path, name: str) -> None:
    import gzip

    rows = [json.dumps({"problem": f"p{i}", "answer": str(i)}) for i in range(8)]
    rows[2] = ""  # blank lines count as lines of the file
    text = _broken(rows, 6)
    data = gzip.compress(text.encode()) if name.endswith(".gz") else text.encode()
    (tmp_path / name).write_bytes(data)
    with pytest.raises(json.JSONDecodeError) as alone:
        json.loads(text.split("\n")[5])
    with pytest.raises(DataUnavailable, match=rf"{name} line 6 column {alone.value.colno}: invalid JSON"):
        read_records(tmp_path / name)


def test_json_array_error_and_non_object_rows_name_their_place(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('[{"a": 1},\n {"a": 2},\n {"a" 3}]')
    with pytest.raises(DataUnavailable, match="a.json line 3 column 7"):
        read_records(tmp_path / "a.json")
    (tmp_path / "b.jsonl").write_text('{"a": 1}\n[1, 2]\n')
    with pytest.raises(DataUnavailable, match="b.jsonl line 2: expected a list of JSON objects"):
        read_records(tmp_path / "b.jsonl")


def test_line_separators_inside_strings_do_not_split_a_record(tmp_path: Path) -> None:
    # U+2028 and friends are legal raw inside JSON strings; str.splitlines() would cut there
    rows = [{"t": "a\u2028b\x0cc\x1dd\u0085e"}, {"t": "x"}]
    (tmp_path / "s.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\r\n" for r in rows), encoding="utf-8")
    assert read_records(tmp_path / "s.jsonl") == rows
    (tmp_path / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + b'{"a": 1}\n')
    assert read_records(tmp_path / "bom.jsonl") == [{"a": 1}]


def test_parse_jsonl_positions_match_the_whole_text() -> None:
    """Property: for any JSONL text with one broken line, the reported line/column is where
    the break is in the whole text (as json reports it for that line alone, shifted)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from harness.datasets import parse_jsonl

    value = st.dictionaries(st.text(max_size=6), st.integers() | st.text(max_size=12), max_size=3)

    @settings(max_examples=20, deadline=None)
    @given(st.lists(value, min_size=1, max_size=8), st.data(), st.booleans())
    def check(values: list, data: st.DataObject, ascii_only: bool) -> None:
        lines = [json.dumps(v, ensure_ascii=ascii_only) for v in values]
        bad = data.draw(st.integers(0, len(lines) - 1))
        lines[bad] = lines[bad] + " ]"
        text = "\n".join(lines)
        try:
            parse_jsonl(text)
        except json.JSONDecodeError as ex:
            alone = None
            try:
                json.loads(lines[bad])
            except json.JSONDecodeError as own:
                alone = own
            assert alone is not None
            assert (ex.lineno, ex.colno, ex.msg) == (bad + 1, alone.colno, alone.msg)
        else:
            raise AssertionError("broken line accepted")

    check()
