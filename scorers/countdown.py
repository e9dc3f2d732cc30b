"""Countdown scorers: the default rule, and TinyZero's reward reproduced (``-T reward=``).

- :func:`countdown_equation` (default): the equation in the last ``<answer>`` must reach
  the target exactly (:func:`harness.benchmarks.countdown.check_countdown`).
- :func:`countdown_tinyzero`: TinyZero's ``compute_score`` verdict
  (:func:`harness.benchmarks.countdown.tinyzero_reward`): 1.0, the format score 0.1 or 0. The
  value is ``C`` only for 1.0, so ``accuracy`` is TinyZero's solve rate; the reward is
  in ``Score.metadata["reward"]`` and its mean in the ``mean_reward`` metric.
"""

from __future__ import annotations

from typing import Any

from inspect_ai.scorer import (
    CORRECT,
    INCORRECT,
    Metric,
    SampleScore,
    Score,
    Scorer,
    Target,
    accuracy,
    metric,
    scorer,
    stderr,
)
from inspect_ai.solver import TaskState

from harness.benchmarks.countdown import check_countdown, tinyzero_reward

REWARDS = ("default", "tinyzero")
"""Values of the countdown task's ``-T reward=``."""


def _nums(state: TaskState, scorer_name: str) -> list[int]:
    nums = (state.metadata or {}).get("nums")
    if nums is None:
        raise ValueError(f"{scorer_name} needs sample.metadata['nums'] (the numbers to use)")
    return [int(x) for x in nums]


@scorer(metrics=[accuracy(), stderr()])
def countdown_equation() -> Scorer:
    """Binary verdict of :func:`harness.benchmarks.countdown.check_countdown`.

    The numbers come from ``sample.metadata["nums"]``, the target from the sample's
    target. ``Score.answer`` is the extracted expression, ``Score.explanation`` says why,
    ``Score.metadata["reason"]`` is one of ``harness.benchmarks.countdown.REASONS`` and
    ``Score.metadata["value"]`` the exact value when the expression was evaluated.
    """

    async def score(state: TaskState, target: Target) -> Score:
        verdict = check_countdown(state.output.completion, _nums(state, "countdown_equation"), int(target.text))
        return Score(
            value=CORRECT if verdict.correct else INCORRECT,
            answer=verdict.answer,
            explanation=verdict.detail,
            metadata={"reason": verdict.reason, "value": verdict.value},
        )

    return score


@metric
def mean_reward() -> Metric:
    """Mean of ``Score.metadata["reward"]`` (TinyZero's 1.0 / 0.1 / 0).

    With several epochs inspect keeps the first epoch's metadata in the reduced score, so
    this is then the first epoch's mean.
    """

    def compute(scores: list[SampleScore]) -> float:
        rewards = [float((s.score.metadata or {}).get("reward", 0.0)) for s in scores]
        return sum(rewards) / len(rewards) if rewards else float("nan")

    return compute


@scorer(metrics=[accuracy(), stderr(), mean_reward()])
def countdown_tinyzero() -> Scorer:
    """TinyZero's reward (format score 0.1), reproduced without eval.

    ``C`` when the reward is 1.0; ``Score.metadata``: ``reward``, ``reason`` (as for
    :func:`countdown_equation`) and ``value`` (what TinyZero's eval gives).
    """

    async def score(state: TaskState, target: Target) -> Score:
        verdict = tinyzero_reward(state.output.completion, _nums(state, "countdown_tinyzero"), int(target.text))
        meta: dict[str, Any] = {"reward": verdict.reward, "reason": verdict.reason, "value": verdict.value}
        return Score(
            value=CORRECT if verdict.correct else INCORRECT,
            answer=verdict.answer,
            explanation=f"TinyZero reward {verdict.reward}: {verdict.detail}",
            metadata=meta,
        )

    return score
