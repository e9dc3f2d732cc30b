"""Math final-answer scorer (AIME, DAPO): integer comparison, math-verify as a bounded fallback."""

from __future__ import annotations

import threading

import anyio
from inspect_ai.scorer import CORRECT, INCORRECT, Score, Scorer, Target, accuracy, scorer, stderr
from inspect_ai.solver import TaskState

from harness.answers import (
    extract_answer,
    math_verify_equal,
    normalize_integer,
    sole_integer,
    warm_up,
)
from harness.bounded import BoundedTimeout, run_bounded

MATH_VERIFY_TIMEOUT = 0.8
"""Seconds one symbolic comparison may take before it counts as a miss (reason: timeout)."""

_WARM_TIMEOUT = 60.0
_warm_lock = threading.Lock()
_warmed = False


def _ensure_warm() -> None:
    global _warmed
    with _warm_lock:
        if not _warmed:
            try:
                run_bounded(warm_up, timeout=_WARM_TIMEOUT)
            except Exception:
                pass  # a failed warm-up only makes the first real call slower
            _warmed = True


def check_math_answer(completion: str, gold: str) -> Score:
    """Score one completion against a gold answer (blocking; bounded in time)."""
    quick = quick_math_score(completion, gold)
    return quick if quick is not None else symbolic_math_score(completion, gold)


def quick_math_score(completion: str, gold: str) -> Score | None:
    """Extraction plus integer / exact comparison (linear time); None when only a
    symbolic comparison can decide."""
    extracted = extract_answer(completion)
    if extracted is None:
        return Score(
            value=INCORRECT,
            answer=None,
            explanation="no final answer found (no \\boxed{}, ANSWER: line or <answer> tag)",
            metadata={"reason": "no_answer"},
        )
    pred = extracted.answer
    gold = gold.strip()
    meta = {"method": extracted.method}
    gold_int = normalize_integer(gold)
    if gold_int is not None:
        pred_int = normalize_integer(pred)
        if pred_int is None:
            pred_int = sole_integer(pred)
        if pred_int is not None:
            ok = pred_int == gold_int
            return Score(
                value=CORRECT if ok else INCORRECT,
                answer=pred,
                explanation=f"{pred_int} {'==' if ok else '!='} {gold_int}",
                metadata={**meta, "reason": "correct" if ok else "wrong_answer"},
            )
    elif normalize_integer(pred) is None and pred.replace(" ", "") == gold.replace(" ", ""):
        return Score(value=CORRECT, answer=pred, explanation="exact match", metadata={**meta, "reason": "correct"})
    return None


def symbolic_math_score(completion: str, gold: str) -> Score:
    """math-verify in the killable worker (blocking, at most ``MATH_VERIFY_TIMEOUT`` s)."""
    extracted = extract_answer(completion)
    assert extracted is not None
    pred, gold = extracted.answer, gold.strip()
    meta = {"method": extracted.method}
    _ensure_warm()
    try:
        ok = bool(run_bounded(math_verify_equal, gold, pred, timeout=MATH_VERIFY_TIMEOUT))
        reason = "correct" if ok else "wrong_answer"
    except BoundedTimeout:
        ok, reason = False, "timeout"
    except RuntimeError:
        ok, reason = False, "unparseable"
    return Score(
        value=CORRECT if ok else INCORRECT,
        answer=pred,
        explanation=f"math-verify: {reason}",
        metadata={**meta, "reason": reason},
    )


@scorer(metrics=[accuracy(), stderr()])
def math_answer() -> Scorer:
    """Last ``\\boxed{}`` / ``ANSWER:`` line / ``<answer>`` tag, compared with the target.

    Integer gold answers (AIME) are compared as integers after stripping decorations;
    other answers with math-verify in a killable worker (``MATH_VERIFY_TIMEOUT`` s).
    The extracted answer goes to ``Score.answer``, the reason for a miss to
    ``Score.metadata["reason"]`` (``no_answer``, ``wrong_answer``, ``timeout``,
    ``unparseable``).
    """

    async def score(state: TaskState, target: Target) -> Score:
        completion, gold = state.output.completion, target.text
        quick = quick_math_score(completion, gold)
        if quick is not None:
            return quick
        # only the symbolic fallback leaves the event loop (it may wait for its worker)
        return await anyio.to_thread.run_sync(symbolic_math_score, completion, gold)

    return score
