"""Unscored sample-epochs reach every report: read from the logs' sample summaries (the fast
zip path and inspect's reader agree), kept through the ``aime`` year split and shard merges."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from inspect_ai import Task, eval as inspect_eval
from inspect_ai.dataset import Sample
from inspect_ai.scorer import CORRECT, Score, accuracy, scorer
from inspect_ai.solver import generate

from harness.reports.leaderboard import build, render_csv, render_md
from harness.reports.runs import read_runs, sample_summaries, unscored_scores
from tests.helpers import mock_model, output


@scorer(metrics=[accuracy()])
def sometimes_unscored():
    async def score(state, target):
        if state.sample_id == 2 and state.epoch == 1:
            return Score.unscored(reason="timeout", explanation="bound passed")
        if state.sample_id == 3:
            return Score.unscored(explanation="no reason given", metadata={"reason": "gold_unparseable"})
        return Score(value=CORRECT)

    return score


def _log(tmp_path: Path, fmt: str) -> str:
    task = Task(dataset=[Sample(id=i, input=f"q{i}", target="a") for i in (1, 2, 3, 4)], solver=generate(),
                scorer=sometimes_unscored(), name="unscored_demo")
    [log] = inspect_eval(task, model=mock_model([output("a")] * 8), epochs=2, display="none",
                         log_dir=str(tmp_path / fmt), log_format=fmt)
    return log.location


@pytest.mark.parametrize("fmt", ["eval", "json"])
def test_unscored_counted_by_reason(tmp_path: Path, fmt: str) -> None:
    path = _log(tmp_path, fmt)
    found = sorted((u.sample, u.epoch, u.reason) for u in unscored_scores(sample_summaries(path)))
    assert found == [("2", 1, "timeout"), ("3", 1, "gold_unparseable"), ("3", 2, "gold_unparseable")]
    [run], skipped = read_runs([str(tmp_path / fmt)])
    assert not skipped and run.unscored_text == "3 (gold_unparseable 2, timeout 1)"
    board = build([run], [], n_boot=100, seed=0)
    assert "3 (gold_unparseable 2, timeout 1)" in render_md(board)
    [row] = csv.DictReader(io.StringIO(render_csv(board)))
    assert (row["unscored"], row["unscored_reasons"]) == ("3", "3 (gold_unparseable 2, timeout 1)")


def test_fast_summaries_equal_inspects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _log(tmp_path, "eval")
    fast = unscored_scores(sample_summaries(path))
    import harness.reports.runs

    monkeypatch.setattr(harness.reports.runs, "_zip_members", lambda *a: (_ for _ in ()).throw(ValueError("no zip")))
    assert unscored_scores(sample_summaries(path)) == fast


def test_no_unscored_column_when_all_scored(tmp_path: Path) -> None:
    task = Task(dataset=[Sample(id=1, input="q", target="a")], solver=generate(), scorer=sometimes_unscored())
    inspect_eval(task, model=mock_model([output("a")]), display="none", log_dir=str(tmp_path))
    [run], _ = read_runs([str(tmp_path)])
    assert run.unscored == [] and "unscored" not in render_md(build([run], [], n_boot=100, seed=0)).splitlines()[0]
