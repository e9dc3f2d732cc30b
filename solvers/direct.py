"""``direct``: one generation from the task's prompt (the papers' "Direct" / prompt mode)."""

from __future__ import annotations

from inspect_ai.solver import chain, generate, prompt_template

from solvers.base import BuiltSolver


def direct(template: str) -> BuiltSolver:
    """The task's user prompt, then a single ``generate()``; no system prompt, no tools."""
    return BuiltSolver(solver=chain(prompt_template(template), generate()))
