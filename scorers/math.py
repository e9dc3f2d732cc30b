"""Math final-answer scorer (AIME, DAPO): integer comparison, math-verify as a bounded fallback.

Verdicts (``Score.metadata["reason"]``, also ``Score.reason`` for unscored ones):

- ``correct`` / ``wrong_answer``: decided, by the integer rules or by math-verify;
- ``no_answer``: no ``\\boxed{}``, ``ANSWER:`` line or ``<answer>`` tag (incorrect);
- ``unparseable``: math-verify could not read the answer (incorrect);
- ``timeout`` (**unscored**): the symbolic comparison passed its CPU-time bound (or its
  worker was starved or died twice). Unscored samples leave inspect's metrics and
  reducers and are counted in the log (``unscored_samples``), so a slow machine cannot
  lower a score; re-score with a larger ``-S timeout=`` to settle them;
- ``gold_unparseable`` (**unscored**): math-verify cannot read the *target*: a dataset
  problem, not the model's.

If no math-verify worker can start, scoring raises :class:`harness.bounded.BoundedUnavailable`
and the eval fails: a broken checker never scores answers as wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import anyio
from inspect_ai.scorer import CORRECT, INCORRECT, Score, Scorer, Target, accuracy, scorer, stderr
from inspect_ai.solver import TaskState

from harness.answers import arithmetic_form, extract_answer, integer_form, math_verify_compare
from harness.bounded import BoundedCallError, BoundedPool, BoundedTimeout

MATH_VERIFY_TIMEOUT = 0.8
"""CPU seconds one symbolic comparison may take before it is left unscored (reason: timeout)."""

MATH_POOL = BoundedPool(warm="harness.answers:warm_up")
"""The math-verify workers (about one per core, started on the first score)."""


def _score(value: str, pred: str | None, explanation: str, reason: str, **meta: str) -> Score:
    return Score(value=value, answer=pred, explanation=explanation, metadata={**meta, "reason": reason})


def _unscored(pred: str | None, explanation: str, reason: str, **meta: str) -> Score:
    return Score.unscored(reason=reason, answer=pred, explanation=explanation, metadata={**meta, "reason": reason})


@dataclass(frozen=True)
class Pending:
    """An answer only math-verify can compare with its gold answer."""

    pred: str  # what math-verify compares (an integer gold's answer without its "x =")
    gold: str
    method: str
    answer: str  # the extracted answer, as recorded in Score.answer


def quick_math_score(completion: str, gold: str) -> Score | Pending:
    """Extraction plus the integer / exact rules (linear time, safe on the event loop);
    a :class:`Pending` when only a symbolic comparison can decide."""
    extracted = extract_answer(completion)
    if extracted is None:
        return _score(
            INCORRECT, None, "no final answer found (no \\boxed{}, ANSWER: line or <answer> tag)", "no_answer"
        )
    pred, method = extracted.answer, extracted.method
    gold = gold.strip()
    gold_int = integer_form(gold)
    if gold_int is not None:
        pred_int = integer_form(pred)
        if pred_int is not None:
            ok = pred_int == gold_int
            return _score(
                CORRECT if ok else INCORRECT,
                pred,
                f"{pred_int} {'==' if ok else '!='} {gold_int}",
                "correct" if ok else "wrong_answer",
                method=method,
            )
        expr = arithmetic_form(pred)
        if expr is None:
            return _score(
                INCORRECT,
                pred,
                f"not an integer or an arithmetic expression (gold is the integer {gold_int})",
                "wrong_answer",
                method=method,
            )
        return Pending(expr, gold, method, pred)
    if pred.replace(" ", "") == gold.replace(" ", ""):
        return _score(CORRECT, pred, "exact match", "correct", method=method)
    return Pending(pred, gold, method, pred)


def symbolic_math_score(pending: Pending, timeout: float = MATH_VERIFY_TIMEOUT) -> Score:
    """math-verify in a pool worker (blocking; at most ``timeout`` CPU seconds)."""
    meta = {"method": pending.method}
    pred = pending.answer
    try:
        verdict = MATH_POOL.call(math_verify_compare, pending.gold, pending.pred, cpu_timeout=timeout)
    except BoundedTimeout as ex:
        return _unscored(pred, f"math-verify: unscored, bound exceeded ({ex.why}: {ex})", "timeout", bound=ex.why, **meta)
    except BoundedCallError as ex:
        return _score(INCORRECT, pred, f"math-verify could not read the answer ({ex})", "unparseable", **meta)
    if verdict == "gold_unparseable":
        return _unscored(pred, f"math-verify cannot read the target {pending.gold!r}", "gold_unparseable", **meta)
    if verdict == "pred_unparseable":
        return _score(INCORRECT, pred, "math-verify could not read the answer", "unparseable", **meta)
    ok = verdict == "equal"
    return _score(CORRECT if ok else INCORRECT, pred, "math-verify: " + verdict, "correct" if ok else "wrong_answer", **meta)


def check_math_answer(completion: str, gold: str, timeout: float = MATH_VERIFY_TIMEOUT) -> Score:
    """Score one completion against a gold answer (blocking; bounded in time)."""
    quick = quick_math_score(completion, gold)
    return quick if isinstance(quick, Score) else symbolic_math_score(quick, timeout)


@scorer(metrics=[accuracy(), stderr()])
def math_answer(timeout: float = MATH_VERIFY_TIMEOUT) -> Scorer:
    """Last ``\\boxed{}`` / ``ANSWER:`` line / ``<answer>`` tag, compared with the target.

    Integer targets (AIME) are compared as integers when the answer is an integer up to
    formatting; a pure arithmetic expression (``\\frac{66}{2}``) goes to math-verify;
    anything else is wrong. Other targets: exact match, else math-verify. math-verify runs
    in killable workers bounded to ``timeout`` CPU seconds; past it the sample is
    unscored (reason ``timeout``), never wrong. See the module docstring for the reasons.
    """

    async def score(state: TaskState, target: Target) -> Score:
        quick = quick_math_score(state.output.completion, target.text)
        if isinstance(quick, Score):
            return quick
        MATH_POOL.start()
        # only the symbolic comparison leaves the event loop (it may wait for a worker); its
        # own limiter, so a queue of hostile answers never holds anyio's default threads
        # (the pool bounds the work; inspect's max_samples bounds the waiting threads)
        return await anyio.to_thread.run_sync(symbolic_math_score, quick, timeout, limiter=anyio.CapacityLimiter(1))

    return score
