"""A crash harness over the real service: kill it at a chosen call, restart it, audit the venue.

`KillingExchange` wraps the simulated venue and raises `Killed` (a BaseException, so no
`except Exception` in the service, the dispatcher or the executors can swallow it) at the
n-th matching call, before the request (the intent is committed, nothing was sent) or
after it (the venue did it, the answer is lost with the process). A `kill_on_event`
style kill point (`event:<kind>`) kills at a service event instead (a trade just saved,
a stage just persisted, before its commands are dispatched).

A kill is treated like SIGKILL: the runtime is dropped without any cleanup, its SQLite
connection is closed (uncommitted work vanishes, as it would with the process), and a new
runtime is assembled on the same store file and the same venue (the exchange survives).
The invariants checked after recovery and at the end live in `helpers_audit`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from runner.domain.clock import ManualClock
from runner.exchange.errors import InsufficientFunds
from runner.service.runtime import Runtime, assemble
from runner.service.settings import Environment, Settings
from runner.sim.venue import SimVenue
from runner.strategy import load_strategies
from runner.strategy.model import StrategySpec
from tests.crash.helpers_audit import audit

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

MICRO = """\
version: 1
name: micro
description: micro_strangle-like limit round trips
enabled: true
underlying: BTC
structure:
  type: strangle
  side: buy
  qty: 0.01
  expiry: {next: true}
  call: {delta: 0.15}
  put: {delta: -0.15}
entry:
  - min_available_margin_pct: 30
timing:
  check_interval: 5s
  cooldown: 10s
  max_concurrent_trades: 1
  max_trades_per_day: 2
  max_attempts_per_day: 4
execution:
  open: {mode: limit, fill_timeout: 30s, requote_rounds: 10, aggressive_buffer_pct: 2}
  close: {mode: limit, fill_timeout: 30s, requote_rounds: 10, aggressive_buffer_pct: 2}
exits:
  - max_hold: 10s
"""

RFQ = """\
version: 1
name: rfqe
description: rfq_endurance-like cycles by RFQ with a limit fallback
enabled: true
underlying: BTC
structure:
  type: strangle
  side: buy
  qty: 0.5
  expiry: {dte: 2}
  call: {delta: 0.05}
  put: {delta: -0.05}
entry:
  - min_available_margin_pct: 30
timing:
  check_interval: 5s
  max_concurrent_trades: 1
  max_trades_per_day: 3
  max_attempts_per_day: 6
schedule:
  type: cycles
  first_open_after: 1m
  open_window: 5m
  close_after: 10m
  gap: 5m
  count: 2
  trades_per_cycle: 1
execution:
  open: {mode: rfq, timeout: 1m, min_improvement_pct: 0,
         fallback: {mode: limit, fill_timeout: 30s, requote_rounds: 10, aggressive_buffer_pct: 2}}
  close: {mode: rfq, timeout: 1m, min_improvement_pct: 0,
          fallback: {mode: limit, fill_timeout: 30s, requote_rounds: 10, aggressive_buffer_pct: 2}}
exits:
  - end_of_cycle: true
  - max_hold: 20m
"""


def load_specs(directory: Path, *texts: str) -> list[StrategySpec]:
    """Write strategy texts as files and load them as the service would."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, text in enumerate(texts):
        path = directory / f"strategy_{number}.yaml"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    result = load_strategies(paths)
    assert result.specs, [d.render() for d in result.diagnostics]
    return [spec for spec in result.specs if spec.enabled]


# -- killing ---------------------------------------------------------------------------------
class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, nothing catches it."""


Match = Callable[[tuple[Any, ...], dict[str, Any]], bool]


@dataclass(slots=True)
class KillPoint:
    """Die at the `nth` call of `method` that `when` accepts; `after`: once it was done."""

    method: str
    nth: int = 1
    after: bool = False
    when: Match | None = None
    seen: int = 0
    fired: bool = False

    def hit(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        if self.fired or method != self.method:
            return False
        if self.when is not None and not self.when(args, kwargs):
            return False
        self.seen += 1
        if self.seen < self.nth:
            return False
        self.fired = True
        return True


class KillingExchange:
    """The venue, until the kill point is reached; then `Killed`."""

    def __init__(self, inner: Any, point: KillPoint, *, armed: bool = True) -> None:
        self._inner = inner
        self.point = point
        self.armed = armed

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            if not self.armed or not self.point.hit(name, args, kwargs):
                return target(*args, **kwargs)
            if self.point.after:
                target(*args, **kwargs)
            raise Killed(f"killed at {name} ({'after' if self.point.after else 'before'})")

        return call

    def listener(self, kind: str, data: dict[str, object]) -> None:
        """Service events: `event:<kind>` kill points fire here."""
        if self.armed and self.point.hit(f"event:{kind}", (), data):
            raise Killed(f"killed at event {kind} {data}")


def reduce_only(args: tuple[Any, ...], _kwargs: dict[str, Any]) -> bool:
    return bool(args and args[0].reduce_only)


def opening(args: tuple[Any, ...], _kwargs: dict[str, Any]) -> bool:
    return bool(args and not args[0].reduce_only)


def stage_is(*stages: str) -> Match:
    def match(_args: tuple[Any, ...], data: dict[str, Any]) -> bool:
        return data.get("stage") in stages
    return match


class RefusePuts:
    """The venue, refusing every opening put order for lack of margin (an unwind follows)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.refused = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def place_order(self, request: Any) -> int:
        if request.symbol.endswith("-P") and not request.reduce_only:
            self.refused += 1
            raise InsufficientFunds("insufficient available balance", code=10529,
                                    endpoint="place_order")
        return int(self._inner.place_order(request))


# -- the world and its runs ---------------------------------------------------------------------
@dataclass(slots=True)
class World:
    """One venue, one clock, one state directory: what survives a crash."""

    specs: list[StrategySpec]
    state_dir: Path
    clock: ManualClock = field(default_factory=lambda: ManualClock(START))
    seed: int = 0
    venue: SimVenue = field(init=False)
    runs: int = 0

    def __post_init__(self) -> None:
        self.venue = SimVenue(self.clock, seed=self.seed)

    @property
    def settings(self) -> Settings:
        return Settings(environment=Environment.PAPER, base_url=None, api_key=None,
                        api_secret=None, log_dir=self.state_dir.parent / "logs",
                        state_dir=self.state_dir)

    def start(self, exchange: Any | None = None,
              listener: Callable[[str, dict[str, object]], None] | None = None) -> Runtime:
        """Assemble a runtime as a fresh process would: launched now, reconciled."""
        self.runs += 1
        return assemble(self.settings, self.specs, clock=self.clock,
                        exchange=exchange if exchange is not None else self.venue,
                        launch=self.clock.now(), listener=listener)


def run_until(runtime: Runtime, until: datetime, tick: timedelta) -> bool:
    """Run the service until `until`; True when it was killed on the way."""
    try:
        runtime.service.run(tick.total_seconds(), until=until)
    except Killed:
        return True
    return False


def hard_kill(runtime: Runtime) -> None:
    """What SIGKILL leaves: the file as committed; the process's memory is gone."""
    runtime.store.connection.close()


@dataclass(slots=True)
class CrashRun:
    killed: bool
    killed_at: datetime | None
    recovery: list[str]
    runtime: Runtime


def crash_and_recover(world: World, point: KillPoint, *, tick: timedelta, kill_by: datetime,
                      until: datetime, restart_after: timedelta = timedelta(seconds=5),
                      wrap: Callable[[Any], Any] = lambda venue: venue) -> CrashRun:
    """Run until the kill point fires (or `kill_by`), restart, audit, run on to `until`."""
    killer = KillingExchange(wrap(world.venue), point, armed=False)
    first = world.start(killer, listener=killer.listener)
    killer.armed = True
    killed = run_until(first, kill_by, tick)
    killed_at = world.clock.now() if killed else None
    hard_kill(first)
    world.clock.advance(restart_after)
    second = world.start(wrap(world.venue))
    recovery = audit(world.venue, second.store, world.specs)
    run_until(second, until, tick)
    return CrashRun(killed, killed_at, recovery, second)
