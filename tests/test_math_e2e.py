"""The math scorer end to end: `inspect eval` as a CLI process, a piped script, a broken checker."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import write_jsonl

REPO = Path(__file__).resolve().parents[1]
BOMB = "\\boxed{9^{9^{9^{9}}}}"
CORRECT_SYMBOLIC = ["\\boxed{\\frac{66}{2}}", "\\boxed{\\sqrt{1089}}", "$\\boxed{\\dfrac{99}{3}}$", "\\boxed{2^{5}+1}"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "INSPECT_LOG_DIR": str(tmp_path / "logs"), "PYTHONPATH": str(REPO), **extra}


def test_inspect_eval_cli_bomb_then_correct_symbolic_answers(tmp_path: Path) -> None:
    """The issue's run: one numeric bomb, then correct symbolic answers, one worker, in order."""
    rows, script = [], []
    answers = [BOMB] + CORRECT_SYMBOLIC
    for i, answer in enumerate(answers, start=1):
        rows.append({"id": i, "problem": f"Problem number {i}?", "answer": "33", "year": "2024",
                     "url": f"https://artofproblemsolving.com/wiki/index.php/2024_AIME_I_Problems/Problem_{i}"})
        script.append({"match": f"Problem number {i}?", "content": f"[TEST DOUBLE] Work. {answer}"})
    data = write_jsonl(tmp_path / "aime.jsonl", rows)
    turns = write_jsonl(tmp_path / "script.jsonl", script)
    work = tmp_path / "elsewhere"  # run from another folder than the repo
    work.mkdir()
    r = subprocess.run(
        ["inspect", "eval", f"{REPO}/tasks/aime.py@aime2024", "-T", f"data={data}", "--model", "testdouble/script",
         "-M", f"script={turns}", "--epochs", "1", "--max-samples", "1", "--display", "none"],
        capture_output=True, text=True, cwd=work, timeout=240,
        env=_env(tmp_path, HARNESS_BOUNDED_WORKERS="1"),  # the harshest case: one worker, replaced after the kill
    )
    assert r.returncode == 0, r.stderr[-3000:]
    from inspect_ai.log import list_eval_logs, read_eval_log

    [info] = list_eval_logs(str(tmp_path / "logs"))
    log = read_eval_log(info)
    assert log.status == "success"
    scores = {int(s.id.rsplit("-", 1)[1]): s.scores["math_answer"] for s in log.samples}
    bomb = scores.pop(1)
    assert math.isnan(bomb.value) and bomb.metadata["reason"] == "timeout"
    assert {i: s.value for i, s in scores.items()} == {i: "C" for i in range(2, len(answers) + 1)}
    [mean] = [s for s in log.results.scores if s.reducer == "mean"]
    assert mean.unscored_samples == 1 and mean.scored_samples == len(CORRECT_SYMBOLIC)
    assert mean.metrics["accuracy"].value == 1.0

    # the reports count it, by reason, from another folder (in-process: the CLI's start-up
    # is covered elsewhere)
    import contextlib
    import csv as csv_
    import io

    from harness.cli import main

    cwd = os.getcwd()
    os.chdir(work)
    try:
        outs = []
        for fmt in ("csv", "md"):
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                assert main(["leaderboard", str(tmp_path / "logs"), "--format", fmt]) == 0
            outs.append(buf.getvalue())
    finally:
        os.chdir(cwd)
    [row] = [r for r in csv_.DictReader(outs[0].splitlines()) if r["task"] == "aime2024"]
    assert (row["unscored"], row["unscored_reasons"]) == ("1", "1 (timeout 1)")
    assert "| unscored " in outs[1] and "1 (timeout 1)" in outs[1], outs[1]


def test_piped_unguarded_script_runs_once_and_scores(tmp_path: Path) -> None:
    """No re-import of __main__: a script on stdin without a main guard runs exactly once
    and its math-verify workers (template and a replacement fork after a kill) work."""
    code = (
        "from harness.answers import math_verify_compare\n"
        "from harness.bounded import BoundedPool, BoundedTimeout\n"
        "from tests.bounded_fns import spin\n"
        "print('START', flush=True)\n"
        "pool = BoundedPool(warm='harness.answers:warm_up', size=1)\n"
        "try:\n"
        "    pool.call(spin, 30, cpu_timeout=0.2)\n"
        "except BoundedTimeout as ex:\n"
        "    print('KILLED', ex.why, flush=True)\n"
        "print('RESULT', pool.call(math_verify_compare, '33', '\\\\frac{66}{2}', cpu_timeout=5), flush=True)\n"
    )
    r = subprocess.run([sys.executable, "-"], input=code, capture_output=True, text=True, cwd=tmp_path,
                       env=_env(tmp_path), timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split("\n") == ["START", "KILLED cpu", "RESULT equal", ""]


def test_checker_that_cannot_start_fails_the_eval(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from inspect_ai import eval as inspect_eval

    import scorers.math
    from harness.bounded import BoundedPool
    from tasks.aime import aime2024
    from tests.helpers import mock_model, output

    broken = BoundedPool(warm="tests.bounded_fns:not_ready", size=1)
    monkeypatch.setattr(scorers.math, "MATH_POOL", broken)
    data = write_jsonl(tmp_path / "aime.jsonl", [{"id": 1, "problem": "P?", "answer": "33", "year": "2024", "url": ""}])
    [log] = inspect_eval(aime2024(data=str(data)), model=mock_model([output("\\boxed{\\frac{66}{2}}")]), epochs=1,
                         log_dir=str(tmp_path), display="none")
    broken.close()
    assert log.status == "error"
    assert "could not start 3 times in a row" in log.error.message
    assert not log.samples or all(not s.scores for s in log.samples)  # nothing was scored wrong
