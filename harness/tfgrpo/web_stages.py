"""The web pipeline's stages ([B] ``training_free_grpo/web/experience.py``; [M]
``utu/practice/experience_updater.py``), driven by the web prompt set (``B-web-v1``).

Per kept group (concurrently across groups):

1. **summary** of every rollout (system + user prompt): each tool call, its parameters and
   all task-relevant tool results, including those the agent ignored; the task and the
   reference answer (``[not given]`` without ground truth) come with it.
2. **critique** of the group: the attempts' summaries labelled ``Attempt i (Answer
   correct|wrong)`` (unlabelled without ground truth, as [M]), answered with a
   ``<Reflection>`` whose ``<Experiences>`` block holds 2-3 "When <condition>, <strategy>"
   principles. The block is cut out in linear time (:func:`~harness.tfgrpo.operations.
   extract_experiences`); no block, an empty or an oversized one is re-asked.
3. **group update**: the block against the whole current pool, answered with one JSON
   decision per new principle: ADD / UPDATE (id) / DELETE (id) / NONE, content
   ``Name: description`` (:func:`~harness.tfgrpo.operations.parse_web_operations`).

Per step, **batch update**: the pool with the operations proposed for each experience
(and the ADDs apart) -> one reconciled plan -> :func:`~harness.tfgrpo.operations.
apply_web_plan` (DELETE over UPDATE; UPDATE of an id outside the pool = ADD) -> ids
renumbered ``G0..`` by the optimizer.

Differences from [B], all deliberate: malformed answers are re-asked with the reason
(``--retries``) instead of silently dropped (a group update with an unparsable answer, or
an UPDATE naming an id that is not in the pool, was lost in [B]); NONE decisions are not
passed to the batch update, and no batch call is made when nothing but NONE was proposed
(a NONE changes nothing); a DELETE is applied without content (see ``parse_web_operations``);
the group filter is the optimizer's (with ground truth and G > 1 only mixed groups, as [B]
math; [B] web also filters at G = 1, where it then learns nothing).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, cast

from inspect_ai.model import ChatMessageUser

from harness.tfgrpo import prompts as P
from harness.tfgrpo.operations import (
    MAX_GROUP_OPERATIONS,
    Operation,
    extract_experiences,
    format_pool_and_operations,
    parse_web_operations,
)

if TYPE_CHECKING:
    from harness.tfgrpo.optimizer import Journal, Rollout, Trainer


class WebStages:
    """The web pipeline's group and batch stages for one :class:`~harness.tfgrpo.optimizer.Trainer`."""

    def __init__(self, trainer: "Trainer") -> None:
        self.trainer = trainer
        self.prompts = cast(P.WebPromptSet, trainer.prompts)

    async def summarise(self, journal: "Journal", r: "Rollout") -> tuple[str | None, str | None]:
        """(summary, None) or (None, why there is none)."""
        from harness.tfgrpo.optimizer import StageCallFailed, stage_system

        t = self.trainer
        answer = r.target if t.cfg.ground_truth else self.prompts.no_answer
        prompt = self.prompts.summary.format(task=r.problem, answer=answer, trajectory=r.trajectory)
        key = f"summary/{r.sample_id}/{r.epoch}"
        messages = [*stage_system(self.prompts.summary_system), ChatMessageUser(content=prompt)]
        try:
            text = await t.caller.complete(journal, "summary", key, messages)
        except StageCallFailed as ex:
            return None, f"{key}: model call failed ({ex})"
        finally:
            if t.progress:
                t.progress.summary_done()
        return (text.strip(), None) if text.strip() else (None, f"{key}: empty summary")

    async def group(
        self, journal: "Journal", group: list["Rollout"], rendered: str, known: set[str]
    ) -> tuple[list[Operation], list[str]]:
        """Summaries, critique and group update of one group: (operations, reasons for what was dropped)."""
        from harness.tfgrpo.optimizer import summary_items

        t, c, prompts = self.trainer, self.trainer.cfg, self.prompts
        sid = group[0].sample_id
        summaries = await asyncio.gather(*(self.summarise(journal, r) for r in group))
        items, reasons = summary_items(group, summaries, prompts.attempt_item if c.ground_truth else None,
                                       prompts.attempt_item_no_gt)
        try:
            if not items:
                return [], reasons
            critique = prompts.critique.format(
                question=group[0].problem,
                answer=group[0].target if c.ground_truth else prompts.no_answer,
                attempts="\n\n".join(items),
            )

            def experiences(text: str) -> tuple[str, list[str]]:
                return extract_experiences(text), []

            block, more = await t.caller.ask(
                journal, "critique", f"critique/{sid}", critique, experiences, system=prompts.critique_system
            )
            reasons += more
            if block is None:
                return [], reasons
            update = prompts.update.format(existing=rendered, new=block)

            def decisions(text: str) -> tuple[list[Operation], list[str]]:
                parsed = parse_web_operations(text, known, limit=MAX_GROUP_OPERATIONS)
                return parsed.operations, parsed.rejected

            ops, more = await t.caller.ask(journal, "update", f"update/{sid}", update, decisions, system=prompts.update_system)
            return list(ops or []), reasons + more
        finally:
            if t.progress:
                t.progress.advantage_done()

    async def batch(
        self, journal: "Journal", texts: list[str], proposals: list[Operation]
    ) -> tuple[list[Operation] | None, list[str]]:
        """The batch update of a step: (plan, reasons for what was dropped)."""
        prompt = self.prompts.batch.format(listing=format_pool_and_operations(texts, proposals))
        known = {f"G{i}" for i in range(len(texts))}

        def plan(text: str) -> tuple[list[Operation], list[str]]:
            parsed = parse_web_operations(text, known)
            return parsed.operations, parsed.rejected

        return await self.trainer.caller.ask(journal, "batch", "batch", prompt, plan, system=self.prompts.batch_system)

