"""``bwrap``: an inspect sandbox that runs model-written code under bubblewrap.

Registered with inspect as the sandbox type ``bwrap`` (``--sandbox bwrap``, or a task's
``sandbox="bwrap"``), so inspect's own ``python()`` and ``bash()`` tools run in it. Every
``exec`` starts a fresh ``bwrap`` process, confined the way a container runtime confines one:

- no network (``--unshare-net``: only a loopback device), new pid/ipc/uts namespaces;
- the host filesystem is *not* mounted wholesale: ``/usr`` (with the ``/bin``, ``/lib``
  links), ``/etc`` and the Python installation are bound read-only; home directories,
  ``/tmp``, ``/var``, ``/run`` and the project are simply absent, so secrets stored there
  cannot be read; the environment is cleared (no API keys leak in);
- a seccomp filter modelled on Docker's default profile (keyrings, namespaces, mounts,
  io_uring, bpf, perf, ptrace, kernel modules, ... denied; see ``seccomp.py``), and a fresh
  anonymous session keyring per call, so keys of the harness's login session are out of
  reach; no new user namespaces;
- one private writable space per sample, mounted at ``/sandbox`` (the cwd and ``HOME``)
  plus a private ``/tmp``; both persist across the sample's calls and are deleted with it;
  as root it is a tmpfs with a size and file budget (``workspace.py``);
- per-sample budgets through a cgroup when the machine offers one (``cgroup.py``): total
  memory, processes and CPU of everything the sample runs; per-process limits set with
  ``prlimit`` in any case: CPU seconds, address space, process count, file size, open files,
  no core dumps; a wall-clock timeout on every call kills the whole sandbox (bwrap's pid
  namespace dies with it, so nothing outlives the call);
- stdout/stderr are capped: past the cap the sandbox is killed and the caller gets
  ``OutputLimitExceededError`` with the head of the output;
- when the harness runs as root, the code runs as an unprivileged, per-sample uid (so
  root-only files stay unreadable and the process limit counts only that sample);
- with a cgroup, each sample's calls are forked by one launcher process that lives in the
  cgroup (``launcher.py``), so no call pays a cgroup migration (an RCU grace period);
- calls are not queued behind each other; with a CPU cgroup every sample gets an equal CPU
  weight and a CPU-bound call (and then its sample) yields to short ones, so a benign call
  among hostile ones is served at once; without one, sandboxed code runs at nice 10.

Which of these protections are active is written to each sample's transcript (an info
event from "bwrap sandbox") and logged once per process.

Limits are the fields of :class:`BwrapConfig`; pass them as the sandbox config
(``SandboxEnvironmentSpec("bwrap", BwrapConfig(...))`` or ``--sandbox bwrap:limits.yaml``).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import os
import re
import resource
import secrets
import shutil
import signal
import sys
from dataclasses import dataclass
from logging import getLogger
from pathlib import Path
from subprocess import DEVNULL, PIPE
from typing import Any, Literal, Union, overload

import anyio
from inspect_ai._util.error import PrerequisiteError
from inspect_ai.util import (
    ExecResult,
    OutputLimitExceededError,
    SandboxEnvironment,
    SandboxEnvironmentConfigType,
    SandboxEnvironmentLimits,
    concurrency,
    sandboxenv,
)
from inspect_ai.util._sandbox.environment import SandboxUserUnsupportedError
from inspect_ai.util._sandbox.events import SandboxTimeoutError
from inspect_ai.util._subprocess import _close_pipe_transports
from pydantic import BaseModel, ConfigDict, Field

from harness.sandbox import cgroup, seccomp
from harness.sandbox.launcher import ForkFailed, LaunchedProcess, Launcher, LauncherGone
from harness.sandbox.workspace import Workspace, sweep_stale_dirs

logger = getLogger(__name__)

SANDBOX_TYPE = "bwrap"
INSTALL_HINT = (
    "Install it with `sudo apt-get install bubblewrap` (Debian/Ubuntu; `sudo dnf install "
    "bubblewrap` on Fedora), or pick another sandbox with -T sandbox=docker."
)
WORKDIR = "/sandbox"
"""Where the sample's private work dir appears inside the sandbox (cwd and HOME)."""

_UID_RANGE = (2_000_000_000, 2_100_000_000)
"""Unprivileged uids handed to sandboxes when the harness runs as root (no passwd entry needed)."""


class BwrapConfig(BaseModel):
    """Limits of the ``bwrap`` sandbox (per process unless said to be per sample)."""

    model_config = ConfigDict(extra="forbid")

    timeout: int = Field(default=60, ge=1)
    """Wall-clock seconds for a call whose caller gives no timeout (python() passes its own)."""
    cpu_seconds: int = Field(default=60, ge=1)
    """CPU seconds per process (RLIMIT_CPU); also capped at the call's timeout + 1."""
    memory_mb: int = Field(default=1024, ge=64)
    """Address space per process in MiB (RLIMIT_AS)."""
    max_procs: int = Field(default=16, ge=1)
    """Processes and threads (RLIMIT_NPROC; also the sample's total through its cgroup)."""
    max_file_mb: int = Field(default=64, ge=1)
    """Largest file a process may write, MiB (RLIMIT_FSIZE)."""
    max_open_files: int = Field(default=256, ge=16)
    """Open file descriptors per process (RLIMIT_NOFILE)."""
    max_output_kb: int = Field(default=1024, ge=1)
    """Cap on each of stdout and stderr, KiB; past it the call is killed (see module doc)."""
    shm_mb: int = Field(default=64, ge=1)
    """Size of the private /dev/shm (used by multiprocessing), MiB."""
    disk_mb: int = Field(default=512, ge=1)
    """The sample's writable space (/sandbox and /tmp together), MiB (tmpfs; root only)."""
    max_files: int = Field(default=16384, ge=16)
    """Files and directories the sample may create in its writable space (tmpfs inodes)."""
    total_memory_mb: int = Field(default=2048, ge=64)
    """Memory of all the sample's processes plus its files in the tmpfs, MiB (cgroup)."""
    total_cpus: float = Field(default=1.0, gt=0.0, le=1024.0)
    """CPUs all the sample's processes may use together (cgroup CPU quota)."""
    priority_cpu_seconds: float = Field(default=0.25, gt=0.0)
    """With a CPU cgroup: CPU time a call may use at full weight; past it the call yields to
    others (it still runs whenever a CPU is spare), and the sample's next call starts at that
    low weight (also after a call killed for its timeout or output) until a call of it stays
    below. So short calls stay fast among CPU-bound ones."""
    max_parallel_calls: int = Field(default=128, ge=1)
    """Sandbox calls running at once in one harness process (all samples); more wait."""
    nice: int = Field(default=10, ge=0, le=19)
    """Without a CPU cgroup: CPU priority of sandboxed code below the harness (keeps its
    event loop responsive among CPU-bound calls). With one, the cgroup's weights do that."""
    python: str | None = None
    """Interpreter found first on PATH inside (default: the one running inspect)."""
    ro_binds: list[str] = Field(default_factory=list)
    """Extra host paths made visible read-only at the same place."""


def load_config(config: SandboxEnvironmentConfigType | dict[str, Any] | None) -> BwrapConfig:
    """The config as given to inspect: None, a BwrapConfig, a dict, or a YAML/JSON file path."""
    if config is None:
        return BwrapConfig()
    if isinstance(config, BwrapConfig):
        return config
    if isinstance(config, dict):
        return BwrapConfig(**config)
    if isinstance(config, str):
        path = Path(config).expanduser()
        if not path.is_file():
            raise PrerequisiteError(f"bwrap sandbox config file not found: {path}")
        import yaml

        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise PrerequisiteError(f"{path}: expected a mapping of bwrap limits.")
        return BwrapConfig(**data)
    if isinstance(config, BaseModel):
        return BwrapConfig(**config.model_dump(exclude_none=True))
    raise PrerequisiteError(f"Unsupported bwrap sandbox config: {type(config).__name__}")


# ---------------------------------------------------------------------------------------
# host tools


@dataclass(frozen=True)
class _HostTools:
    bwrap: str
    prlimit: str
    keyctl: str
    """keyutils' ``keyctl session -``: a fresh anonymous session keyring for each call."""
    setpriv: str | None
    """Only needed (and required) when running as root."""
    nice: str | None
    has_size: bool
    """bwrap supports --size (0.7+): cap /dev/shm."""
    has_disable_userns: bool


_tools: _HostTools | None = None
_verified = False


def host_tools() -> _HostTools:
    """Find bwrap and its helpers, or fail with one line naming the install command."""
    global _tools
    if _tools is not None:
        return _tools
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise PrerequisiteError(
            "The bwrap sandbox needs bubblewrap, and `bwrap` is not on PATH. " + INSTALL_HINT
        )
    prlimit = shutil.which("prlimit")
    if prlimit is None:
        raise PrerequisiteError(
            "The bwrap sandbox needs `prlimit` (util-linux) to set resource limits: "
            "`sudo apt-get install util-linux`."
        )
    keyctl = shutil.which("keyctl")
    if keyctl is None:
        raise PrerequisiteError(
            "The bwrap sandbox gives each call a fresh session keyring with `keyctl` (keyutils), "
            "which is not on PATH: `sudo apt-get install keyutils` (Fedora: `sudo dnf install keyutils`)."
        )
    setpriv = shutil.which("setpriv")
    if os.geteuid() == 0 and setpriv is None:
        raise PrerequisiteError(
            "Running as root, the bwrap sandbox drops to an unprivileged uid with `setpriv` "
            "(util-linux), which is not on PATH: `apt-get install util-linux`."
        )
    seccomp.compiled()  # fails here, with its install line, when libseccomp is missing
    import subprocess

    try:
        help_text = subprocess.run(
            [bwrap, "--help"], capture_output=True, text=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError) as ex:
        raise PrerequisiteError(f"Could not run {bwrap}: {ex}. " + INSTALL_HINT) from ex
    if "--seccomp" not in help_text:
        raise PrerequisiteError(f"{bwrap} is too old to load a seccomp filter (--seccomp). " + INSTALL_HINT)
    _tools = _HostTools(
        bwrap=bwrap,
        prlimit=prlimit,
        keyctl=keyctl,
        setpriv=setpriv,
        nice=shutil.which("nice"),
        has_size="--size" in help_text,
        has_disable_userns="--disable-userns" in help_text,
    )
    return _tools


@functools.lru_cache(maxsize=8)
def _python_paths(python: str | None) -> tuple[str, tuple[str, ...]]:
    """(bin dir to put first on PATH, host dirs of that Python to bind read-only)."""
    if python is None:
        exe, prefixes = sys.executable, {sys.prefix, sys.base_prefix, sys.exec_prefix}
        paths = list(sys.path)
    else:
        import subprocess

        exe = shutil.which(python) or python
        probe = "import sys, json; print(json.dumps([sys.prefix, sys.base_prefix, sys.exec_prefix, sys.path]))"
        try:
            out = subprocess.run([exe, "-c", probe], capture_output=True, text=True, timeout=30, check=True).stdout
            p, bp, ep, paths = json.loads(out)
        except (OSError, subprocess.SubprocessError, ValueError) as ex:
            raise PrerequisiteError(f"bwrap sandbox: cannot use python={python!r}: {ex}") from ex
        prefixes = {p, bp, ep}
    dirs = set(prefixes)
    # site dirs outside the prefixes (e.g. the user site); never the project or cwd
    for entry in paths:
        if entry and os.path.basename(entry.rstrip("/")) in ("site-packages", "dist-packages"):
            dirs.add(entry)
    bin_dir = os.path.dirname(os.path.abspath(exe))
    dirs.add(os.path.dirname(os.path.realpath(exe)))
    return bin_dir, tuple(_outermost([d for d in dirs if os.path.isdir(d)]))


def _outermost(paths: list[str]) -> list[str]:
    """Drop paths inside others (and inside /usr, which is always bound)."""
    keep: list[str] = []
    for p in sorted({os.path.abspath(p) for p in paths}, key=len):
        if p == "/":
            continue
        if any(p == k or p.startswith(k.rstrip("/") + "/") for k in keep + ["/usr"]):
            continue
        keep.append(p)
    return keep


# ---------------------------------------------------------------------------------------
# running one command


@dataclass
class _Run:
    returncode: int
    stdout: bytes
    stderr: bytes


class _Capped:
    """Keeps the first ``limit`` bytes of a stream; notes whether more came."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.chunks: list[bytes] = []
        self.size = 0
        self.overflow = False

    def add(self, chunk: bytes) -> bool:
        room = self.limit - self.size
        if len(chunk) > room:
            self.chunks.append(chunk[: max(room, 0)])
            self.size = self.limit
            self.overflow = True
            return False
        self.chunks.append(chunk)
        self.size += len(chunk)
        return True

    def value(self) -> bytes:
        return b"".join(self.chunks)


_SIGNAL_NOTES = {
    signal.SIGXCPU: "CPU time limit exceeded",
    signal.SIGXFSZ: "file size limit exceeded",
    signal.SIGKILL: "killed",
    signal.SIGSEGV: "segmentation fault (a memory limit may have been hit)",
}


class _Sandboxed:
    """A running bwrap: its process group and, once bwrap reports it, the pid (on the host)
    of the sandbox's pid-namespace init. Killing that init makes the kernel kill every
    process in the namespace, however it was detached or daemonised."""

    def __init__(self, pid: int, info_fd: int, launched: LaunchedProcess | None = None) -> None:
        self.pid = pid
        self.info_fd = info_fd
        self.launched = launched
        """Forked by the sandbox's launcher (killed through its pidfd), else our own child."""
        self.init_pid: int | None = None
        self._info = b""

    def _read_info(self) -> None:
        if self.init_pid is not None or self.info_fd < 0:
            return
        try:
            while chunk := os.read(self.info_fd, 4096):
                self._info += chunk
        except BlockingIOError:
            pass
        except OSError:
            return
        with contextlib.suppress(ValueError, TypeError):
            self.init_pid = int(json.loads(self._info.decode())["child-pid"])

    def kill(self) -> None:
        self._read_info()
        # the init first: bwrap (its parent) is still alive, so the pid cannot be reused yet
        if self.init_pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.init_pid, signal.SIGKILL)
        if self.launched is not None:
            self.launched.kill()  # bwrap; its own session holds nothing else
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)

    def namespace_gone(self) -> bool:
        """True once the namespace init has exited (it exits only after all it contains)."""
        self._read_info()
        if self.init_pid is None:
            return True
        try:
            with open(f"/proc/{self.init_pid}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            return True
        return state in (b"Z", b"X")

    async def kill_and_wait(self, limit: float = 5.0) -> None:
        self.kill()
        with anyio.move_on_after(limit):
            while not self.namespace_gone():
                await anyio.sleep(0.01)

    def close(self) -> None:
        if self.info_fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.info_fd)
            self.info_fd = -1
        if self.launched is not None:
            self.launched.close()


_HOST_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
"""The environment of the host-side command line (bwrap clears it for the sandboxed code)."""
_LAUNCHER_ATTEMPTS = 3
"""Launcher starts failing in a row after which a sandbox keeps to the per-call path."""
_PIDS_OVERHEAD = 4 + 128
"""pids cgroup headroom over max_procs: bwrap and its init, plus the count of finished
calls, which the kernel releases only a second or more after their pid namespace is gone
(measured on 6.18: rapid calls would otherwise hit the limit with nothing running). Live
processes stay bounded by max_procs through RLIMIT_NPROC, per sandbox uid when root."""
_PRIORITY_WALL_SECONDS = 2.0
"""A call keeps full CPU weight at most this long, whatever CPU it got: on a crowded machine
CPU-bound calls would otherwise take long to use up priority_cpu_seconds. (Only the CPU
used and being killed, never this, make the sample's next call start low.)"""
_KEYCTL_NOTE = re.compile(rb"Joined session keyring: \d+\n")
"""What ``keyctl session -`` prints on stderr before it execs bwrap (removed from stderr)."""
_warned: set[str] = set()


def _strip_keyctl_note(stderr: bytes) -> bytes:
    """keyctl writes its note before it execs bwrap, so it can only be the first line."""
    match = _KEYCTL_NOTE.match(stderr)
    return stderr[match.end():] if match else stderr


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        logger.warning(message)


@sandboxenv(name=SANDBOX_TYPE)
class BwrapSandboxEnvironment(SandboxEnvironment):
    """One sample's bubblewrap sandbox: a private work space plus the limits of its config."""

    def __init__(self, config: BwrapConfig | None = None) -> None:
        super().__init__()
        self.config = c = config or BwrapConfig()
        self.tools = host_tools()
        self.seccomp = seccomp.compiled()
        self.python_bin, self.python_dirs = _python_paths(c.python)
        self.uid: int | None = None
        self._procs: set[_Sandboxed] = set()
        self._closed = False
        self._cpu_hungry = False
        """Its last call used more than priority_cpu_seconds: the next starts at low CPU weight."""
        self.cgroup: cgroup.SandboxCgroup | None = None
        self.launcher: Launcher | None = None
        """Forks this sample's calls inside its cgroup (see launcher.py); None: per-call path."""
        self._launcher_failures = 0
        if os.geteuid() == 0:
            self.uid = secrets.randbelow(_UID_RANGE[1] - _UID_RANGE[0]) + _UID_RANGE[0]
        self.workspace = Workspace.create(owner=self.uid, size=c.disk_mb * 1024**2, inodes=c.max_files)
        self.base, self.workdir, self.tmpdir = self.workspace.base, self.workspace.workdir, self.workspace.tmpdir
        try:
            support = cgroup.support()
            if support.parents:
                limits = cgroup.CgroupLimits(
                    memory_bytes=c.total_memory_mb * 1024**2,
                    pids=c.max_procs + _PIDS_OVERHEAD,
                    cpus=c.total_cpus,
                )
                self.cgroup = cgroup.SandboxCgroup(support, limits)
                # it pays the one cgroup migration, the calls it forks pay none; started now,
                # its start-up overlaps with what the sample does before its first call
                self.launcher = Launcher(self._launcher_prefix())
                self.launcher.start()
            self.path = f"{self.python_bin}:/usr/local/bin:/usr/bin:/bin"
            # a login shell (inspect's tools run `bash --login`) would reset PATH from the
            # host's /etc/profile; the sandbox gets its own
            self.profile = os.path.join(self.base, "profile")
            Path(self.profile).write_text(f'export PATH="{self.path}"\numask 022\n', encoding="utf-8")
        except BaseException:
            self.close()
            raise
        if not self.workspace.tmpfs:
            _warn_once(f"bwrap sandbox: no disk or file budget per sample: {self.workspace.reason}.")
        if self.cgroup is None or support.missing:
            _warn_once(f"bwrap sandbox: per-sample cgroup: {support.describe()}.")

    @property
    def _cpu_cgroup(self) -> bool:
        """CPU shares of the sandboxes' cgroup already keep the harness responsive: no nice."""
        return self.cgroup is not None and "cpu" in self.cgroup.dirs

    def protections(self) -> dict[str, str]:
        """Which protections this sandbox has (recorded in the eval log for each sample)."""
        c, root = self.config, self.uid is not None
        support = self.cgroup.support if self.cgroup else cgroup.support()
        if self.cgroup is not None:
            parts = {
                "memory": f"memory {c.total_memory_mb} MiB",
                "pids": f"{c.max_procs + _PIDS_OVERHEAD} tasks (finished calls count for a second or so)",
                "cpu": f"{c.total_cpus:g} CPU",
            }
            budget = f"{support.describe()}: " + ", ".join(parts[k] for k in support.controllers)
            if "pids" not in support.controllers and root:
                budget += f"; tasks: {c.max_procs} (RLIMIT_NPROC of the sample's own uid)"
        else:
            budget = support.describe()
        userns = "denied by seccomp (clone/unshare with new namespaces)"
        if not root and self.tools.has_disable_userns:
            userns += " and bwrap --disable-userns"
        return {
            "seccomp": self.seccomp.describe(),
            "session_keyring": (
                "fresh anonymous session keyring per call ("
                + ("joined by the sample's launcher before exec" if self.launcher is not None else "keyctl session -")
                + "); key syscalls denied"
            ),
            "launcher": (
                "one per sample, in its cgroup: forks every call (no cgroup migration per call)"
                if self.launcher is not None
                else "none: each call joins the cgroup itself" if self.cgroup is not None else "none (no cgroup)"
            ),
            "user_namespaces": userns,
            "user": f"unprivileged uid {self.uid}, no capabilities" if root else "the caller's uid in a user namespace",
            "network": "none (own network namespace, loopback only)",
            "filesystem": "host read-only and mostly absent; /sandbox and /tmp private to the sample",
            "writable_space": self.workspace.describe(c.disk_mb * 1024**2, c.max_files),
            "sample_budget": budget,
            "process_limits": (
                f"per process: {c.memory_mb} MiB address space, {c.max_procs} processes, CPU {c.cpu_seconds} s, "
                f"files {c.max_file_mb} MiB, {c.max_open_files} open files"
            ),
            "priority": (
                "cgroup CPU weight: all sandboxes together weigh as many processes as the machine has CPUs"
                if self._cpu_cgroup
                else f"nice {c.nice}" if self.tools.nice and c.nice else "as the harness"
            ),
        }

    # -- inspect lifecycle -------------------------------------------------------------

    @classmethod
    def config_deserialize(cls, config: dict[str, Any]) -> BaseModel:
        return BwrapConfig(**config)

    @classmethod
    async def task_init(cls, task_name: str, config: SandboxEnvironmentConfigType | None) -> None:
        sweep_stale()
        await verify(load_config(config))

    @classmethod
    async def sample_init(
        cls,
        task_name: str,
        config: SandboxEnvironmentConfigType | None,
        metadata: dict[str, str],
    ) -> dict[str, SandboxEnvironment]:
        resolved = load_config(config)
        await verify(resolved)
        environment = cls(resolved)
        protections = environment.protections()
        if "protections" not in _warned:
            _warned.add("protections")
            logger.info("bwrap sandbox protections: %s", json.dumps(protections))
        with contextlib.suppress(Exception):  # outside a sample (no transcript): nothing to record
            from inspect_ai.log import transcript

            transcript().info(protections, source="bwrap sandbox")
        return {"default": environment}

    @classmethod
    async def sample_cleanup(
        cls,
        task_name: str,
        config: SandboxEnvironmentConfigType | None,
        environments: dict[str, SandboxEnvironment],
        interrupted: bool,
    ) -> None:
        for environment in environments.values():
            if isinstance(environment, BwrapSandboxEnvironment):
                await environment.aclose()

    @classmethod
    async def cli_cleanup(cls, id: str | None) -> None:
        sweep_stale()

    async def aclose(self) -> None:
        """Kill whatever still runs, wait until it is gone, delete the sample's space.

        The deletion runs in a worker thread: a big tree on a disk (no tmpfs) can take
        seconds, and the event loop serves the other samples meanwhile."""
        with anyio.CancelScope(shield=True):
            for running in list(self._procs):
                await running.kill_and_wait()
            await anyio.to_thread.run_sync(self.close)

    def close(self) -> None:
        """Kill whatever still runs, delete the sample's space and cgroup; never raises."""
        self._closed = True
        for running in list(self._procs):
            running.kill()
            running.close()
        self._procs.clear()
        if self.launcher is not None:
            self.launcher.stop()
        if self.cgroup is not None:
            self.cgroup.kill()
        self.workspace.remove()
        if self.cgroup is not None:
            self.cgroup.remove()

    # -- the command line --------------------------------------------------------------

    def bwrap_argv(
        self,
        cmd: list[str],
        *,
        cwd: str,
        env: dict[str, str],
        cpu_seconds: int,
        info_fd: int | None = None,
        seccomp_fd: int | None = None,
        host_prefix: bool = True,
    ) -> list[str]:
        """The host command line of one call: the host-side prefix, bwrap, then ``cmd``.

        Without ``host_prefix`` (calls forked by the sandbox's launcher, already in its
        cgroup) the launcher sets the rlimits of ``_rlimits`` and joins the fresh session
        keyring itself (the same syscall as ``keyctl session -``)."""
        c, t = self.config, self.tools
        root = self.uid is not None
        mb = 1024 * 1024
        a = self._host_prefix(cpu_seconds) if host_prefix else []
        if t.nice and c.nice and not self._cpu_cgroup:
            a += [t.nice, "-n", str(c.nice)]
        if host_prefix:
            a += [t.keyctl, "session", "-"]
        a += [t.bwrap, "--die-with-parent", "--new-session"]
        if info_fd is not None:
            a += ["--info-fd", str(info_fd)]
        if seccomp_fd is not None:
            a += ["--seccomp", str(seccomp_fd)]
        a += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
        if not root:
            a += ["--unshare-user"] + (["--disable-userns"] if t.has_disable_userns else [])
        a += ["--hostname", "sandbox"]
        a += ["--ro-bind", "/usr", "/usr"]
        for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            host = f"/{name}"
            if os.path.islink(host):
                a += ["--symlink", os.readlink(host), host]
            elif os.path.isdir(host):
                a += ["--ro-bind", host, host]
        a += ["--ro-bind", "/etc", "/etc"]
        if os.path.isfile("/etc/profile"):
            a += ["--ro-bind", self.profile, "/etc/profile"]
        a += ["--proc", "/proc", "--dev", "/dev"]
        if t.has_size:
            a += ["--perms", "1777", "--size", str(c.shm_mb * 1024 * 1024), "--tmpfs", "/dev/shm"]
        a += ["--bind", self.workdir, WORKDIR, "--bind", self.tmpdir, "/tmp"]
        # after /tmp: a Python (e.g. a venv) under the host's /tmp stays visible
        for d in _outermost([*self.python_dirs, *(os.path.abspath(p) for p in c.ro_binds)]):
            a += _parents(d)
            a += ["--ro-bind", d, d]
        a += ["--remount-ro", "/dev", "--remount-ro", "/"]
        a += ["--chdir", cwd, "--clearenv"]
        for key, value in self._env(env).items():
            a += ["--setenv", key, value]
        if root:
            a += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        a += ["--"]
        if not root:  # as root the host-side prefix set them (see _host_prefix)
            a += [
                t.prlimit,
                f"--as={c.memory_mb * mb}",
                f"--nproc={c.max_procs}",
                f"--cpu={cpu_seconds}:{cpu_seconds + 1}",
                f"--fsize={c.max_file_mb * mb}",
                f"--nofile={c.max_open_files}",
                "--core=0",
                "--",
            ]
        if root:
            assert t.setpriv is not None
            a += [
                t.setpriv,
                f"--reuid={self.uid}",
                f"--regid={self.uid}",
                "--clear-groups",
                "--inh-caps=-all",
                "--bounding-set=-all",
                "--",
            ]
        return a + cmd

    def _rlimits(self, cpu_seconds: int) -> list[tuple[int, int, int]]:
        """As root: the per-process limits ``_host_prefix``'s ulimits set, for the launcher
        to set in the child before it execs (resource, soft, hard)."""
        if self.uid is None:
            return []
        c, mb = self.config, 1024 * 1024
        return [
            (resource.RLIMIT_AS, c.memory_mb * mb, c.memory_mb * mb),
            (resource.RLIMIT_NPROC, c.max_procs, c.max_procs),
            (resource.RLIMIT_CPU, cpu_seconds, cpu_seconds + 1),
            (resource.RLIMIT_FSIZE, c.max_file_mb * mb, c.max_file_mb * mb),
            (resource.RLIMIT_NOFILE, c.max_open_files, c.max_open_files),
            (resource.RLIMIT_CORE, 0, 0),
        ]

    def _launcher_prefix(self) -> list[str]:
        """The host command that starts the launcher: only the cgroup join of ``_host_prefix``."""
        assert self.cgroup is not None
        script, script_args = self.cgroup.join_script()
        return ["/bin/sh", "-c", script + '; exec "$@"', "sh", *script_args]

    def _host_prefix(self, cpu_seconds: int) -> list[str]:
        """One ``/bin/sh`` on the host, before bwrap: join the sample's cgroup and, as root,
        set the per-process rlimits (inherited by everything bwrap starts; bwrap itself runs
        as root, which RLIMIT_NPROC exempts). Setting them here instead of with ``prlimit``
        inside saves a program start per call. Without root, prlimit inside keeps them off
        bwrap, whose own processes would count towards the user's RLIMIT_NPROC."""
        c = self.config
        parts: list[str] = []
        args: list[str] = []
        if self.cgroup is not None:
            script, script_args = self.cgroup.join_script()
            parts.append(script)
            args += script_args
        if self.uid is not None:
            parts.append(
                'ulimit -v "$1" && ulimit -p "$2" && ulimit -S -t "$3" && ulimit -H -t "$4" && '
                'ulimit -f "$5" && ulimit -n "$6" && ulimit -c 0 || '
                '{ echo "sandbox: cannot set resource limits" >&2; exit 125; }; shift 6'
            )
            # dash's units: -v KiB, -f 512-byte blocks
            args += [
                str(c.memory_mb * 1024),
                str(c.max_procs),
                str(cpu_seconds),
                str(cpu_seconds + 1),
                str(c.max_file_mb * 2048),
                str(c.max_open_files),
            ]
        if not parts:
            return []
        return ["/bin/sh", "-c", "; ".join(parts) + '; exec "$@"', "sh", *args]

    def _env(self, extra: dict[str, str]) -> dict[str, str]:
        env = {
            "PATH": self.path,
            "HOME": WORKDIR,
            "TMPDIR": "/tmp",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
            "MPLCONFIGDIR": "/tmp",
            "MPLBACKEND": "Agg",
            # one BLAS thread: fits the process limit and the shared machine
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }
        env.update(extra or {})
        return env

    # -- running -----------------------------------------------------------------------

    async def run(
        self,
        cmd: list[str],
        *,
        input: str | bytes | None = None,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float | None = None,
        output_limit: int | None = None,
    ) -> _Run:
        """Run ``cmd`` in a fresh sandbox; raise on timeout or output overflow (it is killed)."""
        if self._closed:
            raise RuntimeError("bwrap sandbox already cleaned up")
        wall = float(timeout if timeout is not None else self.config.timeout)
        cpu = max(1, min(self.config.cpu_seconds, int(wall) + 1))
        limit = output_limit or self.config.max_output_kb * 1024
        inside_cwd = WORKDIR if cwd is None else (cwd if cwd.startswith("/") else f"{WORKDIR}/{cwd}")
        data = input.encode() if isinstance(input, str) else input
        ooms_before = self.cgroup.oom_kills() if self.cgroup is not None else 0

        info_r, info_w = os.pipe()
        os.set_blocking(info_r, False)
        filter_fd = -1
        proc: Any = None
        try:
            filter_fd = seccomp.memfd(self.seccomp.bpf)
            if self.launcher is not None:
                proc = await self._launch(cmd, inside_cwd, env or {}, cpu, info_w, filter_fd, bool(data))
            if proc is None:
                argv = self.bwrap_argv(
                    cmd, cwd=inside_cwd, env=env or {}, cpu_seconds=cpu, info_fd=info_w, seccomp_fd=filter_fd
                )
                proc = await anyio.open_process(
                    argv,
                    stdin=PIPE if data else DEVNULL,
                    stdout=PIPE,
                    stderr=PIPE,
                    start_new_session=True,
                    pass_fds=(info_w, filter_fd),
                    env=_HOST_ENV,
                )
        except BaseException:
            os.close(info_r)
            raise
        finally:
            os.close(info_w)
            if filter_fd >= 0:
                os.close(filter_fd)
        running = _Sandboxed(proc.pid, info_r, proc if isinstance(proc, LaunchedProcess) else None)
        self._procs.add(running)
        usage_before = self.cgroup.cpu_usage() if self._cpu_cgroup else None
        if usage_before is not None:
            # a sample whose last call was CPU-bound starts this one at low weight too
            self.cgroup.set_priority(high=not self._cpu_hungry)
        out, err = _Capped(limit), _Capped(limit)
        overflow = False
        timed_out = False
        scope = anyio.CancelScope()
        try:
            with anyio.move_on_after(wall) as scope:
                async with anyio.create_task_group() as side:

                    async def demote() -> None:
                        assert self.cgroup is not None and usage_before is not None
                        deadline = anyio.current_time() + _PRIORITY_WALL_SECONDS
                        while proc.returncode is None:
                            await anyio.sleep(0.1)
                            used = (self.cgroup.cpu_usage() or 0.0) - usage_before
                            if used > self.config.priority_cpu_seconds or anyio.current_time() > deadline:
                                self.cgroup.set_priority(high=False)
                                return

                    if usage_before is not None and not self._cpu_hungry:
                        side.start_soon(demote)
                    async with anyio.create_task_group() as tg:

                        async def pump(stream: Any, buf: _Capped) -> None:
                            nonlocal overflow
                            async for chunk in stream:
                                if not buf.add(chunk):
                                    overflow = True
                                    running.kill()
                                    tg.cancel_scope.cancel()
                                    return

                        async def feed() -> None:
                            with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                                await proc.stdin.send(data)
                                await proc.stdin.aclose()

                        tg.start_soon(pump, proc.stdout, out)
                        tg.start_soon(pump, proc.stderr, err)
                        if data:
                            tg.start_soon(feed)
                    if not overflow:
                        await proc.wait()
                    side.cancel_scope.cancel()
            timed_out = scope.cancelled_caught and not overflow
        finally:
            with anyio.CancelScope(shield=True):
                if proc.returncode is None or overflow or scope.cancel_called:
                    # wait until the whole pid namespace is gone, not just bwrap
                    await running.kill_and_wait()
                for stream in (proc.stdin, proc.stdout, proc.stderr):
                    if stream is not None:
                        with contextlib.suppress(Exception):
                            await stream.aclose()
                if not isinstance(proc, LaunchedProcess):
                    with contextlib.suppress(Exception):
                        _close_pipe_transports(proc)  # else asyncio warns when it collects them
                with anyio.move_on_after(10):
                    await proc.wait()
                running.close()
                self._procs.discard(running)

        if usage_before is not None and self.cgroup is not None:
            # on a crowded machine a CPU-bound call may get little CPU before its timeout:
            # being killed (timeout, output flood) marks the sample as well
            used = (self.cgroup.cpu_usage() or 0.0) - usage_before
            self._cpu_hungry = timed_out or overflow or used > self.config.priority_cpu_seconds
        if overflow:
            head = out.value() if out.overflow else err.value()
            raise OutputLimitExceededError(
                limit_str=_size_str(limit), truncated_output=head.decode(errors="replace")
            )
        # keyctl runs (and writes its note) only on the per-call path
        stderr = err.value() if isinstance(proc, LaunchedProcess) else _strip_keyctl_note(err.value())
        if timed_out:
            partial = (stderr + out.value()).decode(errors="replace")
            raise SandboxTimeoutError(
                f"Command timed out after {wall:g} s (sandbox killed).", truncated_output=partial or None
            )
        returncode = proc.returncode if proc.returncode is not None else -1
        if self.cgroup is not None and self.cgroup.oom_kills() > ooms_before:
            stderr += (
                f"\n[sandbox] killed: the sample's processes and files together exceeded its memory "
                f"budget (total_memory_mb={self.config.total_memory_mb})\n"
            ).encode()
        elif isinstance(proc, LaunchedProcess) and proc.orphaned:
            stderr += b"\n[sandbox] killed: the sample's launcher process died during the call\n"
        elif returncode > 128:
            note = _SIGNAL_NOTES.get(returncode - 128)  # type: ignore[call-overload]
            if note:
                stderr += f"\n[sandbox] process ended by signal {returncode - 128}: {note}\n".encode()
        return _Run(returncode, out.value(), stderr)

    async def _launch(
        self, cmd: list[str], cwd: str, env: dict[str, str], cpu: int, info_w: int, filter_fd: int, stdin: bool
    ) -> LaunchedProcess | None:
        """Fork the call from the sample's launcher (already in its cgroup); None: it cannot,
        take the per-call path. Same command line without the host prefix; the fds the
        launcher is given become 0-4 in the call, hence ``--info-fd 3 --seccomp 4``."""
        assert self.launcher is not None
        argv = self.bwrap_argv(
            cmd, cwd=cwd, env=env, cpu_seconds=cpu, info_fd=3, seccomp_fd=4, host_prefix=False
        )
        ours: list[int] = []
        theirs: list[int] = []
        try:
            if stdin:
                in_r, in_w = os.pipe()
                ours.append(in_w)
                theirs.append(in_r)
            else:
                theirs.append(os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC))
            for _ in range(2):
                r, w = os.pipe()
                ours.append(r)
                theirs.append(w)
            call, pid, pidfd = await self.launcher.spawn(
                argv, _HOST_ENV, self._rlimits(cpu), [*theirs, info_w, filter_fd], keyring=seccomp.syscall_number("keyctl")
            )
        except LauncherGone as ex:
            for fd in ours:
                os.close(fd)
            if isinstance(ex, ForkFailed):  # the per-call path meets the same budget and says so
                return None
            self._launcher_failures += 1
            if self._launcher_failures >= _LAUNCHER_ATTEMPTS:
                _warn_once(f"bwrap sandbox: the launcher failed {_LAUNCHER_ATTEMPTS} times ({ex}); calls of this sample join its cgroup one by one.")
                self.launcher.stop()
                self.launcher = None
            return None
        except BaseException:
            for fd in ours:
                os.close(fd)
            raise
        finally:
            for fd in theirs:
                os.close(fd)
        self._launcher_failures = 0
        stdin_w = ours.pop(0) if stdin else None
        return LaunchedProcess(self.launcher, call, pid, pidfd, stdin_w, ours[0], ours[1])

    async def exec(
        self,
        cmd: list[str],
        input: str | bytes | None = None,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        user: str | None = None,
        timeout: int | None = None,
        timeout_retry: bool = True,
        concurrency: bool = True,
    ) -> ExecResult[str]:
        if user is not None:
            raise SandboxUserUnsupportedError(
                f"The bwrap sandbox runs everything as its own unprivileged user; user={user!r} is not supported."
            )
        limit = min(self.config.max_output_kb * 1024, SandboxEnvironmentLimits.MAX_EXEC_OUTPUT_SIZE)
        # a timeout is never retried: the same code would time out again
        async with _throttle(concurrency, self.config.max_parallel_calls):
            result = await self.run(cmd, input=input, cwd=cwd, env=env, timeout=timeout, output_limit=limit)
        return ExecResult(
            success=result.returncode == 0,
            returncode=result.returncode,
            stdout=result.stdout.decode(errors="replace"),
            stderr=result.stderr.decode(errors="replace"),
        )

    # -- files: always through the sandbox, so its view of the filesystem applies ------

    async def write_file(self, file: str, contents: str | bytes) -> None:
        data = contents.encode("utf-8") if isinstance(contents, str) else contents
        script = (
            'f=$1; [ -d "$f" ] && exit 21; mkdir -p -- "$(dirname -- "$f")" 2>/dev/null || exit 23; '
            '{ cat > "$f"; } 2>/dev/null || exit 23'
        )
        result = await self.run(["/bin/sh", "-c", script, "sh", file], input=data or None)
        if not data and result.returncode == 0:
            # nothing was piped: make sure the (empty) file exists
            result = await self.run(["/bin/sh", "-c", 'f=$1; [ -d "$f" ] && exit 21; : > "$f" 2>/dev/null || exit 23', "sh", file])
        _raise_for(result.returncode, file, "write")

    @overload
    async def read_file(self, file: str, text: Literal[True] = True) -> str: ...

    @overload
    async def read_file(self, file: str, text: Literal[False]) -> bytes: ...

    async def read_file(self, file: str, text: bool = True) -> Union[str | bytes]:
        script = '[ -d "$1" ] && exit 21; [ -e "$1" ] || exit 22; [ -r "$1" ] || exit 23; exec cat -- "$1"'
        limit = SandboxEnvironmentLimits.MAX_READ_FILE_SIZE
        try:
            result = await self.run(["/bin/sh", "-c", script, "sh", file], output_limit=limit)
        except OutputLimitExceededError:
            raise OutputLimitExceededError(SandboxEnvironmentLimits.MAX_READ_FILE_SIZE_STR, None)
        _raise_for(result.returncode, file, "read")
        return result.stdout.decode("utf-8") if text else result.stdout

    def default_polling_interval(self) -> float:
        return 0.2


def _raise_for(code: int, file: str, action: str) -> None:
    if code == 0:
        return
    if code == 21:
        raise IsADirectoryError(errno.EISDIR, "Is a directory", file)
    if code == 22:
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", file)
    if code == 23:
        raise PermissionError(errno.EACCES, f"Cannot {action} (outside the sandbox's writable dirs, or a limit)", file)
    raise OSError(f"bwrap sandbox: {action} of {file} failed (exit {code})")


def _parents(path: str) -> list[str]:
    """--dir for each parent of ``path`` (mode 755: the host's may be 700, e.g. /root)."""
    args: list[str] = []
    parts = Path(path).parts[1:-1]
    for i in range(len(parts)):
        parent = "/" + "/".join(parts[: i + 1])
        if parent not in ("/tmp", WORKDIR):  # already there, and must keep their modes
            args += ["--perms", "0755", "--dir", parent]
    return args


def _size_str(n: int) -> str:
    return f"{n // 1024**2} MiB" if n % 1024**2 == 0 else f"{n // 1024} KiB" if n % 1024 == 0 else f"{n} bytes"


@contextlib.asynccontextmanager
async def _throttle(enabled: bool, limit: int) -> Any:
    """At most ``limit`` sandbox calls at once in this process (all samples together).

    Not inspect's subprocess limit (one slot per CPU): with it a trivial call waits for
    CPU-bound calls to time out (165 s measured behind 64 of them). Fairness comes from
    the sandboxes' CPU budgets and priority instead; this only bounds process count.
    """
    if not enabled:
        yield
        return
    async with concurrency("bwrap-sandbox-calls", limit, visible=False):
        yield


def sweep_stale() -> int:
    """Remove work spaces and cgroups of harness processes that died; never raises."""
    removed = 0
    try:
        removed += sweep_stale_dirs()
    except Exception as ex:  # noqa: BLE001 -- a stale leftover must never stop a new eval
        logger.warning("bwrap sandbox: sweeping stale work dirs failed: %s", ex)
    try:
        removed += cgroup.sweep_stale()
    except Exception as ex:  # noqa: BLE001
        logger.warning("bwrap sandbox: sweeping stale cgroups failed: %s", ex)
    return removed


async def verify(config: BwrapConfig | None = None) -> None:
    """Run ``true`` in a sandbox once per process; fail with a clear message if it cannot."""
    global _verified
    host_tools()
    if _verified:
        return
    env = BwrapSandboxEnvironment(config)
    try:
        result = await env.run(["/bin/sh", "-c", "exit 0"], timeout=30)
    finally:
        env.close()
    if result.returncode != 0:
        detail = result.stderr.decode(errors="replace").strip()[:500]
        raise PrerequisiteError(
            f"bubblewrap is installed but cannot start a sandbox here: {detail or 'exit ' + str(result.returncode)}. "
            "It needs unprivileged user namespaces (e.g. `sysctl kernel.unprivileged_userns_clone=1`, or on "
            "Ubuntu 24.04+ an AppArmor profile for bwrap), or run under Docker with -T sandbox=docker."
        )
    _verified = True
