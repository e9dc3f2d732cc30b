"""WebWalkerQA: answering questions from real websites (WebWalker; Training-Free GRPO's web eval).

Data: callanwu/WebWalkerQA, split ``main`` (680 questions) or ``silver`` (about 14k, not
human-verified), or a local copy with ``-T data=PATH``. Keys as the code upstream reads
them: ``question``, ``answer``, ``root_url``, ``info.{type, difficulty_level, domain,
lang}``; AFM's copy (``info.Level`` instead of ``difficulty_level``) and the README's
capitalised keys (``Question``, ``Answer``, ``Root_Url``, ``Info.Difficulty_Level``...) are
read too. Every sample carries metadata ``type``, ``difficulty``, ``domain``, ``lang``,
``root_url``, ``cell`` (``<type>/<difficulty>``), ``golden_path``, ``source_website``.
Sample ids: ``ww-<12 hex of sha1(question)>`` (a repeated question gets ``-2``, ``-3``...).

``-T subset=51``: Training-Free GRPO's stratified subset ([TFG] ``sampling_WebWalkerQA``):
per difficulty, pandas ``DataFrame.sample(n, random_state=seed)`` in file order, with
easy:medium:hard = 4:7:6 (12/21/18 for 51; ``subset`` must be a multiple of 17),
concatenated easy, medium, hard. (youtu-agent's later script draws a different 51.)

Agent setting ``-T setting=``: ``webwalker`` (default; the WebWalker agent, explorer +
critic, root URL + click), ``walker_react`` (the WebWalker paper's ReAct baseline, root URL
+ click; ``walker`` is its old name) or ``search`` (Training-Free GRPO's agent: question
only, search + page QA): see ``solvers/web.py``. ``-T solver=direct`` runs closed-book.
The setting and what it is are recorded in the task metadata (``setting``,
``setting_description``); results of different settings are not comparable.

Defaults: 3 epochs reduced with ``mean`` (pass@1 as the paper reports it: the mean over
3 rollouts) and ``pass_at_3``; temperature 0.3, top_p 0.95 (youtu-agent's web agent) in
the search setting, top_p 0.8 in the WebWalker settings (WebWalker's demo).
Scorer: ``web_judge`` (``scorers/web_judge.py``), accuracy per type x difficulty cell.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any, Callable

from inspect_ai import Task, task
from inspect_ai._util.error import PrerequisiteError
from inspect_ai.dataset import Sample
from inspect_ai.model import GenerateConfig

from harness.datasets import DataUnavailable, load_dataset
from harness.task import harness_task, paper_reducers
from scorers.web_judge import DEFAULT_GRADER, JUDGE_TEMPLATE, cell_of, read_judge_prompt, web_judge
from solvers.web import SETTING_ALIASES
from solvers.web import SETTINGS as SETTING_DESCRIPTIONS

HF_PATH = "callanwu/WebWalkerQA"
SPLITS = ("main", "silver")

QUESTION_PROMPT = "{prompt}"
"""User prompt: the question itself (each setting's solver adds its own framing)."""

MAX_TOKENS = 16384
"""Tokens per agent call: Training-Free GRPO's ``rollout_max_tokens`` (WebWalker states none)."""

WEB_CONFIG = GenerateConfig(temperature=0.3, top_p=0.95, max_tokens=MAX_TOKENS)
"""Agent sampling settings (youtu-agent's web agent config)."""

WALKER_CONFIG = GenerateConfig(top_p=0.8, max_tokens=MAX_TOKENS)
"""Sampling settings of the WebWalker settings (WebWalker's demo: ``top_p`` 0.8, the
provider's default temperature)."""

EPOCHS = 3
"""Rollouts per question: pass@1 (mean) and pass@3."""

SETTINGS = tuple(SETTING_DESCRIPTIONS)
"""``webwalker``, ``walker_react``, ``search`` (``walker`` is accepted for ``walker_react``)."""

DIFFICULTY_RATIO = {"easy": 4, "medium": 7, "hard": 6}
"""Training-Free GRPO's stratification of the subset (the main split's own 4:7:6 mix)."""


def _get(d: dict[str, Any], *keys: str) -> Any:
    for k in keys:
        if k in d and d[k] is not None:
            return d[k]
    return None


def record_to_sample(record: dict[str, Any]) -> Sample:
    question = _get(record, "question", "Question")
    answer = _get(record, "answer", "Answer")
    if question is None or answer is None:
        raise KeyError("question/answer")
    info = _get(record, "info", "Info") or {}
    if isinstance(info, str):
        info = json.loads(info)
    type_ = _get(info, "type", "Type")
    difficulty = _get(info, "difficulty_level", "Difficulty_Level", "Level", "level")
    question = str(question).strip()
    return Sample(
        id="ww-" + hashlib.sha1(question.encode("utf-8")).hexdigest()[:12],
        input=question,
        target=str(answer).strip(),
        metadata={
            "type": type_,
            "difficulty": difficulty,
            "domain": _get(info, "domain", "Domain"),
            "lang": _get(info, "lang", "Language", "language"),
            "root_url": _get(record, "root_url", "Root_Url"),
            "cell": cell_of(type_, difficulty),
            "golden_path": list(_get(info, "golden_path", "Golden_Path") or []),
            "source_website": list(_get(info, "source_website", "Source_Website") or []),
        },
    )


def with_unique_ids(to_sample: Callable[[dict[str, Any]], Sample]) -> Callable[[dict[str, Any]], Sample]:
    """Repeated questions keep every record: the 2nd copy gets id ``<id>-2``, and so on."""
    seen: Counter[str] = Counter()

    def convert(record: dict[str, Any]) -> Sample:
        sample = to_sample(record)
        seen[str(sample.id)] += 1
        if seen[str(sample.id)] > 1:
            sample.id = f"{sample.id}-{seen[str(sample.id)]}"
        return sample

    return convert


def stratified_subset(samples: list[Sample], n: int, seed: int = 42) -> list[Sample]:
    """Training-Free GRPO's per-difficulty draw (see module docstring)."""
    import pandas as pd

    total = sum(DIFFICULTY_RATIO.values())
    if n <= 0 or n % total:
        raise DataUnavailable(f"-T subset={n}: must be a positive multiple of {total} (easy:medium:hard = 4:7:6).")
    levels = pd.DataFrame({"level": [(s.metadata or {}).get("difficulty") for s in samples]})
    chosen: list[int] = []
    for level, ratio in DIFFICULTY_RATIO.items():
        pool = levels[levels["level"] == level]
        k = n * ratio // total
        if len(pool) < k:
            raise DataUnavailable(f"-T subset={n}: needs {k} '{level}' questions, the data has {len(pool)}.")
        chosen.extend(pool.sample(n=k, random_state=seed).index.tolist())
    return [samples[i] for i in chosen]


def load_webwalkerqa(data: str | None, split: str = "main", subset: int | None = None, seed: int = 42) -> list[Sample]:
    if split not in SPLITS:
        raise DataUnavailable(f"-T split={split}: WebWalkerQA has splits {', '.join(SPLITS)}.")
    samples = load_dataset(data=data, hf_path=HF_PATH, split=split, record_to_sample=with_unique_ids(record_to_sample))
    return stratified_subset(samples, subset, seed) if subset else samples


def judge_prompt_arg(path: str | None) -> tuple[str, str]:
    """(judge prompt, label) of ``-T judge_prompt=``: the file's template, or the harness's default."""
    if path is None:
        return JUDGE_TEMPLATE, "default (scorers/web_judge.py)"
    try:
        return read_judge_prompt(path), str(Path(path).expanduser())
    except OSError as ex:
        raise PrerequisiteError(f"-T judge_prompt={path}: cannot be read ({ex.strerror or ex}).") from None
    except ValueError as ex:
        raise PrerequisiteError(f"-T judge_prompt={path}: {ex}.") from None


def web_task(
    samples: list[Sample],
    name: str,
    setting: str,
    solver: str | None,
    solver_args: dict[str, Any],
    judge_parsing: str,
    cells: bool,
    metadata: dict[str, Any],
    judge_prompt: str | None = None,
) -> Task:
    """A web QA task: the setting's agent (unless ``solver`` is given) and the quiz judge.

    ``-T solver=tfgrpo`` wraps an agent: its ``base_solver`` defaults to the setting's agent
    (not closed-book ``direct``), and the setting recorded is that agent's."""
    template, template_label = judge_prompt_arg(judge_prompt)
    setting = SETTING_ALIASES.get(setting, setting)
    if setting not in SETTINGS:
        raise DataUnavailable(f"-T setting={setting}: choose one of {', '.join(SETTINGS)}.")
    chosen = SETTING_ALIASES.get(solver or setting, solver or setting)
    agent = chosen
    if chosen == "tfgrpo":
        base = str(solver_args.get("base_solver", setting))
        agent = SETTING_ALIASES.get(base, base)
        solver_args = {**solver_args, "base_solver": agent}
    return harness_task(
        dataset=samples,
        name=name,
        scorer=web_judge(parsing=judge_parsing, cells=cells, template=template),
        template=QUESTION_PROMPT,
        solver=chosen,
        solver_args=solver_args,
        epochs=EPOCHS,
        config=WALKER_CONFIG if agent in ("webwalker", "walker_react") else WEB_CONFIG,
        reducers=paper_reducers(EPOCHS, ks=(EPOCHS,)),
        judges={"grader": DEFAULT_GRADER},
        metadata={
            "setting": agent if agent in SETTINGS else f"{agent} (no web)",
            "setting_description": SETTING_DESCRIPTIONS.get(agent, "no web tools"),
            "judge_parsing": judge_parsing,
            "judge_prompt": template_label,
            "judge_prompt_sha256": hashlib.sha256(template.encode("utf-8")).hexdigest(),
            **metadata,
        },
    )


@task
def webwalkerqa(
    data: str | None = None,
    split: str = "main",
    subset: int | None = None,
    seed: int = 42,
    setting: str = "webwalker",
    solver: str | None = None,
    judge_parsing: str = "lenient",
    judge_prompt: str | None = None,
    **solver_args: Any,
) -> Task:
    """WebWalkerQA (680 questions; ``-T subset=51`` for Training-Free GRPO's subset).

    ``-T setting=webwalker|walker_react|search`` picks the agent (``-T solver=`` overrides it),
    ``-T judge_parsing=lenient|strict`` the GRADE parsing, ``-T judge_prompt=FILE`` the judge
    prompt (ours, LangChain's ``cot_qa`` or Training-Free GRPO's, as-is), ``-T split=silver`` the split.
    """
    samples = load_webwalkerqa(data, split, subset, seed)
    return web_task(
        samples,
        "webwalkerqa",
        setting,
        solver,
        solver_args,
        judge_parsing,
        cells=True,
        metadata={"split": split, "subset": subset, "subset_definition": "TFG sampling_WebWalkerQA" if subset else None},
        judge_prompt=judge_prompt,
    )
