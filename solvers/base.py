"""The value every solver factory returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from inspect_ai.scorer import Scorer
from inspect_ai.solver import Solver
from inspect_ai.util import SandboxEnvironmentType


@dataclass
class BuiltSolver:
    solver: Solver
    """The inspect solver (chain) to run per sample."""
    sandbox: SandboxEnvironmentType | None = None
    """Sandbox the task needs for this solver (e.g. the code interpreter's)."""
    metadata: dict[str, Any] = field(default_factory=dict)
    """Solver settings recorded in the task metadata (leaderboards read them)."""
    scorers: list[Scorer] = field(default_factory=list)
    """Scorers the task adds after its own (e.g. reflect_retry's first/second-try accuracy)."""
