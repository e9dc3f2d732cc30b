"""The WebWalkerQA judge: an LLM "grading a quiz" with the gold answer as context.

The prompt paraphrases LangChain's chain-of-thought QA evaluator (``cot_qa``), which the
official WebWalker evaluation and Training-Free GRPO / youtu-agent both use: the judge
sees QUESTION, CONTEXT (the gold answer) and STUDENT ANSWER, reasons, and ends with
``GRADE: CORRECT`` or ``GRADE: INCORRECT``.

**Prompt.** :data:`JUDGE_TEMPLATE` by default; ``web_judge(template=...)`` takes any prompt
with a placeholder for each of question, gold answer and student answer, under our names,
LangChain ``cot_qa``'s, Training-Free GRPO's or youtu-agent's (:data:`JUDGE_FIELDS`), so
LangChain's original ``cot_qa`` prompt file works as-is (:func:`read_judge_prompt`).

**Judge model.** The ``grader`` model role (``--model-role grader=openai/gpt-4o``);
unbound, :data:`DEFAULT_GRADER` (``openai/gpt-4o``), at temperature 0 and seed 42
(:data:`GRADER_CONFIG`; a config given with the role wins). Upstream differ: LangChain's
default is ``gpt-4`` at temperature 0, Training-Free GRPO judges with the policy model
at temperature 0, youtu-agent's eval uses a separate judge at 0.5. Set the role to match
the one you compare with.

**Parsing** (``-T judge_parsing=``). The verdict is the judge's **final** ``GRADE:`` in
both modes: a judge that quotes the student's answer may quote an injected ``GRADE: CORRECT``
before concluding, so an earlier grade never decides. (Upstream reads the *first* grade:
LangChain's regex search and youtu-agent's lazy ``.*?GRADE:`` both stop at the first.)

- ``lenient`` (default; LangChain's rule except for which grade wins): ``*`` markup
  removed; the last ``grade:`` (any case) must be followed by ``correct`` or ``incorrect``
  (any case; ``GRADE: CORRECT.`` is correct); a final ``grade:`` followed by anything
  else, or by the prompt's own ``CORRECT or INCORRECT`` echoed back, is no grade. Only
  when the reply has no ``grade:`` at all: its first word, else its last word, if it is
  CORRECT or INCORRECT (edge punctuation ignored).
- ``strict`` (youtu-agent / Training-Free GRPO's rule except for which grade wins): ``**``
  removed, the text after the last ``GRADE:`` (case-sensitive) up to the next ``Word:``
  line must be exactly ``CORRECT`` (case-insensitive, surrounding space ignored); anything
  else there is incorrect, so ``GRADE: CORRECT.`` is incorrect.

Only the last :data:`MAX_JUDGE_CHARS` characters of a reply are read, and every step runs
in time linear in them.

**A reply with no grade** counts as **incorrect** in accuracy and pass@k, as Training-Free
GRPO's and youtu-agent's evaluations count it (LangChain's evaluation script instead drops
such records, shrinking the denominator). The score keeps ``reason: no_grade`` and the
reply, and the ``no_grade`` metric counts such replies over all samples and epochs, next
to the accuracy. An empty prediction is incorrect without asking the judge (reason
``no_answer``).

**Metrics.** ``accuracy`` and ``stderr`` over all samples, plus (``cells=True``) the
paper's cells, ``grouped(accuracy(), "cell")`` over ``metadata.cell`` =
``<type>/<difficulty>`` (e.g. ``single_source/easy``) with ``overall``. With the task's
epochs these appear once per reducer (``mean`` = pass@1, ``pass_at_3``); ``no_grade`` is
computed once over the unreduced sample-epochs (its own block in the results, no reducer).
"""

from __future__ import annotations

import re
import string
from pathlib import Path

from inspect_ai.model import GenerateConfig, get_model
from inspect_ai.scorer import (
    CORRECT,
    INCORRECT,
    Metric,
    SampleScore,
    Score,
    Scorer,
    Target,
    accuracy,
    grouped,
    metric,
    scorer,
    stderr,
)
from inspect_ai.solver import TaskState

from harness.calls import Filled, fill, message

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

JUDGE_FIELDS = {
    "question": ("question", "query", "problem"),
    "answer": ("answer", "context", "correct_answer"),
    "prediction": ("prediction", "result", "response"),
}
"""The judge prompt's three slots and the placeholder names each accepts: ours, LangChain's
``cot_qa`` (``query``, ``context``, ``result``), Training-Free GRPO's (``problem``, ``answer``,
``response``) and youtu-agent's (``question``, ``correct_answer``, ``response``)."""

_ALIASES = {alias: slot for slot, aliases in JUDGE_FIELDS.items() for alias in aliases}
_ANY_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]\w{0,60})\s*\}\}|\{([A-Za-z_]\w{0,60})\}")
"""``{name}`` or ``{{ name }}`` for any identifier (bounded, no nesting: linear)."""

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

NO_GRADE = "no_grade"
"""Score reason (and metric name) of a judge reply without a grade."""

_GRADE_ANY_CASE = re.compile(r"grade:", re.IGNORECASE)
_VERDICT_AFTER = re.compile(r"\s*(correct|incorrect)(?!\s*(?:or|/|\|)\s*(?:in)?correct\b)", re.IGNORECASE)
"""LangChain's ``grade:\\s*(correct|incorrect)`` after the marker (anchored: linear), except that
the prompt's own ``CORRECT or INCORRECT`` echoed back is no grade."""
_WHITESPACE_RUN = re.compile(r"\s+")
_FIELD_NAME = re.compile(r"\w+:")
_EDGE_PUNCT = string.punctuation + string.whitespace


def _field_end(text: str) -> int:
    """Where the first ``\\n\\s*\\w+:`` (youtu-agent's "next field" lookahead) starts, else len(text).

    The regex itself backtracks quadratically on long whitespace runs; this finds the same
    position in one pass: the first whitespace run that holds a newline and is followed by
    ``word:`` ends the field at that run's first newline.
    """
    for run in _WHITESPACE_RUN.finditer(text):
        newline = text.find("\n", run.start(), run.end())
        if newline >= 0 and _FIELD_NAME.match(text, run.end()):
            return newline
    return len(text)


def parse_grade(text: str, parsing: str = "lenient") -> bool | None:
    """True/False for CORRECT/INCORRECT, None if the reply holds no grade (see module doc).

    The final ``GRADE:`` decides in both modes; linear time in the (bounded) reply.
    """
    if parsing not in PARSINGS:
        raise ValueError(f"judge parsing must be one of {', '.join(PARSINGS)}, not {parsing!r}")
    text = (text or "")[-MAX_JUDGE_CHARS:]
    if parsing == "strict":
        text = text.replace("**", "")
        at = text.rfind("GRADE:")
        if at < 0:
            return None
        rest = text[at + len("GRADE:") :]
        return rest[: _field_end(rest)].strip().upper() == "CORRECT"
    plain = text.replace("*", "")
    last = None
    for last in _GRADE_ANY_CASE.finditer(plain):
        pass
    if last is not None:
        verdict = _VERDICT_AFTER.match(plain, last.end())
        return None if verdict is None else verdict.group(1).lower() == "correct"
    words = plain.split()
    for word in (words[:1] + words[-1:]) if words else []:
        w = word.strip(_EDGE_PUNCT).upper()
        if w in ("CORRECT", "INCORRECT"):
            return w == "CORRECT"
    return None


def check_judge_template(template: str) -> str:
    """``template`` if it is a usable judge prompt, else ValueError naming the problem.

    Placeholders are ``{name}`` (LangChain, AlpacaEval) or ``{{ name }}`` (Jinja, youtu-agent)
    with the names of :data:`JUDGE_FIELDS`; each slot must be used; every other brace is literal.
    """
    names = [m.group(1) or m.group(2) for m in _ANY_PLACEHOLDER.finditer(template)]
    unknown = sorted({n for n in names if n not in _ALIASES})
    missing = [slot for slot in JUDGE_FIELDS if not any(_ALIASES.get(n) == slot for n in names)]
    if unknown or missing:
        accepted = "; ".join(f"{slot}: " + ", ".join("{" + a + "}" for a in aliases) for slot, aliases in JUDGE_FIELDS.items())
        problems = ([f"unknown placeholder(s) {', '.join('{' + n + '}' for n in unknown)}"] if unknown else []) + (
            [f"no placeholder for the {', '.join(missing)}"] if missing else []
        )
        raise ValueError(f"{'; '.join(problems)} (accepted: {accepted})")
    return template


def read_judge_prompt(path: str) -> str:
    """The judge prompt in a file: its text, or the ``template`` of a LangChain prompt saved as
    JSON or YAML (``PromptTemplate.save``; an f-string template's doubled braces become single)."""
    text = Path(path).expanduser().read_text(encoding="utf-8")
    if Path(path).suffix.lower() in (".json", ".yaml", ".yml"):
        import yaml

        try:
            saved = yaml.safe_load(text)  # JSON is YAML
        except yaml.YAMLError as ex:
            raise ValueError(f"not a LangChain prompt file ({str(ex).splitlines()[0]})") from None
        if not isinstance(saved, dict) or not isinstance(saved.get("template"), str):
            raise ValueError("a .json/.yaml judge prompt must be a LangChain prompt file with a 'template' string")
        text = saved["template"]
        if saved.get("template_format", "f-string") == "f-string":
            try:  # str.format syntax: parse() unescapes doubled braces; fields stay {name}
                parts = list(string.Formatter().parse(text))
            except ValueError as ex:
                raise ValueError(f"its f-string template is malformed ({ex})") from None
            text = "".join(literal + ("{" + field + "}" if field is not None else "") for literal, field, _, _ in parts)
    return check_judge_template(text)


def judge_prompt(template: str, question: str, answer: str, prediction: str) -> Filled:
    """The judge's prompt (placeholders filled in one pass), with each slot's span."""
    slots = {"question": question, "answer": answer, "prediction": prediction}
    filled = fill(template, {alias: slots[slot] for alias, slot in _ALIASES.items()})
    spans: dict[str, tuple[int, int]] = {}
    for alias, span in sorted(filled.spans.items(), key=lambda kv: kv[1]):
        spans.setdefault(_ALIASES[alias], span)
    return Filled(text=filled.text, spans=spans)


def cell_of(type_: str | None, difficulty: str | None) -> str:
    """The paper's cell label, e.g. ``single_source/easy``."""
    return f"{type_ or 'unknown'}/{difficulty or 'unknown'}"


@metric(scores="unreduced")
def no_grade() -> Metric:
    """Judge replies without a grade (scored incorrect), over all samples and epochs."""

    def compute(scores: list[SampleScore]) -> int:
        return sum((s.score.metadata or {}).get("reason") == NO_GRADE for s in scores)

    return compute


def judge_metrics(cells: bool) -> list[Metric]:
    metrics: list[Metric] = [accuracy(), stderr()]
    if cells:
        metrics.append(grouped(accuracy(), CELL_KEY, all="samples", all_label="overall"))
    metrics.append(no_grade())
    return metrics


def web_judge(
    parsing: str = "lenient", cells: bool = True, model: str | None = None, template: str = JUDGE_TEMPLATE
) -> Scorer:
    """The quiz-grading judge (see module docstring).

    Args:
        parsing: ``lenient`` (LangChain) or ``strict`` (youtu-agent) GRADE parsing.
        cells: also report accuracy per ``metadata.cell`` (type x difficulty) and overall.
        model: judge model; default: the ``grader`` role, else :data:`DEFAULT_GRADER`.
        template: the judge prompt (see :func:`check_judge_template`).
    """
    if parsing not in PARSINGS:
        raise ValueError(f"judge parsing must be one of {', '.join(PARSINGS)}, not {parsing!r}")
    check_judge_template(template)

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
            filled = judge_prompt(template, state.input_text, target.text, prediction[:MAX_PREDICTION_CHARS])
            result = await grader.generate([message("web_judge", filled)])
            judged = result.completion
            meta["judge"] = str(grader)
            meta["judge_stop_reason"] = result.stop_reason  # e.g. max_tokens: a reply cut before its grade
            verdict = parse_grade(judged, parsing)
            reason = NO_GRADE if verdict is None else "correct" if verdict else "incorrect"
            return Score(
                value=CORRECT if verdict else INCORRECT,
                answer=prediction[:2000],
                explanation=judged[-4000:],
                reason=NO_GRADE if verdict is None else None,
                metadata={**meta, "reason": reason},
            )

        return score

    return web_judge_scorer()
