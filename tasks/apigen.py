"""APIGen function calling (Reflect, Retry, Reward's function-calling benchmark).

Data: Salesforce/xlam-function-calling-60k (split ``train``, 60,000 rows; gated on the
hub, so ``-T data=PATH`` with a local copy is the usual route). Fields: ``id`` (int),
``query`` (str), ``tools`` (JSON string: list of ``{name, description, parameters}``,
``parameters`` a flat ``{param: {description, type, default}}``) and ``answers`` (JSON
string: list of ``{name, arguments}``).

Split: the paper evaluated on 12,000 held-out samples without publishing the split. This
task fixes its own: rows are ordered by ``sha256(f"{seed}:{id}")`` and the first
``split_size`` (default 12,000, seed 42) form ``split=test``; the rest is ``split=train``
(``split=all`` keeps every row). A row's rank depends only on (seed, id), not on the
file's row order. With fewer rows than ``split_size`` the test split is every row.

Tools are given in the prompt (JSON, one tool per line) and the model answers with a JSON
list of ``{"name", "arguments"}`` objects (see APIGEN_PROMPT), not through native tool
definitions: that is the xLAM/R3 setting (the dataset's schema is not JSON Schema, and
the models evaluated were prompted, not API function calling), it works with every
provider and with base models, and it keeps reflect-retry's same-conversation retry a
plain chat (native calls would need fabricated tool results). The scorer still accepts
native tool calls if a solver or model produces them.

Scoring: scorers/apigen.py (``-T match=exact``, the paper's rule, or ``lenient``, type
aware); rules in harness/apigen.py. One epoch, temperature 0 (the paper does not state its
sampling settings; ``--temperature``/``--epochs`` override).

Sample ids are ``xlam-<id>``; ``metadata.oracle_answer`` holds the gold calls as JSON so
the test double's oracle mode (testdouble/oracle) answers correctly.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from inspect_ai import Task, task
from inspect_ai._util.error import PrerequisiteError
from inspect_ai.dataset import Sample
from inspect_ai.model import GenerateConfig

from harness.apigen import MATCH_MODES, calls_from_json
from harness.datasets import load_dataset
from harness.task import harness_task
from scorers.apigen import apigen_match

TOOLS_PROMPT = """You can use the following tools. Each line is one tool in JSON: its name, description and parameters (type, description and default of each parameter).

{tools}

User query: {query}"""
"""The sample input: the tools and the query (``{tools}``, ``{query}`` filled per sample)."""

APIGEN_PROMPT = """{prompt}

Answer with the tool calls that fulfil the user query, written as a JSON list of objects of the form {{"name": "<tool name>", "arguments": {{"<parameter>": <value>, ...}}}}. Use several calls if the query needs several. Write only the JSON list."""
"""User prompt template (``{prompt}`` is the sample input above; literal braces doubled)."""

XLAM_HF_PATH = "Salesforce/xlam-function-calling-60k"
DEFAULT_SPLIT_SIZE = 12_000
"""Test rows (the paper's test split size)."""
DEFAULT_SEED = 42
SPLITS = ("test", "train", "all")
APIGEN_CONFIG = GenerateConfig(temperature=0.0, max_tokens=4096)  # no reference value: room for a reasoning model's calls


def _json_field(record: dict[str, Any], key: str) -> Any:
    value = record[key]
    if hasattr(value, "tolist") and not isinstance(value, str):
        value = value.tolist()  # parquet copies may hold decoded arrays
    return json.loads(value) if isinstance(value, str) else value


def record_to_sample(record: dict[str, Any]) -> Sample:
    """One xLAM row -> a sample whose target is the gold calls as a JSON list."""
    tools = _json_field(record, "tools")
    answers = _json_field(record, "answers")
    if not isinstance(tools, list):
        raise ValueError("'tools' is not a JSON list")
    gold = [c.to_json() for c in calls_from_json(answers)]  # validates the shape
    gold_json = json.dumps(gold, ensure_ascii=False)
    xlam_id = record["id"]
    return Sample(
        id=f"xlam-{xlam_id}",
        input=TOOLS_PROMPT.format(
            tools="\n".join(json.dumps(t, ensure_ascii=False) for t in tools),
            query=str(record["query"]),
        ),
        target=gold_json,
        metadata={
            "xlam_id": xlam_id,
            "query": str(record["query"]),
            "tools": tools,
            "n_calls": len(gold),
            "oracle_answer": gold_json,
        },
    )


def split_rank(xlam_id: Any, seed: int) -> str:
    """Sort key of a row in the seeded split (depends only on seed and id)."""
    return hashlib.sha256(f"{seed}:{xlam_id}".encode()).hexdigest()


def select_split(samples: list[Sample], split: str, split_size: int, seed: int) -> list[Sample]:
    """The ``split_size`` rows of lowest rank are ``test``, the others ``train``."""
    if split not in SPLITS:
        raise PrerequisiteError(f"apigen: -T split must be one of {', '.join(SPLITS)}, not {split!r}.")
    if split_size < 0:
        raise PrerequisiteError("apigen: -T split_size must be >= 0.")
    if split == "all":
        return samples
    ranked = sorted(samples, key=lambda s: split_rank((s.metadata or {})["xlam_id"], seed))
    return ranked[:split_size] if split == "test" else ranked[split_size:]


def load_apigen(data: str | None, split: str, split_size: int, seed: int) -> list[Sample]:
    samples = load_dataset(data=data, hf_path=XLAM_HF_PATH, split="train", record_to_sample=record_to_sample)
    selected = select_split(samples, split, split_size, seed)
    if not selected:
        raise PrerequisiteError(
            f"apigen: split '{split}' is empty ({len(samples)} rows, split_size={split_size})."
        )
    return selected


@task
def apigen(
    data: str | None = None,
    split: str = "test",
    split_size: int = DEFAULT_SPLIT_SIZE,
    seed: int = DEFAULT_SEED,
    match: str = "exact",
    solver: str = "direct",
    **solver_args: Any,
) -> Task:
    """APIGen/xLAM function calling; ``-T match=exact|lenient``, ``-T split=test|train|all``."""
    if match not in MATCH_MODES:
        raise PrerequisiteError(f"apigen: -T match must be one of {', '.join(MATCH_MODES)}, not {match!r}.")
    samples = load_apigen(data, split, int(split_size), int(seed))
    return harness_task(
        dataset=samples,
        name="apigen",
        scorer=apigen_match(match),  # type: ignore[arg-type]
        template=APIGEN_PROMPT,
        solver=solver,
        solver_args=solver_args,
        epochs=1,
        config=APIGEN_CONFIG,
        metadata={"match": match, "split": split, "split_size": int(split_size), "seed": int(seed)},
    )
