"""What every benchmark task shares: solver selection, paper epochs and reducers, argument
errors that name the fix, and the check that the judge model can be created.

A task file defines its data, prompt and scorer, then calls :func:`harness_task`.
"""

from __future__ import annotations

import difflib
import inspect as pyinspect
import sys
from typing import Any, Mapping, Sequence

from inspect_ai import Task
from inspect_ai._util.error import PrerequisiteError
from inspect_ai.dataset import Dataset, Sample
from inspect_ai.model import GenerateConfig
from inspect_ai.scorer import ScoreReducer, Scorer
from inspect_ai.scorer._reducer import create_reducers
from inspect_ai.util import SandboxEnvironmentType

from harness.datasets import memory_dataset

PASS_AT_KS = (1, 2, 4, 8, 16, 32)
"""Pass@k reported next to Mean@k (only the k that the epochs in use allow)."""


def paper_reducers(max_k: int, ks: Sequence[int] = PASS_AT_KS) -> list[ScoreReducer]:
    """``mean`` (Mean@k) plus ``pass_at_k`` (the unbiased estimator) for each k <= max_k."""
    return create_reducers(["mean", *(f"pass_at_{k}" for k in ks if k <= max_k)])


class AdaptiveEpochsTask(Task):
    """A Task whose default pass@k reducers follow the epochs actually run.

    inspect keeps a task's reducers when ``--epochs N`` overrides the count, and refuses
    ``pass_at_k`` with k > N. The default reducers are built for every k of
    :data:`PASS_AT_KS` and this task drops those with k > N (from its own defaults only;
    reducers given with ``--epochs-reducer`` are left to inspect), so ``--epochs 4``
    reports mean, pass_at_1, pass_at_2 and pass_at_4, whether the task defaults to 32
    epochs (AIME) or to one (Countdown, APIGen).
    """

    @property  # type: ignore[override]
    def epochs_reducer(self) -> list[ScoreReducer] | None:
        reducers = self._epochs_reducer
        if reducers is None or not getattr(self, "_adaptive", False) or not self.epochs:
            return reducers
        return [r for r in reducers if _pass_at_k(r) <= self.epochs]

    @epochs_reducer.setter
    def epochs_reducer(self, value: list[ScoreReducer] | None) -> None:
        # any assignment after construction is an explicit override: stop adapting
        self._adaptive = False
        self._epochs_reducer = value


def _pass_at_k(reducer: ScoreReducer) -> int:
    """k of a ``pass_at`` reducer; 0 for any other reducer."""
    from inspect_ai._util.registry import registry_log_name, registry_params

    if not registry_log_name(reducer).startswith("pass_at"):
        return 0
    return int(registry_params(reducer).get("k", 0))


def harness_task(
    *,
    dataset: Dataset | list[Sample],
    name: str,
    scorer: Scorer | list[Scorer],
    template: str,
    solver: str,
    solver_args: dict[str, Any],
    epochs: int,
    config: GenerateConfig | None = None,
    reducers: list[ScoreReducer] | None = None,
    sandbox: SandboxEnvironmentType | None = None,
    metadata: dict[str, Any] | None = None,
    judges: Mapping[str, str] | None = None,
) -> Task:
    """Build a benchmark task with the solver named by ``-T solver=`` (see solvers/).

    ``solver_args`` are the task's ``-T`` options that are not its own arguments: an
    unknown one fails naming the task's arguments and the solver's options.
    ``judges`` maps each model role the scorer grades with to its default model; they are
    checked at task start (:func:`harness.roles.require_judges`).
    """
    from harness.roles import require_judges
    from solvers import UnknownSolverOptions, build_solver

    try:
        built = build_solver(solver, template=template, **solver_args)
    except UnknownSolverOptions as ex:
        raise unknown_task_arguments(ex.unknown, solver=solver, solver_options=ex.accepted) from None
    require_judges(judges or {}, task=name)  # after what the user typed is known to be right
    scorers = [*(scorer if isinstance(scorer, list) else [scorer]), *built.scorers]
    if not isinstance(dataset, Dataset):
        dataset = memory_dataset(dataset, name)
    task = AdaptiveEpochsTask(
        dataset=dataset,
        solver=built.solver,
        scorer=scorers,
        epochs=epochs,
        config=config or GenerateConfig(),
        sandbox=built.sandbox if built.sandbox is not None else sandbox,
        metadata={"solver": solver, **built.metadata, **(metadata or {})},
    )
    # all k, not only k <= the default epochs: raising --epochs adds pass@k (the property filters)
    task.epochs_reducer = reducers if reducers is not None else paper_reducers(max(PASS_AT_KS))
    task._adaptive = True
    return task


# --------------------------------------------------------------------------- argument errors

COMMON_INSPECT_OPTIONS = ("epochs", "epochs_reducer", "limit", "model", "temperature", "top_p", "max_tokens", "seed")
"""Used only if inspect's CLI options cannot be listed."""


def inspect_eval_options() -> dict[str, str]:
    """``inspect eval``'s options by parameter name (``max_tokens`` -> ``--max-tokens``)."""
    try:
        import click
        from inspect_ai._cli.eval import eval_command

        return {
            p.name: max(p.opts, key=len)
            for p in eval_command.params
            if isinstance(p, click.Option) and p.name and len(p.name) > 1
        }
    except Exception:  # a private module of inspect: degrade to the common options
        return {n: "--" + n.replace("_", "-") for n in COMMON_INSPECT_OPTIONS}


def _value(v: Any) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)


def _hint(key: str, value: Any, arguments: Sequence[str], options: Mapping[str, str]) -> str | None:
    """What the user probably meant by ``-T key=value``."""
    if key in options:
        return f"{key} is an inspect option: {options[key]} {_value(value)}"
    ratio = lambda c: difflib.SequenceMatcher(None, key, c).ratio()  # noqa: E731
    near_arg = max(arguments, key=ratio, default=None)
    near_opt = max(options, key=ratio, default=None)
    if near_arg is not None and ratio(near_arg) >= 0.75 and (near_opt is None or ratio(near_arg) >= ratio(near_opt)):
        return f"did you mean -T {near_arg}={_value(value)}?"
    if near_opt is not None and ratio(near_opt) >= 0.75:
        return f"did you mean inspect's {options[near_opt]} {_value(value)}?"
    return None


def task_on_stack() -> tuple[str, list[str]] | None:
    """Name and arguments of the ``@task`` function whose body is running (the caller's caller...).

    inspect passes every ``-T`` to a task that takes ``**options`` (ours hand them to the
    solver), so an error about one must be raised below the task yet name the task's own
    arguments; the task is found as the frame that runs the body of a registered task.
    """
    from inspect_ai._util.registry import is_registry_object

    frame = sys._getframe(1)
    while frame is not None:
        fn = frame.f_globals.get(frame.f_code.co_name)
        if fn is not None and is_registry_object(fn, "task") and getattr(pyinspect.unwrap(fn), "__code__", None) is frame.f_code:
            params = pyinspect.signature(fn).parameters.values()
            return frame.f_code.co_name, [p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        frame = frame.f_back
    return None


def unknown_task_arguments(
    unknown: Mapping[str, Any], *, solver: str | None = None, solver_options: Sequence[str] = ()
) -> PrerequisiteError:
    """One line: the unknown ``-T`` arguments, what the user probably meant, and what the task
    (and its solver) take. Call it from the task's body (or below it)."""
    found = task_on_stack()
    arguments = found[1] if found else []
    options = inspect_eval_options()
    hints = [h for k, v in unknown.items() if (h := _hint(k, v, [*arguments, *solver_options], options))]
    given = ", ".join(f"-T {k}={_value(v)}" for k, v in unknown.items())
    takes = [f"{found[0]} takes: {', '.join(arguments) or 'no arguments'}"] if found else []
    if solver is not None:
        whose = "its solver" if found else "The solver"
        takes.append(f"{whose} '{solver}' (-T solver=) takes: {', '.join(solver_options) or 'no options'}")
    return PrerequisiteError(
        f"Unknown task argument{'s' if len(unknown) > 1 else ''} {given}"
        + (f" ({'; '.join(hints)})" if hints else "")
        + (f". {'; '.join(takes)}." if takes else ".")
    )


def _show_prerequisite_errors_when_quiet() -> None:
    """Keep one-line errors visible under ``inspect eval --display none``.

    inspect's exception hook prints a ``PrerequisiteError`` (the one-line errors that name
    the fix: missing data, unknown ``-T`` argument, no judge model) through rich's console,
    which ``--display none`` makes quiet: the run then exits 1 without a word. The hook is
    wrapped (once) so that, while the console is quiet, the message goes to stderr;
    everything else is left to inspect's hook.
    """
    previous = sys.excepthook
    if getattr(previous, "_harness_quiet_errors", False):
        return

    def hook(kind: Any, ex: BaseException, tb: Any) -> None:
        if isinstance(ex, PrerequisiteError):
            import rich

            if rich.get_console().quiet:
                print(f"\n{ex.message}\n", file=sys.stderr, flush=True)
        previous(kind, ex, tb)

    hook._harness_quiet_errors = True  # type: ignore[attr-defined]
    sys.excepthook = hook


_show_prerequisite_errors_when_quiet()
