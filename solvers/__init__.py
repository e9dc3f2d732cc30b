"""Solvers, chosen per task with ``-T solver=NAME`` and configured with further ``-T`` options.

Each solver module exposes a factory ``NAME(template: str, **options) -> BuiltSolver``,
listed in ``SOLVERS``. ``template`` is the task's user-prompt template (``{prompt}`` is
the problem); options come from ``-T key=value`` and are checked against the factory's
signature before it runs: a typo fails with the list of accepted options
(:class:`UnknownSolverOptions`, which the task turns into a message naming its own
arguments too), a missing required option fails with one line naming it and an example.

A factory that takes ``**options`` and a ``base_solver`` parameter (``tfgrpo``) passes the
other options on to that base solver, so it accepts the base solver's options too.
"""

from __future__ import annotations

import importlib
import inspect as pyinspect
import re
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

BASE_SOLVER = "base_solver"
"""The parameter naming the solver that receives a wrapping solver's ``**options``."""


class UnknownSolverOptions(PrerequisiteError):
    """``-T`` options that neither the solver (nor its base solver) takes."""

    def __init__(self, solver: str, unknown: dict[str, Any], accepted: list[str]) -> None:
        self.solver, self.unknown, self.accepted = solver, unknown, accepted
        message = (
            f"Solver '{solver}' does not take option(s) {', '.join(unknown)}. "
            f"It takes: {', '.join(accepted) or 'no options'}."
        )
        super().__init__(message)
        self.args = (message,)


def solver_factory(name: str, option: str = "solver") -> Any:
    if name not in SOLVERS:
        raise PrerequisiteError(
            f"Unknown solver '{name}' (-T {option}=). Available: {', '.join(sorted(SOLVERS))}."
        )
    module, attr = SOLVERS[name].split(":")
    return getattr(importlib.import_module(module), attr)


def _parameters(factory: Any) -> dict[str, pyinspect.Parameter]:
    return {
        n: p
        for n, p in pyinspect.signature(factory).parameters.items()
        if n != "template" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


def solver_options(name: str, options: dict[str, Any] | None = None) -> list[str] | None:
    """The ``-T`` options solver ``name`` takes (with ``options`` choosing its base solver);
    None when it takes any (``**options`` not passed on to a base solver)."""
    factory = solver_factory(name)
    params = pyinspect.signature(factory).parameters
    own = list(_parameters(factory))
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return own
    if BASE_SOLVER not in params:
        return None
    base = str((options or {}).get(BASE_SOLVER, params[BASE_SOLVER].default))
    if base == name:
        return own  # the factory refuses itself as its own base, with its own message
    solver_factory(base, option=BASE_SOLVER)  # an unknown base solver fails here, naming -T base_solver=
    inherited = solver_options(base)
    return None if inherited is None else own + [o for o in inherited if o not in own]


def _example(factory: Any, option: str) -> str:
    """``-T option=VALUE`` as the solver's docstrings write it, else with a placeholder."""
    module = pyinspect.getmodule(factory)
    for doc in (factory.__doc__, getattr(module, "__doc__", None)):
        m = re.search(rf"-T {re.escape(option)}=([^`\s]+)", doc or "")
        if m:
            return f"-T {option}={m.group(1)}"
    return f"-T {option}={option.upper()}"


def build_solver(name: str, *, template: str, **options: Any) -> BuiltSolver:
    """The solver ``name`` built with ``options``, after checking them (see module docstring)."""
    factory = solver_factory(name)
    accepted = solver_options(name, options)
    if accepted is not None:
        unknown = {k: v for k, v in options.items() if k not in accepted}
        if unknown:
            raise UnknownSolverOptions(name, unknown, accepted)
    missing = [
        n for n, p in _parameters(factory).items() if p.default is p.empty and n not in options
    ]
    if missing:
        add = " ".join(_example(factory, m) for m in missing)
        docs = f"{factory.__module__.replace('.', '/')}.py"
        raise PrerequisiteError(
            f"Solver '{name}' is missing option{'s' if len(missing) > 1 else ''} {', '.join(missing)}: "
            f"add {add} (see {docs})."
        )
    return factory(template=template, **options)


__all__ = ["SOLVERS", "BuiltSolver", "UnknownSolverOptions", "build_solver", "solver_factory", "solver_options"]
