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
