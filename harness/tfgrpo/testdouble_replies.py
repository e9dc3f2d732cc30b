"""Well-formed, clearly labelled TEST DOUBLE answers to the Training-Free GRPO stage prompts.

``testdouble/...`` calls :func:`reply` for calls made outside an inspect sample whose
prompt starts with a :data:`~harness.tfgrpo.prompts.STAGE_HEADER`. The answers only
exercise the plumbing (parsing, operations, renumbering); they are not model output.
"""

from __future__ import annotations

import hashlib
import json
import re

from harness.tfgrpo.prompts import STAGE_RE

LABEL = "[TEST DOUBLE]"


def _between(text: str, tag: str) -> str:
    m = re.search(rf"<{tag}>\n?(.*?)\n?</{tag}>", text, re.S)
    return m.group(1).strip() if m else ""


def _digest(text: str) -> int:
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:8], 16)


def reply(prompt: str) -> str | None:
    m = STAGE_RE.search(prompt)
    if not m:
        return None
    stage = m.group(1)
    if stage == "summary":
        grade = re.search(r"delivers a \*\*(\w+)\*\*", prompt)
        label = grade.group(1) if grade else "ungraded"
        size = len(_between(prompt, "trajectory"))
        return f"1. {LABEL} summary of a {label} trajectory ({size} characters); not a real model."
    if stage == "advantage":
        problem = " ".join(_between(prompt, "problem").split()[:6])
        trajectories = _between(prompt, "trajectories")
        right = trajectories.count("(Answer correct)")
        total = len(re.findall(r"^Trajectory \d+", trajectories, re.M))
        library = _between(prompt, "experience")
        ops = [{"option": "add", "experience": f"{LABEL} When a problem starts like '{problem}', re-check the final answer ({right}/{total} attempts right)."}]
        if library not in ("", "None") and _digest(problem) % 3 == 0:
            ops = [{"option": "modify", "modified_from": "G0", "experience": f"{LABEL} Revised after '{problem}': verify every step before answering."}]
        return f"{LABEL} Comparison of {total} attempts (not a real model).\n```json\n{json.dumps(ops)}\n```"
    if stage == "consolidation":
        try:
            proposals = json.loads(_between(prompt, "proposals") or "[]")
        except ValueError:
            proposals = []
        plan = []
        for p in proposals:
            p = {k: v for k, v in p.items() if k != "id"}
            plan.append(p)
        return f"{LABEL} Plan keeping every proposal (not a real model).\n```json\n{json.dumps(plan)}\n```"
    if stage == "direct":
        count = re.search(r"write\s+exactly (\d+)", prompt)
        n = int(count.group(1)) if count else 1
        items = [f"{LABEL} Directly generated experience {i + 1}: check each step." for i in range(n)]
        return f"```json\n{json.dumps(items)}\n```"
    return None
