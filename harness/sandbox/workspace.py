"""A sample's writable space, with a size and inode budget, and removal that cannot fail.

Each sandbox gets one host directory (``$TMPDIR/harness-bwrap-<pid>-*``) holding ``work``
(``/sandbox`` inside) and ``tmp`` (``/tmp`` inside). When the harness runs as root that
directory is a tmpfs of its own, mounted with ``size=`` and ``nr_inodes=``: the kernel
enforces the sample's disk and file budget (ENOSPC past it), the tmpfs's pages count
towards the sample's memory cgroup, its paths no longer reveal the host's layout in the
sandbox's ``/proc/self/mountinfo``, and unmounting it frees everything at once however
deep the tree. Without root (or where mounting is refused) it is a plain directory and only
the per-file size limit applies; the log says so once.

Removal never raises and never recurses: trees are walked iteratively with a bounded number
of open descriptors (a 100,000-level chain is fine), every error is logged, and a stale
directory of a dead run never stops a new eval.
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat
import tempfile
from dataclasses import dataclass
from logging import getLogger
from pathlib import Path

logger = getLogger(__name__)

DIR_PREFIX = "harness-bwrap-"
_MS_NOSUID, _MS_NODEV = 0x2, 0x4
_MNT_DETACH = 0x2
_SPARE_INODES = 4
"""The tmpfs's own root, work/, tmp/ and profile are not part of the sample's file budget."""



def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def mount_tmpfs(path: str, *, size: int, inodes: int) -> str | None:
    """Mount a private tmpfs on ``path``; None when done, else why not (not root, refused)."""
    if os.geteuid() != 0:
        return "not running as root, so no tmpfs can be mounted"
    opts = f"size={size},nr_inodes={inodes + _SPARE_INODES},mode=0700,uid=0,gid=0".encode()
    libc = _libc()
    if libc.mount(b"tmpfs", os.fsencode(path), b"tmpfs", _MS_NOSUID | _MS_NODEV, opts) != 0:
        err = ctypes.get_errno()
        return f"mounting a tmpfs was refused ({os.strerror(err)})"
    return None


def unmount(path: str) -> None:
    """Detach the mount on ``path`` (lazily: still-open files cannot block it)."""
    if _libc().umount2(os.fsencode(path), _MNT_DETACH) != 0:
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOENT):  # EINVAL: not a mount point (any more)
            raise OSError(err, os.strerror(err), path)


@dataclass
class Workspace:
    base: str
    tmpfs: bool
    reason: str
    """Why there is no tmpfs (empty when there is one)."""

    @property
    def workdir(self) -> str:
        return os.path.join(self.base, "work")

    @property
    def tmpdir(self) -> str:
        return os.path.join(self.base, "tmp")

    @classmethod
    def create(cls, *, owner: int | None, size: int, inodes: int) -> "Workspace":
        """Make the sample's directory (a budgeted tmpfs when possible) with work/ and tmp/."""
        base = tempfile.mkdtemp(prefix=f"{DIR_PREFIX}{os.getpid()}-")
        reason = mount_tmpfs(base, size=size, inodes=inodes) or ""
        ws = cls(base, tmpfs=not reason, reason=reason)
        try:
            for d in (ws.workdir, ws.tmpdir):
                os.mkdir(d, 0o700)
                if owner is not None:
                    os.chown(d, owner, owner)
        except BaseException:
            ws.remove()
            raise
        return ws

    def describe(self, size: int, inodes: int) -> str:
        if self.tmpfs:
            return f"tmpfs of {size // 1024**2} MiB and {inodes} files (work dir and /tmp together)"
        return f"host directory without a size or file budget ({self.reason}); per-file size limit only"

    def remove(self) -> bool:
        """Unmount and delete; never raises. True when nothing is left."""
        return remove_dir(self.base)


def remove_dir(path: str) -> bool:
    """Unmount ``path`` if it is a mount point, then delete the tree; log errors, never raise."""
    try:
        if os.path.ismount(path):
            unmount(path)
        remove_tree(path)
    except FileNotFoundError:
        pass
    except Exception as ex:  # noqa: BLE001 -- cleanup must never stop an eval
        logger.warning("bwrap sandbox: could not remove %s: %s", path, ex)
    return not os.path.lexists(path)


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _open_dir(name: str, dir_fd: int | None) -> int:
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except PermissionError:
        # the sandboxed code may have chmod-ed it to 000 (root never gets here)
        os.chmod(name, stat.S_IRWXU, dir_fd=dir_fd)
        return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)


def _empty_files(fd: int) -> list[str]:
    """Unlink everything but subdirectories in the directory ``fd``; return their names."""
    subdirs: list[str] = []
    with os.scandir(fd) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                subdirs.append(entry.name)
                continue
            try:
                os.unlink(entry.name, dir_fd=fd)
            except FileNotFoundError:
                pass
            except PermissionError:
                os.fchmod(fd, stat.S_IRWXU)
                os.unlink(entry.name, dir_fd=fd)
    return subdirs


def remove_tree(path: str) -> None:
    """Delete a directory tree of any depth and width, iteratively.

    Descends with ``openat`` and climbs back with ``..`` (checked against the device and
    inode seen on the way down), so only one directory is open at a time and path lengths
    never matter. Symlinks are unlinked, never followed; other file systems mounted inside
    are not entered. Call it only once nothing can write to the tree any more.
    """
    if os.path.islink(path) or not os.path.isdir(path):
        os.unlink(path)
        return
    fd = _open_dir(path, None)
    try:
        top = os.fstat(fd)
        # each level: (name in its parent, (dev, ino) of the parent, subdirs still to remove)
        stack: list[tuple[str, tuple[int, int], list[str]]] = [("", (0, 0), _empty_files(fd))]
        while stack:
            name, parent_id, pending = stack[-1]
            if pending:
                child = pending.pop()
                here = os.fstat(fd)
                try:
                    child_fd = _open_dir(child, fd)
                except FileNotFoundError:
                    continue
                except NotADirectoryError:  # replaced meanwhile: just a file now
                    os.unlink(child, dir_fd=fd)
                    continue
                if os.fstat(child_fd).st_dev != top.st_dev:
                    os.close(child_fd)
                    raise OSError(errno.EXDEV, "another file system is mounted inside", os.path.join(path, child))
                os.close(fd)
                fd = child_fd
                stack.append((child, (here.st_dev, here.st_ino), _empty_files(fd)))
                continue
            stack.pop()
            if not stack:
                break
            parent_fd = os.open("..", _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = parent_fd
            st = os.fstat(fd)
            if (st.st_dev, st.st_ino) != parent_id:
                raise OSError(errno.ESTALE, "directory moved during removal", path)
            os.rmdir(name, dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(path)


def sweep_stale_dirs() -> int:
    """Remove work dirs of harness processes that died without cleaning up; never raises."""
    removed = 0
    try:
        candidates = list(Path(tempfile.gettempdir()).glob(f"{DIR_PREFIX}*-*"))
    except OSError as ex:
        logger.warning("bwrap sandbox: cannot list %s: %s", tempfile.gettempdir(), ex)
        return 0
    for d in candidates:
        try:
            pid = int(d.name[len(DIR_PREFIX):].split("-", 1)[0])
        except ValueError:
            continue
        try:
            if pid == os.getpid() or pid_alive(pid) or d.is_symlink() or not d.is_dir():
                continue
            if d.stat().st_uid != os.getuid():
                continue
        except OSError:
            continue
        if remove_dir(str(d)):
            removed += 1
    return removed


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
