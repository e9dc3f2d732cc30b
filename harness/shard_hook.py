"""inspect hook behind ``harness eval --workers N``'s combined progress line.

Registered only in shard processes (``harness eval`` sets :data:`PROGRESS_ENV` to a
file), so plain ``inspect eval`` runs list no hooks; it appends one byte per finished
sample-epoch: ``.`` done, ``E`` ended with an error, and the parent counts the bytes.
Kept import-light: inspect imports it with every run through the ``harness`` entry point.
"""

from __future__ import annotations

import os

from inspect_ai.hooks import Hooks, SampleEnd, hooks

PROGRESS_ENV = "HARNESS_SHARD_PROGRESS"
"""Path of the file a shard process appends its progress bytes to."""

DONE, ERROR = b".", b"E"


class ShardProgress(Hooks):
    def __init__(self) -> None:
        self._fd: int | None = None

    def enabled(self) -> bool:
        return bool(os.environ.get(PROGRESS_ENV))

    async def on_sample_end(self, data: SampleEnd) -> None:
        if self._fd is None:
            # O_APPEND: each one-byte write lands whole, whatever else writes the file
            self._fd = os.open(os.environ[PROGRESS_ENV], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.write(self._fd, ERROR if data.sample.error is not None else DONE)


if os.environ.get(PROGRESS_ENV):
    hooks(name="shard_progress", description="harness eval --workers: progress for the combined progress line")(
        ShardProgress
    )
