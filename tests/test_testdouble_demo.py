"""The offline test double and `harness demo`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from inspect_ai import Task
from inspect_ai import eval as inspect_eval
from inspect_ai.dataset import Sample
from inspect_ai.scorer import includes
from inspect_ai.solver import generate

from harness.cli import main
from harness.testing.testdouble import MARK


def _task(n: int = 20) -> Task:
    return Task(dataset=[Sample(id=i, input=f"q{i}", target=str(i)) for i in range(n)], solver=generate(), scorer=includes())


def test_oracle_probability_is_deterministic(tmp_path: Path) -> None:
    runs = []
    for _ in range(2):
        [log] = inspect_eval(_task(), model="testdouble/oracle", model_args={"p_correct": 0.5}, epochs=4,
                             log_dir=str(tmp_path), display="none")
        runs.append([s.output.completion for s in log.samples])
        assert all(s.output.completion.startswith(MARK) for s in log.samples)
        assert all(s.model_usage["testdouble/oracle"].output_tokens > 0 for s in log.samples)
    assert runs[0] == runs[1]
    correct = sum("Scripted correct" in c for c in runs[0])
    assert 20 <= correct <= 60  # 80 draws at p=0.5


def test_script_mode_and_match(tmp_path: Path) -> None:
    script = tmp_path / "s.jsonl"
    script.write_text(
        json.dumps({"content": "generic"}) + "\n" + json.dumps({"match": "q3", "content": "special"}) + "\n"
    )
    [log] = inspect_eval(_task(5), model="testdouble/s", model_args={"script": str(script)},
                         log_dir=str(tmp_path), display="none")
    by_id = {s.id: s.output.completion for s in log.samples}
    assert by_id[3] == f"{MARK} special" and by_id[0] == f"{MARK} generic"


def test_demo_prints_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--epochs", "4", "--log-dir", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    assert "TEST DOUBLE" in out
    for label in ("Mean@4", "Pass@1", "Pass@2", "Pass@4"):
        assert label in out
    assert "inspect view" in out and str(tmp_path / "demo") in out


def test_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "demo" in capsys.readouterr().out
