"""``lsp_rewards``: judge one LSP game and compute its values and advantages.

Reads the game the ``lsp_game`` solver stored, then for every answer asks

- the reward judge (role ``grader``; default: the evaluated model) for R(q, a), an integer
  0-10 in ``<Score>k</Score>`` (the paper used a reward model, Skywork-Reward-V2; an inspect
  model role is an LLM, so the reward here is an LLM-judged score on a stated scale);
- the quality self-reward judge (role ``self_reward``; default: the evaluated model, the
  paper's "reference model") for R_Q(q, a) on the 0-7 additive rubric.

then computes V, V_Q and the LSP-Zero and LSP advantages (harness.benchmarks.self_play.compute_game).
An unparseable judgement leaves that value out, with its reason; it never fails the sample.

Score value (one per game; the metrics average over games):

- ``reward``: V̄, mean Solver reward over the game's usable queries;
- ``quality``: V̄_Q, mean quality self-reward (NaN = unscored when switched off);
- ``valid_queries``: share of the N Challenger samples that gave a usable instruction;
- ``scored_rewards`` / ``scored_quality``: share of answers whose judgement parsed;
- ``distinct_1``, ``distinct_2``, ``near_duplicate_rate``: diversity of the game's
  instructions; the ``pooled_diversity`` metric adds the same statistics over all games.

``Score.metadata["self_play"]`` holds the whole :class:`harness.benchmarks.self_play.GameResult`.
"""

from __future__ import annotations

import math

from inspect_ai.model import Model, get_model
from inspect_ai.scorer import Metric, SampleScore, Score, Scorer, Target, mean, metric, scorer, stderr
from inspect_ai.solver import TaskState
from inspect_ai.util import collect

from harness.calls import CallKind, Filled, fill, message
from harness.benchmarks.self_play import (
    NEAR_DUPLICATE_THRESHOLD,
    STORE_KEY,
    GameResult,
    GameRollouts,
    Judgement,
    compute_game,
    diversity,
    parse_score,
)

REWARD_PROMPT = """\
You are scoring how good an AI assistant's reply to a user is. Read the user's instruction \
and the reply, then judge how well the reply serves the user: whether it does what was \
asked, is correct, is complete without padding, and is clearly written. Judge the reply \
only, not the instruction, and do not let its length sway you by itself.

<Instruction>{instruction}</Instruction>
<Response>{response}</Response>

Write at most 60 words of reasoning, then the score as an integer from 0 (useless or \
harmful) to 10 (as good as a reply can be), in the form <Score>k</Score>."""
"""Reward judge prompt (role ``grader``): R(q, a) in 0..10."""

REWARD_RANGE = (0.0, 10.0)

SELF_REWARD_PROMPT = """\
Rate the exchange below between a user and an AI assistant on an additive 7-point scale. \
Start from 0 and add 1 point for each statement that is true:

1. The task the user wants done can be identified.
2. The user's instruction is clear, specific and well structured.
3. The user will be able to understand the assistant's response.
4. The response deals with a substantial part of the user's question.
5. The response covers the core of the question in a useful and thorough way.
6. The response is clear, concise, well organised and helpful.
7. The user is likely to be pleased with the form and style of the response.

<Instruction>{instruction}</Instruction>
<Response>{response}</Response>

First justify your rating in at most 100 words. Then show the sum as \
<Calculation>1+0+1+1+0+1+1=5</Calculation> (one term per statement, in order) and give the \
total as <Score>k</Score>, an integer from 0 to 7."""
"""Quality self-reward prompt (role ``self_reward``): our wording of the paper's Box 3."""

QUALITY_RANGE = (0.0, 7.0)


MAX_JUDGED_CHARS = 32_000
"""Instruction and answer are cut to this many characters in a judge prompt (a bound on hostile output)."""

def judge_prompt(template: str, instruction: str, response: str) -> Filled:
    """Fill ``{instruction}`` and ``{response}`` in one pass (model text may itself hold braces),
    each cut to :data:`MAX_JUDGED_CHARS`; the result records where each value went."""

    def cut(text: str) -> str:
        return text if len(text) <= MAX_JUDGED_CHARS else text[:MAX_JUDGED_CHARS] + " [...truncated]"

    return fill(template, {"instruction": cut(instruction), "response": cut(response)})


async def _judge(
    model: Model, kind: CallKind, template: str, instruction: str, response: str, low: float, high: float
) -> Judgement:
    prompt = message(kind, judge_prompt(template, instruction, response), low=low, high=high)
    output = await model.generate([prompt])
    if output.error:
        return Judgement(value=None, reason="judge_error", raw=output.error[:500])
    return parse_score(output.completion, low, high)


@metric(scores="unreduced")
def pooled_diversity() -> Metric:
    """distinct-1/2 and near-duplicate rate over the instructions of all games together.

    Uses the near-duplicate threshold the games were scored with (from the score metadata).
    """

    def compute(scores: list[SampleScore]) -> dict[str, float]:
        texts: list[str] = []
        threshold = NEAR_DUPLICATE_THRESHOLD
        for s in scores:
            game = (s.score.metadata or {}).get("self_play") or {}
            texts.extend(str(t) for t in game.get("instructions") or [])
            threshold = float(game.get("near_duplicate_threshold", threshold))
        d = diversity(texts, threshold)
        return {
            "distinct_1": _nan(d.distinct_1),
            "distinct_2": _nan(d.distinct_2),
            "near_duplicate_rate": _nan(d.near_duplicate_rate),
        }

    return compute


def _nan(x: float | None) -> float:
    return float("nan") if x is None else float(x)


@scorer(
    metrics={
        "reward": [mean(), stderr()],
        "quality": [mean(), stderr()],
        "valid_queries": [mean()],
        "scored_rewards": [mean()],
        "scored_quality": [mean()],
        "distinct_1": [mean()],
        "distinct_2": [mean()],
        "near_duplicate_rate": [mean(), pooled_diversity()],
    }
)
def lsp_rewards(
    self_reward: bool = True,
    quality_weight: float = 1.0,
    near_duplicate_threshold: float = NEAR_DUPLICATE_THRESHOLD,
) -> Scorer:
    """Judge the stored game and compute V, V_Q and the LSP-Zero / LSP advantages.

    Args:
        self_reward: also score each interaction with the 0-7 quality self-reward (LSP);
            False computes LSP-Zero only and halves the judge calls.
        quality_weight: w in the LSP rewards R + w·R_Q and -V + w·V_Q (the paper adds R_Q
            unscaled, w = 1).
        near_duplicate_threshold: Jaccard similarity of word 3-grams at which two
            instructions count as near-duplicates.
    """

    async def score(state: TaskState, target: Target) -> Score:
        stored = state.store.get(STORE_KEY)
        if stored is None:
            return Score.unscored(reason="scoring_failed", explanation="no self-play game in the sample store")
        game = GameRollouts.model_validate(stored)
        grader = get_model(role="grader")
        quality_judge = get_model(role="self_reward") if self_reward else None

        jobs = []
        for q in game.queries:
            if q.instruction is None:
                continue
            for answer in q.answers:
                jobs.append(_judge(grader, "lsp_reward", REWARD_PROMPT, q.instruction, answer, *REWARD_RANGE))
                if quality_judge is not None:
                    jobs.append(_judge(quality_judge, "lsp_quality", SELF_REWARD_PROMPT, q.instruction, answer, *QUALITY_RANGE))
        judged = iter(await collect(*jobs))

        rewards: list[list[Judgement]] = []
        qualities: list[list[Judgement]] = []
        for q in game.queries:
            rs, qs = [], []
            if q.instruction is not None:
                for _ in q.answers:
                    rs.append(next(judged))
                    if quality_judge is not None:
                        qs.append(next(judged))
            rewards.append(rs)
            qualities.append(qs)

        result: GameResult = compute_game(
            game.queries,
            rewards,
            qualities if quality_judge is not None else None,
            quality_weight=quality_weight,
            near_duplicate_threshold=near_duplicate_threshold,
        )
        n_answers = sum(len(r) for r in rewards)
        scored_r = sum(j.value is not None for r in rewards for j in r)
        scored_q = sum(j.value is not None for r in qualities for j in r)
        d = result.diversity
        value = {
            "reward": _nan(result.v_bar),
            "quality": _nan(result.v_q_bar),
            "valid_queries": sum(q.instruction is not None for q in game.queries) / len(game.queries),
            "scored_rewards": scored_r / n_answers if n_answers else math.nan,
            "scored_quality": scored_q / n_answers if n_answers and quality_judge is not None else math.nan,
            "distinct_1": _nan(d.distinct_1),
            "distinct_2": _nan(d.distinct_2),
            "near_duplicate_rate": _nan(d.near_duplicate_rate),
        }
        explanation = (
            f"V̄={result.v_bar}, V̄_Q={result.v_q_bar} over "
            f"{sum(q.valid for q in result.queries)}/{len(result.queries)} usable queries; "
            f"judges: grader={grader}"
            + (f", self_reward={quality_judge}" if quality_judge is not None else " (self-reward off)")
        )
        return Score(
            value=value,
            explanation=explanation,
            metadata={
                "self_play": result.model_dump(mode="json"),
                "grader": str(grader),
                "self_reward": str(quality_judge) if quality_judge is not None else None,
            },
        )

    return score
