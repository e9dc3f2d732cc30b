"""The WebWalkerQA judge: an LLM "grading a quiz" with the gold answer as context.

The prompt paraphrases LangChain's chain-of-thought QA evaluator (``cot_qa``), which the
official WebWalker evaluation and Training-Free GRPO / youtu-agent both use: the judge
sees QUESTION, CONTEXT (the gold answer) and STUDENT ANSWER, reasons, and ends with
``GRADE: CORRECT`` or ``GRADE: INCORRECT``.

**Judge model.** The ``grader`` model role (``--model-role grader=openai/gpt-4o``);
unbound, :data:`DEFAULT_GRADER` (``openai/gpt-4o``), at temperature 0 and seed 42
(:data:`GRADER_CONFIG`; a config given with the role wins). Upstream differ: LangChain's
default is ``gpt-4`` at temperature 0, Training-Free GRPO judges with the policy model
at temperature 0, youtu-agent's eval uses a separate judge at 0.5. Set the role to match
the one you compare with.

**Parsing** (``-T judge_parsing=``):

- ``lenient`` (default; LangChain's rule): ``grade: correct|incorrect`` anywhere, case
  and ``*`` markup ignored; else the first word, else the last word, if it is CORRECT or
  INCORRECT (punctuation ignored). ``GRADE: CORRECT.`` is correct.
- ``strict`` (youtu-agent / Training-Free GRPO's rule): ``**`` removed, the text after
  the first ``GRADE:`` (case-sensitive) up to the next ``Word:`` line must be exactly
  ``CORRECT`` (case-insensitive, surrounding space ignored); anything else after
  ``GRADE:`` is incorrect, so ``GRADE: CORRECT.`` is incorrect.

Output that neither rule can read (no grade at all) is **unscored** (NaN, left out of
metrics and reducers, reason ``unparseable_judge_output``): LangChain's evaluation drops
such records silently and youtu-agent counts them 0; here they stay visible in the log.
An empty prediction is incorrect without asking the judge (reason ``no_answer``).

**Metrics.** ``accuracy`` and ``stderr`` over all samples, plus (``cells=True``) the
paper's cells, ``grouped(accuracy(), "cell")`` over ``metadata.cell`` =
``<type>/<difficulty>`` (e.g. ``single_source/easy``) with ``overall``. With the task's
epochs these appear once per reducer (``mean`` = pass@1, ``pass_at_3``).
"""

from __future__ import annotations

import re
import string

from inspect_ai.model import GenerateConfig, get_model
from inspect_ai.scorer import (
    CORRECT,
    INCORRECT,
    Metric,
    Score,
    Scorer,
    Target,
    accuracy,
    grouped,
    scorer,
    stderr,
)
from inspect_ai.solver import TaskState

JUDGE_TEMPLATE = """\
You are a teacher grading a quiz.
You are given a question, the context the question is about, and a student's answer. \
Decide whether the student's answer is CORRECT or INCORRECT, based on the context.
Reason step by step so that your conclusion is justified; do not state the verdict first.

Grade the student's answer on factual accuracy only. Ignore differences in punctuation \
and wording between the student's answer and the context. The student's answer may \
contain more information than the context as long as it does not contradict it.

Reply in this format:
EXPLANATION: your step-by-step reasoning
GRADE: CORRECT or INCORRECT

QUESTION: {question}
CONTEXT: {answer}
STUDENT ANSWER: {prediction}
EXPLANATION:"""
"""The judge prompt (``{question}``, ``{answer}`` = gold answer, ``{prediction}``)."""

DEFAULT_GRADER = "openai/gpt-4o"
"""Judge model when the ``grader`` role is not bound."""

GRADER_CONFIG = GenerateConfig(temperature=0.0, seed=42)
"""Judge sampling settings (a config bound with the role takes precedence)."""

CELL_KEY = "cell"
"""Sample metadata key holding ``<type>/<difficulty>``."""

MAX_PREDICTION_CHARS = 8_000
"""Characters of the agent's answer shown to the judge."""

MAX_JUDGE_CHARS = 20_000
"""Characters of judge output parsed (its end: the grade comes last)."""

PARSINGS = ("lenient", "strict")

_LENIENT = re.compile(r"grade:\s*(correct|incorrect)", re.IGNORECASE)
_NEXT_FIELD = re.compile(r"\n\s*\w+:")
_EDGE_PUNCT = string.punctuation + string.whitespace


def parse_grade(text: str, parsing: str = "lenient") -> bool | None:
    """True/False for CORRECT/INCORRECT, None if the output holds no grade (see module doc)."""
    if parsing not in PARSINGS:
        raise ValueError(f"judge parsing must be one of {', '.join(PARSINGS)}, not {parsing!r}")
    text = text[-MAX_JUDGE_CHARS:]
    if parsing == "strict":
        text = text.replace("**", "")
        at = text.find("GRADE:")
        if at < 0:
            return None
        rest = text[at + len("GRADE:") :]
        m = _NEXT_FIELD.search(rest)
        grade = (rest[: m.start()] if m else rest).strip().upper()
        return grade == "CORRECT"
    plain = text.replace("*", "")
    m = _LENIENT.search(plain)
    if m:
        return m.group(1).upper() == "CORRECT"
    words = plain.split()
    for word in (words[:1] + words[-1:]) if words else []:
        w = word.strip(_EDGE_PUNCT).upper()
        if w in ("CORRECT", "INCORRECT"):
            return w == "CORRECT"
    return None


def cell_of(type_: str | None, difficulty: str | None) -> str:
    """The paper's cell label, e.g. ``single_source/easy``."""
    return f"{type_ or 'unknown'}/{difficulty or 'unknown'}"


def judge_metrics(cells: bool) -> list[Metric]:
    metrics: list[Metric] = [accuracy(), stderr()]
    if cells:
        metrics.append(grouped(accuracy(), CELL_KEY, all="samples", all_label="overall"))
    return metrics


def web_judge(parsing: str = "lenient", cells: bool = True, model: str | None = None) -> Scorer:
    """The quiz-grading judge (see module docstring).

    Args:
        parsing: ``lenient`` (LangChain) or ``strict`` (youtu-agent) GRADE parsing.
        cells: also report accuracy per ``metadata.cell`` (type x difficulty) and overall.
        model: judge model; default: the ``grader`` role, else :data:`DEFAULT_GRADER`.
    """
    if parsing not in PARSINGS:
        raise ValueError(f"judge parsing must be one of {', '.join(PARSINGS)}, not {parsing!r}")

    @scorer(metrics=judge_metrics(cells), name="web_judge")
    def web_judge_scorer() -> Scorer:
        async def score(state: TaskState, target: Target) -> Score:
            prediction = state.output.completion.strip()
            meta = {"parsing": parsing}
            if not prediction:
                return Score(
                    value=INCORRECT,
                    answer="",
                    explanation="the agent gave no answer",
                    metadata={**meta, "reason": "no_answer"},
                )
            grader = get_model(model, role="grader", default=DEFAULT_GRADER, config=GRADER_CONFIG)
            prompt = JUDGE_TEMPLATE.format(
                question=state.input_text,
                answer=target.text,
                prediction=prediction[:MAX_PREDICTION_CHARS],
            )
            result = await grader.generate(prompt)
            judged = result.completion
            meta["judge"] = str(grader)
            verdict = parse_grade(judged, parsing)
            if verdict is None:
                return Score.unscored(
                    reason="unparseable_judge_output",
                    answer=prediction[:2000],
                    explanation=judged[-4000:],
                    metadata={**meta, "reason": "unparseable_judge_output"},
                )
            return Score(
                value=CORRECT if verdict else INCORRECT,
                answer=prediction[:2000],
                explanation=judged[-4000:],
                metadata={**meta, "reason": "correct" if verdict else "incorrect"},
            )

        return score

    return web_judge_scorer()
