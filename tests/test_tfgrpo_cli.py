"""``harness tfgrpo train`` as a user meets it: failed starts, leftovers, the printed commands.

Runs the CLI in-process (``harness.cli.main``) and, where the process boundary matters, as a
subprocess started from another folder. TEST DOUBLE model throughout (not a real model).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from harness.experience import ExperienceLibrary
from harness.tfgrpo.cli import evaluate_commands
from harness.tfgrpo.optimizer import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "harness" / "data" / "offline" / "dapo.jsonl"
TRAIN = ["tfgrpo", "train", "--model", "testdouble/oracle", "-M", "p_correct=0.5", "--epochs", "1",
         "--group-size", "2", "--no-progress"]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("lib"))


@pytest.mark.parametrize(
    "args, message",
    ids=["unknown-task", "missing-data", "broken-data", "task-arg-typo", "bad-solver-option", "out-is-a-folder",
         "data-twice"],
    argvalues=[
        (["--task", "dapo1000", "--data", str(FIXTURE)], "unknown task 'dapo1000': --task takes one of aime,"),
        (["--task", "dapo100", "--data", "nowhere.jsonl"], "not found"),
        (["--task", "dapo100", "--data", "broken.jsonl"], "broken.jsonl"),
        (["--task", "dapo100", "--data", str(FIXTURE), "-T", "nn=2"], "nn"),
        (["--task", "dapo100", "--data", str(FIXTURE), "--solver", "react", "-S", "max_turn=3"], "max_turn"),
        (["--task", "dapo100", "--data", str(FIXTURE), "--out", "."], "is a folder"),
        (["--task", "dapo100", "--data", str(FIXTURE), "-T", f"data={FIXTURE}"], "not both"),
    ],
)
def test_a_failed_start_leaves_no_run(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken.jsonl").write_text(FIXTURE.read_text().splitlines()[0] + "\n{\"prompt\": \n")
    out = [] if "--out" in args else ["--out", "lib.json"]
    assert main([*TRAIN, *args, *out]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err
    assert _leftovers(tmp_path) == []  # neither lib.run/ nor lib.json


def test_unreachable_hub_and_bad_arguments_leave_no_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    assert main([*TRAIN, "--task", "dapo100", "--out", "lib.json"]) == 2
    assert "Cannot reach the Hugging Face hub" in capsys.readouterr().err
    for bad in (["--epochs", "0"], ["--group-size", "-1"], ["--max-tokens", "many"], ["--temperature", "-0.5"]):
        with pytest.raises(SystemExit) as exit_:
            main([*TRAIN, "--task", "dapo100", "--data", str(FIXTURE), "--out", "lib.json", *bad])
        assert exit_.value.code == 2 and bad[0] in capsys.readouterr().err
    assert _leftovers(tmp_path) == []


def test_failed_start_from_another_folder_then_the_corrected_run(tmp_path: Path) -> None:
    """A subprocess started elsewhere: one line, no traceback, nothing written. A folder left
    by an older harness after a failed start (config.json, no step) blocks neither the
    corrected run nor a --resume with other settings."""
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir()
    elsewhere.mkdir()
    out = work / "lib.json"
    failed = subprocess.run(
        [sys.executable, "-m", "harness.cli", *TRAIN, "--task", "dapo1000", "--data", str(FIXTURE), "--out", str(out)],
        cwd=elsewhere, env=_env(), capture_output=True, text=True, timeout=300,
    )
    assert failed.returncode == 2
    assert failed.stderr.strip().splitlines() == [failed.stderr.strip()] and "unknown task" in failed.stderr
    assert _leftovers(work) == [] and list(elsewhere.iterdir()) == []

    (work / "lib.run").mkdir()
    (work / "lib.run" / "config.json").write_text(json.dumps({"identity": {"task": "dapo1000"}}))
    assert main([*TRAIN, "--task", "dapo100", "--data", str(FIXTURE), "-T", "n=2", "--out", str(out), "--resume"]) == 0
    assert len(ExperienceLibrary.load(out).steps) == 1
    # now the folder holds a run: a fresh start is refused, and so is a resume with other settings
    assert main([*TRAIN, "--task", "dapo100", "--data", str(FIXTURE), "-T", "n=2", "--out", str(out)]) == 2
    assert main([*TRAIN, "--task", "dapo100", "--data", str(FIXTURE), "-T", "n=3", "--out", str(out), "--resume"]) == 2


def _printed(text: str, prefix: str) -> list[str]:
    return [line[len(prefix):] for line in text.splitlines() if line.startswith(prefix)]


def _inspect(command: str, *extra: str) -> None:
    """``command`` (an ``inspect eval ...`` line) through inspect's own CLI, in this process."""
    from inspect_ai._cli.main import inspect as inspect_cli

    argv = shlex.split(command)
    assert argv[:2] == ["inspect", "eval"], command
    inspect_cli.main(args=[*argv[1:], *extra, "--display", "none"], standalone_mode=False)


def _only_log(folder: Path):
    from inspect_ai.log import list_eval_logs, read_eval_log

    (info,) = list_eval_logs(str(folder))
    return read_eval_log(info, header_only=True)


def test_evaluate_hint_runs_as_printed_from_another_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A task evaluated on itself (countdown): the printed command, run as printed from
    another folder, evaluates the learned library on the training task's samples."""
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir()
    elsewhere.mkdir()
    monkeypatch.chdir(work)
    assert main([*TRAIN, "--task", "countdown", "-T", "n=2", "--out", "lib.json"]) == 0
    printed = capsys.readouterr().out
    (command,) = _printed(printed, "evaluate: ")
    assert "the training task itself" in printed  # said, since no held-out set is known for countdown
    argv = shlex.split(command)
    assert argv[:3] == ["inspect", "eval", "harness/countdown"] and "--model" in argv
    assert f"experiences={work / 'lib.json'}" in argv and "n=2" in argv
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("PWD", str(elsewhere))
    monkeypatch.setenv("INSPECT_LOG_DIR", str(tmp_path / "eval-logs"))
    _inspect(command)
    log = _only_log(tmp_path / "eval-logs")
    assert log.status == "success" and log.eval.task.endswith("countdown")
    assert log.eval.metadata["experiences_count"] == len(ExperienceLibrary.load(work / "lib.json").experiences)
    assert len(log.eval.dataset.sample_ids or []) == 2


def test_evaluate_hint_for_the_papers_training_sets(tmp_path: Path) -> None:
    """dapo100 is evaluated on AIME 2024 and 2025, afm100 on WebWalkerQA (search setting), with
    the training model, its arguments, the base solver and its options; none of the training data."""
    lib = ExperienceLibrary.from_texts(["Check parity."]).save(tmp_path / "lib.json")
    cfg = TrainConfig(task="dapo100", model="testdouble/oracle", model_args={"p_correct": 0.5}, data=str(FIXTURE),
                      task_args={"n": 4}, solver="react", solver_args={"max_turns": 3}, out=str(lib))
    aime24, aime25 = evaluate_commands(cfg, str(lib))
    assert shlex.split(aime24)[:3] == ["inspect", "eval", "harness/aime2024"]
    assert shlex.split(aime25)[:3] == ["inspect", "eval", "harness/aime2025"]
    for part in ("--model testdouble/oracle", "-M p_correct=0.5", "-T solver=tfgrpo", f"-T experiences={lib}",
                 "-T base_solver=react", "-T max_turns=3"):
        assert part in aime24
    assert "data=" not in aime24 and "n=4" not in aime24
    afm = TrainConfig(task="afm100", model="m", task_args={"judge_parsing": "strict", "n": 10}, out=str(lib), solver="search")
    (web,) = evaluate_commands(afm, str(lib))
    assert "harness/webwalkerqa" in web and "-T setting=search" in web and "-T judge_parsing=strict" in web
    assert "n=10" not in web


def test_aime_evaluate_hint_runs(shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The printed AIME command runs from another folder (given the AIME file, since the hub is offline here)."""
    lib = ExperienceLibrary.from_texts(["Check parity."]).save(tmp_path / "lib.json")
    cfg = TrainConfig(task="dapo100", model="testdouble/oracle", model_args={"p_correct": 0.5}, out=str(lib))
    monkeypatch.chdir(tmp_path)
    _inspect(evaluate_commands(cfg, str(lib))[0], "-T", f"data={shared_data / 'aime_2024.jsonl'}", "--limit", "1",
             "--epochs", "1", "--log-dir", str(tmp_path / "eval-logs"))
    log = _only_log(tmp_path / "eval-logs")
    assert log.status == "success" and log.eval.metadata["experiences_count"] == 1
