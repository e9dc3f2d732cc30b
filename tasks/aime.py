"""AIME 2024 and 2025 (Training-Free GRPO's math evaluation: Mean@32 and Pass@k).

Data: HuggingFaceH4/aime_2024 (split train) and yentinglin/aime_2025 (split train), 30
problems each, or a local copy in the same schema with ``-T data=PATH``. Sample ids are
stable and readable: ``2024-I-1`` (year, exam, problem number) from the AoPS url.

Defaults follow the paper's evaluation: 32 epochs reduced with ``mean`` (Mean@32) and
``pass_at_k`` for k in 1, 2, 4, 8, 16, 32; temperature 0.3, top_p 0.95, max_tokens 16384. ``--epochs``,
``--temperature`` etc. override them the usual inspect way.
"""

from __future__ import annotations

import re
from typing import Any

from inspect_ai import Task, task
from inspect_ai.dataset import Sample
from inspect_ai.model import GenerateConfig

from harness.datasets import load_dataset
from harness.task import harness_task
from scorers.math import math_answer

MATH_PROMPT = "{prompt}\n\nPlease reason step by step, and put your final answer within \\boxed{{}}."
"""User prompt for math problems (``{prompt}`` is the problem text)."""

MATH_CONFIG = GenerateConfig(temperature=0.3, top_p=0.95, max_tokens=16384)
"""The paper's evaluation sampling settings; ``max_tokens`` is Training-Free GRPO's
``rollout_max_tokens`` (16384, its code's default for every rollout)."""

MEAN_AT = 32
"""Epochs per problem: Mean@32."""

AIME_SOURCES = {
    2024: ("HuggingFaceH4/aime_2024", "train"),
    2025: ("yentinglin/aime_2025", "train"),
}

_URL_ID = re.compile(r"(\d{4})_AIME_(I{1,2})_Problems/Problem_(\d+)")


def aime_record_to_sample(year: int):
    def to_sample(record: dict[str, Any]) -> Sample:
        url = str(record.get("url") or "")
        m = _URL_ID.search(url)
        record_year = str(record.get("year") or year)
        sample_id = f"{m.group(1)}-{m.group(2)}-{m.group(3)}" if m else f"{record_year}-{record['id']}"
        return Sample(
            id=sample_id,
            input=str(record["problem"]),
            target=str(record["answer"]).strip(),
            metadata={"year": int(record_year) if record_year.isdigit() else record_year, "url": url or None},
        )

    return to_sample


def load_aime(year: int, data: str | None) -> list[Sample]:
    """Year 0: a local file holding both years (each row's ``year`` field decides)."""
    path, split = AIME_SOURCES.get(year, AIME_SOURCES[2024])
    return load_dataset(data=data, hf_path=path, split=split, record_to_sample=aime_record_to_sample(year))


def math_task(samples: list[Sample], name: str, solver: str, solver_args: dict[str, Any], epochs: int = MEAN_AT) -> Task:
    return harness_task(
        dataset=samples,
        name=name,
        scorer=math_answer(),
        template=MATH_PROMPT,
        solver=solver,
        solver_args=solver_args,
        epochs=epochs,
        config=MATH_CONFIG,
    )


@task
def aime2024(data: str | None = None, solver: str = "direct", **solver_args: Any) -> Task:
    """AIME 2024 (30 problems). ``-T data=PATH`` reads a local copy in the HF schema."""
    return math_task(load_aime(2024, data), "aime2024", solver, solver_args)


@task
def aime2025(data: str | None = None, solver: str = "direct", **solver_args: Any) -> Task:
    """AIME 2025 (30 problems). ``-T data=PATH`` reads a local copy in the HF schema."""
    return math_task(load_aime(2025, data), "aime2025", solver, solver_args)


@task
def aime(
    data: str | None = None,
    data2024: str | None = None,
    data2025: str | None = None,
    solver: str = "direct",
    **solver_args: Any,
) -> Task:
    """AIME 2024 + 2025 (60 problems); ``metadata.year`` splits the results per year.

    Local data: ``-T data2024=... -T data2025=...`` (one file per year), or ``-T data=``
    with one file holding both years (rows told apart by their ``year`` field).
    """
    if data is not None:
        samples = [s for s in load_aime(0, data) if s.metadata and s.metadata["year"] in (2024, 2025)]
    else:
        samples = load_aime(2024, data2024) + load_aime(2025, data2025)
    return math_task(samples, "aime", solver, solver_args)
