"""Offline logs for the report tests: tiny AIME-format evals with scripted mockllm answers.

Each problem's answers are scripted per attempt (the n-th call for a problem gets the
n-th entry), so the number of correct epochs per problem is known in advance and every
number a report prints can be recomputed by hand in the test.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from inspect_ai.model import ModelOutput, ModelUsage, get_model
from inspect_ai.solver import Generate, Solver, TaskState, chain, generate, prompt_template, solver

from helpers import write_jsonl
from solvers.base import BuiltSolver

IN_TOKENS, OUT_TOKENS = 100, 20
"""Usage set on every scripted output."""

PRICES_YAML = "mockllm/model:\n  input: 1.0\n  output: 2.0\n"
"""$1 per million input tokens, $2 per million output tokens."""


def write_aime(path: Path, answers: dict[str, int], year: int = 2024) -> Path:
    rows = []
    for i, (pid, ans) in enumerate(answers.items(), start=1):
        rows.append(
            {"id": i, "problem": f"Problem {pid}: compute the thing.", "answer": str(ans),
             "url": f"https://aops/{year}_AIME_I_Problems/Problem_{i}", "year": year}
        )
    return write_jsonl(path, rows)


_PROBLEM = re.compile(r"Problem (\w+):")


def scripted_model(answers: dict[str, int], correct: dict[str, list[bool]], fail: set[str] = frozenset()):
    """mockllm whose n-th answer to problem P is right iff correct[P][n]."""
    calls: dict[str, int] = {}

    def respond(input: list[Any], tools: Any, tool_choice: Any, config: Any) -> ModelOutput:
        text = next(m.text for m in input if m.role == "user")
        pid = _PROBLEM.search(text).group(1)  # the prompt may wrap the problem (tfgrpo's template)
        if pid in fail:
            raise RuntimeError(f"scripted failure on {pid}")
        n = calls.get(pid, 0)
        calls[pid] = n + 1
        ok = correct[pid][n % len(correct[pid])]
        ans = answers[pid] if ok else answers[pid] + 1
        out = ModelOutput.from_content(model="mockllm/model", content=f"So \\boxed{{{ans}}}")
        out.usage = ModelUsage(input_tokens=IN_TOKENS, output_tokens=OUT_TOKENS, total_tokens=IN_TOKENS + OUT_TOKENS)
        return out

    return get_model("mockllm/model", custom_outputs=respond, memoize=False)


def run_aime(
    tmp: Path,
    name: str,
    answers: dict[str, int],
    correct: dict[str, list[bool]],
    *,
    epochs: int,
    fail: set[str] = frozenset(),
    fail_on_error: bool | float = True,
    task_args: dict[str, Any] | None = None,
    task: str = "aime2024",
    data_path: Path | None = None,
    model_roles: dict[str, Any] | None = None,
    generate_config: dict[str, Any] | None = None,
) -> str:
    """Run an aime task on the scripted model; returns the log path."""
    from inspect_ai import eval as inspect_eval

    import tasks.aime as aime_tasks

    tmp.mkdir(parents=True, exist_ok=True)
    data = data_path or write_aime(tmp / f"{name}.jsonl", answers)
    args = {"data": str(data), **(task_args or {})}
    t = getattr(aime_tasks, task)(**args)
    logs = inspect_eval(
        t,
        model=scripted_model(answers, correct, fail),
        model_roles=model_roles,
        epochs=epochs,
        log_dir=str(tmp / "logs"),
        display="none",
        fail_on_error=fail_on_error,
        max_samples=1,
        **(generate_config or {}),
    )
    return logs[0].location


@contextmanager
def working_dir(path: Path) -> Iterator[None]:
    """cwd and $PWD set to ``path``, as a shell that ran ``cd path`` would (restored after)."""
    old_cwd, old_pwd = os.getcwd(), os.environ.get("PWD")
    os.chdir(path)
    os.environ["PWD"] = str(path)
    try:
        yield
    finally:
        os.chdir(old_cwd)
        if old_pwd is None:
            os.environ.pop("PWD", None)
        else:
            os.environ["PWD"] = old_pwd


# --------------------------------------------------------------- a stand-in tool-using solver


@solver
def _count_tools(n_calls: int, judge_calls: int) -> Solver:
    async def solve(state: TaskState, generate: Generate) -> TaskState:
        state.store.set("tool_calls", n_calls)
        for _ in range(judge_calls):
            # a stand-in "judge" call through the grader role, so role_usage has a judge share
            await get_model(role="grader").generate("judge this")
        return state

    return solve


def judge_model():
    """mockllm stand-in for a judge (grader role): fixed usage of 50 in / 10 out per call."""

    def respond(input: list[Any], tools: Any, tool_choice: Any, config: Any) -> ModelOutput:
        out = ModelOutput.from_content(model="mockllm/judge", content="GRADE: CORRECT")
        out.usage = ModelUsage(input_tokens=50, output_tokens=10, total_tokens=60)
        return out

    return get_model("mockllm/judge", custom_outputs=respond, memoize=False)


def counting(template: str, n_calls: int = 2, judge_calls: int = 0) -> BuiltSolver:
    """TEST STAND-IN solver: one generation, records ``tool_calls`` in the store."""
    return BuiltSolver(solver=chain(prompt_template(template), generate(), _count_tools(n_calls, judge_calls)))


def write_library(path: Path, task: str, usage: dict[str, dict[str, int]], *, texts: tuple[str, ...] = (
    "Check the answer.", "Simplify first."), steps: list[dict[str, Any]] | None = None, **settings: Any) -> Path:
    """An experience library in the artifact format harness tfgrpo train writes
    (harness/experience.py), with the given stage usage and provenance settings."""
    from harness.experience import ExperienceLibrary, Provenance, StageUsage, StepStats

    lib = ExperienceLibrary.from_texts(
        list(texts),
        provenance=Provenance(model="mockllm/model", task=task, **settings),
        usage={k: StageUsage(**v) for k, v in usage.items()},
        steps=[StepStats(**s) for s in (steps or [])],
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    return lib.save(path)


def rewrite_log(src: str | Path, dst: Path, edit: Any) -> Path:
    """A copy of the log at ``src`` with ``edit(log)`` applied (for logs that only differ in
    what a report reads: older metadata, another recorded setting, another task's scores)."""
    from inspect_ai.log import read_eval_log, write_eval_log

    log = read_eval_log(str(src))
    edit(log)
    dst.parent.mkdir(parents=True, exist_ok=True)
    write_eval_log(log, str(dst))
    return dst


def scores_only(log: Any, task: str, model: str, blocks: list[tuple[str, str, str | None, dict[str, float]]]) -> None:
    """Turn ``log`` into a finished ``task`` log of ``model`` whose results are exactly
    ``blocks`` = [(name, scorer, reducer, {metric: value})] (no per-problem reductions)."""
    from inspect_ai.log import EvalMetric, EvalScore

    log.eval.task, log.eval.model = task, model
    log.results.scores = [
        EvalScore(name=name, scorer=scorer, reducer=reducer,
                  metrics={k: EvalMetric(name=k, value=v) for k, v in metrics.items()})
        for name, scorer, reducer, metrics in blocks
    ]
    log.reductions = None
