"""inspect entry point ``harness``: registers every task and the test-double provider.

inspect names a task ``<package>/<task>`` after the top-level package of the module that
defines it, so the task functions of ``tasks/`` are re-exported here under ``harness/``
(thin wrappers, same signature). That makes ``inspect eval harness/aime2024`` work next
to ``inspect eval tasks/aime.py@aime2024``.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from inspect_ai import Task, task

from harness.testdouble import TestDoubleAPI  # noqa: F401  (registers testdouble/)


def _export(fn: Callable[..., Task]) -> Callable[..., Task]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Task:
        return fn(*args, **kwargs)

    wrapper.__module__ = __name__
    return task(name=fn.__name__)(wrapper)


def _tasks() -> list[Callable[..., Task]]:
    from tasks.aime import aime, aime2024, aime2025
    from tasks.apigen import apigen
    from tasks.dapo import dapo100

    return [aime, aime2024, aime2025, dapo100, apigen]


for _fn in _tasks():
    globals()[_fn.__name__] = _export(_fn)
