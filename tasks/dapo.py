"""DAPO-100: the Training-Free GRPO math training set.

BytedTsinghua-SIA/DAPO-Math-17k (split train), with the DAPO instruction prefix
("Solve the following math problem step by step...") and suffix ("Remember to put your
answer on its own line after "Answer:".") stripped, de-duplicated by problem text (the
upstream file repeats each problem many times), shuffled with ``random.Random(seed)``
and cut to the first ``n`` (defaults: seed 42, n 100). ``-T data=PATH`` reads a local
copy in the upstream schema (``prompt`` as a chat list or string,
``reward_model.ground_truth``).

Sample ids are ``dapo-<12 hex of sha1(problem)>``, stable across copies and orderings.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from inspect_ai import Task, task
from inspect_ai.dataset import Sample

from harness.datasets import load_dataset
from tasks.aime import math_task

DAPO_PREFIX = "Solve the following math problem step by step."
DAPO_SUFFIX = 'Remember to put your answer on its own line after "Answer:"'

DEFAULT_EPOCHS = 5
"""Rollouts per problem when evaluating on the training set (the paper's group size; Fig. 4 reports Mean@5)."""


def strip_dapo_instructions(prompt: Any) -> str:
    """The bare problem from a DAPO prompt (chat list or string)."""
    if isinstance(prompt, (list, tuple)) or (hasattr(prompt, "tolist") and not isinstance(prompt, str)):
        items = prompt.tolist() if hasattr(prompt, "tolist") else prompt
        text = "\n\n".join(str(m.get("content", "")) for m in items if isinstance(m, dict))
    else:
        text = str(prompt)
    text = text.strip()
    if text.startswith(DAPO_PREFIX):
        _, sep, rest = text.partition("\n\n")
        text = rest if sep else text[len(DAPO_PREFIX):]
    cut = text.find(DAPO_SUFFIX)
    if cut >= 0:
        text = text[:cut]
    return text.strip()


def dapo_record_to_sample():
    seen: set[str] = set()

    def to_sample(record: dict[str, Any]) -> Sample | list[Sample]:
        problem = strip_dapo_instructions(record["prompt"])
        if not problem or problem in seen:
            return []
        seen.add(problem)
        reward = record.get("reward_model") or {}
        answer = reward.get("ground_truth") if isinstance(reward, dict) else None
        if answer is None:
            answer = record.get("answer", record.get("label"))
        if answer is None:
            raise KeyError("reward_model.ground_truth")
        digest = hashlib.sha1(problem.encode("utf-8")).hexdigest()[:12]
        return Sample(
            id=f"dapo-{digest}",
            input=problem,
            target=str(answer).strip(),
            metadata={"source": record.get("data_source")},
        )

    return to_sample


def load_dapo(data: str | None, n: int, seed: int) -> list[Sample]:
    samples = load_dataset(
        data=data,
        hf_path="BytedTsinghua-SIA/DAPO-Math-17k",
        split="train",
        record_to_sample=dapo_record_to_sample(),
    )
    random.Random(seed).shuffle(samples)
    return samples[:n]


@task
def dapo100(
    data: str | None = None,
    n: int = 100,
    seed: int = 42,
    solver: str = "direct",
    **solver_args: Any,
) -> Task:
    """DAPO-100 (Training-Free GRPO's training set); ``-T n=``/``-T seed=`` change the draw."""
    return math_task(load_dapo(data, n, seed), "dapo100", solver, solver_args, epochs=DEFAULT_EPOCHS)
