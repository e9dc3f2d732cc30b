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

Formats (``-T format=``):

- ``native`` (default): each sample's tools (the xLAM ``tools`` field) are declared to
  the model as function definitions (inspect tools whose JSON Schema is built by
  :func:`harness.benchmarks.apigen.declare_tools`) and the user turn is the query. The model answers
  with native tool calls, as function-calling models are deployed. The calls are never
  executed: the solvers stop after the model's turn (``tool_calls="none"``) and the
  scorer reads the calls of the final turn.
- ``text``: the xLAM/R3 prompt: the tools are listed in the user turn (JSON, one per
  line) and the model writes a JSON list of ``{"name", "arguments"}`` objects (see
  APIGEN_PROMPT). Works with base models and servers without tool calling.

In both formats the scorer takes native calls if the final turn has any, else the text.

Scoring: scorers/apigen.py (``-T match=exact``, the paper's rule, ``lenient``, type
aware, or ``bfcl``, the Berkeley Function Calling Leaderboard's AST checker); rules in
harness/benchmarks/apigen.py. One epoch, temperature 0 (the paper does not state its sampling
settings; ``--temperature``/``--epochs`` override).

Sample ids are ``xlam-<id>``; ``metadata.oracle_answer`` holds the gold calls as JSON and
``metadata.oracle_tool_calls`` the same calls under their declared names, so the test
double's oracle mode (testdouble/oracle) answers correctly in both formats.
``metadata.tool_warnings`` lists what :func:`harness.benchmarks.apigen.declare_tools` skipped or
renamed in a malformed or unusual tool spec.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from inspect_ai import Task, task, task_with
from inspect_ai._util.error import PrerequisiteError
from inspect_ai.dataset import Sample
from inspect_ai.model import GenerateConfig
from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.tool import Tool, ToolDef, ToolParams

from harness.benchmarks.apigen import MATCH_MODES, ToolSchema, calls_from_json, declare_tools
from harness.datasets import load_dataset
from harness.task import harness_task
from scorers.apigen import apigen_match

TOOLS_PROMPT = """You can use the following tools. Each line is one tool in JSON: its name, description and parameters (type, description and default of each parameter).

{tools}

User query: {query}"""
"""The sample input: the tools and the query (``{tools}``, ``{query}`` filled per sample)."""

APIGEN_PROMPT = """{prompt}

Answer with the tool calls that fulfil the user query, written as a JSON list of objects of the form {{"name": "<tool name>", "arguments": {{"<parameter>": <value>, ...}}}}. Use several calls if the query needs several. Write only the JSON list."""
"""``-T format=text`` user prompt template (``{prompt}`` is the sample input above; literal
braces doubled)."""

NATIVE_PROMPT = """{prompt}

Answer by calling the tools that fulfil this request, with the arguments it gives. Make several calls if it needs several."""
"""``-T format=native`` user prompt template (``{prompt}`` is the query; the tools are
declared to the model as functions)."""

NOT_EXECUTED = "Not executed: this evaluation records tool calls without running them."
"""What a declared tool returns if a solver ever executes it (the task's solvers do not)."""

FORMATS = ("native", "text")

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


def record_to_sample(record: dict[str, Any], format: str = "native") -> Sample:
    """One xLAM row -> a sample whose target is the gold calls as a JSON list."""
    tools = _json_field(record, "tools")
    answers = _json_field(record, "answers")
    if not isinstance(tools, list):
        raise ValueError("'tools' is not a JSON list")
    gold_calls = calls_from_json(answers)  # validates the shape
    gold = [c.to_json() for c in gold_calls]
    gold_json = json.dumps(gold, ensure_ascii=False)
    declared = declare_tools(tools)
    xlam_id = record["id"]
    query = str(record["query"])
    if format == "native":
        sample_input = query
    else:
        sample_input = TOOLS_PROMPT.format(
            tools="\n".join(json.dumps(t, ensure_ascii=False) for t in tools), query=query
        )
    metadata: dict[str, Any] = {
        "xlam_id": xlam_id,
        "query": query,
        "tools": tools,
        "n_calls": len(gold),
        "oracle_answer": gold_json,
        "oracle_tool_calls": [
            {"function": declared.declared_name(c.name), "arguments": c.arguments} for c in gold_calls
        ],
    }
    if declared.warnings:
        metadata["tool_warnings"] = list(declared.warnings)
    return Sample(id=f"xlam-{xlam_id}", input=sample_input, target=gold_json, metadata=metadata)


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


def load_apigen(data: str | None, split: str, split_size: int, seed: int, format: str = "native") -> list[Sample]:
    samples = load_dataset(
        data=data,
        hf_path=XLAM_HF_PATH,
        split="train",
        record_to_sample=lambda record: record_to_sample(record, format),
    )
    selected = select_split(samples, split, split_size, seed)
    if not selected:
        raise PrerequisiteError(
            f"apigen: split '{split}' is empty ({len(samples)} rows, split_size={split_size})."
        )
    return selected


def _tool(schema: ToolSchema) -> Tool:
    async def not_executed(**arguments: Any) -> str:
        return NOT_EXECUTED

    return ToolDef(
        not_executed,
        name=schema.name,
        description=schema.description,
        parameters=ToolParams.model_validate(schema.parameters),
    ).as_tool()


@solver
def offer_xlam_tools() -> Solver:
    """Declare the sample's xLAM tools to the model as functions (they are never run)."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        declared = declare_tools((state.metadata or {}).get("tools"))
        state.tools = [_tool(t) for t in declared.tools]
        state.tool_choice = "auto"
        return state

    return solve


@task
def apigen(
    data: str | None = None,
    split: str = "test",
    split_size: int = DEFAULT_SPLIT_SIZE,
    seed: int = DEFAULT_SEED,
    match: str = "exact",
    format: str = "native",
    solver: str = "direct",
    **solver_args: Any,
) -> Task:
    """APIGen/xLAM function calling; ``-T format=native|text``, ``-T match=exact|lenient|bfcl``,
    ``-T split=test|train|all``."""
    if match not in MATCH_MODES:
        raise PrerequisiteError(f"apigen: -T match must be one of {', '.join(MATCH_MODES)}, not {match!r}.")
    if format not in FORMATS:
        raise PrerequisiteError(f"apigen: -T format must be one of {', '.join(FORMATS)}, not {format!r}.")
    samples = load_apigen(data, split, int(split_size), int(seed), format)
    built = harness_task(
        dataset=samples,
        name="apigen",
        scorer=apigen_match(match),  # type: ignore[arg-type]
        template=NATIVE_PROMPT if format == "native" else APIGEN_PROMPT,
        solver=solver,
        solver_args=solver_args,
        epochs=1,
        config=APIGEN_CONFIG,
        metadata={
            "match": match,
            "format": format,
            "split": split,
            "split_size": int(split_size),
            "seed": int(seed),
        },
    )
    # setup runs before any solver (also one given with --solver): the tools are offered
    return task_with(built, setup=offer_xlam_tools()) if format == "native" else built
