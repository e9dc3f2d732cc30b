"""Language Self-Play (Kuba et al. 2025, arXiv:2509.07414) as an evaluation.

One sample is one round of the LSP game (one iteration of the paper's Algorithm 1): the
Challenger samples N instructions from the Challenger prompt, the Solver answers each G
times, a reward judge scores every answer and the quality self-reward (the 0-7 additive
rubric) scores every interaction. The scorer then computes per query V(q), V_Q(q) and the
Solver and Challenger advantages under LSP-Zero and LSP, plus the diversity of the
instructions. Why a sample is a whole round: the Challenger's advantage compares each query
with the round's mean V̄, so the round is the smallest unit whose numbers are complete;
rounds are independent samples, so inspect runs them concurrently and ``games`` (or
``--epochs``) gives more of them.

Data: none needed (LSP is data-free). ``-T data=seeds.jsonl`` gives one game per row with
optional fields ``id``, ``task`` and ``template`` filling the Challenger prompt; otherwise
``games`` games share ``-T challenger_task=`` / ``-T challenger_template=`` (both empty by
default: the prompt then lets the Challenger choose, as for the paper's AlpacaEval runs).

Roles: ``challenger`` and ``solver`` default to the evaluated model (one model plays both);
``grader`` (reward judge) and ``self_reward`` (quality judge, the paper's reference model)
also default to the evaluated model, so bind them explicitly for a fair judge, e.g.
``--model-role grader=openai/gpt-4o``.

Sampling: temperature 1.0 for every call (the game's rollouts are samples, not greedy
answers); override with ``--temperature`` or per role (``--model-role
grader="{model: openai/gpt-4o, temperature: 0}"``).

Outputs: per-game values and the advantages in ``Score.metadata["self_play"]`` of each
sample; metrics in the log results. ``harness self-play table LOG`` prints the advantages
table and ``harness self-play export LOG --export rollouts.jsonl`` writes the rollouts
for an RL trainer (schema: ``harness.benchmarks.self_play.RolloutRecord``).
"""

from __future__ import annotations

from typing import Any

from inspect_ai import Task, task
from inspect_ai.dataset import Sample
from inspect_ai.model import GenerateConfig

from harness.datasets import DataUnavailable, memory_dataset, read_records
from harness.benchmarks.self_play import NEAR_DUPLICATE_THRESHOLD
from harness.task import unknown_task_arguments
from scorers.self_play import lsp_rewards
from solvers.self_play import DEFAULT_G, DEFAULT_N, MAX_INSTRUCTION_CHARS, challenger_prompt, lsp_game

DEFAULT_GAMES = 4
"""Games (samples) when no seed file is given."""

GAME_CONFIG = GenerateConfig(temperature=1.0, max_tokens=4096)
"""Rollouts are sampled; ``max_tokens`` as the AlpacaEval task (the paper states none)."""


def seed_to_sample(record: dict[str, Any], i: int) -> Sample:
    task_name = str(record.get("task") or "")
    template = str(record.get("template") or "")
    return Sample(
        id=str(record.get("id") or f"game-{i + 1}"),
        input=challenger_prompt(task_name, template),
        metadata={"challenger_task": task_name, "challenger_template": template},
    )


def game_samples(data: str | None, games: int, challenger_task: str, challenger_template: str) -> list[Sample]:
    if data is not None:
        records = read_records(data)
        if not records:
            raise DataUnavailable(f"{data}: no game seeds.")
        return [seed_to_sample(r, i) for i, r in enumerate(records)]
    if games < 1:
        raise DataUnavailable(f"self_play: games must be >= 1 (got {games}).")
    seed = {"task": challenger_task, "template": challenger_template}
    return [seed_to_sample(seed, i) for i in range(games)]


@task
def self_play(
    data: str | None = None,
    games: int = DEFAULT_GAMES,
    n: int = DEFAULT_N,
    g: int = DEFAULT_G,
    challenger_task: str = "",
    challenger_template: str = "",
    self_reward: bool = True,
    quality_weight: float = 1.0,
    max_instruction_chars: int = MAX_INSTRUCTION_CHARS,
    near_duplicate_threshold: float = NEAR_DUPLICATE_THRESHOLD,
    **unknown: Any,
) -> Task:
    """The LSP game: ``games`` rounds of N Challenger queries x G Solver answers, judged.

    Args:
        data: optional JSONL/JSON of game seeds (``id``, ``task``, ``template``), one game each.
        games: number of games when ``data`` is not given.
        n: queries per game (the paper's 8).
        g: answers per query.
        challenger_task: ``{task}`` of the Challenger prompt (empty: the Challenger chooses).
        challenger_template: ``{template}`` of the Challenger prompt.
        self_reward: score the 0-7 quality self-reward (LSP); False gives LSP-Zero only.
        quality_weight: w in R + w·R_Q (the paper: 1).
        max_instruction_chars: longer Challenger instructions are unusable.
        near_duplicate_threshold: word-3-gram Jaccard at which instructions are near-duplicates.
        unknown: any other ``-T`` argument is refused (inspect would only warn and drop it).
    """
    if unknown:
        raise unknown_task_arguments(unknown)
    samples = game_samples(data, games, challenger_task, challenger_template)
    return Task(
        dataset=memory_dataset(samples, "self_play"),
        solver=lsp_game(n=n, g=g, max_instruction_chars=max_instruction_chars),
        scorer=lsp_rewards(
            self_reward=self_reward,
            quality_weight=quality_weight,
            near_duplicate_threshold=near_duplicate_threshold,
        ),
        config=GAME_CONFIG,
        metadata={
            "solver": "lsp_game",
            "n": n,
            "g": g,
            "self_reward": self_reward,
            "quality_weight": quality_weight,
        },
    )
