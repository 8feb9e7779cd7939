"""One service per state directory: the lock file's behaviour on both platforms' code paths.

POSIX (`fcntl.flock`) is exercised for real. The Windows path (`msvcrt.locking`) runs here
against a stand-in for the standard library's `msvcrt` that keeps mandatory byte-range
locks the way Windows does; nothing of ours is patched.
"""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path

import pytest

from runner.service.instance_lock import (
    LOCK_FILE_NAME,
    InstanceLock,
    LockHeld,
    PosixLocking,
    WindowsLocking,
    lock_is_held,
    platform_locking,
    read_holder_pid,
)

posix_only = pytest.mark.skipif(os.name != "posix", reason="fcntl is POSIX")


class FakeMsvcrt(types.ModuleType):
    """Windows' byte-range locks: one owner handle per (file, offset); a second refuses."""

    LK_UNLCK = 0
    LK_NBLCK = 2

    def __init__(self) -> None:
        super().__init__("msvcrt")
        self.locks: dict[tuple[int, int, int], int] = {}

    def locking(self, fd: int, mode: int, nbytes: int) -> None:
        stat = os.fstat(fd)
        key = (stat.st_dev, stat.st_ino, os.lseek(fd, 0, os.SEEK_CUR))
        if mode == self.LK_UNLCK:
            if self.locks.get(key) != fd:
                raise PermissionError(13, "Permission denied")
            del self.locks[key]
        elif key in self.locks:
            raise PermissionError(13, "Permission denied")
        else:
            self.locks[key] = fd


@posix_only
def test_the_first_holder_gets_the_lock_and_writes_its_pid(tmp_path: Path) -> None:
    with InstanceLock.for_state_dir(tmp_path / "state") as lock:
        assert lock.held
        assert read_holder_pid(tmp_path / "state" / LOCK_FILE_NAME) == os.getpid()


@posix_only
def test_a_second_holder_is_refused_with_the_first_holders_pid(tmp_path: Path) -> None:
    with InstanceLock.for_state_dir(tmp_path):
        second = InstanceLock.for_state_dir(tmp_path)
        with pytest.raises(LockHeld) as refused:
            second.acquire(patience=0.1)
    assert refused.value.pid == os.getpid()
    assert f"pid {os.getpid()}" in str(refused.value)
    assert not second.held


@posix_only
def test_the_lock_is_free_again_after_release_and_the_probe_says_so(tmp_path: Path) -> None:
    assert lock_is_held(tmp_path) is None  # no lock file: no service ever ran here
    lock = InstanceLock.for_state_dir(tmp_path)
    lock.acquire()
    assert lock_is_held(tmp_path) is True
    lock.release()
    assert lock_is_held(tmp_path) is False
    InstanceLock.for_state_dir(tmp_path).acquire(patience=0)  # takes it at once


@posix_only
def test_an_unwritable_state_directory_is_an_os_error_not_a_refusal(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    state = tmp_path / "state"
    state.mkdir()
    state.chmod(0o500)
    try:
        with pytest.raises(PermissionError):
            InstanceLock.for_state_dir(state).acquire()
    finally:
        state.chmod(0o700)


def test_the_platform_chooses_flock_on_posix_and_msvcrt_on_windows() -> None:
    expected = WindowsLocking if sys.platform == "win32" else PosixLocking
    assert isinstance(platform_locking(), expected)


@pytest.fixture
def fake_msvcrt(monkeypatch: pytest.MonkeyPatch) -> FakeMsvcrt:
    module = FakeMsvcrt()
    monkeypatch.setitem(sys.modules, "msvcrt", module)
    return module


def test_windows_path_refuses_a_second_holder_and_leaves_the_pid_readable(
        tmp_path: Path, fake_msvcrt: FakeMsvcrt) -> None:
    first = InstanceLock.for_state_dir(tmp_path, WindowsLocking())
    first.acquire()
    assert fake_msvcrt.locks  # the lock is the msvcrt byte lock
    with pytest.raises(LockHeld) as refused:
        InstanceLock.for_state_dir(tmp_path, WindowsLocking()).acquire(patience=0.1)
    assert refused.value.pid == os.getpid()
    assert lock_is_held(tmp_path, WindowsLocking()) is True
    first.release()
    assert lock_is_held(tmp_path, WindowsLocking()) is False
    assert fake_msvcrt.locks == {}
