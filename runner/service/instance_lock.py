"""One service per state directory: an OS-level lock held for the life of `runner run`.

`<state dir>/runner.lock` is locked with `fcntl.flock` on POSIX and `msvcrt.locking` on
Windows. The operating system releases the lock when the process ends, however it ends
(a clean stop, a crash, kill -9, a power loss), so there is no stale marker to clean up
(lessons A7) and a second `runner run` on the same directory can be refused for certain.
The holder writes its pid into the file, so the refusal names it.

The same lock answers "is the service alive?" for `runner health` and `runner trades`
on every platform (`os.kill(pid, 0)` is not a liveness check on Windows): if the lock
can be taken, nobody holds it. The probe holds it for microseconds; a starting service
retries its own acquisition briefly so a probe never makes it refuse to start.

Deliberate choices: the file is never deleted (deleting a lock file races with the next
holder). `msvcrt` locks are mandatory byte ranges, so the lock is taken on one byte far
beyond the pid text, which other processes can then still read.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from types import TracebackType
from typing import Final, Protocol

LOCK_FILE_NAME: Final = "runner.lock"
WINDOWS_LOCK_OFFSET: Final = 1024  # the locked byte, past any pid text
ACQUIRE_PATIENCE_SECONDS: Final = 0.5  # rides over a health probe's momentary hold
_RETRY_PAUSE_SECONDS: Final = 0.05


class LockHeld(Exception):
    """Another process holds the state directory's lock; `pid` is its pid when known."""

    def __init__(self, path: Path, pid: int | None) -> None:
        holder = f"pid {pid}" if pid is not None else "an unknown process"
        super().__init__(f"another runner ({holder}) is running with the state directory "
                         f"{path.parent} (lock {path}); stop it first, or give this one its "
                         "own RUNNER_STATE_DIR")
        self.path = path
        self.pid = pid


class Locking(Protocol):
    """How one platform takes and releases an exclusive, non-blocking file lock."""

    def try_lock(self, fd: int) -> bool: ...

    def unlock(self, fd: int) -> None: ...


class PosixLocking:
    """`flock`: advisory, whole file, per open file description."""

    def try_lock(self, fd: int) -> bool:
        import fcntl

        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # BlockingIOError (EWOULDBLOCK) while another holds it
            return False
        return True

    def unlock(self, fd: int) -> None:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)


class WindowsLocking:
    """`msvcrt.locking` of one byte at `WINDOWS_LOCK_OFFSET`, never waiting."""

    def try_lock(self, fd: int) -> bool:
        import msvcrt

        os.lseek(fd, WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:  # held by another handle
            return False
        return True

    def unlock(self, fd: int) -> None:
        import msvcrt

        os.lseek(fd, WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


def platform_locking() -> Locking:
    return WindowsLocking() if os.name == "nt" else PosixLocking()


def lock_path(state_dir: Path) -> Path:
    return state_dir / LOCK_FILE_NAME


class InstanceLock:
    """The lock of one state directory, held from `acquire` until `release` (or death)."""

    def __init__(self, path: Path, locking: Locking | None = None) -> None:
        self.path = path
        self._locking = locking or platform_locking()
        self._fd: int | None = None

    @classmethod
    def for_state_dir(cls, state_dir: Path, locking: Locking | None = None) -> InstanceLock:
        return cls(lock_path(state_dir), locking)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, patience: float = ACQUIRE_PATIENCE_SECONDS) -> None:
        """Take the lock and write our pid; raise LockHeld (another holder) or OSError
        (the directory or file cannot be created or written)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + patience
        while not self._locking.try_lock(fd):
            if time.monotonic() >= deadline:
                os.close(fd)
                raise LockHeld(self.path, read_holder_pid(self.path))
            time.sleep(_RETRY_PAUSE_SECONDS)
        try:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        except OSError:
            self._locking.unlock(fd)
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        """Let go of the lock (the OS does it anyway when the process ends)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            self._locking.unlock(fd)
        finally:
            os.close(fd)

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.release()


def read_holder_pid(path: Path) -> int | None:
    """The pid the last holder wrote, or None when absent or unreadable."""
    try:
        text = path.read_bytes()[:32].decode("ascii", errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def lock_is_held(state_dir: Path, locking: Locking | None = None) -> bool | None:
    """True while a process holds the state directory's lock, False when nobody does,
    None when there is no lock file (no service of this version ever ran there) or it
    cannot be opened."""
    locking = locking or platform_locking()
    try:
        fd = os.open(lock_path(state_dir), os.O_RDONLY)
    except OSError:
        return None
    try:
        if not locking.try_lock(fd):
            return True
        locking.unlock(fd)
        return False
    finally:
        os.close(fd)
