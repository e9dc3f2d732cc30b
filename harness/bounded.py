"""Run a CPU-bound function on untrusted input with a hard wall-clock bound.

SymPy (behind math-verify) can spend minutes on hostile LaTeX such as power towers, and a
thread cannot be interrupted, so such calls go to a single worker process that is killed
and replaced when it overruns. The worker is started lazily with the ``forkserver``
method (safe with the threads inspect runs) and reused across calls, so the common case
costs one pipe round trip, not a process start.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
from multiprocessing.connection import Connection
from typing import Any, Callable


class BoundedTimeout(Exception):
    """The bounded call did not finish in time (its worker was killed)."""


def _worker_main(conn: Connection) -> None:
    while True:
        try:
            fn, args = conn.recv()
        except EOFError:
            return
        try:
            conn.send((True, fn(*args)))
        except Exception as ex:  # report, never die on a bad input
            conn.send((False, f"{type(ex).__name__}: {ex}"))


PRELOAD = ["harness.answers", "math_verify", "sympy"]
"""Imported once by the fork server, so a replacement worker (after a kill) starts warm."""


class BoundedWorker:
    """One reusable worker process; calls are serialised."""

    def __init__(self, preload: list[str] | None = None) -> None:
        self._lock = threading.Lock()
        self._proc: Any = None
        self._conn: Connection | None = None
        self._preload = PRELOAD if preload is None else preload

    def _start(self) -> None:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(self._preload)
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_worker_main, args=(child,), daemon=True)
        proc.start()
        child.close()
        self._proc, self._conn = proc, parent

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.join(timeout=5)
        if self._conn is not None:
            self._conn.close()
        self._proc, self._conn = None, None

    def call(self, fn: Callable[..., Any], args: tuple[Any, ...], timeout: float) -> Any:
        """``fn(*args)`` in the worker; raises BoundedTimeout or RuntimeError(worker error)."""
        with self._lock:
            if self._proc is None or not self._proc.is_alive():
                self._kill()
                self._start()
            assert self._conn is not None
            try:
                self._conn.send((fn, args))
                ready = self._conn.poll(timeout)
            except (OSError, EOFError):
                self._kill()
                raise RuntimeError("bounded worker died")
            if not ready:
                self._kill()
                raise BoundedTimeout(f"gave up after {timeout:.2f}s")
            try:
                ok, value = self._conn.recv()
            except (OSError, EOFError):
                self._kill()
                raise RuntimeError("bounded worker died")
        if not ok:
            raise RuntimeError(value)
        return value

    def close(self) -> None:
        with self._lock:
            self._kill()


_default: BoundedWorker | None = None
_default_lock = threading.Lock()


def run_bounded(fn: Callable[..., Any], *args: Any, timeout: float) -> Any:
    """Call a module-level (picklable) ``fn`` in the shared bounded worker."""
    global _default
    with _default_lock:
        if _default is None:
            _default = BoundedWorker()
    return _default.call(fn, args, timeout)
