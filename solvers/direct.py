"""``direct``: one generation from the task's prompt (the papers' "Direct" / prompt mode)."""

from __future__ import annotations

from inspect_ai.solver import chain, generate, prompt_template

from solvers.base import BuiltSolver


def direct(template: str) -> BuiltSolver:
    """The task's user prompt, then exactly one model turn; no system prompt.

    The turn is generated with ``tool_calls="none"``: if the task offers tools (APIGen's
    native format) the model may call them, but the calls are recorded for the scorer,
    never executed, and there is no second turn. A model that keeps calling tools
    therefore still costs one generation.
    """
    return BuiltSolver(solver=chain(prompt_template(template), generate(tool_calls="none")))
