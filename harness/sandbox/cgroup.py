"""A cgroup per sandbox: total memory, process count and CPU of one sample, as containers do.

rlimits bound each process; a cgroup bounds the sample: all its processes together, and the
files it keeps in its tmpfs work space (tmpfs pages are charged to the memory cgroup of the
process that wrote them). The harness creates, under its own cgroup,

    <own cgroup>/harness-bwrap-<pid>/          one per harness process: all its sandboxes
        cpu weight = CPUs x the default, memory = half the machine's memory
    <own cgroup>/harness-bwrap-<pid>/s-<id>/   one per sandbox (sample)
        memory (+swap) limit, pids limit, CPU quota

so the sandboxes of one eval share the CPU fairly among themselves (a sample with 16 busy
processes gets no more than a sample with one), a call that has run for a while yields to
short ones (``set_priority``), the harness's event loop keeps its own share beside them,
and a sample's memory can never take the machine. Nesting under the harness's
own cgroup keeps every limit the harness itself runs under.

What the machine offers is detected once per process: cgroup v2 with the memory, pids and
cpu controllers delegated, or the v1 controllers mounted read-write (root), or neither; in
that last case the log says so once and the per-process rlimits remain the only limits.
Each sandbox's launcher (``launcher.py``) joins its cgroup through a tiny ``/bin/sh`` prefix
that writes its own pid to ``cgroup.procs`` before it execs, and forks every call of the
sample, so calls are born inside it (a migration costs an RCU grace period, a fork nothing);
without a launcher each call runs behind that prefix itself. Nothing of a call runs outside.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import os
import re
import secrets
import signal
import time
from dataclasses import dataclass, field
from logging import getLogger
from pathlib import Path
from typing import Literal

from harness.sandbox.workspace import pid_alive

logger = getLogger(__name__)

CONTROLLERS = ("memory", "pids", "cpu")
"""The controllers that set limits."""
V1_CONTROLLERS = ("memory", "cpu")
"""On v1 every hierarchy a call joins costs a migration (milliseconds, under load) per call,
and v1 is only usable as root, where each sample runs as a uid of its own, so RLIMIT_NPROC
already bounds its tasks: v1 goes without a pids cgroup."""
ACCOUNTING = "cpuacct"
"""v1 only: CPU time used, for the priority of calls (v2 has it in cpu.stat)."""
PARENT_PREFIX = "harness-bwrap-"
CPU_PERIOD_US = 100_000


@dataclass
class CgroupSupport:
    """What this machine lets the harness do with cgroups (detected once per process)."""

    version: Literal["v2", "v1"] | None
    parents: dict[str, str] = field(default_factory=dict)
    """controller -> directory of this process's ``harness-bwrap-<pid>`` cgroup."""
    reason: str = ""
    """Why there is no (or only partial) cgroup support."""

    @property
    def controllers(self) -> tuple[str, ...]:
        return tuple(c for c in CONTROLLERS if c in self.parents)

    @property
    def missing(self) -> list[str]:
        """Limit controllers wanted here but not usable (v1 never uses pids: see V1_CONTROLLERS)."""
        wanted = V1_CONTROLLERS if self.version == "v1" else CONTROLLERS
        return [c for c in wanted if c not in self.parents]

    def describe(self) -> str:
        if self.version is None:
            return f"none ({self.reason}); per-process rlimits only"
        note = f"; missing {', '.join(self.missing)}: {self.reason}" if self.missing else ""
        return f"cgroup {self.version} ({', '.join(self.controllers)}){note}"


# ---------------------------------------------------------------------------------------
# detection


def _read(path: str | Path) -> str:
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def _write(path: str | Path, value: str) -> None:
    with open(path, "w", encoding="ascii") as f:
        f.write(value)


def parse_mountinfo(text: str) -> list[tuple[str, str, str, set[str]]]:
    """(fstype, mount point, root, options) of each cgroup / cgroup2 mount."""
    mounts = []
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        fields, rfields = left.split(), right.split()
        if len(fields) < 5 or len(rfields) < 3 or rfields[0] not in ("cgroup", "cgroup2"):
            continue
        unescape = lambda s: re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), s)  # noqa: E731
        options = set(rfields[2].split(",")) | set(fields[5].split(",") if len(fields) > 5 else [])
        mounts.append((rfields[0], unescape(fields[4]), unescape(fields[3]), options))
    return mounts


def parse_proc_cgroup(text: str) -> tuple[str | None, dict[str, str]]:
    """(v2 path, {v1 controller: path}) from /proc/<pid>/cgroup."""
    v2: str | None = None
    v1: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, ctrls, path = parts
        if ctrls == "":
            v2 = path
        for c in ctrls.split(","):
            if c:
                v1[c] = path
    return v2, v1


def _inside(mount: str, root: str, path: str) -> str | None:
    """The directory of cgroup ``path`` under a mount whose root is ``root``."""
    if root == "/":
        return os.path.join(mount, path.lstrip("/"))
    if path == root or path.startswith(root.rstrip("/") + "/"):
        return os.path.join(mount, path[len(root):].lstrip("/"))
    return None


_support: CgroupSupport | None = None


def support() -> CgroupSupport:
    """Detect and set up (once per process) the cgroups the sandboxes will live in."""
    global _support
    if _support is None:
        try:
            _support = _detect()
        except Exception as ex:  # never let detection stop an eval: degrade and say why
            _support = CgroupSupport(None, reason=f"detection failed: {ex}")
        if _support.parents:
            atexit.register(_remove_parents, dict(_support.parents))
    return _support


def _detect() -> CgroupSupport:
    try:
        mounts = parse_mountinfo(_read("/proc/self/mountinfo"))
        v2_path, v1_paths = parse_proc_cgroup(_read("/proc/self/cgroup"))
    except OSError as ex:
        return CgroupSupport(None, reason=f"cannot read /proc: {ex}")
    v1_mounts = {
        c: (m, r) for fs, m, r, opts in mounts if fs == "cgroup" for c in (*CONTROLLERS, ACCOUNTING) if c in opts
    }
    if any(c in v1_mounts for c in CONTROLLERS):
        return _setup_v1(v1_mounts, v1_paths)
    v2 = [(m, r) for fs, m, r, _ in mounts if fs == "cgroup2"]
    if v2 and v2_path is not None:
        own = _inside(v2[0][0], v2[0][1], v2_path)
        if own is not None:
            return _setup_v2(own)
    return CgroupSupport(None, reason="no cgroup filesystem with the memory, pids or cpu controller is mounted")


def _parent_name() -> str:
    return f"{PARENT_PREFIX}{os.getpid()}"


def _machine_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 8 * 1024**3


def _setup_v1(mounts: dict[str, tuple[str, str]], paths: dict[str, str]) -> CgroupSupport:
    parents: dict[str, str] = {}
    problems: list[str] = []
    for c in (*V1_CONTROLLERS, ACCOUNTING):
        if c not in mounts or c not in paths:
            if c != ACCOUNTING:
                problems.append(f"{c} controller not mounted")
            continue
        own = _inside(*mounts[c], paths[c])
        if own is None or not os.path.isdir(own):
            problems.append(f"own {c} cgroup not visible")
            continue
        parent = os.path.join(own, _parent_name())
        try:
            os.makedirs(parent, exist_ok=True)
            if c == "cpu":
                _write(os.path.join(parent, "cpu.shares"), str(1024 * (os.cpu_count() or 1)))
            elif c == "memory":
                _write(os.path.join(parent, "memory.limit_in_bytes"), str(_machine_memory() // 2))
        except OSError as ex:
            with contextlib.suppress(OSError):
                os.rmdir(parent)
            if c != ACCOUNTING:
                problems.append(f"cannot create a {c} cgroup under {own} ({ex.strerror}; needs root)")
            continue
        parents[c] = parent
    if not any(c in parents for c in CONTROLLERS):
        for d in dict.fromkeys(parents.values()):
            with contextlib.suppress(OSError):
                os.rmdir(d)
        parents = {}
    if not parents:
        return CgroupSupport(None, reason="cgroup v1: " + "; ".join(problems))
    return CgroupSupport("v1", parents, reason="; ".join(problems))


def _setup_v2(own: str) -> CgroupSupport:
    available = set(_read(os.path.join(own, "cgroup.controllers")).split())
    wanted = [c for c in CONTROLLERS if c in available]
    if not wanted:
        return CgroupSupport(None, reason=f"cgroup v2: {own} offers none of memory, pids, cpu")
    enable = " ".join(f"+{c}" for c in wanted)
    try:
        _write(os.path.join(own, "cgroup.subtree_control"), enable)
    except OSError as ex:
        if ex.errno != errno.EBUSY:
            return CgroupSupport(None, reason=f"cgroup v2: cannot delegate controllers in {own} ({ex.strerror})")
        # "no internal processes": a cgroup holding processes cannot hand controllers to
        # children. When the harness is alone in it, it moves itself to a leaf first.
        procs = _read(os.path.join(own, "cgroup.procs")).split()
        if procs != [str(os.getpid())]:
            return CgroupSupport(
                None,
                reason=(
                    f"cgroup v2: {own} also holds other processes, so it cannot delegate memory/pids/cpu; "
                    "start the eval as the only process of a delegated cgroup, e.g. "
                    "`systemd-run --scope -p Delegate=yes inspect eval ...`"
                ),
            )
        try:
            leaf = os.path.join(own, f"{_parent_name()}-self")
            os.makedirs(leaf, exist_ok=True)
            _write(os.path.join(leaf, "cgroup.procs"), str(os.getpid()))
            _write(os.path.join(own, "cgroup.subtree_control"), enable)
        except OSError as ex2:
            return CgroupSupport(None, reason=f"cgroup v2: cannot delegate controllers in {own} ({ex2.strerror})")
    parent = os.path.join(own, _parent_name())
    try:
        os.makedirs(parent, exist_ok=True)
        _write(os.path.join(parent, "cgroup.subtree_control"), enable)
        if "cpu" in wanted:
            _write(os.path.join(parent, "cpu.weight"), str(min(10_000, 100 * (os.cpu_count() or 1))))
        if "memory" in wanted:
            _write(os.path.join(parent, "memory.max"), str(_machine_memory() // 2))
    except OSError as ex:
        with contextlib.suppress(OSError):
            os.rmdir(parent)
        return CgroupSupport(None, reason=f"cgroup v2: cannot create {parent} ({ex.strerror})")
    missing = [c for c in CONTROLLERS if c not in wanted]
    return CgroupSupport("v2", {c: parent for c in wanted}, reason=f"not offered by {own}" if missing else "")


# ---------------------------------------------------------------------------------------
# one sandbox's cgroup


@dataclass(frozen=True)
class CgroupLimits:
    memory_bytes: int
    pids: int
    cpus: float


class SandboxCgroup:
    """The cgroup of one sandbox: created with its limits, joined by every call, removed at cleanup."""

    def __init__(self, sup: CgroupSupport, limits: CgroupLimits) -> None:
        self.support = sup
        self.limits = limits
        name = f"s-{secrets.token_hex(6)}"
        self.dirs: dict[str, str] = {}
        try:
            for c, parent in sup.parents.items():
                d = os.path.join(parent, name)
                if d not in self.dirs.values():
                    os.mkdir(d, 0o755)
                self.dirs[c] = d
            self._apply()
        except BaseException:
            self.remove()
            raise

    def _apply(self) -> None:
        lim = self.limits
        quota = max(1000, int(lim.cpus * CPU_PERIOD_US))
        if self.support.version == "v2":
            d = next(iter(self.dirs.values()))
            if "memory" in self.dirs:
                _write(os.path.join(d, "memory.max"), str(lim.memory_bytes))
                if os.path.exists(os.path.join(d, "memory.swap.max")):
                    _write(os.path.join(d, "memory.swap.max"), "0")
            if "pids" in self.dirs:
                _write(os.path.join(d, "pids.max"), str(lim.pids))
            if "cpu" in self.dirs:
                _write(os.path.join(d, "cpu.max"), f"{quota} {CPU_PERIOD_US}")
            return
        if "memory" in self.dirs:
            d = self.dirs["memory"]
            _write(os.path.join(d, "memory.limit_in_bytes"), str(lim.memory_bytes))
            memsw = os.path.join(d, "memory.memsw.limit_in_bytes")
            if os.path.exists(memsw):  # swap accounting on: memory + swap together
                _write(memsw, str(lim.memory_bytes))
        if "pids" in self.dirs:
            _write(os.path.join(self.dirs["pids"], "pids.max"), str(lim.pids))
        if "cpu" in self.dirs:
            _write(os.path.join(self.dirs["cpu"], "cpu.cfs_period_us"), str(CPU_PERIOD_US))
            _write(os.path.join(self.dirs["cpu"], "cpu.cfs_quota_us"), str(quota))

    def set_priority(self, high: bool) -> None:
        """Full CPU weight, or the least (the call then runs on spare CPU only). Never raises.

        A call starts at full weight and is lowered once it has used some CPU time, and a
        sample whose last call did starts low: a short call arriving while CPU-bound ones run
        is served at once instead of sharing the CPU with all of them (a multi-level feedback
        queue, with the kernel doing the scheduling)."""
        d = self.dirs.get("cpu")
        if d is None:
            return
        if self.support.version == "v2":
            name, value = "cpu.weight", "100" if high else "1"
        else:
            name, value = "cpu.shares", "1024" if high else "2"
        with contextlib.suppress(OSError):
            _write(os.path.join(d, name), value)

    def cpu_usage(self) -> float | None:
        """CPU seconds used by the sandbox's processes so far (None: not accounted here)."""
        with contextlib.suppress(OSError, ValueError, StopIteration):
            if self.support.version == "v2" and "cpu" in self.dirs:
                stat = _read(os.path.join(self.dirs["cpu"], "cpu.stat")).split()
                return int(stat[stat.index("usage_usec") + 1]) / 1e6
            if ACCOUNTING in self.dirs:
                return int(_read(os.path.join(self.dirs[ACCOUNTING], "cpuacct.usage"))) / 1e9
        return None

    def procs_files(self) -> list[str]:
        """The ``cgroup.procs`` files a call writes its pid to (one per v1 hierarchy)."""
        return sorted({os.path.join(d, "cgroup.procs") for d in self.dirs.values()})

    def join_script(self) -> tuple[str, list[str]]:
        """A /bin/sh fragment that moves the shell into this cgroup, and its arguments."""
        files = self.procs_files()
        script = (
            'n=$1; shift; while [ "$n" -gt 0 ]; do '
            'echo $$ > "$1" || { echo "sandbox: cannot join cgroup $1" >&2; exit 125; }; '
            'shift; n=$((n - 1)); done'
        )
        return script, [str(len(files)), *files]

    def oom_kills(self) -> int:
        """How many processes the kernel killed for exceeding this sandbox's memory."""
        d = self.dirs.get("memory")
        if d is None:
            return 0
        name = "memory.events" if self.support.version == "v2" else "memory.oom_control"
        with contextlib.suppress(OSError, ValueError):
            for line in _read(os.path.join(d, name)).splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        return 0

    def pids(self) -> set[int]:
        found: set[int] = set()
        for f in self.procs_files():
            with contextlib.suppress(OSError, ValueError):
                found |= {int(p) for p in _read(f).split()}
        return found

    def kill(self) -> None:
        kill_cgroup(list(self.dirs.values()), self.support.version)

    def remove(self) -> None:
        """Kill what is left and delete the cgroup; never raises (errors are logged)."""
        remove_cgroups(list(dict.fromkeys(self.dirs.values())), self.support.version)
        self.dirs = {}


def kill_cgroup(dirs: list[str], version: str | None) -> None:
    for d in dirs:
        if version == "v2" and os.path.exists(os.path.join(d, "cgroup.kill")):
            with contextlib.suppress(OSError):
                _write(os.path.join(d, "cgroup.kill"), "1")
            continue
        with contextlib.suppress(OSError, ValueError):
            for pid in _read(os.path.join(d, "cgroup.procs")).split():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(int(pid), signal.SIGKILL)


def remove_cgroups(dirs: list[str], version: str | None, wait: float = 2.0) -> None:
    """rmdir each cgroup (killing its processes first); log what cannot be removed."""
    deadline = time.monotonic() + wait
    for d in dirs:
        while True:
            try:
                os.rmdir(d)
                break
            except FileNotFoundError:
                break
            except OSError as ex:
                if ex.errno == errno.EBUSY and time.monotonic() < deadline:
                    kill_cgroup([d], version)
                    time.sleep(0.01)
                    continue
                logger.warning("bwrap sandbox: could not remove cgroup %s: %s", d, ex)
                break


def _remove_parents(parents: dict[str, str]) -> None:
    for d in dict.fromkeys(parents.values()):
        with contextlib.suppress(OSError):
            os.rmdir(d)


def sweep_stale(sup: CgroupSupport | None = None) -> int:
    """Remove cgroups left by harness processes that died; never raises."""
    sup = sup or support()
    removed = 0
    for parent in dict.fromkeys(sup.parents.values()):
        base = os.path.dirname(parent)
        try:
            names = os.listdir(base)
        except OSError:
            continue
        for name in names:
            m = re.fullmatch(re.escape(PARENT_PREFIX) + r"(\d+)(-self)?", name)
            if not m or int(m.group(1)) == os.getpid() or pid_alive(int(m.group(1))):
                continue
            stale = os.path.join(base, name)
            try:
                children = [os.path.join(stale, c) for c in os.listdir(stale) if os.path.isdir(os.path.join(stale, c))]
            except OSError:
                children = []
            remove_cgroups([*children, stale], sup.version)
            removed += not os.path.exists(stale)
    return removed

