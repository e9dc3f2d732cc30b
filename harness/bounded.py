"""Run CPU-bound functions on untrusted input in a pool of killable worker processes.

SymPy (behind math-verify) can spend minutes on hostile LaTeX such as power towers, and a
thread cannot be interrupted, so such calls go to worker processes that are killed and
replaced when they overrun.

Design (every point answers a way the previous forkserver worker failed):

- A worker is ``python -m harness.bounded`` speaking JSON lines on its stdin and on a
  private copy of its stdout. It imports only the modules it is told to, never the
  parent's ``__main__`` (a script piped on stdin, a notebook or an unguarded script works
  and does not run twice).
- A :class:`BoundedPool` keeps about one warm worker per core (``HARNESS_BOUNDED_WORKERS``
  overrides), so one hostile input does not queue every other call. A worker is started
  and warmed (its ``warm`` function must return True) before any call is given to it:
  start-up never counts against a call's bound. A killed worker is replaced at once, in
  the background.
- The bound is **CPU time of the worker** (read from the OS), so a loaded machine does not
  turn a legitimate slow call into a timeout. A wall-clock cap (``wall_factor`` times the
  CPU bound, at least ``MIN_WALL`` s) catches a starved or stuck worker; that outcome (and
  a worker that dies mid-call) is retried once on a fresh worker, because it says more
  about the machine than about the input. A CPU or memory overrun is not retried (it
  would overrun again).
- If no worker can start (``START_ATTEMPTS`` failures in a row, or none ready within
  ``START_TIMEOUT`` s), every call raises :class:`BoundedUnavailable` with the reason: a
  broken checker fails the run, it never turns answers into "wrong".
- A worker exits when its parent goes away: at end of input when idle, and through a
  per-call ``RLIMIT_CPU`` soft limit (the call's bound plus a margin) when busy.
"""

from __future__ import annotations

import atexit
import importlib
import json
import math
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal

START_TIMEOUT = 120.0
"""Seconds a call waits for a worker to become ready (start-up is never part of a call's bound)."""

START_ATTEMPTS = 3
"""Failed worker starts in a row after which the pool is declared broken."""

MIN_WALL = 5.0
"""Least wall-clock seconds a call may take before its worker counts as starved or stuck."""

MAX_WORKERS = 8

MEMORY_MB = 2048
"""Address space a worker may add to what it uses after start-up (MiB); past it, MemoryError."""

_POLL = 0.02
"""Seconds between CPU-time checks of a busy worker."""

Why = Literal["cpu", "wall", "memory", "died"]


class BoundedUnavailable(RuntimeError):
    """No worker could be started: the checker is broken (fail the run, do not score)."""


class BoundedTimeout(Exception):
    """The call exceeded its bound; ``why`` is ``cpu``, ``wall``, ``memory`` or ``died``."""

    def __init__(self, why: Why, detail: str) -> None:
        super().__init__(detail)
        self.why: Why = why


class BoundedCallError(RuntimeError):
    """The function raised inside the worker (message: ``Type: text``)."""


def default_size() -> int:
    env = os.environ.get("HARNESS_BOUNDED_WORKERS", "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise BoundedUnavailable(f"HARNESS_BOUNDED_WORKERS={env!r} is not an integer") from None
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cores))


def fn_ref(fn: Callable[..., Any] | str) -> str:
    """``"module:qualname"`` of a module-level function (what a worker can import)."""
    if isinstance(fn, str):
        return fn
    module, name = getattr(fn, "__module__", None), getattr(fn, "__qualname__", "")
    if not module or module == "__main__" or "<" in name:
        raise TypeError(f"{fn!r} is not a module-level function of an importable module")
    return f"{module}:{name}"


def _resolve(ref: str) -> Callable[..., Any]:
    module, _, name = ref.partition(":")
    obj: Any = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process (None when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLK_TCK
    except (OSError, IndexError, ValueError):
        pass
    try:
        import psutil

        t = psutil.Process(pid).cpu_times()
        return t.user + t.system
    except Exception:
        return None


_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


# ---------------------------------------------------------------- the worker side


def _serve(argv: list[str]) -> int:
    """Worker main: ``python -m harness.bounded [--warm module:fn]``."""
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # stray prints go to stderr and can never corrupt the protocol
    warm = argv[argv.index("--warm") + 1] if "--warm" in argv else None

    def send(msg: dict[str, Any]) -> None:
        out.write(json.dumps(msg) + "\n")
        out.flush()

    try:
        if warm is not None:
            ok = _resolve(warm)()
            if ok is not True:
                send({"ready": False, "error": f"warm-up {warm} returned {ok!r}, not True"})
                return 1
    except BaseException as ex:  # noqa: BLE001 - report any start failure to the parent
        send({"ready": False, "error": f"{type(ex).__name__}: {ex}"[:2000]})
        return 1
    _limit_memory()
    parent = os.getppid()
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    send({"ready": True, "pid": os.getpid()})
    for line in sys.stdin:
        try:
            req = json.loads(line)
            _limit_cpu(float(req.get("cpu", 0)))
            value = _resolve(req["fn"])(*req["args"])
            reply = {"ok": True, "value": value}
            json.dumps(reply)  # a value that cannot travel is an error, not a crash
        except MemoryError:
            reply = {"ok": False, "kind": "memory", "error": "MemoryError"}
        except Exception as ex:  # report, never die on a bad input
            reply = {"ok": False, "kind": "error", "error": f"{type(ex).__name__}: {ex}"[:2000]}
        send(reply)
    return 0


def _limit_memory() -> None:
    try:
        import resource

        with open("/proc/self/statm") as f:
            used = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        limit = used + MEMORY_MB * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
    except (ImportError, OSError, ValueError):
        pass


def _limit_cpu(cpu: float) -> None:
    """Backstop for an orphaned worker: SIGXCPU a few seconds after the call's own bound."""
    try:
        import resource

        used = sum(os.times()[:2])
        soft = int(used + max(cpu, 1.0) * 3 + 5)
        hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    except (ImportError, OSError, ValueError):
        pass


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(0)


# ---------------------------------------------------------------- the parent side


@dataclass
class _Worker:
    proc: subprocess.Popen[bytes]
    stderr: Any
    buf: bytes = b""

    def kill(self) -> None:
        try:
            self.proc.kill()
        except OSError:
            pass
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                if f is not None:
                    f.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.stderr.close()

    def stderr_tail(self) -> str:
        try:
            self.stderr.seek(0)
            return self.stderr.read()[-1500:].decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return ""

    def send(self, msg: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(msg) + "\n").encode())
        self.proc.stdin.flush()

    def read_line(self, deadline: float, cpu_limit: float | None = None, cpu_start: float = 0.0) -> dict[str, Any]:
        """One reply; raises BoundedTimeout when the deadline or the CPU bound passes first."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buf:
            now = time.monotonic()
            if now >= deadline:
                raise BoundedTimeout("wall", "no reply before the wall-clock cap")
            ready, _, _ = select.select([fd], [], [], min(_POLL, deadline - now))
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise BoundedTimeout("died", f"worker exited (code {self.proc.poll()})")
                self.buf += chunk
            elif cpu_limit is not None:
                used = _cpu_seconds(self.proc.pid)
                if used is not None and used - cpu_start > cpu_limit:
                    raise BoundedTimeout("cpu", f"more than {cpu_limit:g} s of CPU")
        line, _, self.buf = self.buf.partition(b"\n")
        return json.loads(line)


_pools: weakref.WeakSet[BoundedPool] = weakref.WeakSet()


class BoundedPool:
    """Warm worker processes for ``fn(*args)`` calls with a CPU-time bound.

    ``warm`` (``"module:function"``) runs once in every new worker and must return True
    before the worker takes calls; it imports and exercises what the calls need.
    Arguments and results travel as JSON.
    """

    def __init__(self, warm: str | None = None, size: int | None = None, wall_factor: float = 10.0) -> None:
        self.warm = warm
        self.size = size
        self.wall_factor = wall_factor
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._workers: dict[int, _Worker] = {}
        self._starting = 0
        self._live = 0
        self._failures = 0
        self._broken: str | None = None
        self._closed = False
        self.stats = {"calls": 0, "kills": 0, "starts": 0, "retries": 0}
        _pools.add(self)

    # -- lifecycle

    def _size(self) -> int:
        if self.size is None:
            self.size = default_size()
        return self.size

    def start(self) -> None:
        """Start workers up to the pool size in the background (returns at once)."""
        with self._cond:
            self._fill_locked()

    def _fill_locked(self) -> None:
        while not self._broken and not self._closed and self._live < self._size():
            self._live += 1
            threading.Thread(target=self._spawn, name="bounded-worker-start", daemon=True).start()

    def _command(self) -> list[str]:
        # -P: the cwd is not put on sys.path (a stray sympy.py there cannot shadow the real one)
        cmd = [sys.executable, "-P", "-m", "harness.bounded"]
        return cmd + (["--warm", self.warm] if self.warm else [])

    def _spawn(self) -> None:
        worker: _Worker | None = None
        try:
            if not sys.executable:
                raise OSError("sys.executable is empty: cannot start a Python worker")
            env = dict(os.environ)
            # the worker must import this very copy of the harness, whatever the cwd
            root = str(Path(__file__).resolve().parents[1])
            env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
            stderr = tempfile.TemporaryFile()
            proc = subprocess.Popen(
                self._command(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=env,
                start_new_session=True,  # Ctrl-C in the terminal is the parent's to handle
                close_fds=True,
            )
            worker = _Worker(proc, stderr)
            hello = worker.read_line(time.monotonic() + START_TIMEOUT)
            if not hello.get("ready"):
                raise OSError(str(hello.get("error") or hello))
        except BaseException as ex:  # noqa: BLE001
            tail = worker.stderr_tail() if worker is not None else ""
            if worker is not None:
                worker.kill()
            why = str(ex) if not isinstance(ex, BoundedTimeout) else f"not ready within {START_TIMEOUT:g} s"
            msg = f"{why}{' | stderr: ' + tail.splitlines()[-1] if tail else ''}"
            with self._cond:
                self._live -= 1
                self._failures += 1
                if self._failures >= START_ATTEMPTS and self._broken is None:
                    self._broken = (
                        f"the bounded worker (python -m harness.bounded{' --warm ' + self.warm if self.warm else ''}) "
                        f"could not start {self._failures} times in a row: {msg}"
                    )
                self._cond.notify_all()
            return
        with self._cond:
            self.stats["starts"] += 1
            self._failures = 0
            if self._closed:
                self._live -= 1
                worker.kill()
            else:
                self._idle.append(worker)
                self._workers[id(worker)] = worker
            self._cond.notify_all()

    def _acquire(self) -> _Worker:
        deadline = time.monotonic() + START_TIMEOUT
        with self._cond:
            while True:
                if self._broken:
                    raise BoundedUnavailable(self._broken)
                if self._closed:
                    raise BoundedUnavailable("the bounded pool is closed")
                if self._idle:
                    return self._idle.pop()
                self._fill_locked()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BoundedUnavailable(f"no bounded worker became ready within {START_TIMEOUT:g} s")
                self._cond.wait(min(left, 1.0))

    def _release(self, worker: _Worker) -> None:
        with self._cond:
            if self._closed:
                worker.kill()
            else:
                self._idle.append(worker)
            self._cond.notify()

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._cond:
            self._workers.pop(id(worker), None)
            self.stats["kills"] += 1
            self._live -= 1
            self._fill_locked()  # the replacement starts now, not when the next call needs it

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._idle = []
            workers, self._workers = list(self._workers.values()), {}
            self._cond.notify_all()
        for w in workers:  # busy ones too: their callers see "died" and then "closed"
            w.kill()

    # -- calls

    def _count(self, key: str) -> None:
        with self._cond:
            self.stats[key] += 1

    def call(self, fn: Callable[..., Any] | str, *args: Any, cpu_timeout: float) -> Any:
        """``fn(*args)`` in a worker, bounded to ``cpu_timeout`` CPU seconds.

        Raises BoundedTimeout (after one retry when the worker was starved or died),
        BoundedCallError (``fn`` raised) or BoundedUnavailable (no worker can start).
        """
        if not (cpu_timeout > 0 and math.isfinite(cpu_timeout)):
            raise ValueError(f"cpu_timeout must be a positive number, not {cpu_timeout!r}")
        request = {"fn": fn_ref(fn), "args": list(args), "cpu": cpu_timeout}
        json.dumps(request)  # fail here, in the caller, on arguments that cannot travel
        wall = max(MIN_WALL, self.wall_factor * cpu_timeout)
        with self._cond:
            self.stats["calls"] += 1
        last: BoundedTimeout | None = None
        for attempt in range(2):
            worker = self._acquire()
            cpu_start = _cpu_seconds(worker.proc.pid) or 0.0
            try:
                worker.send(request)
                reply = worker.read_line(time.monotonic() + wall, cpu_timeout, cpu_start)
            except BoundedTimeout as ex:
                self._discard(worker)
                last = ex
                if ex.why == "cpu":
                    raise
                if attempt == 0:
                    self._count("retries")
                continue
            except (OSError, ValueError) as ex:  # broken pipe or garbled reply
                self._discard(worker)
                last = BoundedTimeout("died", f"worker failed mid-call: {ex}")
                if attempt == 0:
                    self._count("retries")
                continue
            if not reply.get("ok") and reply.get("kind") == "memory":
                self._discard(worker)  # its heap may be fragmented or half-full
                raise BoundedTimeout("memory", f"more than {MEMORY_MB} MiB")
            self._release(worker)
            if not reply.get("ok"):
                raise BoundedCallError(str(reply.get("error")))
            return reply.get("value")
        assert last is not None
        raise BoundedTimeout(last.why, f"{last} (twice, on two workers)")


@atexit.register
def _close_all() -> None:
    for pool in list(_pools):
        pool.close()


if __name__ == "__main__":
    sys.exit(_serve(sys.argv[1:]))
