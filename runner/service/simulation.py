"""Accelerated simulation: the real service over the in-process simulator and a manual clock.

Nothing is special-cased for simulation: the same `Service`, store, dispatcher, engine
and executors run; only the clock (a `ManualClock` that `sleep` advances instantly) and
the exchange (a seeded `SimVenue`, optionally wrapped in `FaultyExchange`) differ. The
store lives in a throw-away directory unless one is given.

The report is a stable JSON contract other tools rely on (issue 4, item 7): keys may be
added, never renamed. Times are ISO 8601 UTC.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from runner.domain.clock import ManualClock
from runner.domain.commands import OrderPurpose
from runner.domain.trades import Trade, TradeStage
from runner.service.loop import TickReport
from runner.service.runtime import Runtime, assemble, build_exchange
from runner.service.settings import Environment, Settings
from runner.sim.faults import FaultPlan
from runner.strategy.model import StrategySpec

DEFAULT_TICK = timedelta(seconds=1)


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

    def finished(self) -> list[Trade]:
        return [t for t in self.trades if t.stage.is_terminal]


def simulate(specs: Sequence[StrategySpec], *, start: datetime, duration: timedelta,
             seed: int = 0, faults: FaultPlan | None = None, tick: timedelta = DEFAULT_TICK,
             state_dir: Path | None = None, keep_reports: bool = False) -> SimulationResult:
    """Run the service over `duration` of simulated time and collect what it traded."""
    clock = ManualClock(start)
    with tempfile.TemporaryDirectory(prefix="runner-sim-") as scratch:
        directory = state_dir or Path(scratch)
        settings = Settings(environment=Environment.PAPER, base_url=None, api_key=None,
                            api_secret=None, log_dir=directory / "logs", state_dir=directory)
        exchange = build_exchange(settings, clock, seed=seed, faults=faults)
        runtime = assemble(settings, specs, clock=clock, exchange=exchange, launch=start)
        result = SimulationResult(started_at=start, ended_at=start, seed=seed,
                                  strategies=tuple(s.name for s in runtime.service.specs),
                                  trades=[], rest_calls=0, ticks=0)
        _run(runtime, start + duration, tick, result, keep_reports)
        result.ended_at = clock.now()
        result.trades = runtime.store.load_trades()
        result.requotes = _requote_rounds(runtime, result.trades)
        result.rest_calls = runtime.service.reader.counter.calls + _dispatch_calls(runtime)
        result.ticks = runtime.service.ticks
        runtime.store.close()
    return result


def _run(runtime: Runtime, until: datetime, tick: timedelta, result: SimulationResult,
         keep_reports: bool) -> None:
    """Tick like the live loop; with nothing in flight, jump to the next possible entry."""
    service, clock = runtime.service, runtime.clock
    assert isinstance(clock, ManualClock)  # noqa: S101 - simulate() builds it
    while clock.now() < until:
        report = service.safe_tick()
        if report is not None:
            result.alerts.extend(report.alerts)
            result.errors.extend(f"{name}: {error}" for name, error in report.strategy_errors)
            if keep_reports:
                result.reports.append(report)
        now = clock.now()
        wake = service.idle_until(now)
        if wake is None or wake - now <= tick:
            clock.advance(tick)
        else:
            clock.set(min(_on_tick_grid(wake, now, tick), until))
        result.skipped_to = wake


def _on_tick_grid(wake: datetime, now: datetime, tick: timedelta) -> datetime:
    """The first tick at or after `wake`, keeping the tick grid (whole ticks from now)."""
    steps = -((now - wake) // tick)  # ceiling division of timedeltas
    return now + steps * tick


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


# -- the JSON report -----------------------------------------------------------------------
def report_json(result: SimulationResult) -> dict[str, Any]:
    """The simulation report (issue 4 contract): add keys freely, keep these."""
    trades = [_trade_json(t, result.requotes) for t in result.trades]
    pnl = sum((_net_pnl(t) for t in result.trades), Decimal(0))
    fees = sum((t.fees() for t in result.trades), Decimal(0))
    return {
        "started_at": _iso(result.started_at),
        "ended_at": _iso(result.ended_at),
        "seed": result.seed,
        "strategies": list(result.strategies),
        "trades": trades,
        "totals": {"trades": len(trades), "pnl_usd": float(pnl), "fees_usd": float(fees),
                   "rest_calls": result.rest_calls, "ticks": result.ticks,
                   "closed": sum(1 for t in result.trades if t.stage is TradeStage.CLOSED),
                   "failed": sum(1 for t in result.trades if t.stage is TradeStage.FAILED),
                   "alerts": len(result.alerts), "errors": len(result.errors)},
    }


def _trade_json(trade: Trade, requotes: dict[tuple[str, int], int]) -> dict[str, Any]:
    return {
        "trade_id": trade.trade_id,
        "strategy": trade.strategy,
        "stage": trade.stage.value,
        "opened_at": _iso(trade.opened_at),
        "closed_at": _iso(trade.closed_at),
        "exit_reason": trade.exit_reason,
        "pnl_usd": float(_net_pnl(trade)),
        "gross_pnl_usd": float(trade.realized_pnl()),
        "fees_usd": float(trade.fees()),
        "cycle": trade.cycle,
        "legs": [{
            "symbol": leg.symbol,
            "side": leg.side.value,
            "qty": float(leg.qty),
            "entry_price": _float(leg.entry_price),
            "exit_price": _float(leg.exit_price),
            "delta_at_entry": leg.delta_at_entry,
            "execution": trade.execution,
            "requote_rounds": requotes.get((trade.trade_id, leg.index), 0),
        } for leg in trade.legs],
    }


def _net_pnl(trade: Trade) -> Decimal:
    return trade.realized_pnl() - trade.fees()


def _iso(when: datetime | None) -> str | None:
    return when.isoformat().replace("+00:00", "Z") if when is not None else None


def _float(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None
