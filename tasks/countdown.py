"""Countdown (Reflect, Retry, Reward's equation task): reach a target with 3-4 numbers.

Sources (``-T source=``):

- ``generate`` (default, no download): ``n`` instances (default 1024) from a seeded
  generator (``-T seed=``, default 0): 3 or 4 numbers drawn uniformly from 1-99, the
  target drawn uniformly among the integers 10-100 that an exhaustive search reaches
  with every number used once (the ranges of Countdown-Tasks-3to4). Same seed, same set.
- ``hf``: Jiayi-Pan/Countdown-Tasks-3to4 (split ``train``, fields ``target`` and
  ``nums``), rows 327,680 to 327,680 + n: the rows after TinyZero's 327,680 training
  rows, so the default n=1024 is exactly TinyZero's test split and ``-T n=15000`` a
  15k test set the size of the paper's (whose own split is not published).
- ``-T data=PATH``: a local JSONL/JSON/parquet file in that schema (all rows, or the
  first ``n``); overrides ``source``.

Every sample carries ``metadata.nums``, ``metadata.target``, ``metadata.solvable`` and,
when solvable, ``metadata.oracle_answer`` (an equation found by search; the test double
writes it when answering correctly). Ids: ``cd<target>-<n1>_<n2>_...``; a repeated
(target, numbers) row is dropped.

Scorer (``-T reward=``): ``default``, :func:`scorers.countdown.countdown_equation` (the
equation in the last ``<answer>`` must reach the target exactly), or ``tinyzero``,
:func:`scorers.countdown.countdown_tinyzero` (TinyZero's ``compute_score`` verdicts:
last line only, format score 0.1, float tolerance 1e-5; reproduced without eval). Rules
in harness/benchmarks/countdown.py.
"""

from __future__ import annotations

from typing import Any

from inspect_ai import Task, task
from inspect_ai._util.error import PrerequisiteError
from inspect_ai.dataset import Sample
from inspect_ai.model import GenerateConfig

from harness.benchmarks.countdown import generate_instances, solve
from harness.datasets import DataUnavailable, load_dataset
from harness.task import harness_task
from scorers.countdown import REWARDS, countdown_equation, countdown_tinyzero

INPUT = "Using the numbers {nums}, create an equation that equals {target}."
"""The sample input (TinyZero's wording); ``nums`` as a Python list."""

PROMPT = (
    "{prompt} You can use basic arithmetic operations (+, -, *, /) and each number can "
    "only be used once. Show your work in <think> </think> tags. And return the final "
    "answer in <answer> </answer> tags, for example <answer> (1 + 2) / 3 </answer>."
)
"""User prompt (TinyZero's instruction, without its system prompt and assistant prefill)."""

COUNTDOWN_CONFIG = GenerateConfig(max_tokens=1024)
"""TinyZero's response budget (``data.max_response_length=1024``); other settings the provider's."""

HF_PATH = "Jiayi-Pan/Countdown-Tasks-3to4"
HF_TEST_START = 327_680
"""TinyZero trains on the first 327,680 rows and tests on the next 1,024."""

DEFAULT_N = 1024
SOURCES = ("generate", "hf")


def make_sample(nums: list[int], target: int, source: str, solution: str | None = None) -> Sample:
    if solution is None:
        solution = solve(nums, target)
    metadata: dict[str, Any] = {"nums": nums, "target": target, "solvable": solution is not None, "source": source}
    if solution is not None:
        metadata["oracle_answer"] = solution
    return Sample(
        id=f"cd{target}-{'_'.join(str(x) for x in nums)}",
        input=INPUT.format(nums=nums, target=target),
        target=str(target),
        metadata=metadata,
    )


def countdown_record_to_sample(source: str):
    seen: set[tuple[int, tuple[int, ...]]] = set()

    def to_sample(record: dict[str, Any]) -> Sample | list[Sample]:
        raw = record["nums"]
        nums = [int(x) for x in (raw.tolist() if hasattr(raw, "tolist") else raw)]
        target = int(record["target"])
        if not 1 <= len(nums) <= 6:
            raise ValueError(f"expected 1 to 6 numbers, got {len(nums)}")
        key = (target, tuple(nums))
        if key in seen:
            return []
        seen.add(key)
        return make_sample(nums, target, source)

    return to_sample


def load_countdown(source: str, data: str | None, n: int | None, seed: int) -> list[Sample]:
    if n is not None and n <= 0:
        raise DataUnavailable("countdown: -T n= must be a positive number of instances.")
    if data is not None:
        samples = load_dataset(
            data=data, hf_path=HF_PATH, split="train", record_to_sample=countdown_record_to_sample("file")
        )
        return samples[:n] if n is not None else samples
    n = n or DEFAULT_N
    if source == "generate":
        return [
            make_sample(list(inst.nums), inst.target, f"generate(seed={seed})", inst.solution)
            for inst in generate_instances(n, seed)
        ]
    if source == "hf":
        return load_dataset(
            data=None,
            hf_path=HF_PATH,
            split=f"train[{HF_TEST_START}:{HF_TEST_START + n}]",
            record_to_sample=countdown_record_to_sample("hf"),
        )
    raise DataUnavailable(f"countdown: unknown -T source={source!r}; use one of {', '.join(SOURCES)} (or -T data=PATH).")


@task
def countdown(
    source: str = "generate",
    data: str | None = None,
    n: int | None = None,
    seed: int = 0,
    reward: str = "default",
    solver: str = "direct",
    **solver_args: Any,
) -> Task:
    """Countdown: ``-T source=generate|hf``, ``-T data=PATH``, ``-T n=``, ``-T seed=`` (generator),
    ``-T reward=default|tinyzero`` (the scoring rule)."""
    if reward not in REWARDS:
        raise PrerequisiteError(f"countdown: -T reward must be one of {', '.join(REWARDS)}, not {reward!r}.")
    samples = load_countdown(source, data, n, seed)
    return harness_task(
        dataset=samples,
        name="countdown",
        scorer=countdown_tinyzero() if reward == "tinyzero" else countdown_equation(),
        template=PROMPT,
        solver=solver,
        solver_args=solver_args,
        epochs=1,
        config=COUNTDOWN_CONFIG,
        metadata={
            "countdown_source": "file" if data is not None else source,
            "countdown_seed": seed if data is None and source == "generate" else None,
            "reward": reward,  # same name as the task arg: explicit and default runs are one configuration
        },
    )
