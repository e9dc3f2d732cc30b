"""``tfgrpo``: a base solver (``direct``, ``react``, ...) with a Training-Free GRPO experience library.

The library (``-T experiences=PATH``, written by ``harness tfgrpo train``, or the reference
code's ``{"G0": ...}`` JSON or agent-config YAML) is rendered as the paper's code does
(``[G0]. text`` lines) and injected:

- ``placement="user"`` (as in the paper-time code [B]): the task's user prompt becomes an
  injection template with the task prompt as the problem. ``injection`` picks it: ``math``
  = :data:`PROBLEM_WITH_EXPERIENCE_TEMPLATE` (problem, then experiences), ``web`` =
  :data:`WEB_PROBLEM_WITH_EXPERIENCE_TEMPLATE` (experiences, then problem: [B]'s web
  template, reworded), ``auto`` (default) = ``web`` for libraries learned with the web
  prompt set, else ``math``;
- ``placement="system"`` (as the maintained code [M] does after practice): a system
  message ``SYSTEM_EXPERIENCE_TEMPLATE`` is added before the base solver runs;
- ``placement="auto"`` (default): ``system`` for a library read from an [M] agent config
  (its experiences *are* system instructions there), else ``user``.

An empty library leaves the base solver unchanged (the paper's step-0 prompt is the raw
problem). Further ``-T`` options go to the base solver (e.g. ``-T max_turns=20`` for react).

The library file is resolved once, when the task is built, and the log's task metadata
records its absolute path (``experiences``) and the sha256 of its bytes
(``experiences_sha256``): reports identify the library by that hash, so they never depend
on the folder they are run from (see harness.reports.runs.LibraryFinder).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from inspect_ai._util.error import PrerequisiteError
from inspect_ai.solver import chain, system_message

from harness.datasets import user_path
from harness.experience import ExperienceLibrary
from solvers.base import BuiltSolver

PROBLEM_WITH_EXPERIENCE_TEMPLATE = (
    "Please solve the problem:\n{problem}\n\n"
    "When solving problems, you MUST first carefully read and understand the helpful "
    "instructions and experiences:\n{experiences}"
)
"""The paper's user-prompt template ([B] math); ``{problem}`` receives the task's prompt."""

WEB_PROBLEM_WITH_EXPERIENCE_TEMPLATE = """**Task:** Answer the problem below, drawing on the lessons in your accumulated experiences.

**How to proceed:**
1. **Understand the problem:** work out what the **CURRENT PROBLEM** asks and what must be found.
2. **Pick the relevant experiences:** go through the **ACCUMULATED EXPERIENCES** and decide which insights, \
strategies or patterns fit this problem.
3. **Apply them with judgement:**
- where an experience fits the problem, use it explicitly in your approach;
- where none fits directly, see whether a more general principle among them still helps.

**ACCUMULATED EXPERIENCES:**
{experiences}

**CURRENT PROBLEM:**
{problem}"""
"""The web injection template ([B] ``web/prompts.py``, reworded, same layout: task line, three
instructions, the experiences, then the problem); ``{problem}`` receives the task's prompt."""

SYSTEM_EXPERIENCE_TEMPLATE = (
    "When solving problems, you MUST first carefully read and understand the helpful "
    "instructions and experiences:\n{experiences}"
)
"""System-prompt form (``placement="system"``)."""

PLACEMENTS = ("auto", "user", "system")
INJECTIONS = ("auto", "math", "web")
INJECTION_TEMPLATES = {"math": PROBLEM_WITH_EXPERIENCE_TEMPLATE, "web": WEB_PROBLEM_WITH_EXPERIENCE_TEMPLATE}


def resolve_library_path(path: str) -> Path:
    """The library file, a relative path read from the shell's directory (see
    :func:`harness.datasets.user_path`: inspect builds file tasks inside the task's folder)."""
    p = user_path(path)
    if not p.is_file():
        raise FileNotFoundError(f"experience library not found (tried {p})")
    return p.resolve()


def load_library(path: Path) -> tuple[ExperienceLibrary, str]:
    """The library at ``path`` and the sha256 of the bytes it was loaded from.

    The file is hashed before and after loading: a library rewritten in between (e.g. by
    a training run still writing it) fails instead of being recorded under the wrong hash.
    """
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    library = ExperienceLibrary.load(path)
    if hashlib.sha256(path.read_bytes()).hexdigest() != before:
        raise ValueError(f"{path} changed while it was being read; run again when it is no longer being written")
    return library, before


def escape_braces(text: str) -> str:
    """Make text literal inside an inspect prompt template (experiences often hold LaTeX braces)."""
    return text.replace("{", "{{").replace("}", "}}")


def experience_prompt(template: str, rendered: str, injection: str = "math") -> str:
    """The task template with the rendered library injected (result is still a template)."""
    return INJECTION_TEMPLATES[injection].format(problem=template, experiences=escape_braces(rendered))


def resolve_injection(library: ExperienceLibrary, placement: str, injection: str) -> tuple[str, str]:
    """(placement, injection template) in effect for ``library`` (see module docstring)."""
    from harness.tfgrpo.prompts import WEB_PROMPT_SET

    if placement == "auto":
        placement = "system" if library.imported is not None and library.imported.format == "agent-yaml" else "user"
    if injection == "auto":
        learned = library.provenance.prompt_set if library.provenance is not None else ""
        injection = "web" if learned == WEB_PROMPT_SET else "math"
    return placement, injection


def tfgrpo(
    template: str,
    experiences: str,
    base_solver: str = "direct",
    placement: str = "auto",
    injection: str = "auto",
    **base_options: Any,
) -> BuiltSolver:
    """``base_solver`` with the experience library at ``experiences`` in its prompt.

    ``placement``: ``auto`` | ``user`` | ``system``; ``injection``: ``auto`` | ``math`` | ``web``
    (the user-prompt template; see the module docstring)."""
    from solvers import build_solver

    if base_solver == "tfgrpo":
        raise PrerequisiteError("tfgrpo: base_solver cannot be tfgrpo itself.")
    if placement not in PLACEMENTS:
        raise PrerequisiteError(f"tfgrpo: placement must be one of {', '.join(PLACEMENTS)} (got {placement!r}).")
    if injection not in INJECTIONS:
        raise PrerequisiteError(f"tfgrpo: injection must be one of {', '.join(INJECTIONS)} (got {injection!r}).")
    try:
        path = resolve_library_path(experiences)
        library, file_sha256 = load_library(path)
    except (OSError, ValueError) as ex:
        raise PrerequisiteError(f"tfgrpo: cannot use -T experiences={experiences}: {ex}") from ex
    rendered = library.render()
    placement, injection = resolve_injection(library, placement, injection)
    if not library.experiences:
        base = build_solver(base_solver, template=template, **base_options)
        solver = base.solver
    elif placement == "user":
        base = build_solver(base_solver, template=experience_prompt(template, rendered, injection), **base_options)
        solver = base.solver
    else:
        base = build_solver(base_solver, template=template, **base_options)
        system = SYSTEM_EXPERIENCE_TEMPLATE.format(experiences=escape_braces(rendered))
        solver = chain(system_message(system), base.solver)
    metadata = {
        **base.metadata,
        "base_solver": base_solver,
        "experiences": str(path),
        "experiences_sha256": file_sha256,
        "experiences_count": len(library.experiences),
        "experiences_prompt_sha256": hashlib.sha256(rendered.encode("utf-8")).hexdigest()[:16],
        "experience_placement": placement,
        "experience_injection": injection if placement == "user" else None,
    }
    if library.provenance is not None:
        metadata["experiences_model"] = library.provenance.model
        metadata["experiences_method"] = library.provenance.method
        metadata["experiences_prompt_set"] = library.provenance.prompt_set
    if library.imported is not None:
        metadata["experiences_imported"] = library.imported.format
        if library.imported.model:
            metadata["experiences_model"] = library.imported.model
    return BuiltSolver(solver=solver, sandbox=base.sandbox, metadata=metadata)
