"""``reflect_retry``: Reflect, Retry, Reward's evaluation protocol (Bensal et al. 2025).

In one conversation: the task prompt, the model's attempt, then a check with the task's
own scorer. Only when it fails: the reflection prompt, the model's self-reflection, the
retry prompt, the retry, checked again. The task's scorers then score the final output
as usual (so their accuracy is the second-try accuracy), and this solver adds a scorer
``reflect_retry`` whose metrics are

- ``first_try``: accuracy of the first attempt;
- ``second_try``: cumulative accuracy within two attempts (first or retry correct);
- ``gain``: ``second_try - first_try``.

Per sample, the score value holds the same three keys (0/1 each, averaged over epochs by
the task's reducers) and the metadata the reasons, answers and the reflection.

How the check reaches the task's scorer: inspect's ``inspect_ai.scorer.score(state)``
runs the task's scorers on the current state (the mechanism behind the react agent's
``attempts``); the first task scorer's value decides success (``value_to_float() >= 1``:
``C``, ``True``, ``1``). Those intermediate checks appear as intermediate score events in
the transcript.

Bounded: every generation is one model turn (``tool_calls="none"``: calls to tools the
task offers are recorded, never executed), so a sample costs at most three generations
(attempt, reflection, retry) whatever the model does; the reflection turn is asked with
``tool_choice="none"``. When a limit (messages, tokens, time) or an error stops the
protocol midway, the output left for the task's scorers is the last attempt that was
checked (an empty output if none was): an attempt is never counted by one scorer and not
by the other, so ``accuracy`` always equals ``second_try``. ``Score.metadata`` then says
``interrupted``.
"""

from __future__ import annotations

import math
from contextvars import ContextVar
from typing import Any

from inspect_ai._util.error import PrerequisiteError
from inspect_ai.model import ChatMessageAssistant, ChatMessageTool, ChatMessageUser, ModelOutput
from inspect_ai.scorer import (
    Metric,
    SampleScore,
    Score,
    Scorer,
    Target,
    metric,
    score as score_state,
    scorer,
    value_to_float,
)
from inspect_ai.solver import Generate, TaskState, chain, prompt_template, solver
from inspect_ai.util import StoreModel

from solvers.base import BuiltSolver

REFLECTION_PROMPT = (
    "Your answer above is not correct. Before trying again, reflect on what went wrong: "
    "write a short explanation of your mistake and of what you should do differently, "
    "so that you do better on your next attempt. Do not give a new answer yet."
)
"""User turn after a failed attempt (the paper's prompt is generic per task; its exact
wording is not public)."""

RETRY_PROMPT = (
    "Now try again. Use your reflection, and give your final answer in the format the "
    "original instructions ask for."
)
"""User turn after the reflection, asking for the retry."""

UNEXECUTED_TOOL_RESULT = "Not executed: the calls were recorded for checking."
"""Tool result added for calls left unanswered (a function-calling attempt checked
without running its calls), so the conversation stays valid for every provider."""

_to_float = value_to_float()


class ReflectRetryRecord(StoreModel):
    """What the solver saw, per sample and epoch (kept in the sample's store)."""

    first_try: float | None = None
    """1.0 when the first attempt passed the task's scorer, else 0.0 (None: never checked)."""
    second_try: float | None = None
    """1.0 when the first attempt or the retry passed (None: not finished)."""
    retried: bool = False
    first_reason: str | None = None
    second_reason: str | None = None
    first_answer: str | None = None
    second_answer: str | None = None
    reflection: str | None = None
    interrupted: str | None = None
    """Why the protocol stopped midway (a limit or an error), if it did."""


_checking: ContextVar[bool] = ContextVar("reflect_retry_checking", default=False)
"""True while the solver runs the task's scorers (this module's scorer then abstains)."""


def _outcome(scores: list[Score]) -> tuple[float, str | None, str | None]:
    """(1.0 or 0.0, reason, answer) from the task's first scorer."""
    if not scores:
        raise RuntimeError("reflect_retry needs a task with a scorer to check attempts")
    first = scores[0]
    if isinstance(first.value, (dict, list)):
        raise ValueError("reflect_retry decides success from the task's first scorer, which must give a scalar value")
    value = _to_float(first.value)
    ok = not math.isnan(value) and value >= 1.0
    reason = (first.metadata or {}).get("reason")
    if reason is None:
        reason = "correct" if ok else "incorrect"
    return (1.0 if ok else 0.0), str(reason), first.answer


async def _check(state: TaskState) -> tuple[float, str | None, str | None]:
    token = _checking.set(True)
    try:
        return _outcome(await score_state(state))
    finally:
        _checking.reset(token)


def _close_tool_calls(state: TaskState) -> None:
    """Answer the last assistant message's tool calls, if it has any unanswered."""
    last = state.messages[-1] if state.messages else None
    if isinstance(last, ChatMessageAssistant) and last.tool_calls:
        for call in last.tool_calls:
            state.messages.append(
                ChatMessageTool(content=UNEXECUTED_TOOL_RESULT, tool_call_id=call.id, function=call.function)
            )


@solver
def reflect_then_retry(reflection_prompt: str = REFLECTION_PROMPT, retry_prompt: str = RETRY_PROMPT):
    """Attempt; on failure reflect and retry in the same conversation (prompt already set)."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        record = state.store_as(ReflectRetryRecord)
        checked = ModelOutput(model=str(state.model))  # the last checked attempt (none yet)
        try:
            state = await generate(state, tool_calls="none")
            record.first_try, record.first_reason, record.first_answer = await _check(state)
            checked = state.output
            if record.first_try == 1.0:
                record.second_try = 1.0
                return state

            record.retried = True
            _close_tool_calls(state)
            state.messages.append(ChatMessageUser(content=reflection_prompt))
            tool_choice, state.tool_choice = state.tool_choice, "none"
            try:
                state = await generate(state, tool_calls="none")
            finally:
                state.tool_choice = tool_choice
            record.reflection = state.output.completion
            _close_tool_calls(state)
            state.messages.append(ChatMessageUser(content=retry_prompt))
            state = await generate(state, tool_calls="none")
            record.second_try, record.second_reason, record.second_answer = await _check(state)
            return state
        except BaseException as ex:  # a limit, a cancellation or an error: re-raised below
            record.interrupted = f"{type(ex).__name__}: {str(ex)[:200]}"
            state.output = checked  # the scorers see only a checked attempt
            raise

    return solve


@metric
def first_try() -> Metric:
    """Mean of the per-sample ``first_try`` (first-attempt accuracy)."""
    return _key_mean("first_try")


@metric
def second_try() -> Metric:
    """Mean of the per-sample ``second_try`` (accuracy within two attempts)."""
    return _key_mean("second_try")


@metric
def gain() -> Metric:
    """``second_try - first_try``: what reflecting and retrying added (under any reducer)."""
    first, second = _key_mean("first_try"), _key_mean("second_try")

    def compute(scores: list[SampleScore]) -> float:
        return second(scores) - first(scores)

    return compute


def _key_mean(key: str) -> Any:
    def compute(scores: list[SampleScore]) -> float:
        values = [
            float(s.score.value[key])
            for s in scores
            if isinstance(s.score.value, dict) and key in s.score.value
        ]
        values = [v for v in values if not math.isnan(v)]
        return sum(values) / len(values) if values else float("nan")

    return compute


@scorer(metrics=[first_try(), second_try(), gain()], name="reflect_retry")
def reflect_retry_outcome() -> Scorer:
    """First-try and cumulative second-try success recorded by :func:`reflect_then_retry`.

    Abstains (returns None) while the solver itself is checking an attempt. A sample cut
    short (e.g. by a message limit) counts an unchecked attempt as a failure, as the task's
    scorers do (the solver leaves them the last checked attempt).
    """

    async def score(state: TaskState, target: Target) -> Score | None:
        if _checking.get():
            return None
        record = state.store_as(ReflectRetryRecord)
        first = record.first_try if record.first_try is not None else 0.0
        second = record.second_try if record.second_try is not None else first
        complete = record.first_try is not None and record.second_try is not None
        return Score(
            value={"first_try": first, "second_try": second, "gain": second - first},
            answer=record.second_answer if record.retried else record.first_answer,
            explanation=(
                "correct at the first try" if first == 1.0
                else f"retried: {'correct' if second == 1.0 else 'wrong'} at the second try"
            ),
            metadata={
                "retried": record.retried,
                "complete": complete,
                "first_reason": record.first_reason,
                "second_reason": record.second_reason,
                "first_answer": record.first_answer,
                "second_answer": record.second_answer,
                "reflection": (record.reflection or "")[:2000] or None,
                "interrupted": record.interrupted,
            },
        )

    return score


def reflect_retry(
    template: str,
    reflection_prompt: str = REFLECTION_PROMPT,
    retry_prompt: str = RETRY_PROMPT,
) -> BuiltSolver:
    """The task's prompt, an attempt, and on failure a reflection and one retry.

    Options (``-T``): ``reflection_prompt``, ``retry_prompt`` (plain text, sent as user
    turns; defaults: the module constants).
    """
    for name, text in (("reflection_prompt", reflection_prompt), ("retry_prompt", retry_prompt)):
        if not isinstance(text, str) or not text.strip():
            raise PrerequisiteError(f"reflect_retry: -T {name}= must be non-empty text")
    settings: dict[str, Any] = {"reflection_prompt": reflection_prompt, "retry_prompt": retry_prompt}
    return BuiltSolver(
        solver=chain(prompt_template(template), reflect_then_retry(reflection_prompt, retry_prompt)),
        scorers=[reflect_retry_outcome()],
        metadata={"reflect_retry": settings},
    )
