"""Countdown scorer: the equation in the last ``<answer>`` must reach the target exactly."""

from __future__ import annotations

from inspect_ai.scorer import CORRECT, INCORRECT, Score, Scorer, Target, accuracy, scorer, stderr
from inspect_ai.solver import TaskState

from harness.countdown import check_countdown


@scorer(metrics=[accuracy(), stderr()])
def countdown_equation() -> Scorer:
    """Binary verdict of :func:`harness.countdown.check_countdown`.

    The numbers come from ``sample.metadata["nums"]``, the target from the sample's
    target. ``Score.answer`` is the extracted expression, ``Score.explanation`` says why,
    ``Score.metadata["reason"]`` is one of ``harness.countdown.REASONS`` and
    ``Score.metadata["value"]`` the exact value when the expression was evaluated.
    """

    async def score(state: TaskState, target: Target) -> Score:
        nums = (state.metadata or {}).get("nums")
        if nums is None:
            raise ValueError("countdown_equation needs sample.metadata['nums'] (the numbers to use)")
        verdict = check_countdown(state.output.completion, [int(x) for x in nums], int(target.text))
        return Score(
            value=CORRECT if verdict.correct else INCORRECT,
            answer=verdict.answer,
            explanation=verdict.detail,
            metadata={"reason": verdict.reason, "value": verdict.value},
        )

    return score
