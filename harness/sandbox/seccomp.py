"""The sandbox's seccomp filter: a deny-list modelled on Docker's default profile.

Docker's default profile (moby ``profiles/seccomp/default.json``) is an allow-list whose
gaps, for a container without extra capabilities, are the kernel interfaces that let code
leave or attack its container: keyrings, namespaces, mounts, kernel modules, tracing,
io_uring, BPF, ... This module denies exactly those (``EPERM``) and allows the rest, so
numpy/scipy/sympy and ordinary programs run unchanged. Like Docker it

- denies ``clone`` only when it asks for a new namespace (an argument filter on the flags),
  and answers ``clone3`` with ``ENOSYS``: its flags sit in memory a filter cannot read, and
  glibc then falls back to ``clone``, whose flags it can;
- kills the process for a syscall of a foreign ABI (32-bit ``int 0x80``, x32).

The filter is compiled by libseccomp (through the ``pyseccomp`` ctypes binding), not
written as BPF by hand: libseccomp knows every architecture's syscall numbers and ABI
quirks, which is exactly where hand-written filters go wrong. bwrap loads it with
``--seccomp FD`` right before it runs the command, after ``PR_SET_NO_NEW_PRIVS``.
"""

from __future__ import annotations

import errno
import functools
import os
from dataclasses import dataclass

from inspect_ai._util.error import PrerequisiteError

DENIED: dict[str, str] = {
    # keyrings: the harness's session keyring may hold SSH/PAM/Kerberos secrets
    "keyctl": "keyring",
    "add_key": "keyring",
    "request_key": "keyring",
    # namespaces: leaving or re-shaping the sandbox (new user namespaces included)
    "unshare": "namespaces",
    "setns": "namespaces",
    # mounts, old and new API
    "mount": "mounts",
    "umount": "mounts",
    "umount2": "mounts",
    "pivot_root": "mounts",
    "chroot": "mounts",
    "fsopen": "mounts",
    "fsconfig": "mounts",
    "fsmount": "mounts",
    "fspick": "mounts",
    "move_mount": "mounts",
    "open_tree": "mounts",
    "mount_setattr": "mounts",
    # kernel attack surface without a use in model-written code
    "io_uring_setup": "io_uring",
    "io_uring_enter": "io_uring",
    "io_uring_register": "io_uring",
    "bpf": "bpf",
    "perf_event_open": "perf",
    "userfaultfd": "userfaultfd",
    "kexec_load": "kernel",
    "kexec_file_load": "kernel",
    "init_module": "kernel",
    "finit_module": "kernel",
    "delete_module": "kernel",
    "create_module": "kernel",
    "query_module": "kernel",
    "get_kernel_syms": "kernel",
    "acct": "kernel",
    "swapon": "kernel",
    "swapoff": "kernel",
    "reboot": "kernel",
    "syslog": "kernel",
    "quotactl": "kernel",
    "quotactl_fd": "kernel",
    "nfsservctl": "kernel",
    "lookup_dcookie": "kernel",
    "uselib": "kernel",
    "ustat": "kernel",
    "sysfs": "kernel",
    "_sysctl": "kernel",
    "vhangup": "kernel",
    "iopl": "kernel",
    "ioperm": "kernel",
    "vm86": "kernel",
    "vm86old": "kernel",
    "open_by_handle_at": "kernel",
    "fanotify_init": "kernel",
    "settimeofday": "clock",
    "stime": "clock",
    "clock_settime": "clock",
    "clock_adjtime": "clock",
    "sethostname": "host",
    "setdomainname": "host",
    "get_mempolicy": "numa",
    "set_mempolicy": "numa",
    "set_mempolicy_home_node": "numa",
    "mbind": "numa",
    "move_pages": "numa",
    # other processes' memory (the pid namespace hides the host's; this denies all of it)
    "ptrace": "ptrace",
    "process_vm_readv": "ptrace",
    "process_vm_writev": "ptrace",
    "process_madvise": "ptrace",
    "kcmp": "ptrace",
    "pidfd_getfd": "ptrace",
}
"""Syscalls answered with EPERM, each with the reason it is denied."""

CLONE_NAMESPACE_FLAGS = {
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
}
"""``clone`` with any of these flags is denied (Docker's mask 0x7E020000)."""

AF_VSOCK = 40
"""``socket(AF_VSOCK)`` is denied: vsock reaches the hypervisor and is not bound by the
network namespace (Docker denies it too)."""

INSTALL_HINT = (
    "The bwrap sandbox compiles its seccomp filter with libseccomp: `sudo apt-get install libseccomp2` "
    "(Fedora: `sudo dnf install libseccomp`) and `pip install pyseccomp`."
)


@dataclass(frozen=True)
class SeccompFilter:
    bpf: bytes
    """The compiled program, as bwrap's ``--seccomp FD`` reads it."""
    denied: tuple[str, ...]
    """The denied syscalls this architecture has (others in DENIED do not exist here)."""

    def describe(self) -> str:
        return (
            f"deny-list of {len(self.denied)} syscalls (EPERM), clone with namespace flags denied, "
            "clone3 -> ENOSYS, socket(AF_VSOCK) denied, foreign ABIs killed; compiled by libseccomp"
        )


@functools.lru_cache(maxsize=1)
def compiled() -> SeccompFilter:
    """Compile the filter once per process (about a millisecond)."""
    try:
        import pyseccomp as sc
    except (ImportError, RuntimeError, OSError) as ex:  # RuntimeError: libseccomp.so not found
        raise PrerequisiteError(f"{INSTALL_HINT} ({ex})") from ex

    deny = sc.ERRNO(errno.EPERM)
    flt = sc.SyscallFilter(sc.ALLOW)
    flt.set_attr(sc.Attr.ACT_BADARCH, sc.KILL_PROCESS)
    present: list[str] = []
    for name in DENIED:
        number = sc.resolve_syscall(sc.Arch.NATIVE, name)
        if number == -1:  # unknown to this libseccomp: it cannot be called by name either
            continue
        flt.add_rule(deny, number)
        if number >= 0:  # negative: a pseudo-syscall, absent on this architecture
            present.append(name)
    # arg 0 holds clone's flags on every architecture Linux runs here but s390(x)
    for flag in CLONE_NAMESPACE_FLAGS.values():
        flt.add_rule(deny, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    flt.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    flt.add_rule(deny, "socket", sc.Arg(0, sc.EQ, AF_VSOCK))

    fd = os.memfd_create("harness-seccomp-build", os.MFD_CLOEXEC)
    try:
        with os.fdopen(os.dup(fd), "wb") as out:
            flt.export_bpf(out)
        size = os.fstat(fd).st_size
        bpf = os.pread(fd, size, 0)
    finally:
        os.close(fd)
    return SeccompFilter(bpf=bpf, denied=tuple(present))


def memfd(bpf: bytes) -> int:
    """An in-memory file holding ``bpf``, positioned at its start, to pass to bwrap."""
    fd = os.memfd_create("harness-seccomp", os.MFD_CLOEXEC)
    try:
        os.write(fd, bpf)
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd


@functools.lru_cache(maxsize=None)
def syscall_number(name: str) -> int:
    """This architecture's number of syscall ``name`` (libseccomp knows every table)."""
    import pyseccomp as sc

    number = sc.resolve_syscall(sc.Arch.NATIVE, name)
    if number < 0:
        raise PrerequisiteError(f"bwrap sandbox: no {name} syscall on this architecture")
    return number
