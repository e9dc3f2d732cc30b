"""Every shell block marked offline in the README and the docs runs, exactly as written.

A block is marked offline by its fence: ```` ```bash title="offline" ```` (the docs site shows
the title "offline" above it). The blocks are parsed out of README.md and docs/**/*.md, so docs
and test cannot drift. Each block must run as is from an empty folder: it creates its own data
with ``harness offline-data offline`` before reading ``offline/``, and names only test-double
models. All blocks then run in ONE subprocess, in one fresh temp folder, calling inspect's and
the harness's CLI entry points in-process (the same code paths as the console scripts, without
an interpreter start-up per command); a command line that already ran (the same line on a task
page and on the offline page) runs once. The offline page's logs are then checked in depth.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from inspect_ai.log import list_eval_logs, read_eval_log

from harness.calls import read_call
from harness.testing.testdouble import MARK, TEST_DOUBLE_KEY
from harness.testing.testdouble_roles import PREFERENCE, agrees, arithmetic_value

ROOT = Path(__file__).resolve().parents[1]
FENCE = '```bash title="offline"'
TASKS = {"aime", "dapo100", "countdown", "apigen", "webwalkerqa", "afm100", "alpacaeval", "self_play"}
TASK_PAGES = {"aime": "aime", "dapo100": "dapo", "countdown": "countdown", "apigen": "apigen",
              "webwalkerqa": "webwalkerqa", "afm100": "afm", "alpacaeval": "alpacaeval", "self_play": "self_play"}
SHELL = re.compile(r"[|;&<>`$]")  # the driver runs argv lists, not a shell

DRIVER = r"""
import contextlib, glob, io, json, sys
from inspect_ai._cli.main import inspect as inspect_cli
from harness.cli import main as harness_main

results = []
for argv in json.loads(sys.argv[1]):
    before = set(glob.glob("logs/**/*.eval", recursive=True))
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            if argv[0] == "inspect":
                inspect_cli.main(argv[1:], prog_name="inspect", standalone_mode=False)
                code = 0
            else:
                code = harness_main(argv[1:])
        except SystemExit as ex:
            code = ex.code
        except BaseException as ex:
            code = f"{type(ex).__name__}: {ex}"
    new = sorted(set(glob.glob("logs/**/*.eval", recursive=True)) - before)
    results.append({"argv": argv, "code": code, "output": out.getvalue(), "logs": new})
with open(sys.argv[2], "w") as f:
    json.dump(results, f)
"""


def doc_files() -> list[Path]:
    """README first (its tour), then the docs pages in a fixed order."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def offline_blocks(path: Path) -> list[list[list[str]]]:
    """The command lines (argv lists) of each block fenced as offline in one markdown file."""
    blocks = []
    for body in path.read_text(encoding="utf-8").split(FENCE + "\n")[1:]:
        text = body.split("```", 1)[0].replace("\\\n", " ")  # join continued lines
        lines = [shlex.split(line, comments=True) for line in text.splitlines()]
        blocks.append([argv for argv in lines if argv])
    return blocks


def all_blocks() -> list[tuple[str, list[list[str]]]]:
    return [(str(p.relative_to(ROOT)), b) for p in doc_files() for b in offline_blocks(p)]


def _models(argv: list[str]) -> list[str]:
    mapped = argv[:2] == ["harness", "reproduce"]  # there --model maps a paper model: PAPER=LOGMODEL
    return [argv[i + 1].split("=", 1)[-1] if mapped else argv[i + 1] for i, a in enumerate(argv) if a == "--model"] + [
        argv[i + 1].split("=", 1)[1] for i, a in enumerate(argv) if a == "--model-role"]


def test_offline_blocks_are_self_contained_and_offline() -> None:
    blocks = all_blocks()
    assert len(blocks) >= 10, blocks
    for where, block in blocks:
        assert block, f"{where}: empty offline block"
        made_data = False
        for argv in block:
            line = " ".join(argv)
            assert argv[0] in ("inspect", "harness"), f"{where}: {line}"
            assert not any(SHELL.search(a) for a in argv), f"{where}: shell syntax: {line}"
            assert all(m.startswith("testdouble/") for m in _models(argv)), f"{where}: not the test double: {line}"
            made_data |= argv[:2] == ["harness", "offline-data"]
            assert made_data or not any("offline/" in a for a in argv), \
                f"{where}: reads offline/ before `harness offline-data offline` in the same block: {line}"


def test_offline_page_and_task_pages_have_one_command_per_task() -> None:
    page = [argv for b in offline_blocks(ROOT / "docs" / "offline.md") for argv in b]
    evaluated = {c[2].removeprefix("harness/") for c in page if c[:2] == ["inspect", "eval"]}
    assert evaluated == TASKS
    assert {c[2] for c in page if c[:2] == ["harness", "self-play"]} == {"run", "table", "export"}
    lines = {tuple(c) for c in page}
    for task, name in TASK_PAGES.items():  # each task page shows its offline command (the offline page's own line)
        own = [c for b in offline_blocks(ROOT / "docs" / "tasks" / f"{name}.md") for c in b]
        mine = [c for c in own if c[:2] == ["inspect", "eval"] and c[2].removeprefix("harness/") == task]
        assert mine and all(tuple(c) in lines for c in mine), (task, own)


def test_readme_links_resolve() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        if not target.startswith("http"):
            assert (ROOT / target).exists(), target


def test_offline_commands_run_from_an_empty_folder(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    commands, seen = [], set()
    for _, block in all_blocks():
        for argv in block:
            if tuple(argv) not in seen:
                seen.add(tuple(argv))
                commands.append(argv)
    commands.append(["harness", "leaderboard", "logs", "--format", "md"])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("INSPECT_LOG_DIR", None)  # the commands' own default: ./logs
    results_file = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(commands), str(results_file)], cwd=work, env=env,
                          capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(results_file.read_text())
    for r in results:
        assert r["code"] in (0, None), f"{' '.join(r['argv'])}\n{r['output'][-3000:]}"
    assert "wrote 6 self-written sample files" in results[0]["output"]

    logs = [read_eval_log(i) for i in list_eval_logs(str(work / "logs"), recursive=True)]
    by_task = {}
    for log in logs:
        by_task.setdefault(log.eval.task.removeprefix("harness/"), []).append(log)
    assert TASKS <= set(by_task)
    for task, runs in by_task.items():
        for log in runs:
            assert log.status == "success", (task, log.error)
            assert log.eval.model.startswith("testdouble/")
            values = [m.value for s in log.results.scores for m in s.metrics.values()]
            assert values and all(isinstance(v, (int, float)) and math.isfinite(v) for v in values), (task, values)
            assert all(s.unscored_samples in (0, None) for s in log.results.scores), task
            reasons = [(sc.metadata or {}).get("reason") for s in log.samples for sc in (s.scores or {}).values()]
            assert "no_grade" not in reasons, task  # every judge reply parsed
    # the offline page's own logs, task by task
    page = {tuple(c) for b in offline_blocks(ROOT / "docs" / "offline.md") for c in b}
    by_task = {}
    for r in results:
        if tuple(r["argv"]) in page:
            for path in r["logs"]:
                log = read_eval_log(str(work / path))
                by_task.setdefault(log.eval.task.removeprefix("harness/"), []).append(log)
    assert set(by_task) == TASKS
    # the judges' verdicts follow the answers (the test double labels which answers it meant to be right)
    for task in ("webwalkerqa", "afm100"):
        check_web_log(by_task[task][0])
    check_alpaca_log(by_task["alpacaeval"][0])
    for log in by_task["self_play"]:
        check_self_play_log(log)
    # pass@k follows --epochs on a one-epoch task, and every task's max_tokens is in the log
    assert [s.reducer for s in by_task["countdown"][0].results.scores] == ["mean", "pass_at_1", "pass_at_2"]
    assert all(log.plan.config.max_tokens for runs in by_task.values() for log in runs)

    # each inspect eval command ends in its results table, with the metrics of its log
    for r in results:
        if r["argv"][:2] == ["inspect", "eval"]:
            assert "Log: " in r["output"] and any(w in r["output"] for w in ("accuracy", "win_rate", "reward")), r["argv"]

    table = next(r["output"] for r in results if r["argv"][:3] == ["harness", "self-play", "table"])
    assert "| game" in table and "What is" in table  # the test double Challenger's instructions
    first, again = ([{k: v for k, v in json.loads(line).items() if k != "log"} for line in (work / "offline" / name)
                      .read_text().splitlines()] for name in ("rollouts.jsonl", "rollouts_again.jsonl"))  # fmt: skip
    assert first == again and sum(r["role"] == "solver" for r in first) == 2 * 3 * 2  # games x n x g

    board = results[-1]["output"]
    assert "TEST DOUBLE grader (not a language model)" in board and "TEST DOUBLE (not a language model)" in board


# --------------------------------------------------------------------------- what each judged log must show


def _tagged_calls(log, kind: str):
    """(model event, call) of every model call of ``kind`` (the harness's call tag) in the log."""
    found = []
    for sample in log.samples:
        for e in sample.events:
            call = read_call(e.input) if getattr(e, "event", None) == "model" else None
            if call is not None and call.kind == kind:
                found.append((e, call))
    return found


def _scripted_right(completion: str) -> bool:
    """Whether the test double meant this policy answer to be right (its own label says)."""
    return completion.startswith(f"{MARK} Scripted correct")


def _judge_replies_are_unmarked(log, kind: str, n: int) -> None:
    judged = _tagged_calls(log, kind)
    assert len(judged) == n, kind
    for event, call in judged:  # labelled in metadata and by model name, not in the text a parser reads
        assert event.model.startswith("testdouble/") and MARK not in event.output.completion
        assert event.output.metadata == {TEST_DOUBLE_KEY: True, "call": call.kind}


def check_web_log(log) -> None:
    right = [_scripted_right(s.output.completion) for s in log.samples]
    verdicts = [s.scores["web_judge"].value == "C" for s in log.samples]
    assert verdicts == right and 0 < sum(right) < len(right)
    [mean] = [m for m in log.results.scores if m.reducer == "mean"]
    assert mean.metrics["accuracy"].value == pytest.approx(sum(right) / len(right))
    _judge_replies_are_unmarked(log, "web_judge", len(log.samples))


def check_alpaca_log(log) -> None:
    right = [_scripted_right(s.output.completion) for s in log.samples]
    assert 0 < sum(right) < len(right)
    x = [0.5 if r else 1 - PREFERENCE for r in right]  # as good as the reference: even; wrong: it loses
    assert [s.scores["alpaca_judge"].value for s in log.samples] == pytest.approx(x)
    assert all(s.scores["alpaca_judge"].metadata["method"] == "logprobs" for s in log.samples)
    [score] = log.results.scores
    assert score.metrics["win_rate"].value == pytest.approx(100 * sum(x) / len(x))
    _judge_replies_are_unmarked(log, "alpaca_judge", len(log.samples))


def check_self_play_log(log) -> None:
    means = {score.name: score.metrics["mean"].value for score in log.results.scores if "mean" in score.metrics}
    assert means["scored_rewards"] == means["scored_quality"] == means["valid_queries"] == 1.0
    rewards = []
    for s in log.samples:
        judged = s.scores["lsp_rewards"].metadata["self_play"]["queries"]
        for q, result in zip(s.store["self_play"]["queries"], judged, strict=True):
            value = arithmetic_value(q["instruction"])
            assert value is not None  # the test double's Challenger wrote an instruction it can check
            for answer, r in zip(q["answers"], result["rollouts"], strict=True):
                right = _scripted_right(answer)
                assert right == agrees(answer, str(value))
                assert (r["reward"]["value"], r["quality"]["value"]) == ((10.0, 7.0) if right else (0.0, 3.0))
                rewards.append(r["reward"]["value"])
    assert 0 < sum(rewards) < 10 * len(rewards)
    assert means["reward"] == pytest.approx(sum(rewards) / len(rewards))  # equal G per query: mean of V = mean
    _judge_replies_are_unmarked(log, "lsp_challenger", sum(len(s.store["self_play"]["queries"]) for s in log.samples))


def test_offline_data_never_overwrites_a_changed_file_silently(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main

    folder = tmp_path / "offline"
    assert main(["offline-data", str(folder)]) == 0 and main(["offline-data", str(folder)]) == 0  # same content: fine
    (folder / "dapo.jsonl").write_text("my own rows\n")
    capsys.readouterr()
    assert main(["offline-data", str(folder)]) == 2
    assert "dapo.jsonl with other content: pass --force" in capsys.readouterr().err
    assert (folder / "dapo.jsonl").read_text() == "my own rows\n"
    assert main(["offline-data", str(folder), "--force"]) == 0 and (folder / "dapo.jsonl").read_text() != "my own rows\n"
