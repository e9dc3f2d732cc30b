"""AIME and DAPO tasks end to end through inspect (mockllm and the test double)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.model import get_model

from tests.helpers import output, write_jsonl

AIME_ROWS = [
    {"id": 60, "problem": "Problem one?", "solution": "s", "answer": "204",
     "url": "https://artofproblemsolving.com/wiki/index.php/2024_AIME_I_Problems/Problem_1", "year": "2024"},
    {"id": 61, "problem": "Problem two?", "solution": "s", "answer": "33",
     "url": "https://artofproblemsolving.com/wiki/index.php/2024_AIME_I_Problems/Problem_2", "year": "2024"},
    {"id": 62, "problem": "Problem three?", "solution": "s", "answer": "7",
     "url": "https://artofproblemsolving.com/wiki/index.php/2024_AIME_II_Problems/Problem_15", "year": "2024"},
]


@pytest.fixture
def aime_file(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "aime_2024.jsonl", AIME_ROWS)


def test_records_become_samples_with_stable_ids(aime_file: Path) -> None:
    from tasks.aime import aime2024

    task = aime2024(data=str(aime_file))
    samples = list(task.dataset)
    assert [s.id for s in samples] == ["2024-I-1", "2024-I-2", "2024-II-15"]
    assert samples[0].target == "204"
    assert samples[0].metadata["year"] == 2024
    assert task.config.temperature == 0.3 and task.config.top_p == 0.95
    assert task.epochs == 32


def test_mockllm_outputs_scored_as_a_user_expects(aime_file: Path, tmp_path: Path) -> None:
    from tasks.aime import aime2024

    by_problem = {
        "Problem one?": "Reasoning...\n\\boxed{204}",  # correct
        "Problem two?": "ANSWER: 34",  # wrong
        "Problem three?": "I give up.",  # no answer
    }

    def respond(input, tools, tool_choice, config):
        text = input[-1].text
        return output(next(v for k, v in by_problem.items() if k in text))

    model = get_model("mockllm/model", custom_outputs=respond)
    [log] = inspect_eval(aime2024(data=str(aime_file)), model=model, epochs=1, log_dir=str(tmp_path), display="none")
    assert log.status == "success"
    scores = {s.id: s.scores["math_answer"] for s in log.samples}
    assert scores["2024-I-1"].value == "C"
    assert scores["2024-I-2"].value == "I" and scores["2024-I-2"].metadata["reason"] == "wrong_answer"
    assert scores["2024-I-2"].answer == "34"
    assert scores["2024-II-15"].metadata["reason"] == "no_answer"
    mean = next(s for s in log.results.scores if s.reducer == "mean")
    assert mean.metrics["accuracy"].value == pytest.approx(1 / 3)


def test_reducers_follow_epochs(aime_file: Path, tmp_path: Path) -> None:
    """--epochs 4 keeps mean + pass@1/2/4 (not pass@8..32, which inspect would refuse)."""
    from tasks.aime import aime2024

    [log] = inspect_eval(
        aime2024(data=str(aime_file)),
        model="testdouble/oracle",
        model_args={"p_correct": 0.5},
        epochs=4,
        log_dir=str(tmp_path),
        display="none",
    )
    assert log.status == "success"
    reducers = [s.reducer for s in log.results.scores]
    assert reducers == ["mean", "pass_at_1", "pass_at_2", "pass_at_4"]
    # pass@k from the per-epoch scores, by hand (unbiased estimator, Chen et al.)
    from math import comb

    per_sample: dict[str, list[int]] = {}
    for s in log.samples:
        per_sample.setdefault(s.id, []).append(int(s.scores["math_answer"].value == "C"))
    for k in (1, 2, 4):
        expected = sum(
            1 - comb(len(v) - sum(v), k) / comb(len(v), k) for v in per_sample.values()
        ) / len(per_sample)
        got = next(s for s in log.results.scores if s.reducer == f"pass_at_{k}")
        assert got.metrics["accuracy"].value == pytest.approx(expected)


def _cli(args: list[str], tmp_path: Path, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "INSPECT_LOG_DIR": str(tmp_path / "logs"), **(env_extra or {})}
    return subprocess.run(args, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)


def test_cli_file_and_entry_point(aime_file: Path, tmp_path: Path) -> None:
    from inspect_ai.log import list_eval_logs, read_eval_log

    repo = Path(__file__).resolve().parents[1]
    # a relative data path is read from the shell's directory (inspect builds file tasks
    # from inside the task file's folder); as a shell would, the test sets PWD
    for target, data in ((f"{repo}/tasks/aime.py@aime2024", aime_file.name), ("harness/aime2025", str(aime_file))):
        r = _cli(
            ["inspect", "eval", target, "-T", f"data={data}", "--model", "testdouble/oracle",
             "--epochs", "2", "--display", "none"],
            tmp_path,
            {"PWD": str(tmp_path)},
        )
        assert r.returncode == 0, r.stderr
    logs = [read_eval_log(info, header_only=True) for info in list_eval_logs(str(tmp_path / "logs"))]
    assert sorted(log.eval.task for log in logs) == ["aime2024", "harness/aime2025"]
    for log in logs:
        assert log.status == "success"
        assert [s.reducer for s in log.results.scores] == ["mean", "pass_at_1", "pass_at_2"]


def test_no_data_and_no_hub_is_one_clear_line(tmp_path: Path) -> None:
    # an endpoint nothing listens on: the reachability probe fails at once
    r = _cli(
        ["inspect", "eval", "harness/aime2024", "--model", "testdouble/oracle"],
        tmp_path,
        {"HF_HUB_OFFLINE": "", "HF_ENDPOINT": "http://127.0.0.1:9"},
    )
    assert r.returncode != 0
    text = " ".join((r.stdout + r.stderr).split())
    assert "-T data=PATH" in text and "HuggingFaceH4/aime_2024" in text
    assert "Traceback" not in r.stdout + r.stderr


def test_dapo100_strips_dedups_shuffles(tmp_path: Path) -> None:
    from tasks.dapo import dapo100

    prefix = ("Solve the following math problem step by step. The last line of your response should be of "
              "the form Answer: $Answer (without quotes) where $Answer is the answer to the problem.\n\n")
    suffix = '\n\nRemember to put your answer on its own line after "Answer:".'
    rows = []
    for i in range(30):
        for _ in range(3):  # upstream repeats problems
            rows.append({
                "data_source": "math_dapo",
                "prompt": [{"content": f"{prefix}What is {i} + {i}?{suffix}", "role": "user"}],
                "ability": "MATH",
                "reward_model": {"ground_truth": str(2 * i), "style": "rule-lighteval/MATH_v2"},
                "extra_info": {"index": f"id-{i}"},
            })
    data = write_jsonl(tmp_path / "dapo.jsonl", rows)
    task = dapo100(data=str(data), n=10)
    samples = list(task.dataset)
    assert len(samples) == 10
    assert all(s.input.startswith("What is") and s.input.endswith("?") for s in samples)
    assert len({s.id for s in samples}) == 10
    again = [s.id for s in dapo100(data=str(data), n=10).dataset]
    other = [s.id for s in dapo100(data=str(data), n=10, seed=7).dataset]
    assert again == [s.id for s in samples] and other != again
    assert len(list(dapo100(data=str(data), n=1000).dataset)) == 30
    for s in samples:
        assert s.target == str(2 * int(s.input.split()[2]))


def test_unknown_solver_option_is_a_clear_error(aime_file: Path) -> None:
    from inspect_ai._util.error import PrerequisiteError

    from tasks.aime import aime2024

    with pytest.raises(PrerequisiteError, match="Unknown task argument -T max_turns=3"):
        aime2024(data=str(aime_file), max_turns=3)
    with pytest.raises(PrerequisiteError, match="Unknown solver"):
        aime2024(data=str(aime_file), solver="nope")


def test_shared_aime_data_loads(shared_data: Path) -> None:
    from tasks.aime import aime, aime2024, aime2025

    a24 = list(aime2024(data=str(shared_data / "aime_2024.jsonl")).dataset)
    a25 = list(aime2025(data=str(shared_data / "aime_2025.jsonl")).dataset)
    assert len(a24) == 30 and len(a25) == 30
    assert {s.id for s in a24} >= {"2024-I-1", "2024-II-15"}
    both = aime(data2024=str(shared_data / "aime_2024.jsonl"), data2025=str(shared_data / "aime_2025.jsonl"))
    assert len(both.dataset) == 60
