'''Stage prompts of Training-Free GRPO (the paper-time math pipeline [B], reworded).

Choice recorded in every library as ``provenance.prompt_set = PROMPT_SET``: the [B] math
pipeline (summary per rollout -> at most ``max_operations`` add/modify per group ->
one batch consolidation -> renumber ``G0..``), used for every task. Two deliberate
extensions, both within the paper's operation set (Add / Delete / Modify / Keep): the
group stage may also propose ``delete``, and the consolidation may ``delete`` and
``add`` besides [B]'s ``modify``/``merge``. The wording is generic ("problem", "agent")
so the same prompts serve math, web and tool-use tasks. The web-specific [B] prompts and
the [M] Jinja prompts are not implemented.

The templates form one named unit, a :class:`PromptSet` (``PROMPT_SETS`` by name). The
optimizer takes every prompt from its config's set and records the set's name and sha256 in
the library's provenance, so a changed wording is visible in every artifact it produced.

Every prompt starts with a ``STAGE_HEADER`` line: it tells a reader of the logs which
stage a call belongs to, and lets the offline test double recognise stage calls.
'''

from __future__ import annotations

import hashlib
import re

from pydantic import BaseModel, ConfigDict

PROMPT_SET = "B-math-generic-v1"
"""Name of the default prompt set (the only one so far)."""

STAGE_HEADER = "## Training-Free GRPO: {stage} stage"
STAGE_RE = re.compile(r"^## Training-Free GRPO: (summary|advantage|consolidation|direct) stage", re.M)
"""Matches the header; group 1 is the stage."""

OPERATIONS_FORMAT = """```json
[
  {{"option": "add", "experience": "<new experience>"}},
  {{"option": "modify", "modified_from": "G3", "experience": "<rewritten experience G3>"}},
  {{"option": "delete", "deleted_id": "G5"}}
]
```"""

SUMMARY_TEMPLATE = STAGE_HEADER.format(stage="summary") + """
An agent attempted the problem below. You get its whole trajectory (every message,
tool call and tool result), the evaluation of its final answer and the reference answer.

<trajectory>
{trajectory}
</trajectory>

<evaluation>
This trajectory delivers a **{grade}** answer.
</evaluation>

<groundtruth>
{ground_truth}
</groundtruth>

Summarise the trajectory step by step. For every step say:
1. what the agent did, and which of the experiences it was given (ids such as [G3]) it
   relied on, if any;
2. any detour, error or backtracking, and why it happened (use the evaluation and the
   reference answer to locate the mistakes);
3. the core outcome of the step (keep it even when you shorten everything else).

Answer with the numbered list of steps only."""

SUMMARY_NO_GT_TEMPLATE = STAGE_HEADER.format(stage="summary") + """
An agent attempted the problem below. You get its whole trajectory (every message,
tool call and tool result). Whether its answer is correct is not known.

<trajectory>
{trajectory}
</trajectory>

Summarise the trajectory step by step. For every step say:
1. what the agent did, and which of the experiences it was given (ids such as [G3]) it
   relied on, if any;
2. any detour, doubtful reasoning or backtracking, and why it may have happened;
3. the core outcome of the step (keep it even when you shorten everything else).

Answer with the numbered list of steps only."""

_PROPOSE_OPERATIONS = """2. Propose at most {max_operations} operation(s) on the experience library: ``add`` a new
   lesson, ``modify`` an existing experience (give its id), or ``delete`` one that misled
   the attempts. Propose nothing (an empty list) if the library already covers the lesson.
3. Every lesson starts with a short general background saying when it applies, focuses on
   strategy and decision points rather than calculations, and must help on other problems,
   not only this one.

Reason first, then end with the operations as a fenced JSON list, for example:
""" + OPERATIONS_FORMAT
"""Steps 2-3 of both group-advantage prompts (with and without ground truth)."""

ADVANTAGE_TEMPLATE = STAGE_HEADER.format(stage="advantage") + """
Several attempts at the same problem were made with the experience library below. Each
attempt is summarised and labelled with whether its answer was correct.

<problem>
{problem}
</problem>

<trajectories>
{trajectories}
</trajectories>

<groundtruth>
{ground_truth}
</groundtruth>

<experience>
{experiences}
</experience>

1. Compare the attempts: why did the correct ones succeed and the wrong ones fail?
   Which experiences helped, which misled, what was missing?
""" + _PROPOSE_OPERATIONS

ADVANTAGE_NO_GT_TEMPLATE = STAGE_HEADER.format(stage="advantage") + """
Several attempts at the same problem were made with the experience library below. Each
attempt is summarised; whether an answer is correct is not known. Judge the attempts
against each other: agreement between independent attempts, the soundness of each
step and self-consistency are your evidence.

<problem>
{problem}
</problem>

<trajectories>
{trajectories}
</trajectories>

<experience>
{experiences}
</experience>

1. Compare the attempts: which reasoning looks reliable, which looks flawed, and why?
   Which experiences helped, which misled, what was missing?
""" + _PROPOSE_OPERATIONS

CONSOLIDATION_TEMPLATE = STAGE_HEADER.format(stage="consolidation") + """
An experience library guides an agent. Analysing a batch of attempts produced the
proposed operations below (P-ids number the proposals). Turn them into one final plan.

<experience>
{experiences}
</experience>

<proposals>
{proposals}
</proposals>

Rules:
- merge proposals that say the same thing, and several changes of one experience into one;
- a delete of an experience overrides any change to it;
- when proposals conflict, keep the more general guidance;
- never add a duplicate of an existing experience; ``merge`` similar existing ones instead;
- every resulting experience is a clear, generalisable lesson of no more than 32 words,
  starting with a short general background and focused on strategy and decision points;
- experiences the plan does not mention stay unchanged.

Allowed operations: ``add`` (experience), ``modify`` (modified_from, experience),
``delete`` (deleted_id), ``merge`` (merged_from: list of existing ids, experience: the
merged text). Reason briefly, then end with the plan as a fenced JSON list, for example:
```json
[
  {{"option": "add", "experience": "<new experience>"}},
  {{"option": "modify", "modified_from": "G3", "experience": "<rewritten G3>"}},
  {{"option": "merge", "merged_from": ["G1", "G4"], "experience": "<merged text>"}},
  {{"option": "delete", "deleted_id": "G5"}}
]
```"""

DIRECT_TEMPLATE = STAGE_HEADER.format(stage="direct") + """
An agent will solve problems like the examples below. Without attempting them, write
exactly {count} experiences that would help it: clear, generalisable lessons of no more
than 32 words each, each starting with a short general background saying when it applies
and focused on strategy and decision points rather than calculations.

<examples>
{examples}
</examples>

Answer with a fenced JSON list of {count} strings:
```json
["<experience>", "..."]
```"""

RETRY_MESSAGE = (
    "Your answer could not be used: {reason}. Answer again, ending with the fenced JSON list "
    "in the format asked for."
)
"""Follow-up user message when a stage's output was malformed (the call is then retried)."""

TRAJECTORY_ITEM = "Trajectory {index} (Answer {grade}):\n{summary}"
TRAJECTORY_ITEM_NO_GT = "Trajectory {index}:\n{summary}"


class PromptSet(BaseModel):
    """Every prompt of the experience stages, as one named, hashable unit.

    ``sha256`` covers the name and every template, so two libraries trained with different
    wording never share a hash even if someone forgets to rename a set.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    summary: str
    summary_no_gt: str
    advantage: str
    advantage_no_gt: str
    consolidation: str
    direct: str
    retry: str
    trajectory_item: str
    trajectory_item_no_gt: str

    @property
    def sha256(self) -> str:
        # computed each time (a few kB): a cached value would survive model_copy(update=...)
        return hashlib.sha256(self.model_dump_json().encode("utf-8")).hexdigest()


MATH_GENERIC = PromptSet(
    name=PROMPT_SET,
    summary=SUMMARY_TEMPLATE,
    summary_no_gt=SUMMARY_NO_GT_TEMPLATE,
    advantage=ADVANTAGE_TEMPLATE,
    advantage_no_gt=ADVANTAGE_NO_GT_TEMPLATE,
    consolidation=CONSOLIDATION_TEMPLATE,
    direct=DIRECT_TEMPLATE,
    retry=RETRY_MESSAGE,
    trajectory_item=TRAJECTORY_ITEM,
    trajectory_item_no_gt=TRAJECTORY_ITEM_NO_GT,
)

PROMPT_SETS: dict[str, PromptSet] = {MATH_GENERIC.name: MATH_GENERIC}
"""Prompt sets by name (a web set would be added here)."""


def get_prompt_set(name: str) -> PromptSet:
    try:
        return PROMPT_SETS[name]
    except KeyError:
        raise ValueError(f"unknown prompt set {name!r} (known: {', '.join(PROMPT_SETS)})") from None
