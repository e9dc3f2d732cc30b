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
    with pytest.raises(DataUnavailable, match="Could not read"):
        read_records(tmp_path / "bad.jsonl")
    (tmp_path / "scalar.json").write_text("[1, 2]")
    with pytest.raises(DataUnavailable, match="list of JSON objects"):
        read_records(tmp_path / "scalar.json")


def test_schema_mismatch_names_the_record(tmp_path: Path) -> None:
    from tasks.aime import aime2024

    (tmp_path / "a.jsonl").write_text(json.dumps({"question": "q"}) + "\n")
    with pytest.raises(DataUnavailable, match="record 0 does not follow the HuggingFaceH4/aime_2024 schema"):
        aime2024(data=str(tmp_path / "a.jsonl"))
