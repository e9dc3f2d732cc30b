"""AlpacaEval-style pairwise judge (``grader`` role) and the AlpacaEval metrics.

Per sample the judge sees the instruction and two outputs -- the reference
(``metadata["reference_output"]``) and the evaluated model's -- labelled ``m`` (shown first)
and ``M`` (shown second), and answers with the identifier of the better one.

* Prompt: AlpacaEval 2.0's own file, verbatim (:data:`JUDGE_TEMPLATE`: system and user
  messages in chat-ML blocks, single-brace placeholders). Any AlpacaEval prompt file can
  replace it as-is (:func:`parse_judge_template`).

* Order: ``random.Random("is_switched_outputs" + instruction + str(seed))`` decides per
  instruction whether the model's output is shown first (AlpacaEval's rule, seed 0); the
  preference is mapped back afterwards, so ``Score.value`` is always
  P(judge prefers the evaluated model) in [0, 1].
* Logprob-weighted when the judge returns top logprobs holding ``m`` and/or ``M`` for
  the first token, as AlpacaEval's ``logprob_parser``: ``P(second) = P(M) / (P(m) + P(M))``,
  an absent identifier having probability 0. Unlike AlpacaEval (which matches the exact
  token), token variants that strip to the same identifier (``m``, `` m``) are one answer:
  their probabilities are **summed**. A NaN, infinite or positive logprob on an identifier,
  or identifier probabilities summing above 1 (past rounding: 1.01), make the logprobs
  unusable (``metadata.note`` says why). Without usable logprobs the discrete answer (first
  word ``m`` / ``M``) gives 0 or 1.
* Identical outputs (``ties``): ``half`` (default, AlpacaEval's rule: its pairwise annotator
  sets preference 1.5 for ``output_1 == output_2`` and never asks the judge) counts them 0.5
  without a call; ``judge`` sends them to the judge like any other pair (the LSP paper's
  26.5% for the base model against a copy of itself implies its ties were judged).
* Unparseable answer, empty answer or missing reference: ``Score.unscored`` with the reason
  (``Score.reason`` and ``metadata.reason``) and a logged warning.

**Unscored judgements** follow AlpacaEval's rule: they are left out of ``win_rate``,
``standard_error`` and every other metric (AlpacaEval's annotator drops NaN annotations
with a warning and averages over valid preferences only). So they never count as losses,
and never silently: ``n_total`` is the number of judgements in the win rate, inspect
records the rest as the score's ``unscored_samples``, and ``harness alpaca-metrics LOG``
prints them as ``n_unscored``.

Metrics (percent units, as the AlpacaEval leaderboard): ``win_rate`` (draw = 0.5),
``standard_error`` (SEM, ddof 1), ``discrete_win_rate``, ``n_total`` (a count),
``win_rate_<subset>`` per ``dataset`` subset, ``avg_length`` (characters of the model's
output) and, when the instruction difficulties are supplied, ``length_controlled_winrate`` /
``lc_standard_error`` (see harness/benchmarks/alpaca_metrics.py).
"""

from __future__ import annotations

import logging
import math
import random
import re
from typing import Any, NamedTuple

import numpy as np
from inspect_ai.model import ChatMessage, GenerateConfig, Logprob, ModelOutput, get_model
from inspect_ai.scorer import Metric, SampleScore, Score, Scorer, Target, metric, scorer
from inspect_ai.solver import TaskState

from harness.benchmarks import alpaca_metrics as am
from harness.calls import fill, message

logger = logging.getLogger(__name__)

DEFAULT_JUDGE = "openai/gpt-4-1106-preview"
"""Judge used when no ``grader`` role is bound (AlpacaEval 2.0's annotator model).
Bind another with ``--model-role grader=<provider/model>``."""

JUDGE_CONFIG = GenerateConfig(max_tokens=1, temperature=1.0, logprobs=True, top_logprobs=5)
"""AlpacaEval's weighted judge settings: one token, its top-5 logprobs."""

SWAP_SEED = 0
"""Seed of the per-instruction presentation-order draw (AlpacaEval's default)."""

MAX_JUDGE_TEXT = 200
"""Characters of a judge answer looked at (and kept in the score) when parsing."""

MAX_TOP_LOGPROBS = 20
"""Entries of the first token's top logprobs read (the judge asks for 5)."""

MAX_TOKEN_CHARS = 16
"""Longer token strings are not identifier variants and are skipped unread."""

LOGPROB_TOLERANCE = 1e-6
"""A logprob above this is not a log-probability: the logprobs are unusable."""

MAX_PROBABILITY_SUM = 1.01
"""Identifier probabilities summing above this are inconsistent (rounded real logprobs can
exceed 1 by a hair): the logprobs are unusable."""

JUDGE_TEMPLATE = r'''<|im_start|>system
You are a highly efficient assistant, who evaluates and selects the best large language model (LLMs) based on the quality of their responses to a given instruction. This process will be used to create a leaderboard reflecting the most accurate and human-preferred answers.
<|im_end|>
<|im_start|>user
I require a leaderboard for various large language models. I'll provide you with prompts given to these models and their corresponding outputs. Your task is to assess these responses, and select the model that produces the best output from a human perspective.

## Instruction

{
    "instruction": """{instruction}""",
}

## Model Outputs

Here are the unordered outputs from the models. Each output is associated with a specific model, identified by a unique model identifier.

{
    {
        "model_identifier": "m",
        "output": """{output_1}"""
    },
    {
        "model_identifier": "M",
        "output": """{output_2}"""
    }
}

## Task

Evaluate the models based on the quality and relevance of their outputs, and select the model that generated the best output. Answer by providing the model identifier of the best model. We will use your output as the name of the best model, so make sure your output only contains one of the following model identifiers and nothing else (no quotes, no spaces, no new lines, ...): m or M.

## Best Model Identifier
<|im_end|>'''
"""The judge prompt: AlpacaEval 2.0's, verbatim (the reference's text: a judge prompt is part
of the protocol). Source: ``src/alpaca_eval/evaluators_configs/alpaca_eval_clf_gpt4_turbo/
alpaca_eval_clf.txt`` of tatsu-lab/alpaca_eval (Apache-2.0; commit 15fd513, the template of
the ``weighted_alpaca_eval_gpt4_turbo`` annotator). Chat-ML blocks give the system and user
messages; ``{instruction}``, ``{output_1}`` (shown first, ``m``) and ``{output_2}`` (shown
second, ``M``) are its placeholders, single braces, every other brace literal."""

JUDGE_FIELDS = ("instruction", "output_1", "output_2")
"""The placeholders of a judge template; each appears exactly once (AlpacaEval's rule for batch size 1)."""

CHATML_START, CHATML_END = "<|im_start|>", "<|im_end|>"
CHATML_ROLES = ("system", "user", "assistant")

TIES = ("half", "judge")
"""``-T ties=``: identical outputs count 0.5 without a judge call (AlpacaEval's rule), or are judged."""

_PLACEHOLDER = re.compile(r"\{([^\s{}]+)\}")
"""AlpacaEval's placeholder pattern ``{([^ \s]+?)}`` without nested braces (linear time)."""


def parse_judge_template(text: str) -> list[tuple[str, str]]:
    """(role, content template) of each message of an AlpacaEval prompt file.

    Read as AlpacaEval reads it: chat-ML blocks (``<|im_start|>ROLE`` line, content up to
    ``<|im_end|>``), or, without them, one user message. Placeholders are single-brace
    ``{instruction}``, ``{output_1}``, ``{output_2}``, each exactly once; every other brace is
    literal. Unlike AlpacaEval, the blocks are split *before* the outputs are filled in, so an
    output containing ``<|im_end|>`` cannot open a message of its own. Raises ValueError
    naming what is wrong.
    """
    if "{{" in text or "}}" in text:
        raise ValueError(
            "it has doubled braces: judge prompts are read as AlpacaEval's prompt files "
            "(single braces; only {instruction}, {output_1}, {output_2} are replaced, other braces stay as written)"
        )
    names = _PLACEHOLDER.findall(text)
    unknown = sorted(set(names) - set(JUDGE_FIELDS))
    wrong = [f"{{{n}}} {names.count(n)} times" for n in JUDGE_FIELDS if names.count(n) != 1]
    if unknown or wrong:
        problems = [f"unknown placeholder(s) {', '.join('{' + n + '}' for n in unknown)}"] if unknown else []
        raise ValueError(
            "; ".join(problems + wrong) + ": it must hold {instruction}, {output_1} and {output_2} once each"
        )
    body = text.strip()
    if not body.startswith(CHATML_START):
        if CHATML_START in body or CHATML_END in body:
            raise ValueError(f"chat-ML prompts must start with {CHATML_START}")
        return [("user", text)]
    if not body.endswith(CHATML_END):
        raise ValueError(f"chat-ML prompts must end with {CHATML_END}")
    messages = []
    for block in body.split(CHATML_START)[1:]:
        head, _, content = block.partition("\n")
        role = head.strip()
        if role not in CHATML_ROLES:
            raise ValueError(f"unsupported chat-ML role {role[:40]!r} (use {', '.join(CHATML_ROLES)})")
        messages.append((role, content.split(CHATML_END, 1)[0]))
    if not any(_PLACEHOLDER.search(c) for _, c in messages):
        raise ValueError("no message holds the placeholders")
    return messages


def judge_messages(template: list[tuple[str, str]], instruction: str, output_1: str, output_2: str) -> list[ChatMessage]:
    """The judge's messages: each block filled in one pass and stripped (as AlpacaEval strips them), tagged."""
    values = {"instruction": instruction, "output_1": output_1, "output_2": output_2}
    return [message("alpaca_judge", fill(content, values, strip=True), role=role) for role, content in template]  # type: ignore[arg-type]


def is_switched(instruction: str, seed: int = SWAP_SEED) -> bool:
    """True when the evaluated model's output is shown first (AlpacaEval's per-instruction draw)."""
    return random.Random("is_switched_outputs" + instruction + str(seed)).choices([False, True], k=1)[0]


class JudgeReading(NamedTuple):
    """What one judge answer says."""

    value: float | None
    """P(the output shown second wins), or None when the answer cannot be read."""
    method: str
    """``logprobs``, ``discrete`` or ``unscored``."""
    note: str | None = None
    """Why the logprobs were not used (``discrete``), or why the answer is unscored."""


def identifier_logprobs(first: Logprob) -> tuple[float, float] | str | None:
    """log P(m), log P(M) at the judge's first token, from its top logprobs.

    Token variants that strip to the same identifier (``m``, `` m``, ``m\\n``) are one
    answer, so their probabilities are summed (log-sum-exp). Only the first
    :data:`MAX_TOP_LOGPROBS` entries are read; a repeated token string counts once; the
    sampled token counts when the top list lacks it. Returns None when neither identifier
    appears, and a reason string when the logprobs are unusable: a non-finite or positive
    logprob on an identifier, or identifier probabilities that sum above
    :data:`MAX_PROBABILITY_SUM`.
    """
    entries = [(t.token, t.logprob) for t in (first.top_logprobs or [])[:MAX_TOP_LOGPROBS]]
    entries.append((first.token, first.logprob))
    seen: set[str] = set()
    lp = {"m": -math.inf, "M": -math.inf}
    for token, logprob in entries:
        if token in seen or len(token) > MAX_TOKEN_CHARS:
            continue
        seen.add(token)
        key = token.strip()
        if key not in lp:
            continue
        if not math.isfinite(logprob) or logprob > LOGPROB_TOLERANCE:
            return f"invalid logprob {logprob!r} for token {token!r}"
        lp[key] = float(np.logaddexp(lp[key], min(logprob, 0.0)))
    if lp["m"] == -math.inf and lp["M"] == -math.inf:
        return None
    total = math.exp(float(np.logaddexp(lp["m"], lp["M"])))
    if total > MAX_PROBABILITY_SUM:
        return f"identifier probabilities sum to {total:.4f} > 1"
    return lp["m"], lp["M"]


def parse_judge(output: ModelOutput) -> JudgeReading:
    """P(the output shown second wins) from a judge answer, and how it was read.

    Logprob-weighted when the first token's top logprobs hold ``m`` and/or ``M``
    (AlpacaEval's ``logprob_parser`` with ``is_binarize=False``: P(second) = P(M) / (P(m) +
    P(M)), an absent identifier has probability 0); otherwise, or when the logprobs are
    unusable (see :func:`identifier_logprobs`), the first word of the answer (``m`` -> 0,
    ``M`` -> 1); otherwise unscored with the reason.
    """
    choice = output.choices[0] if output.choices else None
    note = None
    if choice is not None and choice.logprobs is not None and choice.logprobs.content:
        read = identifier_logprobs(choice.logprobs.content[0])
        if isinstance(read, tuple):
            lp_m, lp_M = read
            p_second = math.exp(lp_M - float(np.logaddexp(lp_m, lp_M)))
            return JudgeReading(min(max(p_second, 0.0), 1.0), "logprobs")
        note = read
    text = (output.completion or "")[:MAX_JUDGE_TEXT].strip()
    words = text.split(maxsplit=1)
    word = words[0].strip("\"'`*.:,()[]") if words else ""
    if word in ("m", "M"):
        return JudgeReading(0.0 if word == "m" else 1.0, "discrete", note)
    reason = f"unparseable judge answer: {text!r}" if text else "empty judge answer"
    return JudgeReading(None, "unscored", f"{note}; {reason}" if note else reason)


# --------------------------------------------------------------------------- metrics


def _x(scores: list[SampleScore]) -> np.ndarray:
    return np.array([s.score.as_float() for s in scores], dtype=float)


@metric
def win_rate() -> Metric:
    """100 * mean P(model preferred); a draw counts 0.5."""
    def compute(scores: list[SampleScore]) -> float:
        return am.raw_metrics(_x(scores)).win_rate

    return compute


@metric
def standard_error() -> Metric:
    """100 * SEM of the per-instruction preferences (ddof 1)."""
    def compute(scores: list[SampleScore]) -> float:
        return am.raw_metrics(_x(scores)).standard_error

    return compute


@metric
def discrete_win_rate() -> Metric:
    """100 * mean of the rounded preferences (exactly 0.5 stays a draw)."""
    def compute(scores: list[SampleScore]) -> float:
        return am.raw_metrics(_x(scores)).discrete_win_rate

    return compute


@metric
def n_total() -> Metric:
    """Judgements in win_rate (AlpacaEval's ``n_total``). Unscored ones are not among them:
    inspect counts those as the score's ``unscored_samples`` (each logs a warning and keeps
    its reason), and ``harness alpaca-metrics LOG`` prints them as ``n_unscored``."""

    def compute(scores: list[SampleScore]) -> int:
        return am.raw_metrics(_x(scores)).n_total

    return compute


@metric
def avg_length() -> Metric:
    """Mean length of the evaluated model's outputs, in characters (truncated to int)."""

    def compute(scores: list[SampleScore]) -> float:
        lengths = [(s.score.metadata or {}).get("length") for s in scores]
        lengths = [v for v in lengths if v is not None]
        return float(int(np.mean(lengths))) if lengths else math.nan

    return compute


@metric
def subset_win_rates(key: str = "dataset") -> Metric:
    """``win_rate_<subset>`` for each value of the sample metadata ``key``."""

    def compute(scores: list[SampleScore]) -> dict[str, float]:
        groups: dict[str, list[SampleScore]] = {}
        for s in scores:
            groups.setdefault(str((s.sample_metadata or {}).get(key)), []).append(s)
        return {f"win_rate_{g}": am.raw_metrics(_x(v)).win_rate for g, v in sorted(groups.items())}

    return compute


@metric
def length_controlled_winrate(
    instruction_difficulty: str | None = None,
    gamed_baselines: str | None = None,
    without_difficulty: bool = False,
) -> Metric:
    """AlpacaEval's length-controlled win rate (and its SE) from the judged samples.

    Needs ``instruction_difficulty`` (a file, looked up by the sample's ``index``); with
    ``gamed_baselines`` the fit is the official regularised one (and
    ``length_controlled_winrate_noreg`` the same fit without it). ``without_difficulty``
    fits the minimal GLM (length + model term) instead of reporting nothing.
    """

    def compute(scores: list[SampleScore]) -> dict[str, float | None]:
        none: dict[str, float | None] = {"length_controlled_winrate": None, "lc_standard_error": None}
        if instruction_difficulty is None and not without_difficulty:
            return none
        meta = [s.score.metadata or {} for s in scores]
        if len(scores) < 2 or any(m.get("length") is None or m.get("reference_length") is None for m in meta):
            return none
        d = am.read_difficulty(instruction_difficulty) if instruction_difficulty else None
        gamed = am.read_gamed(gamed_baselines) if gamed_baselines and d is not None else None
        index = [int((s.sample_metadata or {}).get("index", i)) for i, s in enumerate(scores)]
        x, ref_len, model_len = _x(scores), [m["reference_length"] for m in meta], [m["length"] for m in meta]
        index = index if d is not None else None
        try:
            value, se, _fit, variant = am.length_controlled(
                x, ref_len, model_len, difficulty=d, index=index, gamed=gamed
            )
        except am.LcNotFittable as ex:
            logger.warning(f"length_controlled_winrate not computed: {ex}")
            return none
        result: dict[str, float | None] = {"length_controlled_winrate": value, "lc_standard_error": se}
        if variant == "length_controlled_v1":
            try:
                result["length_controlled_winrate_noreg"] = am.length_controlled(
                    x, ref_len, model_len, difficulty=d, index=index
                )[0]
            except am.LcNotFittable:
                result["length_controlled_winrate_noreg"] = None
        return result

    return compute


# --------------------------------------------------------------------------- scorer


def alpaca_judge(
    *,
    judge_prompt: str = JUDGE_TEMPLATE,
    ties: str = "half",
    seed: int = SWAP_SEED,
    instruction_difficulty: str | None = None,
    gamed_baselines: str | None = None,
    lc_without_difficulty: bool = False,
) -> Scorer:
    """The pairwise judge scorer with its metrics (the LC metric configured by the files given).

    ``judge_prompt`` is the text of an AlpacaEval prompt file (see :func:`parse_judge_template`);
    ``ties`` one of :data:`TIES`.
    """
    if ties not in TIES:
        raise ValueError(f"ties must be one of {', '.join(TIES)}, not {ties!r}")
    template = parse_judge_template(judge_prompt)
    metrics = [
        win_rate(),
        standard_error(),
        discrete_win_rate(),
        n_total(),
        subset_win_rates(),
        avg_length(),
        length_controlled_winrate(instruction_difficulty, gamed_baselines, lc_without_difficulty),
    ]
    return scorer(metrics=metrics, name="alpaca_judge")(_alpaca_judge)(template=template, ties=ties, seed=seed)


def _alpaca_judge(template: list[tuple[str, str]], ties: str, seed: int) -> Scorer:
    async def score(state: TaskState, target: Target) -> Score:
        instruction = state.input_text
        model_output = state.output.completion
        reference = (state.metadata or {}).get("reference_output")
        meta: dict[str, Any] = {"length": len(model_output)}
        if reference is None:
            return _unscored("no reference output for this instruction", metadata=meta)
        meta["reference_length"] = len(reference)
        if ties == "half" and model_output == reference:
            return Score(value=0.5, answer="draw", explanation="identical outputs: draw, judge not called",
                         metadata={**meta, "method": "identical", "preference": 1.5})
        switched = is_switched(instruction, seed)
        first, second = (model_output, reference) if switched else (reference, model_output)
        judge = get_model(role="grader", default=DEFAULT_JUDGE)
        result = await judge.generate(judge_messages(template, instruction, first, second), config=JUDGE_CONFIG)
        reading = parse_judge(result)
        raw = (result.completion or "")[:MAX_JUDGE_TEXT]
        meta.update(switched=switched, raw_completion=raw)
        if model_output == reference:
            meta["identical"] = True
        if reading.note is not None:
            meta["note"] = reading.note
        if reading.value is None:
            return _unscored(reading.note or "unparseable judge answer", answer=raw, metadata=meta)
        x = 1.0 - reading.value if switched else reading.value
        return Score(
            value=x,
            answer="model" if x > 0.5 else "reference" if x < 0.5 else "draw",
            explanation=f"P(model preferred) = {x:.4f} ({reading.method}; model shown {'first' if switched else 'second'})"
            + (f"; {reading.note}" if reading.note else ""),
            metadata={**meta, "method": reading.method, "preference": 1.0 + x},
        )

    return score


def _unscored(reason: str, answer: str | None = None, metadata: dict[str, Any] | None = None) -> Score:
    """An unscored judgement: left out of win_rate as AlpacaEval leaves it out, and said so."""
    logger.warning(f"alpaca_judge: judgement unscored ({reason[:200]}); left out of win_rate, as AlpacaEval does")
    return Score.unscored(reason=reason, answer=answer, metadata={**(metadata or {}), "reason": reason})
