"""AFM-100: Training-Free GRPO's web training set.

Data: PersonalAILab/AFM-WebAgent-RL-Dataset (split ``train``; Chain-of-Agents / AFM web RL
data), or a local copy in its schema with ``-T data=PATH``: ``extra_info.question``,
``extra_info.answer`` (a list of accepted answers), ``extra_info.index``
(``<source>-<uuid>``), ``data_source``, ``prompt``, ``reward_model.ground_truth``.

Selection, pinned to Training-Free GRPO's paper code ([TFG] ``load_AFM_web_RL`` +
``sampling_AFM_web_RL``): rows whose answer list has more than one element are skipped;
question = ``extra_info.question``, gold = ``extra_info.answer[0]``; then pandas
``DataFrame.sample(n=100, random_state=42)``. (youtu-agent's later script shuffles with
``random.Random(42)`` instead and selects different rows.) ``-T n=`` / ``-T seed=`` change
the draw.

Sample ids: ``extra_info.index`` when present, else ``afm-<row number>``. Metadata:
``data_source``, ``row`` (1-based row in the file, as [TFG]'s ``source_id``).

The rows have no website, so the default setting is ``search`` (question only); the
scorer is the same quiz judge as WebWalkerQA (``scorers/web_judge.py``), without cells.
Defaults: 3 epochs (youtu-agent's ``grpo_n: 3``) reduced with ``mean`` and ``pass_at_3``.
"""

from __future__ import annotations

from typing import Any

from inspect_ai import Task, task
from inspect_ai.dataset import Sample

from harness.datasets import DataUnavailable, load_dataset
from tasks.webwalkerqa import web_task

HF_PATH = "PersonalAILab/AFM-WebAgent-RL-Dataset"


def _answers(extra: dict[str, Any]) -> list[str]:
    answer = extra["answer"]
    if hasattr(answer, "tolist") and not isinstance(answer, str):  # numpy array from parquet
        answer = answer.tolist()
    if isinstance(answer, str):
        return [answer]
    return [str(a) for a in answer]


def afm_record_to_sample():
    row = 0

    def to_sample(record: dict[str, Any]) -> Sample | list[Sample]:
        nonlocal row
        row += 1
        extra = record["extra_info"]
        answers = _answers(extra)
        if len(answers) != 1:
            return []
        question = str(extra["question"]).strip()
        index = extra.get("index")
        sample_id = str(index) if index else f"afm-{row}"
        return Sample(
            id=sample_id,
            input=question,
            target=answers[0].strip(),
            metadata={"data_source": record.get("data_source"), "row": row},
        )

    return to_sample


def load_afm(data: str | None, n: int = 100, seed: int = 42) -> list[Sample]:
    import pandas as pd

    samples = load_dataset(data=data, hf_path=HF_PATH, split="train", record_to_sample=afm_record_to_sample())
    if n > len(samples):
        raise DataUnavailable(f"-T n={n}: the data has only {len(samples)} single-answer rows.")
    order = pd.DataFrame({"i": range(len(samples))}).sample(n=n, random_state=seed)["i"].tolist()
    return [samples[i] for i in order]


@task
def afm100(
    data: str | None = None,
    n: int = 100,
    seed: int = 42,
    setting: str = "search",
    solver: str | None = None,
    judge_parsing: str = "lenient",
    judge_prompt: str | None = None,
    **solver_args: Any,
) -> Task:
    """AFM-100 (Training-Free GRPO's web training set), question-only ``search`` setting;
    ``-T judge_prompt=FILE`` as for WebWalkerQA."""
    agent = solver_args.get("base_solver", setting) if solver == "tfgrpo" else (solver or setting)
    if agent in ("walker", "walker_react", "webwalker"):
        raise DataUnavailable(f"afm100 rows have no root_url, so the {agent} agent cannot run; use -T setting=search.")
    samples = load_afm(data, n, seed)
    return web_task(
        samples,
        "afm100",
        setting,
        solver,
        solver_args,
        judge_parsing,
        cells=False,
        metadata={"n": n, "seed": seed, "subset_definition": "TFG sampling_AFM_web_RL"},
        judge_prompt=judge_prompt,
    )
