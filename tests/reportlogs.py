"""Offline logs for the report tests: tiny AIME-format evals with scripted mockllm answers.

Each problem's answers are scripted per attempt (the n-th call for a problem gets the
n-th entry), so the number of correct epochs per problem is known in advance and every
number a report prints can be recomputed by hand in the test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def scripted_model(answers: dict[str, int], correct: dict[str, list[bool]], fail: set[str] = frozenset()):
    """mockllm whose n-th answer to problem P is right iff correct[P][n]."""
    calls: dict[str, int] = {}

    def respond(input: list[Any], tools: Any, tool_choice: Any, config: Any) -> ModelOutput:
        text = next(m.text for m in input if m.role == "user")
        pid = text.split(":")[0].removeprefix("Problem ").strip()
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
    )
    return logs[0].location


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


def tfgrpo(template: str, experiences: str, base_solver: str = "direct") -> BuiltSolver:
    """TEST STAND-IN for the tfgrpo solver: ignores the library, answers like ``direct``.

    Only the task args it leaves in the log (solver, experiences, base_solver) matter here.
    """
    return BuiltSolver(solver=chain(prompt_template(template), generate()))


def write_library(path: Path, task: str, usage: dict[str, dict[str, int]], **settings: Any) -> Path:
    """A stand-in experience library in the shape harness.runs.read_library expects."""
    import json

    data = {
        "entries": [{"id": "G0", "text": "Check the answer."}, {"id": "G1", "text": "Simplify first."}],
        "provenance": {"model": "mockllm/model", "task": task, "usage": usage, **settings},
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    return path
