"""Solvers, chosen per task with ``-T solver=NAME`` and configured with further ``-T`` options.

Each solver module exposes a factory ``NAME(template: str, **options) -> BuiltSolver``,
listed in ``SOLVERS``. ``template`` is the task's user-prompt template (``{prompt}`` is
the problem); options come from ``-T key=value`` and are checked against the factory's
signature, so a typo fails with the list of accepted options.
"""

from __future__ import annotations

import importlib
import inspect as pyinspect
from typing import Any

from inspect_ai._util.error import PrerequisiteError

from solvers.base import BuiltSolver

SOLVERS: dict[str, str] = {
    "direct": "solvers.direct:direct",
    "walker": "solvers.web:walker",
    "walker_react": "solvers.web:walker_react",
    "webwalker": "solvers.webwalker:webwalker",
    "search": "solvers.web:search",
    "reflect_retry": "solvers.reflect_retry:reflect_retry",
    "react": "solvers.react:react",
    "tfgrpo": "solvers.tfgrpo:tfgrpo",
}
"""Solver name -> "module:factory". Later solvers register here."""


def solver_factory(name: str) -> Any:
    if name not in SOLVERS:
        raise PrerequisiteError(
            f"Unknown solver '{name}' (-T solver=). Available: {', '.join(sorted(SOLVERS))}."
        )
    module, attr = SOLVERS[name].split(":")
    return getattr(importlib.import_module(module), attr)


def build_solver(name: str, *, template: str, **options: Any) -> BuiltSolver:
    factory = solver_factory(name)
    params = pyinspect.signature(factory).parameters
    accepted = [p for p in params if p != "template"]
    passes_on = any(p.kind is p.VAR_KEYWORD for p in params.values())  # e.g. tfgrpo -> its base solver
    unknown = [] if passes_on else [k for k in options if k not in params]
    if unknown:
        raise PrerequisiteError(
            f"Solver '{name}' does not take option(s) {', '.join(unknown)}. "
            f"It takes: {', '.join(accepted) or 'no options'}."
        )
    return factory(template=template, **options)


__all__ = ["SOLVERS", "BuiltSolver", "build_solver", "solver_factory"]
