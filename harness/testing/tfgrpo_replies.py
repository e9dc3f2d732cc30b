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


def _tool_calls(trajectory: str) -> list[str]:
    """The ``[tool call] name({...})`` lines of a trajectory, as format_trajectory writes them."""
    return [line.strip()[len("[tool call] "):][:200] for line in trajectory.splitlines() if line.startswith("[tool call] ")]


def reply(prompt: str) -> str | None:
    m = STAGE_RE.search(prompt)
    if not m:
        return None
    stage = m.group(1)
    if stage == "summary":
        grade = re.search(r"delivers a \*\*(\w+)\*\*", prompt)
        label = grade.group(1) if grade else "ungraded"
        trajectory = _between(prompt, "trajectory")
        calls = _tool_calls(trajectory)
        steps = "".join(f"\n{i + 2}. Tool call: {c}" for i, c in enumerate(calls))
        return f"1. {LABEL} summary of a {label} trajectory ({len(trajectory)} characters); not a real model.{steps}"
    if stage in WEB_STAGES:
        return WEB_STAGES[stage](prompt)
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


# --------------------------------------------------------------------------- web prompt set


def _critique(prompt: str) -> str:
    """A ``<Reflection>`` with two "When ..., ..." principles naming the question's first words."""
    problem = " ".join(_between(prompt, "problem").split()[:5])
    attempts = _between(prompt, "attempts")
    right = attempts.count("(Answer correct)")
    total = len(re.findall(r"^Attempt \d+", attempts, re.M))
    return (
        f"{LABEL} Reflection on {total} attempts (not a real model).\n<Reflection>\n"
        f"<Performance Assessment>\n  - Number right: {right}\n  - Number wrong: {total - right}\n</Performance Assessment>\n"
        "<Comparative Analysis>\n  Scripted.\n</Comparative Analysis>\n"
        "<Pattern Identification>\n  Scripted.\n</Pattern Identification>\n"
        "<Experiences>\n"
        f"  - When a question starts like '{problem}', confirm the answer on the page the search points to.\n"
        f"  - When attempts disagree ({right}/{total} right here), submit only what a page states.\n"
        "</Experiences>\n</Reflection>"
    )


def _update(prompt: str) -> str:
    """One decision per new principle: ADD as "Name: description [TEST DOUBLE]", or an UPDATE of
    G0 for some questions (the label ends the text, so the official "Name: description"
    shape stays intact)."""
    existing = _between(prompt, "existing_experiences")
    lines = [line.strip().lstrip("-*0123456789. ").strip() for line in _between(prompt, "new_experiences").splitlines()]
    decisions = []
    for i, text in enumerate(t for t in lines if t):
        if i == 0 and existing not in ("", "None") and _digest(text) % 3 == 0:
            decisions.append({"operation": "UPDATE", "id": "G0", "content": f"Page check: {text} {LABEL}"})
        else:
            decisions.append({"operation": "ADD", "id": None, "content": f"{'Page check' if i == 0 else 'Agreement'}: {text} {LABEL}"})
    return f"{LABEL} Decisions (not a real model).\n```json\n{json.dumps(decisions)}\n```"


def _batch(prompt: str) -> str:
    """The listed operations (one JSON object a line) as the plan, exact duplicates merged."""
    plan, seen = [], set()
    for line in _between(prompt, "experiences_and_operations").splitlines():
        if not line.startswith('{"operation"'):
            continue
        try:
            op = json.loads(line)
        except ValueError:
            continue
        key = json.dumps(op, sort_keys=True)
        if key not in seen:
            seen.add(key)
            plan.append(op)
    return f"{LABEL} Reconciled plan (not a real model).\n```json\n{json.dumps(plan)}\n```"


WEB_STAGES = {"critique": _critique, "update": _update, "batch": _batch}
"""Replies to the web prompt set's stages (its summary and direct stages share the math replies)."""
