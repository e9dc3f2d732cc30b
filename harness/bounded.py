"""Run CPU-bound functions on untrusted input in a pool of killable worker processes.

SymPy (behind math-verify) can spend minutes on hostile LaTeX such as power towers, and a
thread cannot be interrupted, so such calls go to worker processes that are killed and
replaced when they overrun.

Design (every point answers a way the previous forkserver worker failed):

- A **template** process ``python -m harness.bounded --template FD [--warm module:fn]``
  imports and warms what the calls need once (``warm`` must return True), then forks a
  worker per request; workers talk JSON lines over a socket pair whose end reaches the
  template with ``SCM_RIGHTS``. Nothing imports the parent's ``__main__`` (a script piped on
  stdin, a notebook or an unguarded script works and does not run twice), and a
  replacement worker is a fork of a warm process: ready in milliseconds, not seconds.
- A :class:`BoundedPool` keeps about one worker per core (``HARNESS_BOUNDED_WORKERS``
  overrides). When calls queue (say 32 hostile answers at once), it forks more, up to
  ``BURST`` per core, and retires the extra ones when the queue is gone: the bound is CPU
  time, so sharing the cores cannot turn a legitimate call into a timeout, and a quick
  legitimate call is time-sliced in beside the hostile ones instead of waiting for all of
  them. A call past ``LONG_CALL`` s of CPU is reniced and stops counting against that cap
  (its worker is retired afterwards), so the kernel prefers the quick calls. Start-up never counts against a call's bound (a call only goes to a worker that
  said it is ready), and a killed worker is replaced at once, in the background.
- The bound is **CPU time of the worker** (read from the OS), so a loaded machine does not
  turn a legitimate slow call into a timeout. A wall-clock cap (``wall_factor`` times the
  CPU bound, at least ``MIN_WALL`` s) catches a starved or stuck worker; that outcome (and
  a worker that dies mid-call) is retried once on a fresh worker, because it says more
  about the machine than about the input. A CPU or memory overrun is not retried (it
  would overrun again).
- If no worker can start (``START_ATTEMPTS`` failures in a row, or none ready within
  ``START_TIMEOUT`` s), every call raises :class:`BoundedUnavailable` with the reason: a
  broken checker fails the run, it never turns answers into "wrong".
- Nothing outlives the parent: the template exits at end of input; its workers are killed
  by the kernel when it exits (``PR_SET_PDEATHSIG`` on Linux; elsewhere a watcher thread),
  and at the latest at a per-call ``RLIMIT_CPU`` soft limit (the call's bound + 2 s).

Unix only (fork, ``SCM_RIGHTS``); the CPU time comes from ``/proc`` (psutil elsewhere).
"""

from __future__ import annotations

import atexit
import importlib
import json
import math
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import Any, Callable, Literal

START_TIMEOUT = 120.0
"""Seconds a start (the template's imports and warm-up, or one fork) may take before it
counts as failed. Start-up is never part of a call's bound."""

START_ATTEMPTS = 3
"""Failed worker starts in a row after which the pool is declared broken."""

MIN_WALL = 5.0
"""Least wall-clock seconds a call may take before its worker counts as starved or stuck."""

MAX_WORKERS = 8
"""Cap on the default pool size (one per core)."""

BURST = 4
"""Workers per pool-size unit a queue of calls may grow the pool to (then shrinks back)."""

LONG_CALL = 0.2
"""CPU seconds after which a call is *long*: its worker is reniced (the kernel then prefers
quick calls) and no longer counts against the pool's burst cap, so calls arriving behind a
crowd of hostile ones still get a worker at once. A long call's worker is retired after it."""

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
    """Template main: ``python -m harness.bounded --template FD [--warm module:fn]``."""
    os.dup2(2, 1)  # stray prints go to stderr: the protocol lives on sockets only
    ctrl = socket.socket(fileno=int(argv[argv.index("--template") + 1]))
    warm = argv[argv.index("--warm") + 1] if "--warm" in argv else None

    def send(msg: dict[str, Any]) -> None:
        ctrl.sendall((json.dumps(msg) + "\n").encode())

    try:
        if warm is not None:
            ok = _resolve(warm)()
            if ok is not True:
                send({"ready": False, "error": f"warm-up {warm} returned {ok!r}, not True"})
                return 1
    except BaseException as ex:  # noqa: BLE001 - report any start failure to the parent
        send({"ready": False, "error": f"{type(ex).__name__}: {ex}"[:2000]})
        return 1
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # workers are reaped by the kernel
    send({"ready": True, "pid": os.getpid()})
    while True:
        msg, fds, _, _ = socket.recv_fds(ctrl, 64, 1)
        if not msg or not fds:
            return 0  # the parent went away
        pid = os.fork()
        if pid == 0:
            ctrl.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            try:
                _work(socket.socket(fileno=fds[0]), template=os.getppid())
            finally:
                os._exit(0)
        os.close(fds[0])
        send({"pid": pid})


def _work(conn: socket.socket, template: int) -> None:
    """One forked worker: answer JSON-line requests on ``conn`` until it closes."""
    _die_with_parent(template)
    _limit_memory()
    threading.Thread(target=_watch_parent, args=(template,), daemon=True).start()
    conn.sendall((json.dumps({"ready": True, "pid": os.getpid()}) + "\n").encode())
    for line in conn.makefile("rb"):
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
        conn.sendall((json.dumps(reply) + "\n").encode())


def _limit_memory() -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a killed worker leaves no core file

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
        soft = math.ceil(used + cpu + 2)
        hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    except (ImportError, OSError, ValueError):
        pass


def _die_with_parent(parent: int) -> None:
    """Linux: the kernel kills this worker when the template exits, even mid-computation
    (a thread cannot run while SymPy holds the GIL in a C-level big-integer power)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the template is already gone
        os._exit(0)


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(0)


# ---------------------------------------------------------------- the parent side


class _Lines:
    """JSON lines from a socket, with deadlines and an optional CPU bound on its process."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def send(self, msg: dict[str, Any]) -> None:
        self.sock.sendall((json.dumps(msg) + "\n").encode())

    def read(
        self,
        deadline: float,
        pid: int | None = None,
        cpu_limit: float | None = None,
        cpu_start: float = 0.0,
        on_long: Callable[[], None] | None = None,
    ) -> dict[str, Any]:
        """One message; raises BoundedTimeout when the deadline or the CPU bound passes
        first. ``on_long`` is called once when the call has used ``LONG_CALL`` s of CPU."""
        while b"\n" not in self.buf:
            now = time.monotonic()
            if now >= deadline:
                raise BoundedTimeout("wall", "no reply before the wall-clock cap")
            ready, _, _ = select.select([self.sock], [], [], min(_POLL, deadline - now))
            if ready:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise BoundedTimeout("died", "the process exited")
                self.buf += chunk
            elif cpu_limit is not None and pid is not None:
                used = _cpu_seconds(pid)
                if used is not None and used - cpu_start > cpu_limit:
                    raise BoundedTimeout("cpu", f"more than {cpu_limit:g} s of CPU")
                if on_long is not None and used is not None and used - cpu_start > LONG_CALL:
                    on_long()
                    on_long = None
        line, _, self.buf = self.buf.partition(b"\n")
        return json.loads(line)


class _Worker:
    def __init__(self, sock: socket.socket, pid: int) -> None:
        self.lines = _Lines(sock)
        self.pid = pid
        self.long = False  # its current call passed LONG_CALL s of CPU (and it was reniced)
        self.pidfd: int | None = None
        try:  # a pidfd names this very process: no risk of signalling a reused pid
            self.pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            pass

    def kill(self) -> None:
        try:
            if self.pidfd is not None:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            else:
                os.kill(self.pid, signal.SIGKILL)
        except (OSError, AttributeError):
            pass  # already gone
        for close in (self.lines.sock.close, lambda: self.pidfd is not None and os.close(self.pidfd)):
            try:
                close()
            except OSError:
                pass
        self.pidfd = None


class _Template:
    """The warm process that workers are forked from."""

    def __init__(self, warm: str | None) -> None:
        if not sys.executable:
            raise OSError("sys.executable is empty: cannot start a Python process")
        env = dict(os.environ)
        # the template must import this very copy of the harness, whatever the cwd
        root = str(Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
        ours, theirs = socket.socketpair()
        self.stderr = tempfile.TemporaryFile()
        # -P: the cwd is not put on sys.path (a stray sympy.py there cannot shadow the real one)
        cmd = [sys.executable, "-P", "-m", "harness.bounded", "--template", str(theirs.fileno())]
        self.proc = subprocess.Popen(
            cmd + (["--warm", warm] if warm else []),
            stdin=subprocess.DEVNULL,
            stdout=self.stderr,
            stderr=self.stderr,
            env=env,
            pass_fds=[theirs.fileno()],
            start_new_session=True,  # Ctrl-C in the terminal is the parent's to handle
        )
        theirs.close()
        self.ctrl = _Lines(ours)
        self.lock = threading.Lock()
        try:
            hello = self.ctrl.read(time.monotonic() + START_TIMEOUT)
        except BoundedTimeout as ex:
            self.close()
            raise OSError(f"not ready within {START_TIMEOUT:g} s" if ex.why == "wall" else f"exited{self._tail()}") from None
        if not hello.get("ready"):
            self.close()
            raise OSError(f"{hello.get('error') or hello}{self._tail()}")

    def _tail(self) -> str:
        try:
            self.stderr.seek(0)
            lines = self.stderr.read()[-2000:].decode("utf-8", "replace").strip().splitlines()
            return f" | stderr: {lines[-1]}" if lines else ""
        except (OSError, ValueError):
            return ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def fork(self) -> _Worker:
        ours, theirs = socket.socketpair()
        try:
            with self.lock:
                socket.send_fds(self.ctrl.sock, [b"fork"], [theirs.fileno()])
                pid = int(self.ctrl.read(time.monotonic() + START_TIMEOUT)["pid"])
        finally:
            theirs.close()
        worker = _Worker(ours, pid)
        try:
            hello = worker.lines.read(time.monotonic() + START_TIMEOUT)
        except BoundedTimeout:
            worker.kill()
            raise OSError(f"a forked worker did not start{self._tail()}") from None
        if not hello.get("ready"):
            worker.kill()
            raise OSError(str(hello))
        return worker

    def close(self) -> None:
        try:
            self.ctrl.sock.close()
        except OSError:
            pass
        try:
            self.proc.kill()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.stderr.close()


_pools: weakref.WeakSet[BoundedPool] = weakref.WeakSet()


class BoundedPool:
    """Warm worker processes for ``fn(*args)`` calls with a CPU-time bound.

    ``warm`` (``"module:function"``) runs once in every new worker and must return True
    before the worker takes calls; it imports and exercises what the calls need.
    Arguments and results travel as JSON.
    """

    def __init__(self, warm: str | None = None, size: int | None = None, wall_factor: float = 30.0) -> None:
        self.warm = warm
        self.size = size
        self.wall_factor = wall_factor
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._workers: dict[int, _Worker] = {}
        self._live = 0
        self._busy = 0
        self._waiting = 0
        self._long = 0
        self._failures = 0
        self._broken: str | None = None
        self._closed = False
        self._template: _Template | None = None
        self._template_lock = threading.Lock()
        self.stats = {"calls": 0, "kills": 0, "starts": 0, "retries": 0, "templates": 0}
        _pools.add(self)

    def _forget_after_fork(self) -> None:
        """In a forked child: the inherited workers and template belong to the parent."""
        self._cond = threading.Condition()
        self._template_lock = threading.Lock()
        self._idle, self._workers, self._template = [], {}, None
        self._live = self._busy = self._waiting = self._failures = self._long = 0

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
        """Start workers up to the size, or beyond it while calls queue: up to BURST x size
        for quick calls, plus as many (at most) as there are long calls running."""
        size = self._size()
        cap = BURST * size + min(self._long, BURST * size)
        target = min(cap, max(size, self._busy + self._waiting))
        while not self._broken and not self._closed and self._live < target:
            self._live += 1
            threading.Thread(target=self._spawn, name="bounded-worker-start", daemon=True).start()

    def _template_locked(self) -> _Template:
        """The live template, started if needed (callers hold ``_template_lock``)."""
        if self._template is None or not self._template.alive():
            if self._template is not None:
                self._template.close()
            self._template = None
            self._template = _Template(self.warm)
            self.stats["templates"] += 1
        return self._template

    def _spawn(self) -> None:
        try:
            with self._template_lock:
                template = self._template_locked()
            worker = template.fork()
        except BaseException as ex:  # noqa: BLE001
            with self._cond:
                self._live -= 1
                self._failures += 1
                if self._failures >= START_ATTEMPTS and self._broken is None:
                    self._broken = (
                        f"the bounded worker (python -m harness.bounded{' --warm ' + self.warm if self.warm else ''}) "
                        f"could not start {self._failures} times in a row: {ex}"
                    )
                self._cond.notify_all()
            return
        with self._cond:
            self.stats["starts"] += 1
            self._failures = 0
            if self._closed or self._surplus_locked():
                self._live -= 1  # closed, or a burst is over before this one was needed
                worker.kill()
            else:
                self._idle.append(worker)
                self._workers[id(worker)] = worker
            self._cond.notify_all()

    def _acquire(self) -> _Worker:
        """An idle worker. Waiting here is queueing, never a failure: every start ends
        (ready or failed) within START_TIMEOUT and every call within its wall cap."""
        with self._cond:
            self._waiting += 1
            try:
                while True:
                    if self._broken:
                        raise BoundedUnavailable(self._broken)
                    if self._closed:
                        raise BoundedUnavailable("the bounded pool is closed")
                    if self._idle:
                        self._busy += 1
                        return self._idle.pop()
                    self._fill_locked()
                    self._cond.wait(1.0)
            finally:
                self._waiting -= 1

    def _release(self, worker: _Worker) -> None:
        with self._cond:
            self._busy -= 1
            if worker.long:
                self._long -= 1
            if self._closed or worker.long or self._surplus_locked():
                self._retire_locked(worker)  # a burst worker, no longer needed
            else:
                self._idle.append(worker)
            self._cond.notify()

    def _surplus_locked(self) -> bool:
        """More workers than the size and than the calls in flight (plus one spare) need."""
        return self._live > max(self._size(), self._busy + self._waiting + 1)

    def _retire_locked(self, worker: _Worker) -> None:
        worker.kill()
        self._workers.pop(id(worker), None)
        self._live -= 1
        self._fill_locked()

    def _mark_long(self, worker: _Worker) -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, worker.pid, 15)
        except (AttributeError, OSError):
            pass
        with self._cond:
            worker.long = True
            self._long += 1
            self._fill_locked()

    def _discard(self, worker: _Worker) -> None:
        """Kill a worker that overran or broke; its replacement starts now, not when the
        next call needs it."""
        with self._cond:
            self._busy -= 1
            if worker.long:
                self._long -= 1
            self.stats["kills"] += 1
            self._retire_locked(worker)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._idle = []
            workers, self._workers = list(self._workers.values()), {}
            self._cond.notify_all()
        for w in workers:  # busy ones too: their callers see "died" and then "closed"
            w.kill()
        with self._template_lock:
            if self._template is not None:
                self._template.close()
                self._template = None

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
            cpu_start = _cpu_seconds(worker.pid) or 0.0
            try:
                worker.lines.send(request)
                reply = worker.lines.read(
                    time.monotonic() + wall, worker.pid, cpu_timeout, cpu_start, lambda w=worker: self._mark_long(w)
                )
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
            except BaseException:  # e.g. KeyboardInterrupt: the worker's state is unknown
                self._discard(worker)
                raise
            if not reply.get("ok") and reply.get("kind") == "memory":
                self._discard(worker)  # its heap may be fragmented or half-full
                raise BoundedTimeout("memory", f"more than {MEMORY_MB} MiB")
            self._release(worker)
            if not reply.get("ok"):
                raise BoundedCallError(str(reply.get("error")))
            return reply.get("value")
        assert last is not None
        raise BoundedTimeout(last.why, f"{last} (twice, on two workers)")


def _after_fork_in_child() -> None:
    for pool in list(_pools):
        pool._forget_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _close_all() -> None:
    for pool in list(_pools):
        pool.close()


if __name__ == "__main__":
    sys.exit(_serve(sys.argv[1:]))
