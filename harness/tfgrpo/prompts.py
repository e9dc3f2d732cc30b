"""Stage prompts of Training-Free GRPO: two named, hashable prompt sets.

- ``B-math-generic-v1`` (:data:`MATH_GENERIC`, the default for math and tool tasks): the
  paper-time math pipeline [B] (summary per rollout -> at most ``max_operations``
  add/modify per group -> one batch consolidation -> renumber ``G0..``), reworded. Two
  deliberate extensions, both within the paper's operation set (Add / Delete / Modify /
  Keep): the group stage may also propose ``delete``, and the consolidation may
  ``delete`` and ``add`` besides [B]'s ``modify``/``merge``. The wording is generic
  ("problem", "agent") so the same prompts serve math, countdown and tool-use tasks.
- ``B-web-v1`` (:data:`WEB`, the default for web tasks): the paper-time web pipeline [B]
  ``training_free_grpo/web/`` (also [M]'s pipeline for both domains), reworded. Per
  rollout a summary that extracts every tool call, its parameters and *all* task-relevant
  tool results (also those the agent ignored); per group a ``<Reflection>`` critique
  ending in an ``<Experiences>`` block of 2-3 "When <condition>, <strategy>" principles,
  then a group update deciding ADD / UPDATE / DELETE / NONE for each of them against the
  whole pool; per step one batch update merging the groups' operations (UPDATEs of one id
  into one, DELETE over UPDATE, similar ADDs into one). Experiences read
  ``Name: one-sentence description``. Each stage has a system prompt (the instructions)
  and a user prompt (the data), as in [B]. See ``harness/tfgrpo/web_stages.py``.

The templates of a set form one unit; the optimizer takes every prompt from its config's
set and records the set's name and sha256 in the library's provenance, so a changed
wording is visible in every artifact it produced.

Every stage's user prompt starts with a ``STAGE_HEADER`` line: it tells a reader of the
logs which stage a call belongs to, and lets the offline test double recognise stage calls.
The [M] Jinja prompts (``agent_objective`` / ``learning_objective``) are not implemented.
"""

from __future__ import annotations

import hashlib
import re
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

PROMPT_SET = "B-math-generic-v1"
"""Name of the math prompt set (the default for every task that is not a web task)."""

WEB_PROMPT_SET = "B-web-v1"
"""Name of the web prompt set (the default for web tasks: afm100, webwalkerqa)."""

STAGE_HEADER = "## Training-Free GRPO: {stage} stage"
STAGE_RE = re.compile(
    r"^## Training-Free GRPO: (summary|advantage|consolidation|direct|critique|update|batch) stage", re.M
)
"""Matches the header; group 1 is the stage (math: summary, advantage, consolidation,
direct; web: summary, critique, update, batch). Stage names are also the usage keys."""

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


class NamedPrompts(BaseModel):
    """A named set of stage prompts; ``sha256`` covers the name and every template, so two
    libraries trained with different wording never share a hash even if someone forgets to
    rename a set."""

    model_config = ConfigDict(frozen=True)

    pipeline: ClassVar[str] = ""
    """Which stage pipeline the set drives (``math`` or ``web``); not part of the hash."""

    name: str

    @property
    def sha256(self) -> str:
        # computed each time (a few kB): a cached value would survive model_copy(update=...)
        return hashlib.sha256(self.model_dump_json().encode("utf-8")).hexdigest()


class PromptSet(NamedPrompts):
    """Every prompt of the math pipeline's stages (user messages, no system prompt, as [B] math)."""

    pipeline: ClassVar[str] = "math"

    summary: str
    summary_no_gt: str
    advantage: str
    advantage_no_gt: str
    consolidation: str
    direct: str
    retry: str
    trajectory_item: str
    trajectory_item_no_gt: str


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


# --------------------------------------------------------------------------- the web pipeline ([B] web/, reworded)

NO_ANSWER = "[not given]"
"""What the web stages see instead of the reference answer without ground truth ([B]: ``[REDACTED]``)."""

WEB_SUMMARY_SYSTEM = """You analyse the trajectories of a web research agent. From one trajectory, \
write down in detail what the agent did at each step and, above all, every piece of \
information the tools returned that bears on the task, whether or not the agent used it.

You get the task, the correct answer when it is known (use it only to judge what is \
relevant, never to bias what you extract) and the trajectory: the agent's messages, each \
tool call with its parameters, and each tool result.

For every step report:
- Action: what the agent did (called a tool, answered, gave up).
- Tool and parameters: the tool's name and the exact arguments (query strings, URLs).
- Tool results: every task-relevant fact in what the tool returned (names, dates, \
numbers, places, events, links), listed as specific values, not paraphrased loosely. \
Include facts the agent overlooked.
- Reasoning: why the agent most likely took this step and how the result changed its plan.
- Missed: task-relevant information in the results that the agent did not use or follow up.

Then give:
- Key findings: the most relevant information found in the whole trajectory.
- Agent response: the agent's final answer.
- Overall strategy: how the agent approached the task (query choices, which pages it \
opened, changes of approach, how it handled dead ends and errors) and why it reached or \
missed the answer.

Skip what is redundant or unrelated to the task. Write in the language of the trajectory. \
Use this layout:

Task: <the task in a few words>

Steps:
1. Tool call: <tool>(<parameters>)
   Tool results:
   - <fact>
   Reasoning: <...>
   Missed: <...>
2. ...

Key findings:
- <finding>

Agent response: <final answer>

Overall strategy: <...>"""

WEB_SUMMARY_TEMPLATE = STAGE_HEADER.format(stage="summary") + """
Task: {task}
Correct answer: {answer}

The agent's trajectory (every message, each tool call with its parameters, each tool result):
<trajectory>
{trajectory}
</trajectory>"""

WEB_CRITIQUE_SYSTEM = """You review several attempts of an AI assistant at the same \
question, to learn lessons that will help it on other questions.

1. Grade the attempts against the correct answer: which are right, which are wrong.
2. For the wrong ones, find the root cause (a flawed search plan, misread evidence, a \
missed result, stopping too early, an unsupported guess, ...) and the pattern behind it.
3. For the right ones, find what made them work.
4. Compare the two kinds: what separates success from failure?
5. Turn this into 2-3 general principles for similar tasks:
   - in abstract terms that carry over to other domains and questions, with no names, \
facts or details of this question;
   - about how to search, read, verify and decide, not about what the answer is;
   - with a short hint on how to apply the principle where that helps;
   - when a principle holds only under some condition, phrase it as \
"When <condition>, <strategy>".

Answer with one <Reflection> block holding four parts: <Performance Assessment>, \
<Comparative Analysis>, <Pattern Identification> and <Experiences>, in that order."""

WEB_CRITIQUE_TEMPLATE = STAGE_HEADER.format(stage="critique") + """
Reflect on these attempts at one question and state what can be learned from them.

<problem>
{question}
</problem>

<correct_answer>
{answer}
</correct_answer>

<attempts>
{attempts}
</attempts>

Use exactly this structure:
<Reflection>
<Performance Assessment>
  - Right attempts: <which, and why in a few words>
  - Wrong attempts: <which, and why in a few words>
  - Number right: <n>
  - Number wrong: <n>
</Performance Assessment>
<Comparative Analysis>
  <the factors that most clearly separate the right attempts from the wrong ones>
</Comparative Analysis>
<Pattern Identification>
  <what led to success, and the recurring mistakes>
</Pattern Identification>
<Experiences>
  - <principle 1>
  - <principle 2>
  - <principle 3, if there is one>
</Experiences>
</Reflection>"""

_OPERATION_SCHEMA = """{"operation": "ADD" | "UPDATE" | "DELETE" | "NONE", \
"id": "<id of an existing experience, for UPDATE and DELETE>" | null, \
"content": "<Name: one-sentence description>" | null}"""

WEB_UPDATE_SYSTEM = """You keep the experience pool of a web research agent: short \
lessons about planning searches, choosing and reading sources, verifying facts and \
writing the final answer. Each experience in the pool has an id (such as G3).

You get the whole pool and a few new experiences drawn from recent attempts. Compare each \
new experience with every experience in the pool and decide one operation for it:
- ADD: it says something no experience in the pool says. The id is assigned for you: \
set "id" to null.
- UPDATE: it refines, extends or corrects one experience of the pool. Give that \
experience's id and its rewritten text, which keeps the key insight of both, stays \
general and short, and drops details. If it adds nothing meaningful, choose NONE instead.
- DELETE: it contradicts an experience of the pool, or shows that one is wrong, \
outdated or harmful. Give that experience's id.
- NONE: the pool already covers it, or it is not useful.

Every experience text (for ADD and UPDATE) has the form "Name: description.": a name of \
one to three words, a colon, and one general, concise sentence stating the principle \
(no examples, no specific steps). Use only ids that appear in the pool.

Answer with a single JSON array holding exactly one object per new experience, in their \
order, each shaped as:
""" + _OPERATION_SCHEMA + """

For example:
```json
[
  {"operation": "ADD", "id": null, "content": "Source priority: When a fact has an official source, confirm it there before trusting a snippet."},
  {"operation": "UPDATE", "id": "G2", "content": "Query breadth: Start with short, broad queries and narrow them as evidence accumulates."},
  {"operation": "NONE", "id": null, "content": "Date check: Check the publication date of time-sensitive sources."}
]
```"""

WEB_UPDATE_TEMPLATE = STAGE_HEADER.format(stage="update") + """
The experience pool, then the new experiences from recent attempts.

<existing_experiences>
{existing}
</existing_experiences>

<new_experiences>
{new}
</new_experiences>

Decide ADD, UPDATE, DELETE or NONE for each new experience and answer with the JSON array."""

WEB_BATCH_SYSTEM = """You keep the experience pool of a web research agent: short \
lessons about planning searches, choosing and reading sources, verifying facts and \
writing the final answer. Each experience in the pool has an id (such as G3).

The attempts at a batch of questions produced update operations (ADD, UPDATE, DELETE, \
NONE) against the pool. They are listed under the experience they concern; operations \
that concern no existing experience (ADDs) are listed at the end. Reconcile them into one \
final list of operations, the net effect of the whole batch:
- Several UPDATEs of one experience: merge them into a single UPDATE that states their \
common core insight in general terms (do not just concatenate them).
- A DELETE of an experience overrides every UPDATE of it: the result is a DELETE.
- ADDs that say the same or nearly the same thing: merge them into one ADD. Keep \
distinct ADDs separate.
- Conflicting operations: decide for the more general and more widely applicable guidance, \
or unify both into one strategy when possible.

Every experience text (for ADD and UPDATE) has the form "Name: description.": a name of \
one to three words, a colon, and one general, concise sentence stating the principle \
(no examples, no specific steps). Prefer "Verify facts on official pages before \
answering." to a long list of steps.

Answer with a single JSON array; it may be shorter than the list of operations you got. \
Each object is shaped as:
""" + _OPERATION_SCHEMA + """
with "id" an id from the pool for UPDATE and DELETE (never a new one) and null for ADD and \
NONE, and "content" the final text for ADD and UPDATE (null for DELETE and NONE). For example:
```json
[
  {"operation": "UPDATE", "id": "G0", "content": "Query breadth: Start with short, broad queries and narrow them as evidence accumulates."},
  {"operation": "ADD", "id": null, "content": "Recency: For time-sensitive questions, check each source's publication date."},
  {"operation": "DELETE", "id": "G4", "content": null}
]
```"""

WEB_BATCH_TEMPLATE = STAGE_HEADER.format(stage="batch") + """
The experience pool with the operations proposed for each experience, then the operations
that concern no existing experience.

<experiences_and_operations>
{listing}
</experiences_and_operations>

Reconcile these operations and answer with the final JSON array."""

WEB_DIRECT_TEMPLATE = STAGE_HEADER.format(stage="direct") + """
A web research agent (a search tool and a page reader) will answer questions like the
examples below. Without attempting them, write exactly {count} experiences that would help
it: general lessons about planning searches, choosing and reading sources, verifying facts
and writing the answer, each of the form "Name: description." (a name of one to three
words, a colon, one concise sentence; "When <condition>, <strategy>" where the lesson holds
only under a condition).

<examples>
{examples}
</examples>

Answer with a fenced JSON list of {count} strings:
```json
["<Name: description.>", "..."]
```"""
"""The web prompt set's "directly generated experiences" baseline (same shape as the math one)."""

WEB_RETRY_MESSAGE = (
    "Your answer could not be used: {reason}. Answer again, in exactly the output format the instructions ask for."
)

ATTEMPT_ITEM = "Attempt {index} (Answer {grade}):\n{summary}"
ATTEMPT_ITEM_NO_GT = "Attempt {index}:\n{summary}"
"""Without ground truth the attempts are unlabelled, as [M] (which redacts rewards); [B] web
labels them correct/wrong even then, leaking the grade into the no-ground-truth ablation."""


class WebPromptSet(NamedPrompts):
    """Every prompt of the web pipeline's stages: a system prompt and a user template per stage."""

    pipeline: ClassVar[str] = "web"

    summary_system: str
    summary: str
    critique_system: str
    critique: str
    update_system: str
    update: str
    batch_system: str
    batch: str
    direct: str
    retry: str
    attempt_item: str
    attempt_item_no_gt: str
    no_answer: str


WEB = WebPromptSet(
    name=WEB_PROMPT_SET,
    summary_system=WEB_SUMMARY_SYSTEM,
    summary=WEB_SUMMARY_TEMPLATE,
    critique_system=WEB_CRITIQUE_SYSTEM,
    critique=WEB_CRITIQUE_TEMPLATE,
    update_system=WEB_UPDATE_SYSTEM,
    update=WEB_UPDATE_TEMPLATE,
    batch_system=WEB_BATCH_SYSTEM,
    batch=WEB_BATCH_TEMPLATE,
    direct=WEB_DIRECT_TEMPLATE,
    retry=WEB_RETRY_MESSAGE,
    attempt_item=ATTEMPT_ITEM,
    attempt_item_no_gt=ATTEMPT_ITEM_NO_GT,
    no_answer=NO_ANSWER,
)

PROMPT_SETS: dict[str, NamedPrompts] = {MATH_GENERIC.name: MATH_GENERIC, WEB.name: WEB}
"""Prompt sets by name."""

PROMPT_SET_ALIASES = {"math": PROMPT_SET, "web": WEB_PROMPT_SET}
"""``--prompt-set math|web`` -> the set's name."""


def get_prompt_set(name: str) -> NamedPrompts:
    try:
        return PROMPT_SETS[PROMPT_SET_ALIASES.get(name, name)]
    except KeyError:
        known = ", ".join([*PROMPT_SET_ALIASES, *PROMPT_SETS])
        raise ValueError(f"unknown prompt set {name!r} (known: {known})") from None
