"""The bwrap sandbox: hostile programs are contained and come back as errors.

Each program runs the way inspect's python() tool runs it (``bash --login -c "python3 -"``
with the code on stdin). Small limits keep every call well under a second.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any, Awaitable, Callable

import anyio
import pytest
from inspect_ai._util.error import PrerequisiteError
from inspect_ai.util import OutputLimitExceededError
from inspect_ai.util._sandbox.events import SandboxTimeoutError

import harness.sandbox as sbx
from harness.sandbox import BwrapConfig, BwrapSandboxEnvironment

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) is not installed")

PYTHON = ["bash", "--login", "-c", "python3 -"]
"""Exactly what inspect's python() tool executes."""

LIMITS = BwrapConfig(memory_mb=256, max_procs=16, max_output_kb=256, max_file_mb=1, cpu_seconds=5)


def run(fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    return anyio.run(fn, *args)


@pytest.fixture
def env():
    environment = BwrapSandboxEnvironment(LIMITS)
    yield environment
    environment.close()


def py(env: BwrapSandboxEnvironment, code: str, timeout: int = 5):
    return run(lambda: env.exec(PYTHON, input=code, timeout=timeout))


def host_processes_matching(marker: str) -> list[str]:
    out = subprocess.run(["pgrep", "-af", marker], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "pgrep" not in line]


def test_python_tool_command_runs_with_numpy_sympy_scipy(env):
    code = (
        "import os, numpy, sympy, scipy, scipy.linalg\n"
        "print(os.getcwd(), int(numpy.arange(5).sum()), sympy.factorint(84), scipy.linalg.det([[2, 0], [0, 3]]))"
    )
    result = py(env, code, timeout=30)
    assert result.success, result.stderr
    assert result.stdout.split() == ["/sandbox", "10", "{2:", "2,", "3:", "1,", "7:", "1}", "6.0"]


def test_network_is_unreachable(env):
    # a server on the host's loopback: the sandbox has its own, empty, network namespace
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.setblocking(False)
    port = server.getsockname()[1]
    code = f"""
import socket
for target in [("127.0.0.1", {port}), ("1.1.1.1", 53), ("93.184.216.34", 80)]:
    try:
        socket.create_connection(target, timeout=1)
        print("CONNECTED", target)
    except OSError as ex:
        print("blocked", type(ex).__name__)
try:
    socket.getaddrinfo("example.com", 80)
    print("RESOLVED")
except OSError as ex:
    print("no dns", type(ex).__name__)
"""
    try:
        result = py(env, code)
        with pytest.raises(BlockingIOError):
            server.accept()  # nothing reached the host
    finally:
        server.close()
    assert "CONNECTED" not in result.stdout and "RESOLVED" not in result.stdout
    assert result.stdout.count("blocked") == 3 and "no dns" in result.stdout


def test_writes_outside_the_work_dir_fail_and_change_nothing(env, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("original")
    marker = f"harness-probe-{uuid.uuid4().hex}"
    targets = [str(victim), "/etc/passwd", f"/etc/{marker}", f"/usr/{marker}", f"/{marker}", f"/root/{marker}", f"/dev/{marker}"]
    code = f"""
import os
for path in {targets!r}:
    try:
        with open(path, "a") as f:
            f.write("pwned")
        print("WROTE", path)
    except OSError as ex:
        print("denied", type(ex).__name__)
open("inside.txt", "w").write("ok")
open("/tmp/{marker}", "w").write("private tmp")
print(os.path.exists("/tmp/{marker}"))
"""
    result = py(env, code)
    assert "WROTE" not in result.stdout, result.stdout
    assert result.stdout.count("denied") == len(targets)
    assert victim.read_text() == "original"
    for root in ("/etc", "/usr", "/", "/root", "/tmp"):
        assert not (Path(root) / marker).exists()
    # the work dir (and the sandbox's private /tmp) are writable and stay with the sample
    assert (Path(env.workdir) / "inside.txt").read_text() == "ok"
    assert (Path(env.tmpdir) / marker).read_text() == "private tmp"


def test_secrets_outside_the_work_dir_are_not_readable(env, tmp_path, monkeypatch):
    secret = f"SECRET-{uuid.uuid4().hex}"
    in_tmp = tmp_path / "secret.txt"
    in_tmp.write_text(secret)
    in_home = Path.home() / f".harness-test-secret-{uuid.uuid4().hex}"
    in_home.write_text(secret)
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    code = f"""
import os, glob
for path in [{str(in_tmp)!r}, {str(in_home)!r}, "/etc/shadow", "/proc/1/environ"]:
    try:
        print(open(path, errors="replace").read()[:200])
    except OSError as ex:
        print("unreadable", type(ex).__name__)
print(dict(os.environ))
print(glob.glob("/home/*") + glob.glob("/root/*") + glob.glob("/work/*") + glob.glob("/tmp/*"))
"""
    try:
        result = py(env, code)
        # a symlink planted in the work dir does not make the host read the target either
        os.symlink(in_home, os.path.join(env.workdir, "link"))
        with pytest.raises((FileNotFoundError, PermissionError)):
            run(lambda: env.read_file("link"))
    finally:
        in_home.unlink()
    assert secret not in result.stdout + result.stderr
    assert result.stdout.count("unreadable") >= 3, result.stdout
    assert "OPENAI_API_KEY" not in result.stdout


def test_fork_bomb_is_contained_and_killed(env):
    code = """
import os, subprocess
subprocess.Popen(["sh", "-c", "exec sleep 987651"], start_new_session=True)
while True:
    try:
        os.fork()
    except OSError:
        pass
"""
    start = time.monotonic()
    with pytest.raises(SandboxTimeoutError):
        py(env, code, timeout=1)
    assert time.monotonic() - start < 5
    assert host_processes_matching("sleep 987651") == []
    assert py(env, "print('still works')").stdout == "still works\n"


def test_process_limit_stops_forking(env):
    code = """
import os, time
children = 0
try:
    for _ in range(100):
        if os.fork() == 0:
            time.sleep(2)
            os._exit(0)
        children += 1
except OSError as ex:
    print("refused after", children, type(ex).__name__)
os._exit(0)
"""
    result = py(env, code)
    assert "refused after" in result.stdout
    assert int(result.stdout.split()[2]) < LIMITS.max_procs


def test_memory_hog_gets_memory_error(env):
    result = py(env, "hog = []\nwhile True:\n    hog.append(bytearray(10**6))")
    assert not result.success
    assert "MemoryError" in result.stderr


def test_infinite_loop_times_out_and_nothing_outlives_it(env):
    code = """
import subprocess
subprocess.Popen(["sh", "-c", "exec sleep 987652"], start_new_session=True)
print("looping", flush=True)
while True:
    pass
"""
    start = time.monotonic()
    with pytest.raises(SandboxTimeoutError) as info:
        py(env, code, timeout=1)
    assert time.monotonic() - start < 4
    assert "looping" in (info.value.truncated_output or "")
    assert host_processes_matching("sleep 987652") == []


def test_cpu_time_limit_kills_a_busy_process():
    environment = BwrapSandboxEnvironment(BwrapConfig(cpu_seconds=1))
    try:
        result = py(environment, "while True:\n    pass", timeout=30)
    finally:
        environment.close()
    assert not result.success
    assert "CPU time limit" in result.stderr


def test_100mb_of_output_is_cut_off_quickly(env):
    code = "import sys\nfor _ in range(1600):\n    sys.stdout.write('x' * 65536)"  # 100 MiB
    start = time.monotonic()
    with pytest.raises(OutputLimitExceededError) as info:
        py(env, code, timeout=30)
    assert time.monotonic() - start < 5
    assert len(info.value.truncated_output or "") == LIMITS.max_output_kb * 1024


def test_file_size_limit(env):
    result = py(env, "open('big.bin', 'wb').write(b'0' * (2 * 2**20))")
    assert not result.success and "File too large" in result.stderr
    assert os.path.getsize(os.path.join(env.workdir, "big.bin")) <= 2**20


def test_files_persist_between_calls_and_file_api(env):
    py(env, "open('notes.txt', 'w').write('from call 1')")
    assert py(env, "print(open('/sandbox/notes.txt').read())").stdout == "from call 1\n"
    run(lambda: env.write_file("sub/dir/a.txt", "héllo\r\n"))
    assert run(lambda: env.read_file("sub/dir/a.txt")) == "héllo\r\n"
    assert run(lambda: env.read_file("/sandbox/sub/dir/a.txt", False)) == "héllo\r\n".encode()
    with pytest.raises(PermissionError):
        run(lambda: env.write_file("/etc/evil", "x"))
    with pytest.raises(FileNotFoundError):
        run(lambda: env.read_file("missing.txt"))
    with pytest.raises(IsADirectoryError):
        run(lambda: env.read_file("sub"))


def test_cleanup_kills_and_removes_everything(tmp_path):
    environment = BwrapSandboxEnvironment(LIMITS)
    base = environment.base
    # planted: a read-only dir holding a symlink to a host file; cleanup must not touch the file
    victim = tmp_path / "victim.txt"
    victim.write_text("original")
    victim.chmod(0o600)
    py(environment, f"import os\nos.mkdir('ro')\nos.symlink({str(victim)!r}, 'ro/link')\nos.chmod('ro', 0o555)\nos.chmod('.', 0o555)")

    async def start_and_cleanup() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: environment.exec(["sh", "-c", "exec sleep 987653"], timeout=60))
            await anyio.sleep(0.5)
            await BwrapSandboxEnvironment.sample_cleanup("t", None, {"default": environment}, True)
            tg.cancel_scope.cancel()

    run(start_and_cleanup)
    assert not os.path.exists(base)
    assert victim.read_text() == "original" and (victim.stat().st_mode & 0o777) == 0o600
    assert host_processes_matching("sleep 987653") == []


def test_missing_bwrap_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(sbx, "_tools", None)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PrerequisiteError, match="apt-get install bubblewrap"):
        BwrapSandboxEnvironment()


def test_registered_with_inspect_and_configurable(tmp_path):
    import harness._registry  # noqa: F401
    from inspect_ai.util._sandbox.registry import registry_find_sandboxenv

    assert registry_find_sandboxenv("bwrap") is BwrapSandboxEnvironment
    limits = tmp_path / "limits.yaml"
    limits.write_text("memory_mb: 512\nmax_procs: 8\n")
    assert sbx.load_config(str(limits)) == BwrapConfig(memory_mb=512, max_procs=8)
    with pytest.raises(Exception, match="memory_gb"):
        sbx.load_config({"memory_gb": 1})
