"""Errors a user meets (issue 14): each one line naming the fix, raised where inspect builds the task.

One check runs ``inspect eval`` as a subprocess from the data's folder (what the user
sees: one message, no traceback, exit code 1); one calls inspect's CLI entry in-process
from another folder; the rest go through inspect's ``eval()``, which resolves tasks,
``-T`` arguments and ``--model-role`` bindings the same way (a subprocess per check would
add only the printing, at ~4 s each).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai._util.error import PrerequisiteError

from harness.datasets import DataUnavailable
from tests.helpers import write_jsonl

ROOT = Path(__file__).resolve().parents[1]
TASKS = ROOT / "tasks"
NO_KEYS = ("OPENAI_API_KEY", "AZUREAI_OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "OPENAI_BASE_URL")

AIME_ROWS = [{"id": i, "problem": f"What is {i}+1?", "answer": str(i + 1), "url": "", "year": "2024"} for i in range(3)]
WEB_ROWS = [{"question": "Which year?", "answer": "1987", "root_url": "http://127.0.0.1:9/",
             "info": {"type": "single_source", "difficulty_level": "easy", "domain": "x", "lang": "en"}}]


def _cli(args: list[str], cwd: Path, display: str = "plain") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in NO_KEYS}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env["PWD"] = str(cwd)
    env["HF_HUB_OFFLINE"] = "1"
    cmd = [sys.executable, "-m", "inspect_ai._cli.main", "eval", *args, "--model", "testdouble/x", "--display", display]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def _one_message(proc: subprocess.CompletedProcess) -> str:
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "Traceback" not in out and "File \"" not in out, out
    return " ".join(out.split())  # the console wraps long lines at its width


def _eval(task: str, **task_args: object) -> None:
    inspect_eval(task, task_args=task_args, model="testdouble/x", display="none", limit=1, epochs=1)


# --------------------------------------------------------------------------- through the CLI


def test_cli_argument_typo_names_task_solver_and_inspect_option(tmp_path: Path) -> None:
    """With ``--display none`` too: inspect prints these errors through its (then silent)
    console, so harness.task's exception hook puts them on stderr."""
    write_jsonl(tmp_path / "aime.jsonl", AIME_ROWS)
    proc = _cli([f"{TASKS / 'aime.py'}@aime2024", "-T", "data=aime.jsonl", "-T", "epoch=4"], cwd=tmp_path, display="none")
    msg = _one_message(proc)
    assert "Unknown task argument -T epoch=4" in msg
    assert "inspect's --epochs 4" in msg
    assert "aime2024 takes: data, solver; its solver 'direct' (-T solver=) takes: no options" in msg
    assert "Solver 'direct' does not take" not in msg  # no longer blamed on the solver


def test_cli_missing_judge_fails_at_task_start_from_another_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """inspect's CLI entry in-process (the subprocess above already shows how such an error prints)."""
    from click.testing import CliRunner
    from inspect_ai._cli.main import inspect as inspect_cli

    for key in NO_KEYS:
        monkeypatch.delenv(key, raising=False)
    data_dir, elsewhere = tmp_path / "data", tmp_path / "elsewhere"
    data_dir.mkdir(), elsewhere.mkdir()
    write_jsonl(data_dir / "ww.jsonl", WEB_ROWS)
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("PWD", str(elsewhere))
    args = ["eval", "harness/webwalkerqa", "-T", "data=../data/ww.jsonl", "-T", "solver=direct",
            "--model", "testdouble/x", "--display", "none", "--log-dir", str(elsewhere / "logs")]
    result = CliRunner().invoke(inspect_cli, args)
    assert result.exit_code != 0 and isinstance(result.exception, PrerequisiteError), result.output
    msg = str(result.exception)
    assert msg.startswith("webwalkerqa cannot create its judge (model role 'grader')") and "\n" not in msg
    assert "--model-role grader=PROVIDER/MODEL" in msg and "OPENAI_API_KEY" in msg
    assert not list(elsewhere.rglob("*.eval")), "no sample may run (or be logged) without a judge"


# --------------------------------------------------------------------------- task and solver options


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"dat": "x"}, "did you mean -T data=x?"),
        ({"temperature": 0.2}, "temperature is an inspect option: --temperature 0.2"),
        ({"max_token": 9}, "did you mean inspect's --max-tokens 9?"),
        ({"solver": "react", "max_turn": 3}, "did you mean -T max_turns=3?"),
        ({"solver": "tfgrpo", "experience": "lib.json"}, "did you mean -T experiences=lib.json?"),
    ],
)
def test_unknown_arguments_say_what_was_meant(tmp_path: Path, args: dict, expected: str) -> None:
    data = write_jsonl(tmp_path / "aime.jsonl", AIME_ROWS)
    with pytest.raises(PrerequisiteError) as ex:
        _eval(f"{TASKS / 'aime.py'}@aime2024", data=str(data), **args)
    assert expected in str(ex.value)
    if args.get("solver") == "tfgrpo":  # a wrapping solver lists its base solver's options too
        assert "its solver 'tfgrpo' (-T solver=) takes: experiences, base_solver, placement" in str(ex.value)


def test_self_play_refuses_unknown_arguments_like_every_task() -> None:
    with pytest.raises(PrerequisiteError) as ex:
        _eval(f"{TASKS / 'self_play.py'}@self_play", epoch=4, gamez=2)
    msg = str(ex.value)
    assert "Unknown task arguments -T epoch=4, -T gamez=2" in msg
    assert "--epochs 4" in msg and "did you mean -T games=2?" in msg and "self_play takes: data, games," in msg


def test_missing_required_solver_option_is_one_line_with_an_example(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "aime.jsonl", AIME_ROWS)
    with pytest.raises(PrerequisiteError) as ex:
        _eval(f"{TASKS / 'aime.py'}@aime2024", data=str(data), solver="tfgrpo")
    assert str(ex.value) == (
        "Solver 'tfgrpo' is missing option experiences: add -T experiences=PATH (see solvers/tfgrpo.py)."
    )


def test_missing_option_check_is_generic() -> None:
    """Any factory with a required option gets the same message (not a tfgrpo special case)."""
    from solvers import build_solver
    from tests.helpers import registered_solver

    with registered_solver("needs_two", "tests.test_user_errors:_needs_two"):
        with pytest.raises(PrerequisiteError, match=r"missing options alpha, beta: add -T alpha=ALPHA -T beta=3 "):
            build_solver("needs_two", template="{prompt}")
        with pytest.raises(PrerequisiteError, match=r"Unknown solver 'nope' \(-T base_solver=\)"):
            build_solver("tfgrpo", template="{prompt}", experiences="x", base_solver="nope")


def _needs_two(template: str, alpha: str, beta: int, gamma: int = 1):
    """A test solver; configure it with ``-T beta=3``."""
    raise AssertionError("never built: its options are missing")


# --------------------------------------------------------------------------- judges


@pytest.mark.parametrize("task", ["afm100", "alpacaeval"])  # webwalkerqa: through the CLI above
def test_judge_tasks_check_the_judge_at_task_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, task: str) -> None:
    for key in NO_KEYS:
        monkeypatch.delenv(key, raising=False)
    data = {
        "afm100": ROOT / "harness" / "data" / "offline" / "afm.jsonl",
        "alpacaeval": write_jsonl(tmp_path / "a.jsonl", [{"instruction": "Say hi", "output": "hi", "generator": "ref"}]),
    }[task]
    args = {"n": 1} if task == "afm100" else {}
    with pytest.raises(PrerequisiteError) as ex:
        _eval(f"harness/{task}", data=str(data), **args)
    msg = str(ex.value)
    assert msg.startswith(f"{task} cannot create its judge") and "--model-role grader=" in msg
    assert "OPENAI_API_KEY" in msg and "\n" not in msg


def test_bound_judge_or_no_scoring_passes_the_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in NO_KEYS:
        monkeypatch.delenv(key, raising=False)
    args = {"data": str(write_jsonl(tmp_path / "w.jsonl", WEB_ROWS)), "solver": "direct"}
    [graded] = inspect_eval("harness/webwalkerqa", task_args=args, model="testdouble/x",
                            model_roles={"grader": "testdouble/judge"}, display="none", epochs=1)
    assert graded.status == "success", graded.error
    assert "testdouble/judge" in (graded.stats.model_usage or {})
    # --no-score needs no judge (the AlpacaEval recipe generates reference outputs this way)
    [unscored] = inspect_eval("harness/webwalkerqa", task_args=args, model="testdouble/x", score=False,
                              display="none", epochs=1)
    assert unscored.status == "success", unscored.error
    assert set(unscored.stats.model_usage or {}) == {"testdouble/x"}


def test_task_objects_built_outside_an_eval_are_not_checked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A Task built before eval() cannot know the roles eval() will bind: no check (and no error) then."""
    from tasks.webwalkerqa import webwalkerqa

    for key in NO_KEYS:
        monkeypatch.delenv(key, raising=False)
    task = webwalkerqa(data=str(write_jsonl(tmp_path / "w.jsonl", WEB_ROWS)), solver="direct")
    assert task.metadata and task.metadata["judge_parsing"] == "lenient"


# --------------------------------------------------------------------------- JSONL readers


def test_broken_jsonl_line_is_reported_at_its_line_through_a_task(tmp_path: Path) -> None:
    lines = [json.dumps(r) for r in AIME_ROWS] + ["", json.dumps(AIME_ROWS[0]), '{"id": 9, "problem": "x" "answer": "1"}']
    (tmp_path / "aime.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataUnavailable, match=r"aime.jsonl line 6 column 26: invalid JSON \(Expecting ',' delimiter\)"):
        _eval(f"{TASKS / 'aime.py'}@aime2024", data=str(tmp_path / "aime.jsonl"))


def test_test_double_script_reports_its_broken_line(tmp_path: Path) -> None:
    from inspect_ai.model import get_model

    script = tmp_path / "s.jsonl"
    script.write_text('{"content": "a"}\n\n{"content": "b",}\n')
    with pytest.raises(PrerequisiteError, match=r"s.jsonl line 3 column 17: invalid JSON"):
        get_model("testdouble/x", script=str(script), memoize=False)
