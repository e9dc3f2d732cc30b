"""APIGen / xLAM function-calling scorer: the model's calls against the gold calls.

The predicted calls come from the final model output in the state: its native tool calls
if it made any (any text beside them is ignored; declared names are mapped back to the
dataset's with :func:`harness.benchmarks.apigen.declare_tools`), else its text parsed with
:func:`harness.benchmarks.apigen.parse_calls`. Matching is :func:`harness.benchmarks.apigen.match_calls`
(``exact``, ``lenient`` or ``bfcl``). The tools come from ``state.metadata["tools"]`` (set
by tasks/apigen.py), the gold calls from the target (a JSON list of ``{name, arguments}``).

``Score.metadata["reason"]`` is ``correct``, ``parse_error`` (the output could not be
read as calls; ``parse_detail`` says why), ``wrong_count``, ``wrong_name`` or
``wrong_arguments``; in ``bfcl`` mode ``bfcl_error`` names the check that failed. The
``parse_error_rate`` metric reports parse failures apart from wrong calls.
"""

from __future__ import annotations

import json
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

from harness.benchmarks.apigen import (
    MATCH_MODES,
    MAX_CALLS,
    Call,
    CallParseError,
    MatchMode,
    calls_from_json,
    check_bounds,
    declare_tools,
    match_calls,
    parse_calls,
    parse_tools,
)

MAX_LOGGED_CHARS = 2_000
"""The parsed answer recorded in Score.answer is cut to this length."""


@metric
def parse_error_rate() -> Metric:
    """Share of scored samples whose output could not be read as calls (reason parse_error).

    Reads ``Score.metadata["reason"]``; with several epochs inspect keeps the first
    epoch's metadata in the reduced score, so this is then the first epoch's rate.
    """

    def compute(scores: list[SampleScore]) -> float:
        if not scores:
            return 0.0
        failed = sum(1 for s in scores if (s.score.metadata or {}).get("reason") == "parse_error")
        return failed / len(scores)

    return compute


def predicted_calls(state: TaskState) -> tuple[list[Call], str]:
    """Calls from the final output: native tool calls, else the completion text.

    Returns (calls, source) with source ``tool_calls`` or ``text``; raises CallParseError.
    """
    message = state.output.message if state.output and state.output.choices else None
    tool_calls = message.tool_calls if message is not None else None
    if tool_calls:
        if len(tool_calls) > MAX_CALLS:
            raise CallParseError("too_many_calls", f"more than {MAX_CALLS} tool calls")
        declared = declare_tools((state.metadata or {}).get("tools"))
        calls = []
        for tc in tool_calls:
            if tc.parse_error:
                raise CallParseError("invalid_json", f"tool call {tc.function}: {tc.parse_error}"[:200])
            if not isinstance(tc.arguments, dict):
                raise CallParseError("bad_shape", f"arguments of tool call {tc.function[:80]} are not an object")
            arguments = dict(tc.arguments)
            check_bounds(arguments)  # the provider decoded them; still bound depth and size
            calls.append(Call(name=declared.original_name(tc.function), arguments=arguments))
        return calls, "tool_calls"
    return parse_calls(state.output.completion if state.output else ""), "text"


def gold_calls(target: Target) -> list[Call]:
    return calls_from_json(json.loads(target.text))


def _compact(calls: list[Call]) -> str:
    text = json.dumps([c.to_json() for c in calls], ensure_ascii=False, default=str)
    return text if len(text) <= MAX_LOGGED_CHARS else text[:MAX_LOGGED_CHARS] + "..."


@scorer(metrics=[accuracy(), stderr(), parse_error_rate()])
def apigen_match(mode: MatchMode = "exact") -> Scorer:
    """Predicted against gold calls (``mode``: exact, lenient or bfcl; see harness/benchmarks/apigen.py)."""
    if mode not in MATCH_MODES:
        raise ValueError(f"match mode must be one of {', '.join(MATCH_MODES)}, not {mode!r}")

    async def score(state: TaskState, target: Target) -> Score:
        gold = gold_calls(target)
        meta: dict[str, Any] = {"mode": mode}
        try:
            predicted, source = predicted_calls(state)
        except CallParseError as err:
            return Score(
                value=INCORRECT,
                answer=None,
                explanation=f"parse error ({err.detail}): {err}",
                metadata={**meta, "reason": "parse_error", "parse_detail": err.detail},
            )
        tools = parse_tools((state.metadata or {}).get("tools"))
        result = match_calls(predicted, gold, tools, mode)
        meta.update(source=source, reason=result.reason, n_predicted=len(predicted), n_gold=len(gold))
        if not result.correct:
            meta.update(missing=list(result.missing), unexpected=list(result.unexpected))
            if result.detail:
                meta["bfcl_error"] = result.detail
        return Score(
            value=CORRECT if result.correct else INCORRECT,
            answer=_compact(predicted),
            explanation=f"{mode} match: {result.reason}",
            metadata=meta,
        )

    return score
