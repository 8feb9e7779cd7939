"""The heartbeat: the file the loop rewrites every tick, and the verdict supervisors read.

The heartbeat, `<state dir>/heartbeat.json` = {pid, at, tick, environment, strategies,
last_error, problems, state, launched_at, view}, is rewritten by the loop every tick, and
once more with `state: "stopped"` when the service stops. Liveness is the heartbeat's age,
never a log file's age (lessons H1: an idle bot logs rarely and was restarted every 45 min),
and a "running" beat is believed only while the service's instance lock is held
(`runner.service.instance_lock`): a process that died leaves a fresh-looking beat behind.

Invariants: a missing, empty, NUL-filled or otherwise unreadable heartbeat is a *stale*
verdict, never a crash (A6). The heartbeat is replaced atomically (temp file, then
`os.replace`), so a reader sees the old beat or the new one. It is not fsynced: it is
liveness, not memory; a beat torn by a power loss reads as stale, which is then true.
On Windows a reader holding the file open makes `os.replace` fail for a moment; the
write retries briefly before giving up.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final, NamedTuple

from runner.common.files import Replace, write_text_atomically
from runner.service.instance_lock import lock_is_held
from runner.service.log import redact

HEARTBEAT_FILE_NAME: Final = "heartbeat.json"
RUNNING: Final = "running"
STOPPED: Final = "stopped"
HEARTBEAT_STATES: Final = (RUNNING, STOPPED)
DEFAULT_MAX_AGE: Final = timedelta(seconds=120)


class HeartbeatUnreadable(Exception):
    """The heartbeat file is missing or cannot be understood; the message says which."""


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """One beat of the service loop."""

    at: datetime
    tick: int
    environment: str
    strategies: tuple[str, ...]
    last_error: str | None = None
    pid: int = field(default_factory=os.getpid)
    # Open concerns of the service (runner.service.attention): a live service with any is degraded.
    problems: tuple[str, ...] = ()
    # "stopped" is the last beat of a service that ended (its reason in last_error).
    state: str = RUNNING
    # When this service process started (its schedules' launch); absent in older beats.
    launched_at: datetime | None = None
    # The tick's live numbers for `runner status` (runner.service.tick_view.TickView.to_json).
    view: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"pid": self.pid, "at": self.at.isoformat(), "tick": self.tick,
                "environment": self.environment, "strategies": list(self.strategies),
                "last_error": redact(str(self.last_error)) if self.last_error else None,
                "problems": [redact(problem) for problem in self.problems],
                "state": self.state,
                "launched_at": self.launched_at.isoformat() if self.launched_at else None,
                "view": self.view}

    @classmethod
    def from_json(cls, data: object) -> Heartbeat:
        """Parse a decoded heartbeat; raise ValueError when a field is missing or wrong."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        at = datetime.fromisoformat(_typed(data, "at", str))
        if at.tzinfo is None:
            raise ValueError("'at' has no time zone")
        strategies = _typed(data, "strategies", list)
        last_error = data.get("last_error")
        problems = data.get("problems") or []  # absent in beats of older runners
        if not isinstance(problems, list):
            raise ValueError("'problems' is not a list")
        state = data.get("state") or RUNNING  # absent in beats of older runners
        if state not in HEARTBEAT_STATES:
            raise ValueError(f"'state' is {state!r}, not one of {', '.join(HEARTBEAT_STATES)}")
        return cls(at=at, tick=_typed(data, "tick", int),
                   environment=_typed(data, "environment", str),
                   strategies=tuple(str(name) for name in strategies),
                   last_error=str(last_error) if last_error is not None else None,
                   pid=_typed(data, "pid", int),
                   problems=tuple(str(problem) for problem in problems), state=state,
                   launched_at=_optional_time(data, "launched_at"),
                   view=view if isinstance(view := data.get("view"), dict) else None)


def _optional_time(data: Mapping[str, Any], name: str) -> datetime | None:
    value = data.get(name)
    if value is None:
        return None
    moment = datetime.fromisoformat(_typed(data, name, str))
    if moment.tzinfo is None:
        raise ValueError(f"{name!r} has no time zone")
    return moment


def _typed(data: Mapping[str, Any], name: str, kind: type) -> Any:
    value = data.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"{name!r} is missing or not a {kind.__name__}")
    return value


def heartbeat_path(state_dir: Path) -> Path:
    return state_dir / HEARTBEAT_FILE_NAME


def write_heartbeat(state_dir: Path, heartbeat: Heartbeat, *, replace: Replace = os.replace
                    ) -> Path:
    """Replace the heartbeat file atomically; raise OSError when it cannot be written.

    Not fsynced: it is liveness, not memory (a beat torn by a power loss reads as stale).
    """
    path = heartbeat_path(state_dir)
    write_text_atomically(path, json.dumps(heartbeat.to_json(), sort_keys=True) + "\n",
                          replace=replace, durable=False)
    return path


def read_heartbeat(state_dir: Path) -> Heartbeat:
    """The last heartbeat; raise HeartbeatUnreadable when missing or corrupt."""
    path = heartbeat_path(state_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise HeartbeatUnreadable(f"no heartbeat at {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise HeartbeatUnreadable(f"heartbeat {path} cannot be read: {error}") from None
    try:
        return Heartbeat.from_json(json.loads(text))
    except ValueError as error:  # json.JSONDecodeError is a ValueError
        raise HeartbeatUnreadable(f"heartbeat {path} is corrupt: {error}") from None


class Verdict(NamedTuple):
    """Whether the service is alive, and one line that says why."""

    ok: bool
    text: str


def health_verdict(heartbeat: Heartbeat | None, now: datetime, max_age: timedelta = DEFAULT_MAX_AGE
                   ) -> Verdict:
    """Judge liveness from a heartbeat's age: fresh is ok (degraded when it carries
    problems), old or absent is stale."""
    if heartbeat is None:
        return Verdict(False, "stale: no heartbeat")
    age = now - heartbeat.at
    details = _details(heartbeat)
    if heartbeat.state == STOPPED:
        return Verdict(False, f"stopped: the service stopped {_seconds(max(age, timedelta(0)))}"
                              f" ago {details}")
    if age < -max_age:
        return Verdict(False, f"stale: heartbeat dated {_seconds(-age)} in the future "
                              f"(clock changed?) {details}")
    if age > max_age:
        return Verdict(False, f"stale: heartbeat {_seconds(age)} old, more than "
                              f"{_seconds(max_age)} {details}")
    fresh = f"heartbeat {_seconds(max(age, timedelta(0)))} old {details}"
    if heartbeat.problems:
        # Alive but in need of the operator: not a reason to restart (exit stays 0).
        return Verdict(True, f"degraded: {'; '.join(heartbeat.problems)}; {fresh}")
    return Verdict(True, f"ok: {fresh}")


def check_heartbeat(state_dir: Path, now: datetime, max_age: timedelta = DEFAULT_MAX_AGE
                    ) -> Verdict:
    """Read the heartbeat in `state_dir` and judge it; unreadable means stale, and so does
    a running beat whose service no longer holds its instance lock (it died)."""
    try:
        heartbeat = read_heartbeat(state_dir)
    except HeartbeatUnreadable as problem:
        return Verdict(False, f"stale: {problem}")
    verdict = health_verdict(heartbeat, now, max_age)
    if verdict.ok and lock_is_held(state_dir) is False:
        age = _seconds(max(now - heartbeat.at, timedelta(0)))
        return Verdict(False, f"stale: the service is not running (pid {heartbeat.pid} holds "
                              f"no lock on {state_dir}); its last heartbeat is {age} old")
    return verdict


def _details(heartbeat: Heartbeat) -> str:
    count = len(heartbeat.strategies)
    text = (f"(tick {heartbeat.tick}, pid {heartbeat.pid}, {heartbeat.environment}, "
            f"{count} {'strategy' if count == 1 else 'strategies'})")
    if heartbeat.last_error:
        text += f"; last error: {heartbeat.last_error}"
    return text


def _seconds(span: timedelta) -> str:
    return f"{int(span.total_seconds())} s"
