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
annotator), see scorers/alpacaeval.py. Ties count 0.5 in ``win_rate``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inspect_ai import Task, task
from inspect_ai.dataset import Sample
from inspect_ai.model import GenerateConfig
from inspect_ai.scorer._reducer import create_reducers

from harness.alpaca_metrics import read_json_records
from harness.datasets import DataUnavailable, load_dataset
from harness.task import harness_task
from scorers.alpacaeval import DEFAULT_JUDGE, JUDGE_PROMPT, SWAP_SEED, alpaca_judge

PROMPT = "{prompt}"
"""The instruction is the whole user message (as AlpacaEval generates model outputs)."""

HF_PATH = "tatsu-lab/alpaca_eval"
HF_CONFIG = "alpaca_eval_gpt4_baseline"
HF_SPLIT = "eval"


def load_alpacaeval(data: str | None) -> list[Sample]:
    """The 805 instructions (with the official reference outputs in metadata when present)."""
    counter = iter(range(10**9))

    def to_sample(record: dict[str, Any]) -> Sample:
        index = next(counter)
        output = record.get("output")
        return Sample(
            id=index,
            input=str(record["instruction"]),
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
    if not found:
        raise DataUnavailable(
            f"-T reference={reference}: none of its {len(outputs)} outputs matches an instruction of the data."
        )
    return samples


@task
def alpacaeval(
    data: str | None = None,
    reference: str | None = None,
    judge_prompt: str | None = None,
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
      judge_prompt: file holding the judge's user-message template (``{instruction}``,
        ``{output_1}``, ``{output_2}``; literal braces doubled).
      seed: seed of the per-instruction order randomisation (AlpacaEval: 0).
      instruction_difficulty: per-instruction difficulty file, enables ``length_controlled_winrate``.
      gamed_baselines: ``df_gamed.csv``, makes the LC fit the official regularised one.
      lc_without_difficulty: report an LC win rate from the minimal GLM when no difficulty file is given.
    """
    samples = load_alpacaeval(data)
    if reference is not None:
        samples = with_reference(samples, reference)
    elif not any((s.metadata or {}).get("reference_output") is not None for s in samples):
        raise DataUnavailable("The data has no reference outputs ('output' field): pass -T reference=FILE_OR_LOG.")
    prompt = Path(judge_prompt).expanduser().read_text(encoding="utf-8") if judge_prompt else JUDGE_PROMPT
    return harness_task(
        dataset=samples,
        name="alpacaeval",
        scorer=alpaca_judge(
            judge_prompt=prompt,
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
        config=GenerateConfig(),
        reducers=create_reducers(["mean"]),
        metadata={"reference": reference or f"{HF_PATH}:{HF_CONFIG} output", "judge_role": "grader"},
    )
