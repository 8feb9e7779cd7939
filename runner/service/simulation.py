"""Accelerated simulation: the real service over the in-process simulator and a manual clock.

Nothing is special-cased for simulation: the same `Service`, store, dispatcher, engine
and executors run; only the clock (a `ManualClock` that `sleep` advances instantly) and
the exchange (a seeded `SimVenue`, optionally wrapped in `FaultyExchange`) differ. The
store lives in a throw-away directory unless one is given.

The report and the figures a trader reads are in `runner.service.simulation_report`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from runner.domain.clock import ManualClock
from runner.domain.commands import OrderPurpose
from runner.domain.trades import Trade
from runner.service.entry_screen import EntryScreen
from runner.service.exit_probe import ExitProbe
from runner.service.order_probe import OrderProbe
from runner.service.runtime import Runtime, assemble, build_exchange
from runner.service.settings import Environment, Settings
from runner.service.stepping import Stepping, default_stepping, next_step, on_tick_grid
from runner.service.tick_report import TickReport
from runner.sim.faults import FaultPlan
from runner.strategy.model import Schedule, StrategySpec

DEFAULT_TICK = timedelta(seconds=1)
# Told after every tick: the simulated time and the tick's report (a progress line).
Progress = Callable[[datetime, TickReport | None], None]


@dataclass(slots=True)
class SimulationResult:
    started_at: datetime
    ended_at: datetime
    seed: int
    strategies: tuple[str, ...]
    trades: list[Trade]
    rest_calls: int
    ticks: int
    alerts: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    reports: list[TickReport] = field(default_factory=list)
    skipped_to: datetime | None = None
    requotes: dict[tuple[str, int], int] = field(default_factory=dict)
    schedules: dict[str, Schedule | None] = field(default_factory=dict)  # for cycle words

    def finished(self) -> list[Trade]:
        return [t for t in self.trades if t.stage.is_terminal]


def simulate(specs: Sequence[StrategySpec], *, start: datetime, duration: timedelta,
             seed: int = 0, faults: FaultPlan | None = None, tick: timedelta = DEFAULT_TICK,
             state_dir: Path | None = None, keep_reports: bool = False,
             progress: Progress | None = None,
             stepping: Stepping | None = None) -> SimulationResult:
    """Run the service over `duration` of simulated time and collect what it traded.

    `stepping` (stepping.py) defaults to events: the clock jumps from one moment that
    matters to the next (`default_stepping` says when it cannot).
    """
    if stepping is None:
        stepping = default_stepping(specs, tick, faults)
    clock = ManualClock(start)
    with tempfile.TemporaryDirectory(prefix="runner-sim-") as scratch:
        directory = state_dir or Path(scratch)
        settings = Settings(environment=Environment.PAPER, base_url=None, api_key=None,
                            api_secret=None, log_dir=directory / "logs", state_dir=directory)
        exchange = build_exchange(settings, clock, seed=seed, faults=faults)
        runtime = assemble(settings, specs, clock=clock, exchange=exchange, launch=start)
        if state_dir is None:
            runtime.store.relax_durability()  # thrown away with the scratch directory
        runtime.service.checks_on_grid = stepping is Stepping.EVENTS
        result = SimulationResult(started_at=start, ended_at=start, seed=seed,
                                  strategies=tuple(s.name for s in runtime.service.specs),
                                  trades=[], rest_calls=0, ticks=0,
                                  schedules={s.name: s.schedule for s in runtime.service.specs})
        _run(runtime, start + duration, tick, result, keep_reports, stepping, progress,
             faulty=faults is not None)
        result.ended_at = clock.now()
        result.trades = runtime.store.load_trades()
        result.requotes = _requote_rounds(runtime, result.trades)
        result.rest_calls = runtime.service.reader.counter.calls + _dispatch_calls(runtime)
        result.ticks = runtime.service.ticks
        runtime.store.close()
    return result


def _run(runtime: Runtime, until: datetime, tick: timedelta, result: SimulationResult,
         keep_reports: bool, stepping: Stepping, progress: Progress | None = None, *,
         faulty: bool = False) -> None:
    """Tick like the live loop, stepping the clock as `stepping` says."""
    service, clock = runtime.service, runtime.clock
    assert isinstance(clock, ManualClock)  # noqa: S101 - simulate() builds it
    probe = ExitProbe(runtime.exchange, clock) if not service.held.copies() else None
    orders = (OrderProbe.of(runtime.exchange, lambda: service.learned_ticks)
              if not faulty else None)  # faults: every tick
    entries = _entry_screen(runtime) if not faulty else None
    while clock.now() < until:
        report = service.safe_tick()
        if report is not None:
            result.alerts.extend(report.alerts)
            result.errors.extend(f"{name}: {error}" for name, error in report.strategy_errors)
            if keep_reports:
                result.reports.append(report)
        if progress is not None:
            progress(clock.now(), report)
        now = clock.now()
        if stepping is Stepping.EVENTS:
            step = next_step(service, now, tick, probe=probe, orders=orders, entries=entries,
                             until=until)
            clock.set(min(step, until) if step is not None else until)
            continue
        wake = service.idle_until(now) if stepping is Stepping.IDLE_JUMPS else None
        if wake is None or wake - now <= tick:
            clock.advance(tick)
        else:
            clock.set(min(on_tick_grid(wake, now, tick), until))
        result.skipped_to = wake


def _entry_screen(runtime: Runtime) -> EntryScreen | None:
    """The entry screen, on a venue whose own class bounds what leg selection reads (a
    wrapper that forwards it, a fault injector, must be read through its faults)."""
    exchange = runtime.exchange
    bounds = getattr(type(exchange), "entry_deltas", None)
    return EntryScreen(exchange) if callable(bounds) else None  # type: ignore[arg-type]


def _requote_rounds(runtime: Runtime, trades: list[Trade]) -> dict[tuple[str, int], int]:
    """Per trade and leg: opening orders placed beyond the first (from the order ledger)."""
    rounds: dict[tuple[str, int], int] = {}
    for trade in trades:
        for order in runtime.store.orders_for_trade(trade.trade_id):
            if order.key.purpose is OrderPurpose.OPEN:
                key = (trade.trade_id, order.key.leg_index)
                rounds[key] = rounds.get(key, -1) + 1
    return rounds


def _dispatch_calls(runtime: Runtime) -> int:
    return int(getattr(runtime.dispatcher, "calls", 0))
