"""What every benchmark task shares: solver selection, paper epochs and reducers.

A task file defines its data, prompt and scorer, then calls :func:`harness_task`.
"""

from __future__ import annotations

from typing import Any, Sequence

from inspect_ai import Task
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
    ``pass_at_k`` with k > N. This task drops such reducers (from its own defaults only;
    reducers given with ``--epochs-reducer`` are left to inspect), so ``--epochs 4``
    reports mean, pass_at_1, pass_at_2 and pass_at_4.
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
) -> Task:
    """Build a benchmark task with the solver named by ``-T solver=`` (see solvers/)."""
    from solvers import build_solver

    built = build_solver(solver, template=template, **solver_args)
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
    task.epochs_reducer = reducers if reducers is not None else paper_reducers(epochs)
    task._adaptive = True
    return task
