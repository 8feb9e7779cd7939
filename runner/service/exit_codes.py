"""The exit codes of `runner run`, defined once: what the service managers act on.

- 0 `STOPPED`: stopped on request (SIGINT, SIGTERM, Ctrl+Break); never restarted.
- 2 `CONFIGURATION`: a configuration or usage error (no keys, an invalid or read-only
  key, no enabled strategy, a second instance on the same state directory, bad
  arguments). Restarting cannot fix it: NSSM `AppExit 2 Exit`, systemd
  `RestartPreventExitStatus=2`.
- 3 `LOOP_FAILED`: the loop failed repeatedly (or an unknown error); restart it.
- 4 `ENVIRONMENT`: the environment is broken (state or logs unwritable, disk full);
  restart after a delay, once the operator (or the disk) has had time to act.

`deployment/` applies this contract; `tests/process/test_deployment_contract.py` keeps
the two from drifting apart.
"""

from __future__ import annotations

from typing import Final

STOPPED: Final = 0
CONFIGURATION: Final = 2
LOOP_FAILED: Final = 3
ENVIRONMENT: Final = 4

MEANINGS: Final = {
    STOPPED: "stopped on request",
    CONFIGURATION: "configuration or usage error (not restarted)",
    LOOP_FAILED: "the loop failed repeatedly (restarted)",
    ENVIRONMENT: "the environment is broken: state or logs unwritable, disk full "
                 "(restarted after a delay)",
}


class ServiceExit(Exception):
    """Leave `runner run` with `code`; `reason` is the one line for stderr and the log."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


# What SQLite says when the disk, not the data, is the problem.
_STORAGE_MARKERS: Final = ("disk i/o error", "database or disk is full", "disk is full",
                           "readonly database", "unable to open database file",
                           "no space left", "file too large", "read-only file system")


def mentions_storage_failure(text: str) -> bool:
    """True when an error text says the disk or the state directory failed."""
    lowered = text.lower()
    return any(marker in lowered for marker in _STORAGE_MARKERS)


def _is_environment_failure(error: BaseException) -> bool:
    if isinstance(error, OSError):  # files and directories: network errors are wrapped
        return True
    import sqlite3

    return isinstance(error, sqlite3.Error) and mentions_storage_failure(str(error))


def classify(error: BaseException) -> tuple[int, str]:
    """The exit code and one-line reason for an error that ended `runner run`.

    A broken environment (a file or directory that cannot be written, a full disk, a
    store that cannot write) anywhere in the chain of causes is 4; anything else is 3.
    """
    seen: BaseException | None = error
    while seen is not None:
        if _is_environment_failure(seen):
            return ENVIRONMENT, _one_line(seen)
        seen = seen.__cause__ or seen.__context__
    return LOOP_FAILED, _one_line(error)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or "no message"
    return f"{type(error).__name__}: {text}"
