"""AlpacaEval 2.0: 805 instructions, pairwise-judged against a reference model's outputs.

Data: ``tatsu-lab/alpaca_eval`` (config ``alpaca_eval_gpt4_baseline``, split ``eval``), or a
local copy with ``-T data=PATH`` (JSON/JSONL rows with ``instruction``, ``dataset`` and
optionally ``output`` / ``generator``: the reference outputs). Sample ids are the row
positions 0..804 (AlpacaEval's order, which the length-controlled fit relies on); the
subset (``dataset``: helpful_base, koala, oasst, selfinstruct, vicuna) is kept in metadata.

Reference side (``-T reference=``):
* unset: the ``output`` field of the data (the official gpt4_turbo = gpt4_1106_preview
  reference outputs);
* a model-outputs file (AlpacaEval ``model_outputs.json`` format: ``instruction``,
  ``output``, ``generator``; JSON/JSONL, optionally .gz), matched by instruction text;
* an inspect log (``.eval`` or ``.json``) of a run of this task (or any task whose sample
  input is the instruction), e.g. the base model's: its completions become the reference.
  This is the Language Self-Play setting ("against a copy of the base model").

Judge: the ``grader`` model role (default ``openai/gpt-4-1106-preview``, AlpacaEval 2.0's
annotator) with AlpacaEval's own prompt file (``-T judge_prompt=`` takes any AlpacaEval prompt
file as-is), see scorers/alpacaeval.py. A judged draw counts 0.5 in ``win_rate``; identical
outputs count 0.5 without a judge call (``-T ties=half``, AlpacaEval's rule) or are judged
(``-T ties=judge``).

The sample's target is its reference output (what the answer is compared with), also kept
as ``metadata.reference_output``. Generation: ``max_tokens`` 4096 (AlpacaEval's model
configs, e.g. its gpt4_1106_preview reference outputs and the Llama-3 models, use 4096),
other settings the provider's.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from inspect_ai import Task, task
from inspect_ai._util.error import PrerequisiteError
from inspect_ai.dataset import Sample
from inspect_ai.model import GenerateConfig
from inspect_ai.scorer._reducer import create_reducers

from harness.benchmarks.alpaca_metrics import read_json_records
from harness.datasets import DataUnavailable, load_dataset
from harness.task import harness_task
from scorers.alpacaeval import DEFAULT_JUDGE, JUDGE_TEMPLATE, SWAP_SEED, TIES, alpaca_judge, parse_judge_template

PROMPT = "{prompt}"
"""The instruction is the whole user message (as AlpacaEval generates model outputs)."""

HF_PATH = "tatsu-lab/alpaca_eval"
HF_CONFIG = "alpaca_eval_gpt4_baseline"
HF_SPLIT = "eval"

ALPACA_CONFIG = GenerateConfig(max_tokens=4096)
"""The evaluated model's generation settings: AlpacaEval's model configs' ``max_tokens``."""

JUDGE_TEMPLATE_NAME = "alpaca_eval_clf_gpt4_turbo (AlpacaEval 2.0, verbatim)"
"""How the default judge prompt is recorded in the task metadata."""


def load_alpacaeval(data: str | None) -> list[Sample]:
    """The 805 instructions (with the official reference outputs in metadata when present)."""
    counter = iter(range(10**9))

    def to_sample(record: dict[str, Any]) -> Sample:
        index = next(counter)
        output = record.get("output")
        return Sample(
            id=index,
            input=str(record["instruction"]),
            target=str(output) if output is not None else "",
            metadata={
                "index": index,
                "dataset": record.get("dataset"),
                "reference_output": str(output) if output is not None else None,
                "reference_generator": record.get("generator"),
            },
        )

    return load_dataset(data=data, hf_path=HF_PATH, name=HF_CONFIG, split=HF_SPLIT, record_to_sample=to_sample)


def read_reference(path: str) -> tuple[dict[str, str], str | None]:
    """instruction -> reference output, and the reference generator, from a file or an inspect log."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise DataUnavailable(f"Reference file not found: {p} (given with -T reference=).")
    if p.suffix == ".eval" or (p.suffix == ".json" and _looks_like_log(p)):
        from inspect_ai.log import read_eval_log

        log = read_eval_log(str(p))
        outputs: dict[str, str] = {}
        for s in log.samples or []:
            if s.epoch != 1 or s.output is None or s.error:
                continue
            text = s.input if isinstance(s.input, str) else _first_user_text(s.input)
            if text is not None:
                outputs.setdefault(text, s.output.completion)
        return outputs, log.eval.model
    try:
        records = read_json_records(p)
    except (OSError, ValueError) as ex:
        raise DataUnavailable(f"Could not read reference outputs {p}: {ex}") from ex
    gens = {r.get("generator") for r in records if r.get("generator")}
    return {str(r["instruction"]): str(r["output"]) for r in records if "instruction" in r and "output" in r}, (
        str(gens.pop()) if len(gens) == 1 else None
    )


def _looks_like_log(p: Path) -> bool:
    with p.open("rb") as fh:
        head = fh.read(2048).lstrip()
    return head.startswith(b"{") and b'"eval"' in head


def _first_user_text(messages: Any) -> str | None:
    for m in messages:
        if getattr(m, "role", None) == "user":
            return m.text
    return None


def with_reference(samples: list[Sample], reference: str) -> list[Sample]:
    outputs, generator = read_reference(reference)
    found = 0
    for s in samples:
        out = outputs.get(str(s.input))
        found += out is not None
        s.metadata = {**(s.metadata or {}), "reference_output": out, "reference_generator": generator or reference}
        s.target = out if out is not None else ""
    if not found:
        raise DataUnavailable(
            f"-T reference={reference}: none of its {len(outputs)} outputs matches an instruction of the data."
        )
    return samples


def judge_prompt_arg(path: str | None) -> tuple[str, str]:
    """(prompt text, label) of ``-T judge_prompt=``: the file as-is, or the official default."""
    if path is None:
        return JUDGE_TEMPLATE, JUDGE_TEMPLATE_NAME
    p = Path(path).expanduser()
    try:
        text = p.read_text(encoding="utf-8")
        parse_judge_template(text)
    except OSError as ex:
        raise PrerequisiteError(f"-T judge_prompt={path}: cannot be read ({ex.strerror or ex}).") from None
    except ValueError as ex:
        raise PrerequisiteError(f"-T judge_prompt={path}: {ex}.") from None
    return text, str(p)


@task
def alpacaeval(
    data: str | None = None,
    reference: str | None = None,
    judge_prompt: str | None = None,
    ties: str = "half",
    seed: int = SWAP_SEED,
    instruction_difficulty: str | None = None,
    gamed_baselines: str | None = None,
    lc_without_difficulty: bool = False,
    solver: str = "direct",
    **solver_args: Any,
) -> Task:
    """AlpacaEval 2.0 pairwise win rate against a configurable reference.

    Args:
      data: local copy of the eval set (default: the HF hub).
      reference: reference outputs (model-outputs file or inspect log); default the data's ``output``.
      judge_prompt: an AlpacaEval judge prompt file, read as-is (chat-ML blocks, single-brace
        ``{instruction}``, ``{output_1}``, ``{output_2}``); default AlpacaEval 2.0's own.
      ties: ``half`` (identical outputs count 0.5, no judge call: AlpacaEval) or ``judge``.
      seed: seed of the per-instruction order randomisation (AlpacaEval: 0).
      instruction_difficulty: per-instruction difficulty file, enables ``length_controlled_winrate``.
      gamed_baselines: ``df_gamed.csv``, makes the LC fit the official regularised one.
      lc_without_difficulty: report an LC win rate from the minimal GLM when no difficulty file is given.
    """
    if ties not in TIES:
        raise PrerequisiteError(f"alpacaeval: -T ties must be one of {', '.join(TIES)}, not {ties!r}.")
    prompt, prompt_label = judge_prompt_arg(judge_prompt)
    samples = load_alpacaeval(data)
    if reference is not None:
        samples = with_reference(samples, reference)
    elif not any((s.metadata or {}).get("reference_output") is not None for s in samples):
        raise DataUnavailable("The data has no reference outputs ('output' field): pass -T reference=FILE_OR_LOG.")
    return harness_task(
        dataset=samples,
        name="alpacaeval",
        scorer=alpaca_judge(
            judge_prompt=prompt,
            ties=ties,
            seed=seed,
            instruction_difficulty=instruction_difficulty,
            gamed_baselines=gamed_baselines,
            lc_without_difficulty=lc_without_difficulty,
        ),
        template=PROMPT,
        solver=solver,
        solver_args=solver_args,
        judges={"grader": DEFAULT_JUDGE},
        epochs=1,
        config=ALPACA_CONFIG,
        reducers=create_reducers(["mean"]),
        metadata={
            "reference": reference or f"{HF_PATH}:{HF_CONFIG} output",
            "judge_role": "grader",
            "ties": ties,
            "judge_prompt": prompt_label,
            "judge_prompt_sha256": hashlib.sha256(prompt.encode("utf-8")).hexdigest(),
        },
    )
