"""One long-lived launcher per sandbox, born inside the sample's cgroup, that forks its calls.

Moving a process into a cgroup makes the kernel wait for an RCU grace period (12-18 ms per
call on an idle cgroup v1 machine; see docs/sandbox.md), while a process forked by one that
is already in the cgroup is born there, for free. So each sandbox with a cgroup starts ONE
launcher through the host prefix that joins the cgroup (it pays the migration once), and
every call of the sample is forked by it:

    harness --(SOCK_SEQPACKET: argv, env, rlimits + fds by SCM_RIGHTS)--> launcher
    launcher: fork; child: PDEATHSIG, setsid, dup2 the fds to 0.., close the rest, join a
              fresh anonymous session keyring (as `keyctl session -` does), default
              SIGPIPE/SIGXFSZ, setrlimit, execve (bwrap ...); any failure: exit 125 with
              the reason on the call's stderr, never an exec without them
    launcher --(call id, pid + a pidfd of the child)--> harness
    launcher --(call id, wait status, when the launcher has reaped the child)--> harness

The launcher is the host's Python with ``-I -S`` running ``LAUNCHER_CODE`` (stdlib only,
builtin modules, no site), outside bwrap: the sandboxed code never sees it (the child closes
every descriptor but the ones it was given before it execs; as root the code runs as another
uid in its own pid namespace). It exits when the harness goes (socket EOF, and
``PR_SET_PDEATHSIG``), and its calls go with it (each child carries ``PR_SET_PDEATHSIG``, and
bwrap ``--die-with-parent``). The harness kills a call through the pidfd, so a pid reaped
by the launcher and reused can never be hit. The launcher counts against the sample's
memory budget (about 5 MiB); the kernel's OOM killer picks the sample's bigger processes
first, and where the kernel lets root lower ``oom_score_adj`` the launcher exempts itself
(its children get the old score back). If it dies anyway (SIGKILL, ...), the call running
then ends as killed, the next call starts a new launcher, and when one cannot start, calls
take the per-call path (a shell that joins the cgroup, then keyctl, bwrap).
"""

from __future__ import annotations

import contextlib
import marshal
import os
import signal
import socket
import subprocess
import sys
from logging import getLogger
from typing import Any

import anyio

logger = getLogger(__name__)

LAUNCHER_CODE = r"""
import os, sys, socket, selectors, signal, resource, fcntl, marshal, ctypes
libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1
libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
if os.getppid() != int(sys.argv[2]):
    os._exit(0)
sock = socket.socket(fileno=int(sys.argv[1]))
oom_score = None
try:
    with open("/proc/self/oom_score_adj") as f:
        oom_score = f.read().strip()
    with open("/proc/self/oom_score_adj", "w") as f:
        f.write("-1000")
except OSError:
    oom_score = None
me = os.getpid()
sel = selectors.DefaultSelector()
sel.register(sock, selectors.EVENT_READ)
calls = {}


def child(argv, env, limits, keyring, fds):
    try:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != me:
            os._exit(125)
        os.setsid()
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 64) for fd in fds]
        for i, fd in enumerate(high):
            os.dup2(fd, i)
        os.closerange(len(high), 1 << 20)
        if keyring is not None:  # keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL): what `keyctl session -` does
            if libc.syscall(keyring, 1, None) < 0:
                raise OSError(ctypes.get_errno(), "cannot join a fresh session keyring")
        for sig in ("SIGPIPE", "SIGXFSZ"):
            signal.signal(getattr(signal, sig), signal.SIG_DFL)
        if oom_score is not None:
            with open("/proc/self/oom_score_adj", "w") as f:
                f.write(oom_score)
        for res, soft, hard in limits:
            resource.setrlimit(res, (soft, hard))
        os.execve(argv[0], argv, env)
    except BaseException as ex:
        try:
            os.write(2, ("sandbox launcher: cannot start %s: %s\n" % (argv[0], ex)).encode())
        finally:
            os._exit(125)


sock.send(b"ready")
while True:
    for key, _ in sel.select():
        if key.fileobj is sock:
            try:
                msg, anc, _, _ = sock.recvmsg(1 << 20, socket.CMSG_SPACE(64 * 4))
            except InterruptedError:
                continue
            if not msg:
                os._exit(0)
            fds = []
            for level, kind, data in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds += list(memoryview(data)[: len(data) - len(data) % 4].cast("i"))
            call, argv, env, limits, keyring = marshal.loads(msg)
            try:
                pid = os.fork()
            except OSError as ex:
                pid = -ex.errno
            if pid == 0:
                child(argv, env, limits, keyring, fds)
            for fd in fds:
                os.close(fd)
            if pid < 0:
                sock.send(marshal.dumps((call, pid, None)))
                continue
            pidfd = os.pidfd_open(pid)
            calls[pidfd] = (call, pid)
            sel.register(pidfd, selectors.EVENT_READ)
            sock.sendmsg([marshal.dumps((call, pid, None))], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, pidfd.to_bytes(4, sys.byteorder, signed=True))])
        else:
            pidfd = key.fileobj
            call, pid = calls.pop(pidfd)
            sel.unregister(pidfd)
            os.close(pidfd)
            _, status = os.waitpid(pid, 0)
            sock.send(marshal.dumps((call, pid, status)))
"""
"""The launcher (run as ``python3 -I -S -c LAUNCHER_CODE <socket fd> <harness pid>``)."""

_START_TIMEOUT = 10.0


class LauncherGone(Exception):
    """The launcher died or could not start: the caller takes the per-call path."""


class ForkFailed(LauncherGone):
    """The launcher runs but could not fork (e.g. the sample's pids budget is used up)."""


class LaunchedProcess:
    """A call forked by the launcher, shaped like anyio's ``Process`` as ``run()`` uses it."""

    def __init__(self, launcher: "Launcher", call: int, pid: int, pidfd: int, stdin: int | None, stdout: int, stderr: int) -> None:
        self.launcher = launcher
        self.call = call
        self.pid = pid
        self.pidfd = pidfd
        self.returncode: int | None = None
        self.orphaned = False
        """The launcher died before the call ended (the call died with it)."""
        self.stdin = _FdWriter(stdin) if stdin is not None else None
        self.stdout = _FdReader(stdout)
        self.stderr = _FdReader(stderr)

    def kill(self) -> None:
        """SIGKILL through the pidfd: never another process, even after the pid was reused."""
        if self.pidfd >= 0:
            with contextlib.suppress(ProcessLookupError, OSError):
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)

    async def wait(self) -> int:
        if self.returncode is None:
            status = await self.launcher.exit_status(self.call)
            self.orphaned = status is None
            self.returncode = -signal.SIGKILL if status is None else os.waitstatus_to_exitcode(status)
        return self.returncode

    def close(self) -> None:
        if self.pidfd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.pidfd)
            self.pidfd = -1
        self.launcher.forget(self.call)


class _FdReader:
    """Chunks from a non-blocking pipe end, as an async iterator (like anyio's byte stream)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        os.set_blocking(fd, False)

    def __aiter__(self) -> "_FdReader":
        return self

    async def __anext__(self) -> bytes:
        while self.fd >= 0:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                await anyio.wait_readable(self.fd)
                continue
            if not data:
                break
            return data
        raise StopAsyncIteration

    async def aclose(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)


class _FdWriter:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        os.set_blocking(fd, False)

    async def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view and self.fd >= 0:
            try:
                view = view[os.write(self.fd, view):]
            except BlockingIOError:
                await anyio.wait_writable(self.fd)

    async def aclose(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)


class Launcher:
    """The harness's end of one sandbox's launcher (see the module doc)."""

    def __init__(self, prefix: list[str]) -> None:
        """``prefix``: the host command that joins the sandbox's cgroup and execs the rest."""
        self.prefix = prefix
        self.proc: subprocess.Popen[bytes] | None = None
        self.sock: socket.socket | None = None
        self.ready = False
        self._next = 0
        self._gen = 0
        """Incremented with every launcher started: a call belongs to the one that forked it."""
        self._live: dict[int, int] = {}
        """call -> generation of the launcher that runs it, until the caller forgets it."""
        self._replies: dict[int, tuple[int, int | None, int]] = {}
        """call -> (pid, wait status or None, pidfd) as they arrive."""
        self._lock = anyio.Lock()
        """Held by whoever reads the socket (starting it, or replies for everyone)."""
        self._send_lock = anyio.Lock()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def alive(self) -> bool:
        return self.sock is not None and self.proc is not None and self.proc.poll() is None

    def _start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.proc = subprocess.Popen(
                [*self.prefix, sys.executable, "-I", "-S", "-c", LAUNCHER_CODE, str(theirs.fileno()), str(os.getpid())],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
                env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        ours.setblocking(False)
        self.sock = ours
        self.ready = False
        self._gen += 1

    def start(self) -> None:
        """Start the launcher now without waiting for it (its Python start-up then overlaps
        with whatever comes before the first call); errors surface at ``ensure``."""
        if self.proc is None:
            with contextlib.suppress(OSError):
                self._start()

    async def ensure(self) -> None:
        """Start the launcher (again) unless it runs; raise LauncherGone if it cannot."""
        async with self._lock:
            if self.alive() and self.ready:
                return
            try:
                if not self.alive():
                    self.stop()
                    self._start()
                assert self.sock is not None
                with anyio.fail_after(_START_TIMEOUT):
                    while True:
                        await anyio.wait_readable(self.sock)
                        try:
                            msg = self.sock.recv(64)
                        except BlockingIOError:
                            continue
                        break
            except (OSError, TimeoutError) as ex:
                self.stop()
                raise LauncherGone(f"cannot start: {ex}") from ex
            if msg != b"ready":
                self.stop()
                raise LauncherGone("it exited at start")
            self.ready = True

    async def spawn(
        self,
        argv: list[str],
        env: dict[str, str],
        limits: list[tuple[int, int, int]],
        fds: list[int],
        keyring: int | None = None,
    ) -> tuple[int, int, int]:
        """Fork ``argv`` with ``fds`` as its 0, 1, 2, ...; (call id, pid, pidfd) once it runs.

        ``keyring``: the ``keyctl`` syscall number; the child then joins a fresh anonymous
        session keyring before it execs (as ``keyctl session -`` would, one exec less), and
        fails rather than run without one. A launcher found dead on the way (killed since the
        last call) is started again once."""
        try:
            return await self._spawn(argv, env, limits, fds, keyring)
        except ForkFailed:
            raise
        except LauncherGone:
            return await self._spawn(argv, env, limits, fds, keyring)

    async def _spawn(
        self, argv: list[str], env: dict[str, str], limits: list[tuple[int, int, int]], fds: list[int], keyring: int | None
    ) -> tuple[int, int, int]:
        await self.ensure()
        assert self.sock is not None
        self._next += 1
        call = self._next
        self._live[call] = self._gen
        payload = marshal.dumps((call, argv, env, limits, keyring))
        rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, b"".join(fd.to_bytes(4, sys.byteorder, signed=True) for fd in fds))]
        try:
            async with self._send_lock:
                while True:
                    sock = self.sock
                    if sock is None:
                        raise LauncherGone("it is gone")
                    try:
                        sock.sendmsg([payload], rights)
                        break
                    except BlockingIOError:  # many calls at once: wait until it has read some
                        await anyio.wait_writable(sock)
        except (OSError, anyio.ClosedResourceError) as ex:
            self.forget(call)
            self.stop()
            raise LauncherGone(f"cannot reach it: {ex}") from ex
        except BaseException:
            self.forget(call)
            raise
        try:
            pid, _, pidfd = await self._reply(call, lambda r: True)
        except BaseException:
            self.abandon(call)
            raise
        if pid < 0:
            self.forget(call)
            raise ForkFailed(f"fork failed: {os.strerror(-pid)}")
        return call, pid, pidfd

    async def exit_status(self, call: int) -> int | None:
        """The wait status of a call, or None when the launcher died first (the call with it)."""
        try:
            _, status, _ = await self._reply(call, lambda r: r[1] is not None)
        except LauncherGone:
            return None
        return status

    def forget(self, call: int) -> None:
        """The caller is done with ``call``: later replies for it are dropped."""
        self._live.pop(call, None)
        self._replies.pop(call, None)

    def abandon(self, call: int) -> None:
        """``spawn`` was interrupted: kill the call if it had started, and forget it."""
        reply = self._replies.get(call)
        if reply is not None and reply[2] >= 0:
            with contextlib.suppress(OSError):
                signal.pidfd_send_signal(reply[2], signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.close(reply[2])
        self.forget(call)

    async def _reply(self, call: int, done: Any) -> tuple[int, int | None, int]:
        while True:
            reply = self._replies.get(call)
            if reply is not None and done(reply):
                return reply
            if self.sock is None or self._live.get(call) != self._gen:
                raise LauncherGone("it is gone")
            async with self._lock:
                reply = self._replies.get(call)
                if reply is not None and done(reply):
                    return reply
                if self.sock is None or self._live.get(call) != self._gen:
                    raise LauncherGone("it is gone")
                try:
                    await anyio.wait_readable(self.sock)
                except (anyio.ClosedResourceError, OSError) as ex:
                    raise LauncherGone("it is gone") from ex
                self._drain()

    def _drain(self) -> None:
        assert self.sock is not None
        while True:
            try:
                msg, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(4))
            except BlockingIOError:
                return
            except OSError:
                msg, anc = b"", []
            if not msg:
                self.stop()
                return
            pidfd = -1
            for level, kind, data in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS and len(data) >= 4:
                    pidfd = int.from_bytes(data[:4], sys.byteorder, signed=True)
            call, pid, status = marshal.loads(msg)
            before = self._replies.get(call)
            if call not in self._live:  # its caller has given up on it
                if pidfd >= 0:
                    os.close(pidfd)
                continue
            if before is not None:
                pidfd = before[2]
            self._replies[call] = (pid, status, pidfd)

    def stop(self) -> None:
        """Kill the launcher (its running calls die with it) and reap it; never raises."""
        if self.sock is not None:
            with contextlib.suppress(Exception):  # wakes tasks waiting on it (needs an event loop)
                anyio.notify_closing(self.sock)
            with contextlib.suppress(OSError):
                self.sock.close()
            self.sock = None
        self.ready = False
        if self.proc is not None:
            with contextlib.suppress(OSError):
                self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired, OSError):
                self.proc.wait(timeout=5)
            self.proc = None
