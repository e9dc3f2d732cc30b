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

from harness.sandbox import BwrapSandboxEnvironment  # noqa: F401  (registers the bwrap sandbox)
from harness.shard_hook import ShardProgress  # noqa: F401  (harness eval --workers progress)
from harness.testing.testdouble import TestDoubleAPI  # noqa: F401  (registers testdouble/)


def _export(fn: Callable[..., Task]) -> Callable[..., Task]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Task:
        return fn(*args, **kwargs)

    wrapper.__module__ = __name__
    # inspect prefixes the package name only when it recognises an installed package; from
    # a checkout's root (where harness.egg-info shadows the install record) it does not,
    # so the prefix is then given explicitly. Either way the name is harness/<task>.
    from inspect_ai._util.package import get_installed_package_name

    prefixed = get_installed_package_name(wrapper) == "harness"
    return task(name=fn.__name__ if prefixed else f"harness/{fn.__name__}")(wrapper)


TASKS = [
    "tasks.aime:aime",
    "tasks.aime:aime2024",
    "tasks.aime:aime2025",
    "tasks.dapo:dapo100",
    "tasks.countdown:countdown",
    "tasks.apigen:apigen",
    "tasks.webwalkerqa:webwalkerqa",
    "tasks.afm:afm100",
    "tasks.alpacaeval:alpacaeval",
    "tasks.self_play:self_play",
]
"""Every task of the harness as "module:function" (one per line)."""


def _tasks() -> list[Callable[..., Task]]:
    import importlib

    found = []
    for spec in TASKS:
        module, name = spec.split(":")
        found.append(getattr(importlib.import_module(module), name))
    return found


for _fn in _tasks():
    globals()[_fn.__name__] = _export(_fn)
