"""Health: the heartbeat file and its verdict, the 5-minute health record, stale prices.

Owns three things the service loop feeds and the supervisors read:
- the heartbeat, `<state dir>/heartbeat.json` = {pid, at, tick, environment, strategies,
  last_error, problems, state}, rewritten by the loop every tick, and once more with
  `state: "stopped"` when the service stops. Liveness is the heartbeat's age, never a
  log file's age (lessons H1: an idle bot logs rarely and was restarted every 45 min),
  and a "running" beat is believed only while the service's instance lock is held
  (`runner.service.instance_lock`): a process that died leaves a fresh-looking beat behind;
- `HealthRecord`, the periodic line in `logs/health.log` (equity, margin, positions,
  portfolio delta, reachability, stale prices) and the problems it shows;
- `StalenessTracker`, pure: fed (key, value, at), it names the keys whose value has not
  changed for the limit (lessons C1: a frozen index went unnoticed for 7 hours).

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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NamedTuple, Protocol, TypeVar

from loguru import logger

from runner.common.files import Replace, write_text_atomically
from runner.domain.clock import Clock
from runner.domain.snapshot import Account, MarketSnapshot, Position
from runner.exchange.errors import ExchangeError
from runner.service.alerts import apply_problems
from runner.service.instance_lock import lock_is_held
from runner.service.log import HEALTH_CHANNEL, redact

if TYPE_CHECKING:
    from runner.service.alerts import Alerter

HEARTBEAT_FILE_NAME: Final = "heartbeat.json"
RUNNING: Final = "running"
STOPPED: Final = "stopped"
HEARTBEAT_STATES: Final = (RUNNING, STOPPED)
DEFAULT_MAX_AGE: Final = timedelta(seconds=120)
DEFAULT_MAX_UNCHANGED: Final = timedelta(seconds=60)  # lessons C1

T = TypeVar("T")


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

    def to_json(self) -> dict[str, Any]:
        return {"pid": self.pid, "at": self.at.isoformat(), "tick": self.tick,
                "environment": self.environment, "strategies": list(self.strategies),
                "last_error": redact(str(self.last_error)) if self.last_error else None,
                "problems": [redact(problem) for problem in self.problems],
                "state": self.state}

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
                   problems=tuple(str(problem) for problem in problems), state=state)


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


@dataclass(frozen=True, slots=True)
class StaleValue:
    """A key whose value has not changed since `unchanged_since`."""

    key: str
    value: object
    unchanged_since: datetime

    def unchanged_for(self, now: datetime) -> timedelta:
        return now - self.unchanged_since


class StalenessTracker:
    """Names the keys whose observed value has not changed for `max_unchanged` (C1).

    A key that stops being observed at all is stale too: what matters is the time
    since its value last changed, measured at `now`.
    """

    def __init__(self, max_unchanged: timedelta = DEFAULT_MAX_UNCHANGED) -> None:
        if max_unchanged <= timedelta(0):
            raise ValueError("max_unchanged must be positive")
        self.max_unchanged = max_unchanged
        self._last: dict[str, StaleValue] = {}

    def observe(self, key: str, value: object, at: datetime) -> None:
        """Record the value of `key` seen at `at`."""
        last = self._last.get(key)
        changed = last is None or (last.value != value and at >= last.unchanged_since)
        if changed:
            self._last[key] = StaleValue(key, value, at)

    def forget(self, key: str) -> None:
        """Stop watching `key` (e.g. an instrument that expired)."""
        self._last.pop(key, None)

    def stale(self, now: datetime) -> tuple[StaleValue, ...]:
        """The keys unchanged for at least the limit at `now`, longest first."""
        found = (v for v in self._last.values() if v.unchanged_for(now) >= self.max_unchanged)
        return tuple(sorted(found, key=lambda v: (v.unchanged_since, v.key)))

    def is_stale(self, key: str, now: datetime) -> bool:
        last = self._last.get(key)
        return last is not None and last.unchanged_for(now) >= self.max_unchanged


@dataclass(frozen=True, slots=True)
class HealthRecord:
    """What the periodic health line says. `None` = not known (the read failed, C5)."""

    at: datetime
    reachable: bool
    equity: Decimal | None = None
    available_margin: Decimal | None = None
    margin_used_pct: Decimal | None = None
    positions: int | None = None
    portfolio_delta: float | None = None
    stale_prices: tuple[str, ...] = ()
    open_trades: int | None = None
    uptime: timedelta | None = None
    failed_reads: tuple[str, ...] = ()

    @classmethod
    def from_snapshot(cls, snapshot: MarketSnapshot, *, reachable: bool,
                      stale_prices: Iterable[str] = (), open_trades: int | None = None,
                      started_at: datetime | None = None) -> HealthRecord:
        """The record of one tick's snapshot (account, positions, delta)."""
        account = snapshot.account
        positions = snapshot.positions
        return cls(
            at=snapshot.at, reachable=reachable,
            equity=account.equity if account else None,
            available_margin=account.available_margin if account else None,
            margin_used_pct=account.margin_utilisation_pct if account else None,
            positions=len(positions) if positions is not None else None,
            portfolio_delta=snapshot.net_delta,
            stale_prices=tuple(stale_prices), open_trades=open_trades,
            uptime=snapshot.at - started_at if started_at else None,
            failed_reads=snapshot.failures)


def format_health_record(record: HealthRecord) -> str:
    """One greppable line of `key=value` pairs; unknown values read `n/a`."""
    parts = [
        f"at={record.at.isoformat()}",
        f"equity={_money(record.equity)}",
        f"available_margin={_money(record.available_margin)}",
        f"margin_used={_percent(record.margin_used_pct)}",
        f"positions={_or_na(record.positions)}",
        f"delta={_delta(record.portfolio_delta)}",
        f"exchange={'reachable' if record.reachable else 'UNREACHABLE'}",
        f"stale_prices={','.join(record.stale_prices) or 'none'}",
    ]
    if record.open_trades is not None:
        parts.append(f"open_trades={record.open_trades}")
    if record.uptime is not None:
        parts.append(f"uptime={_duration(record.uptime)}")
    if record.failed_reads:
        parts.append(f"failed_reads=\"{'; '.join(record.failed_reads)}\"")
    return "health " + " ".join(parts)


def log_health_record(record: HealthRecord) -> None:
    """Write the record to `health.log` (the health channel)."""
    logger.bind(channel=HEALTH_CHANNEL).info(format_health_record(record))


def _or_na(value: object) -> str:
    return "n/a" if value is None else str(value)


def _money(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{value:.2f}USD"


def _percent(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{value:.1f}%"


def _delta(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.4f}"


def _duration(span: timedelta) -> str:
    seconds = max(0, int(span.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{days}d{hours:02d}h{minutes:02d}m{seconds:02d}s"


@dataclass(frozen=True, slots=True)
class HealthLimits:
    """Thresholds that turn a health record into problems (old system: margin > 80 %)."""

    max_margin_used_pct: Decimal = Decimal(80)
    min_equity: Decimal | None = None


# Alert keys of account problems. Reachability ("exchange.unreachable") and stale prices
# ("prices.stale") are alerted per tick by whoever watches the feed, not here.
HEALTH_PROBLEM_KEYS: Final = ("account.unread", "margin.high", "equity.low")


def health_problems(record: HealthRecord, limits: HealthLimits | None = None) -> dict[str, str]:
    """The account problems a record shows, by alert key, worded for people."""
    limits = limits or HealthLimits()
    problems: dict[str, str] = {}
    if record.equity is None and record.reachable:  # unreachable is alerted on its own
        problems["account.unread"] = "the account could not be read"
    used = record.margin_used_pct
    if used is not None and used > limits.max_margin_used_pct:
        problems["margin.high"] = (f"margin used {used:.1f}% is above "
                                   f"{limits.max_margin_used_pct}%")
    if (limits.min_equity is not None and record.equity is not None
            and record.equity < limits.min_equity):
        problems["equity.low"] = f"equity {record.equity:.2f} USD is below {limits.min_equity} USD"
    return problems


class AccountReader(Protocol):
    """What the health job reads (the exchange port satisfies it)."""

    def account(self) -> Account: ...

    def positions(self) -> list[Position]: ...


class HealthMonitor:
    """The periodic health job: read account and positions, log one line, alert problems.

    It reads through the port itself because a tick's snapshot need not carry the
    account; two reads every few minutes on the loop thread (never a second thread,
    unlike the old system) cost nothing. A failed read is `n/a`, never zero (C5).
    """

    def __init__(self, exchange: AccountReader, clock: Clock, *, alerter: Alerter | None = None,
                 limits: HealthLimits | None = None) -> None:
        self._exchange = exchange
        self._clock = clock
        self._alerter = alerter
        self._limits = limits or HealthLimits()
        self.started_at = clock.now()

    def record(self, *, reachable: bool = True, stale_prices: Iterable[str] = (),
               open_trades: int | None = None) -> HealthRecord:
        """Build, log and alert this moment's health record; return it."""
        failed: list[str] = []
        account = self._read("account", self._exchange.account, failed)
        positions = self._read("positions", self._exchange.positions, failed)
        snapshot = MarketSnapshot(at=self._clock.now(), account=account,
                                  positions=tuple(positions) if positions is not None else None,
                                  failures=tuple(failed))
        record = HealthRecord.from_snapshot(snapshot, reachable=reachable,
                                            stale_prices=stale_prices, open_trades=open_trades,
                                            started_at=self.started_at)
        log_health_record(record)
        if self._alerter is not None:
            apply_problems(self._alerter, health_problems(record, self._limits),
                           HEALTH_PROBLEM_KEYS)
        return record

    @staticmethod
    def _read(what: str, call: Callable[[], T], failed: list[str]) -> T | None:
        try:
            return call()
        except ExchangeError as error:
            failed.append(f"{what}: {type(error).__name__}")
            return None
