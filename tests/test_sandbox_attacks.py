"""Issue 13: attacks on the bwrap sandbox, each run through the sandbox API from this (host)
process and judged here: keyring theft, every denied syscall, deep directory trees that once
broke cleanup (and with it every later eval), disk/inode/memory/CPU budgets per sample,
leftovers after cleanup and after a SIGKILLed harness, host paths in mountinfo.

Budgets are tiny (64 MiB of disk, 96 MiB of memory) so each attack takes well under a second.
Tests that need root (tmpfs, cgroups) say so when they skip.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import anyio
import pytest

import harness.sandbox as sbx
from inspect_ai.util._sandbox.events import SandboxTimeoutError

from harness.sandbox import BwrapConfig, BwrapSandboxEnvironment, cgroup, seccomp, workspace

pytestmark = pytest.mark.skipif(not sbx.shutil.which("bwrap"), reason="bubblewrap (bwrap) is not installed")

PYTHON = ["bash", "--login", "-c", "python3 -"]
"""Exactly what inspect's python() tool executes."""

ROOT = Path(__file__).resolve().parents[1]
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="tmpfs budgets and cgroups need root")


@pytest.fixture(autouse=True)
def private_tmpdir(tmp_path, monkeypatch):
    """Each test's sandboxes (and stale-dir sweeps) live in a temp dir of its own (xdist-safe),
    on /dev/shm when there is one: the trees here are big, and on this project's machines a
    disk rmdir costs milliseconds (online discard), which would time the disk, not the code."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        tmp = Path(tempfile.mkdtemp(prefix="harness-test-", dir=shm))
    else:
        tmp = tmp_path / "t"
        tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    yield tmp
    workspace.remove_dir(str(tmp))


def make(**limits: Any) -> BwrapSandboxEnvironment:
    env = BwrapSandboxEnvironment(BwrapConfig(**limits))
    env.test_cgroup_dirs = list(env.cgroup.dirs.values()) if env.cgroup else []  # type: ignore[attr-defined]
    return env


def py(env: BwrapSandboxEnvironment, code: str, timeout: int = 20):
    return anyio.run(lambda: env.exec(PYTHON, input=code, timeout=timeout))


def mounted(path: str) -> bool:
    return any(line.split()[4] == path for line in Path("/proc/self/mountinfo").read_text().splitlines())


def assert_no_leftovers(env: BwrapSandboxEnvironment) -> None:
    """Judged from the host: no directory, no mount, no cgroup, no process of the sandbox."""
    assert not os.path.lexists(env.base)
    assert not mounted(env.base)
    assert not [d for d in env.test_cgroup_dirs if os.path.exists(d)]  # type: ignore[attr-defined]
    assert not env._procs


# ---------------------------------------------------------------------------------------
# keyring


KEYCTL_JOIN_SESSION_KEYRING, KEYCTL_GET_KEYRING_ID = 1, 0
KEY_SPEC_SESSION_KEYRING = -3


@pytest.fixture
def session_secret() -> tuple[bytes, int, int]:
    """A secret key in this (host) process's session keyring, as SSH/PAM/Kerberos put there.
    The test joins a keyring of its own first, so the machine's login session is untouched.
    Returns (secret, key id, session keyring id)."""
    libc = ctypes.CDLL(None, use_errno=True)
    keyctl, add_key = seccomp_number("keyctl"), seccomp_number("add_key")
    assert libc.syscall(keyctl, KEYCTL_JOIN_SESSION_KEYRING, None) >= 0
    ring = libc.syscall(keyctl, KEYCTL_GET_KEYRING_ID, ctypes.c_long(KEY_SPEC_SESSION_KEYRING), 0)
    secret = f"SECRET-{uuid.uuid4().hex}".encode()
    key = libc.syscall(
        add_key, b"user", b"harness-test-secret", secret, ctypes.c_size_t(len(secret)),
        ctypes.c_long(KEY_SPEC_SESSION_KEYRING),
    )
    assert key > 0 and ring > 0, os.strerror(ctypes.get_errno())
    return secret, key, ring


def test_session_keyring_secrets_are_out_of_reach(session_secret):
    """The harness's session keyring holds a secret; sandboxed code cannot see or read it."""
    secret, key, host_ring = session_secret
    nr = {"keyctl": seccomp_number("keyctl")}
    env = make()
    try:
        result = py(env, f"""
import ctypes, subprocess
libc = ctypes.CDLL(None, use_errno=True)
print(open("/proc/keys").read())
buf = ctypes.create_string_buffer(4096)
for target in ({key}, -3, -4):   # the key itself, @s, @u
    n = libc.syscall({nr["keyctl"]}, 11, ctypes.c_long(target), buf, 4096)   # KEYCTL_READ
    print("read", target, n, ctypes.get_errno(), buf.raw[:max(n, 0)])
for cmd in (["keyctl", "print", "{key}"], ["keyctl", "show", "@s"], ["keyctl", "request", "user", "harness-test-secret"]):
    r = subprocess.run(cmd, capture_output=True, text=True)
    print(cmd[1], r.returncode, r.stdout, r.stderr)
""")
    finally:
        env.close()
    text = result.stdout + result.stderr
    assert secret.decode() not in text
    assert f"{key:08x}" not in text and f"{host_ring:08x}" not in text  # neither listed in /proc/keys
    assert "_ses" in result.stdout  # a fresh anonymous session keyring instead
    assert text.count(f" -1 {errno.EPERM} b''") == 3  # every KEYCTL_READ denied by seccomp
    assert text.count("Operation not permitted") >= 3


# ---------------------------------------------------------------------------------------
# seccomp


def seccomp_number(name: str) -> int:
    import pyseccomp

    return pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, name)


# Each probe would succeed for an unprivileged process without the filter (on this kind of
# kernel), so EPERM here is the filter's answer, not a missing capability.
PROBE = r"""
import ctypes, errno, json, os, socket, struct
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
NR = json.loads(os.environ["NR"])
out = {}
def call(name, *args):
    r = libc.syscall(NR[name], *args)
    if r == 0 and name == "clone":   # only reachable without the filter: the child leaves
        os._exit(0)
    out[name] = "ok" if r >= 0 else errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))
L = ctypes.c_long
call("keyctl", L(0), L(-3), L(0))                                  # KEYCTL_GET_KEYRING_ID @s
call("add_key", b"user", b"k", b"v", L(1), L(-2))
call("request_key", b"user", b"nonexistent", None, L(0))
call("unshare", L(0x10000000))                                     # CLONE_NEWUSER
call("clone", L(0x10000000 | 17), L(0), L(0), L(0), L(0))           # CLONE_NEWUSER | SIGCHLD
call("clone3", None, L(0))
params = ctypes.create_string_buffer(120)
call("io_uring_setup", L(1), params)
call("userfaultfd", L(1))                                          # UFFD_USER_MODE_ONLY
attr = bytearray(128)
struct.pack_into("IIQ", attr, 0, 1, 128, 0)                         # SOFTWARE, size, CPU_CLOCK
struct.pack_into("Q", attr, 40, (1 << 5) | (1 << 6))                 # exclude_kernel, exclude_hv
attr_buf = ctypes.create_string_buffer(bytes(attr), 128)
call("perf_event_open", attr_buf, L(0), L(-1), L(-1), L(0))
call("ptrace", L(0), L(0), L(0), L(0))                              # PTRACE_TRACEME
src = ctypes.create_string_buffer(8); dst = ctypes.create_string_buffer(8)
iov = lambda b: struct.pack("QQ", ctypes.addressof(b), 8)
local, remote = ctypes.create_string_buffer(iov(dst), 16), ctypes.create_string_buffer(iov(src), 16)
call("process_vm_readv", L(os.getpid()), local, L(1), remote, L(1), L(0))
call("kcmp", L(os.getpid()), L(os.getpid()), L(0), L(0), L(0))        # KCMP_FILE 0 vs 0
call("mount", b"none", b"/tmp", b"tmpfs", L(0), None)
call("umount2", b"/tmp", L(0))
call("chroot", b"/")
call("bpf", L(5), None, L(0))
call("setns", L(0), L(0))
call("init_module", None, L(0), b"")
call("kexec_load", L(0), L(0), None, L(0))
try:
    socket.socket(40, socket.SOCK_STREAM).close()                    # AF_VSOCK
    out["socket(AF_VSOCK)"] = "ok"
except OSError as ex:
    out["socket(AF_VSOCK)"] = errno.errorcode.get(ex.errno, str(ex.errno))
status = dict(line.split(":\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\t" in line)
out["Seccomp"], out["NoNewPrivs"] = status["Seccomp"].strip(), status["NoNewPrivs"].strip()
import threading; t = threading.Thread(target=lambda: None); t.start(); t.join()   # threads still work
out["fork"] = "ok" if os.waitpid(os.fork() or os._exit(0), 0) else "?"
print(json.dumps(out))
"""

MUST_BE_FILTERED = {
    "keyctl": "EPERM", "add_key": "EPERM", "request_key": "EPERM", "unshare": "EPERM", "clone": "EPERM",
    "clone3": "ENOSYS", "io_uring_setup": "EPERM", "userfaultfd": "EPERM", "perf_event_open": "EPERM",
    "ptrace": "EPERM", "process_vm_readv": "EPERM", "kcmp": "EPERM",
}
"""Calls that succeed for an unprivileged process without the filter: only it gives these errnos."""
ALSO_DENIED = ["mount", "umount2", "chroot", "bpf", "setns", "init_module", "kexec_load", "socket(AF_VSOCK)"]
"""Calls that need privileges the sandbox lacks anyway: they must just fail."""


def test_denied_syscalls_fail_with_the_filters_errno():
    names = [*MUST_BE_FILTERED, *[n for n in ALSO_DENIED if "(" not in n]]
    env = make()
    try:
        result = anyio.run(lambda: env.exec(
            PYTHON, input=PROBE, timeout=20, env={"NR": json.dumps({n: seccomp_number(n) for n in names})}
        ))
    finally:
        env.close()
    assert result.success, result.stderr
    got = json.loads(result.stdout)
    assert {k: got[k] for k in MUST_BE_FILTERED} == MUST_BE_FILTERED
    assert [n for n in ALSO_DENIED if got[n] == "ok"] == []
    assert got["Seccomp"] == "2" and got["NoNewPrivs"] == "1"  # mode 2 = a filter is attached
    assert got["fork"] == "ok"


def test_filter_is_compiled_by_libseccomp_and_covers_the_issue_list():
    f = seccomp.compiled()
    for name in ("keyctl", "add_key", "request_key", "unshare", "setns", "mount", "umount2", "pivot_root",
                 "io_uring_setup", "io_uring_enter", "io_uring_register", "bpf", "perf_event_open",
                 "userfaultfd", "kexec_load", "kexec_file_load", "init_module", "finit_module", "ptrace"):
        assert name in f.denied
    assert len(f.bpf) % 8 == 0 and len(f.bpf) > 8 * len(f.denied)  # struct sock_filter entries


# ---------------------------------------------------------------------------------------
# cleanup that cannot fail


DEEP = """
import os
for i in range({depth}):
    os.mkdir("d")
    os.chdir("d")
os.symlink("/etc/passwd", "link")
open("f", "w").write("x")
os.chmod(".", 0)
print(len(os.getcwd()))
"""


def test_deep_tree_is_removed_at_cleanup():
    env = make()
    result = py(env, DEEP.format(depth=1200))
    assert result.success and int(result.stdout) > 2400, result.stderr  # past what rmtree's recursion handles
    env.close()
    assert_no_leftovers(env)
    assert Path("/etc/passwd").exists()


def test_deep_tree_in_a_plain_directory_is_removed(monkeypatch):
    # the no-root layout (no tmpfs): removal walks the tree itself
    monkeypatch.setattr(workspace, "mount_tmpfs", lambda *a, **k: "test: no tmpfs")
    env = make()
    assert not env.workspace.tmpfs
    assert py(env, DEEP.format(depth=1200)).success
    env.close()
    assert_no_leftovers(env)


def test_remove_tree_handles_depth_past_path_max_and_width(private_tmpdir):
    top = private_tmpdir / "tree"
    top.mkdir()
    fd = os.open(top, os.O_RDONLY)
    for _ in range(1500):  # a path of 4,500 chars: beyond PATH_MAX, so every step is relative
        os.mkdir("dd", dir_fd=fd)
        fd2 = os.open("dd", os.O_RDONLY, dir_fd=fd)
        os.close(os.open("f", os.O_CREAT | os.O_WRONLY, dir_fd=fd2))
        os.close(fd)
        fd = fd2
    outside = private_tmpdir / "outside"
    outside.mkdir()
    (outside / "keep").write_text("x")
    os.symlink(str(outside), "escape", dir_fd=fd)
    os.fchmod(fd, 0)
    os.close(fd)
    wide = top / "wide"
    wide.mkdir()
    for i in range(1000):
        (wide / str(i)).mkdir()
    workspace.remove_tree(str(top))
    assert not top.exists() and (outside / "keep").read_text() == "x"


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_stale_deep_dir_never_stops_the_next_eval(private_tmpdir):
    stale = private_tmpdir / f"harness-bwrap-{dead_pid()}-stale"
    stale.mkdir()
    fd = os.open(stale, os.O_RDONLY)
    for _ in range(1500):
        os.mkdir("d", dir_fd=fd)
        fd2 = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = fd2
    os.fchmod(fd, 0)
    os.close(fd)
    anyio.run(BwrapSandboxEnvironment.task_init, "t", None)  # used to raise RecursionError
    assert not stale.exists()


@needs_root
def test_sigkilled_harness_leaves_nothing_after_inspect_sandbox_cleanup(private_tmpdir):
    """A harness killed mid-sample leaves a mounted tmpfs holding a deep tree and a cgroup;
    `inspect sandbox cleanup bwrap` (as the next eval's task_init) removes all of it."""
    child = subprocess.Popen(
        [sys.executable, "-c", f"""
import anyio, json, sys, tempfile
tempfile.tempdir = {str(private_tmpdir)!r}
from harness.sandbox import BwrapSandboxEnvironment
env = BwrapSandboxEnvironment()
code = "import os\\nfor _ in range(1200): os.mkdir('d'); os.chdir('d')"
r = anyio.run(lambda: env.exec(["python3", "-c", code], timeout=20))
launcher = env.launcher.pid if env.launcher else None
print(json.dumps([env.base, list(env.cgroup.dirs.values()) if env.cgroup else [], r.returncode, launcher]), flush=True)
sys.stdin.read()
"""],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        base, cgroups, rc, launcher = json.loads(child.stdout.readline())
        assert launcher is None or launcher_running(launcher)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert rc == 0 and os.path.isdir(base) and mounted(base)
    assert all(os.path.isdir(d) for d in cgroups)
    if launcher is not None:  # it goes with its harness, before any cleanup runs
        assert wait_until(lambda: not launcher_running(launcher), 5), f"launcher {launcher} outlived its harness"
    result = subprocess.run(
        [sys.executable, "-m", "inspect_ai", "sandbox", "cleanup", "bwrap"], capture_output=True, text=True,
        env={**os.environ, "TMPDIR": str(private_tmpdir), "PYTHONPATH": str(ROOT)}, cwd="/", timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert not os.path.lexists(base) and not mounted(base)
    assert not any(os.path.exists(d) for d in cgroups)
    assert not any(os.path.exists(os.path.dirname(d)) for d in cgroups)  # its harness-bwrap-<pid> parents too


# ---------------------------------------------------------------------------------------
# budgets per sample


@needs_root
def test_disk_and_file_budgets_per_sample():
    env = make(disk_mb=64, max_files=500, max_file_mb=256)
    try:
        assert env.workspace.tmpfs
        # 100 MiB over four files (each below the per-file limit), split over /sandbox and /tmp
        disk = py(env, """
import os
written = 0
try:
    for i in range(4):
        with open(("/tmp/" if i % 2 else "") + f"big{i}", "wb") as f:
            for _ in range(25):
                f.write(b"x" * 2**20)
                written += 2**20
except OSError as ex:
    print("stopped", written // 2**20, ex.strerror)
""")
        files = py(env, """
import os
n = 0
try:
    while True:
        open(f"f{n}", "w").close()
        n += 1
except OSError as ex:
    print("stopped", n, ex.strerror)
""")
        usage = os.statvfs(env.base)
        used = (usage.f_blocks - usage.f_bfree) * usage.f_frsize
    finally:
        env.close()
    assert disk.stdout.startswith("stopped") and "No space left on device" in disk.stdout, disk.stdout + disk.stderr
    assert int(disk.stdout.split()[1]) <= 64
    assert files.stdout.startswith("stopped") and "No space left on device" in files.stdout
    assert 490 <= int(files.stdout.split()[1]) + 3 <= 500  # the budget is files, not bytes: 3 big files came first
    assert used <= 64 * 2**20
    assert_no_leftovers(env)


def sandbox_cgroup_or_skip(env: BwrapSandboxEnvironment, controller: str) -> str:
    if env.cgroup is None or controller not in env.cgroup.dirs:
        env.close()
        pytest.skip(f"no {controller} cgroup here: {cgroup.support().describe()}")
    return env.cgroup.dirs[controller]


def test_total_memory_budget_spans_all_processes():
    # each process stays below its own 256 MiB limit; together they would use 4 x 48 MiB
    env = make(total_memory_mb=96, memory_mb=256)
    d = sandbox_cgroup_or_skip(env, "memory")
    try:
        result = py(env, """
import os, time
kids = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        block = bytearray(48 * 2**20)
        for i in range(0, len(block), 4096):
            block[i] = 1
        time.sleep(0.5)
        os._exit(0)
    kids.append(pid)
codes = [os.waitpid(pid, 0)[1] for pid in kids]
print("killed", sum(os.WIFSIGNALED(c) and os.WTERMSIG(c) == 9 for c in codes))
""")
        peak = int(Path(d, "memory.max_usage_in_bytes" if env.cgroup.support.version == "v1" else "memory.peak").read_text())
    finally:
        env.close()
    assert int(result.stdout.split()[1]) >= 1, result.stdout + result.stderr
    assert "memory budget (total_memory_mb=96)" in result.stderr
    assert peak <= 96 * 2**20
    assert_no_leftovers(env)


def test_cpu_budget_throttles_the_whole_sample():
    env = make(total_cpus=0.2)
    d = sandbox_cgroup_or_skip(env, "cpu")
    try:
        result = py(env, """
import os, time
end = time.monotonic() + 0.6
pids = [os.fork() for _ in range(2)]
while time.monotonic() < end:
    pass
if 0 in pids:
    os._exit(0)
for p in pids:
    os.waitpid(p, 0)
t = os.times()
print(t.user + t.system + t.children_user + t.children_system)
""")
        stat = dict(line.split() for line in Path(d, "cpu.stat").read_text().splitlines())
    finally:
        env.close()
    assert result.success, result.stderr
    # 0.2 CPU for ~0.6 s: far below the 1.8 s of CPU three busy processes take unthrottled
    assert float(result.stdout) < 0.6
    assert int(stat.get("nr_throttled", 0)) > 0


# ---------------------------------------------------------------------------------------
# what the sandbox shows of the host, and what the log records


@needs_root
def test_mountinfo_does_not_show_the_harness_paths():
    env = make()
    try:
        info = py(env, "print(open('/proc/self/mountinfo').read())").stdout
    finally:
        env.close()
    assert env.base not in info and "harness-bwrap" not in info
    assert str(ROOT) not in info and tempfile.gettempdir() not in info


def test_hostile_eval_then_next_eval_and_protections_in_the_log(tmp_path, session_secret):
    """Through inspect's python() tool in real evals: a deep tree plus a keyring read, then a
    benign eval must start; the log records the protections and never the secret."""
    from inspect_ai import Task, eval as inspect_eval
    from inspect_ai.dataset import Sample
    from inspect_ai.event import InfoEvent
    from inspect_ai.log import resolve_sample_attachments
    from inspect_ai.solver import generate, use_tools
    from inspect_ai.tool import python

    from helpers import mock_model, output, tool_call_output

    secret, key, _ = session_secret
    hostile = (
        "import os, subprocess\n"
        "print(open('/proc/keys').read())\n"
        f"print(subprocess.run(['keyctl', 'print', '{key}'], capture_output=True, text=True))\n"
        "for _ in range(1200):\n    os.mkdir('d'); os.chdir('d')\nprint('deep')"
    )
    task = Task(
        dataset=[Sample(input="go", target="x")],
        solver=[use_tools(python(timeout=20)), generate()],
        sandbox="bwrap",
    )
    logs = []
    for code in (hostile, "print(6 * 7)"):  # a hostile eval, then the next one must start
        model = mock_model([tool_call_output("python", {"code": code}), output("done")])
        [log] = inspect_eval(task, model=model, log_dir=str(tmp_path / "logs"), display="none")
        assert log.status == "success", log.error
        logs.append(log)
    sample = resolve_sample_attachments(logs[0].samples[0])
    infos = [e for e in sample.events if isinstance(e, InfoEvent) and e.source == "bwrap sandbox"]
    assert len(infos) == 1
    recorded = infos[0].data
    assert set(recorded) >= {"seccomp", "session_keyring", "writable_space", "sample_budget", "user_namespaces"}
    assert "deny-list" in recorded["seccomp"]
    hostile_output = [m.text for m in sample.messages if m.role == "tool"][0]
    assert "deep" in hostile_output and "Operation not permitted" in hostile_output
    assert secret.decode() not in Path(logs[0].location).read_bytes().decode("latin-1")
    assert secret.decode() not in sample.model_dump_json()
    tool_texts = [m.text for m in logs[1].samples[0].messages if m.role == "tool"]
    assert tool_texts == ["42\n"]
    assert not list(Path(tempfile.gettempdir()).glob("harness-bwrap-*"))


# ---------------------------------------------------------------------------------------
# set-up errors and cgroup detection


def test_missing_keyctl_is_one_clear_error(monkeypatch, tmp_path):
    for tool in ("bwrap", "prlimit", "setpriv", "nice"):
        os.symlink(sbx.shutil.which(tool), tmp_path / tool)
    monkeypatch.setattr(sbx, "_tools", None)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(sbx.PrerequisiteError, match="apt-get install keyutils"):
        BwrapSandboxEnvironment()


def test_cgroup_mounts_and_paths_are_parsed():
    mountinfo = (
        "30 25 0:26 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory\n"
        "31 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
        "32 25 0:28 /machine.slice /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
        "33 25 0:29 / /sys/fs/cgroup/my\\040dir rw - tmpfs tmpfs rw\n"
    )
    mounts = cgroup.parse_mountinfo(mountinfo)
    assert [(fs, m, r) for fs, m, r, _ in mounts] == [
        ("cgroup", "/sys/fs/cgroup/memory", "/"),
        ("cgroup", "/sys/fs/cgroup/cpu,cpuacct", "/"),
        ("cgroup2", "/sys/fs/cgroup/unified", "/machine.slice"),
    ]
    assert {"memory"} <= mounts[0][3] and {"cpu", "cpuacct"} <= mounts[1][3]
    v2, v1 = cgroup.parse_proc_cgroup("4:memory:/user/a\n2:cpu,cpuacct:/\n0::/machine.slice/x\n")
    assert v2 == "/machine.slice/x" and v1 == {"memory": "/user/a", "cpu": "/", "cpuacct": "/"}
    # a cgroup namespace or bind mount whose root is not the hierarchy's root
    assert cgroup._inside("/sys/fs/cgroup/unified", "/machine.slice", "/machine.slice/x") == "/sys/fs/cgroup/unified/x"
    assert cgroup._inside("/sys/fs/cgroup/unified", "/machine.slice", "/other") is None


def test_cgroup_v2_layout_on_a_simulated_tree(tmp_path, monkeypatch):
    """SIMULATED cgroupfs (plain files in tmp_path, no kernel semantics): checks which files
    the v2 code writes and with what values; the v1 path runs for real in the tests above."""
    own = tmp_path / "own"
    own.mkdir()
    (own / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    sup = cgroup._setup_v2(str(own))
    assert sup.version == "v2" and sup.controllers == ("memory", "pids", "cpu")
    parent = own / f"harness-bwrap-{os.getpid()}"
    assert (own / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"
    assert (parent / "cpu.weight").read_text() == "200"
    sandbox = cgroup.SandboxCgroup(sup, cgroup.CgroupLimits(memory_bytes=96 * 2**20, pids=20, cpus=0.5))
    d = Path(next(iter(sandbox.dirs.values())))
    assert (d / "memory.max").read_text() == str(96 * 2**20)
    assert (d / "pids.max").read_text() == "20" and (d / "cpu.max").read_text() == "50000 100000"
    assert sandbox.procs_files() == [str(d / "cgroup.procs")]
    sandbox.set_priority(high=False)
    assert (d / "cpu.weight").read_text() == "1"
    (d / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n")
    assert sandbox.oom_kills() == 2


def test_a_cpu_bound_sample_yields_the_cpu_to_short_calls():
    """The feedback that keeps benign calls fast among hogs, observed on the cgroup's weight."""
    env = make(priority_cpu_seconds=0.1)
    d = sandbox_cgroup_or_skip(env, "cpu")
    if env.cgroup.cpu_usage() is None:
        env.close()
        pytest.skip("no CPU accounting for the sandbox's cgroup here")
    name = "cpu.weight" if env.cgroup.support.version == "v2" else "cpu.shares"
    high, low = ("100", "1") if name == "cpu.weight" else ("1024", "2")
    weight = lambda: Path(d, name).read_text().strip()  # noqa: E731

    async def hog() -> None:
        with pytest.raises(SandboxTimeoutError):
            await env.exec(["python3", "-c", "while True: pass"], timeout=3)

    async def hog_then_short() -> list[str]:
        seen = []
        async with anyio.create_task_group() as tg:
            tg.start_soon(hog)
            with anyio.fail_after(20):
                while weight() != low:  # demoted once it has used 0.1 s of CPU
                    await anyio.sleep(0.05)
            seen.append(weight())
        # killed for its timeout while CPU-bound: the sample's next call starts low ...
        seen.append(str(env._cpu_hungry))
        result = await env.exec(["echo", "started"], timeout=20)
        seen += [result.stdout.strip(), weight()]  # (the weight it was started with)
        # ... and, as it stayed below the CPU allowance, the one after starts high again
        seen.append(str(env._cpu_hungry))
        return seen

    try:
        seen = anyio.run(hog_then_short)
    finally:
        env.close()
    assert seen == [low, "True", "started", low, "False"]


@pytest.mark.parametrize(
    "stderr, expected",
    [
        (b"Joined session keyring: 123\nTraceback", b"Traceback"),
        (b"Traceback\nJoined session keyring: 123\n", b"Traceback\nJoined session keyring: 123\n"),
        (b"Joined session keyring: " + b"1" * 2**20, b"Joined session keyring: " + b"1" * 2**20),  # the whole 1 MiB window
        (b"Joined session keyring: 7\n" * 3, b"Joined session keyring: 7\n" * 2),  # only keyctl's own, first line
    ],
    ids=["note-first", "note-later", "1MiB-of-digits", "repeated"],
)
def test_only_keyctls_note_is_removed_from_stderr(stderr, expected):
    assert sbx._strip_keyctl_note(stderr) == expected


def test_without_cgroups_or_tmpfs_it_runs_and_says_so_once(monkeypatch, caplog):
    monkeypatch.setattr(cgroup, "_support", cgroup.CgroupSupport(None, reason="test: no cgroup filesystem"))
    monkeypatch.setattr(workspace, "mount_tmpfs", lambda *a, **k: "test: no tmpfs")
    monkeypatch.setattr(sbx, "_warned", set())
    with caplog.at_level("WARNING", logger="harness.sandbox"):
        envs = [make(), make()]
    try:
        result = py(envs[0], "import os\nprint(os.getpriority(os.PRIO_PROCESS, 0))")
        recorded = envs[0].protections()
    finally:
        for env in envs:
            env.close()
    assert result.stdout == "10\n", result.stderr  # nice 10 instead of the cgroup's CPU weights
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 2 and any("no cgroup filesystem" in w for w in warnings), warnings
    assert "none (test: no cgroup filesystem)" in recorded["sample_budget"]
    assert "without a size or file budget" in recorded["writable_space"] and recorded["priority"] == "nice 10"


# ---------------------------------------------------------------------------------------
# the per-sample launcher (forks every call inside the sample's cgroup; see launcher.py)


def launcher_running(pid: int) -> bool:
    """A live (not zombie) process running the launcher's code under ``pid``."""
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, IndexError):
        return False
    return state not in (b"Z", b"X") and sbx.launcher.LAUNCHER_CODE.encode() in cmdline


def wait_until(check: Any, seconds: float) -> bool:
    import time

    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def launcher_or_skip(env: BwrapSandboxEnvironment) -> sbx.launcher.Launcher:
    if env.launcher is None:
        env.close()
        pytest.skip(f"no launcher without a cgroup: {cgroup.support().describe()}")
    return env.launcher


def test_launcher_killed_between_and_during_calls_the_next_call_works():
    env = make()
    launcher = launcher_or_skip(env)

    async def scenario() -> list[Any]:
        seen: list[Any] = []
        first = await env.exec(["echo", "one"], timeout=20)
        pid = launcher.pid
        seen += [first.stdout, launcher_running(pid)]
        os.kill(pid, signal.SIGKILL)  # between calls
        second = await env.exec(PYTHON, input="print('two')", timeout=20)
        seen += [second.stdout, launcher.pid != pid and launcher_running(launcher.pid)]

        async def kill_soon() -> None:
            await anyio.sleep(0.3)
            os.kill(launcher.pid, signal.SIGKILL)

        async with anyio.create_task_group() as tg:  # during a call: the call dies with it, and says why
            tg.start_soon(kill_soon)
            third = await env.exec(["sleep", "30"], timeout=20)
        seen += [third.returncode, "launcher process died" in third.stderr]
        fourth = await env.exec(["echo", "four"], timeout=20)
        seen.append(fourth.stdout)
        return seen

    try:
        seen = anyio.run(scenario)
    finally:
        env.close()
    assert seen == ["one\n", True, "two\n", True, -signal.SIGKILL, True, "four\n"]
    assert_no_leftovers(env)


def test_launcher_that_cannot_start_leaves_calls_on_the_per_call_path(monkeypatch):
    env = make()
    launcher = launcher_or_skip(env)
    launcher.stop()  # the one started with the sandbox
    monkeypatch.setattr(launcher, "prefix", ["/nonexistent-launcher-prefix"])
    try:
        results = [anyio.run(lambda: env.exec(["echo", "ok"], timeout=20)) for _ in range(sbx._LAUNCHER_ATTEMPTS + 1)]
    finally:
        env.close()
    assert [r.stdout for r in results] == ["ok\n"] * len(results)
    assert env.launcher is None  # given up after the attempts: no start cost per call
    assert_no_leftovers(env)


def test_no_descriptor_of_the_harness_or_launcher_reaches_the_sandbox():
    """Listed from inside: only stdin/stdout/stderr (and the listing's own fd), on both paths."""
    env = make()
    listing = "import os\nprint(sorted(int(fd) for fd in os.listdir('/proc/self/fd')))"
    extra = socket_pair = None
    try:
        import socket

        socket_pair = socket.socketpair()  # an inheritable host fd that must not get in either
        extra = os.dup(socket_pair[0].fileno())
        os.set_inheritable(extra, True)
        with_input = py(env, listing)
        without = anyio.run(lambda: env.exec(["python3", "-c", listing], timeout=20))
        if env.launcher is not None:
            env.launcher.stop()
            env.launcher = None  # the per-call path too
        per_call = anyio.run(lambda: env.exec(["python3", "-c", listing], timeout=20))
    finally:
        env.close()
        if extra is not None:
            os.close(extra)
        for s in socket_pair or ():
            s.close()
    assert [r.stdout for r in (with_input, without, per_call)] == ["[0, 1, 2, 3]\n"] * 3


def test_launched_calls_keep_a_first_stderr_line_that_looks_like_keyctls_note():
    """Only keyctl (per-call path) writes that note; a call's own line must reach the caller."""
    env = make()
    launcher_or_skip(env)
    try:
        result = anyio.run(lambda: env.exec(["sh", "-c", "echo 'Joined session keyring: 5' >&2"], timeout=20))
    finally:
        env.close()
    assert result.stderr == "Joined session keyring: 5\n"


def test_launched_and_per_call_paths_confine_a_call_identically():
    """rlimits, uid, capabilities, no_new_privs, seccomp mode, signal dispositions, session:
    the same whether the launcher forked the call or the harness started it behind the shell."""
    env = make(cpu_seconds=7, max_open_files=100)
    launcher_or_skip(env)
    probe = (
        "ulimit -a; grep -E '^(Uid|Gid|Groups|Cap[A-Za-z]+|NoNewPrivs|Seccomp|SigIgn|SigBlk):' /proc/self/status; "
        "cat /proc/self/oom_score_adj; ps -o sid= -o pgid= -p $$ 2>/dev/null || true"
    )
    try:
        launched = anyio.run(lambda: env.exec(["sh", "-c", probe], timeout=5))
        env.launcher.stop()
        env.launcher = None
        per_call = anyio.run(lambda: env.exec(["sh", "-c", probe], timeout=5))
    finally:
        env.close()
    assert launched.success and per_call.success, launched.stderr + per_call.stderr
    assert "time(seconds)        6" in launched.stdout and "nofiles              100" in launched.stdout
    assert launched.stdout == per_call.stdout
