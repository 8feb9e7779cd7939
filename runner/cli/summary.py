"""Human-readable summaries of what a run or a simulation did."""

from __future__ import annotations

import sys
from collections import Counter
from typing import TextIO

from runner.service.simulation import SimulationResult


def print_simulation_summary(result: SimulationResult, out: TextIO | None = None) -> None:
    """Print a short, readable account of a simulation (to stdout unless `out` is given;
    sys.stdout is read at call time, so a replaced stdout is honoured)."""
    out = out or sys.stdout
    trades = result.trades
    stages = Counter(t.stage.value for t in trades)
    reasons = Counter(t.exit_reason or "-" for t in trades if t.stage.is_terminal)
    net = sum((t.realized_pnl() - t.fees() for t in trades), start=0)
    fees = sum((t.fees() for t in trades), start=0)
    print(f"simulated {result.started_at:%Y-%m-%d %H:%M:%S}Z .. "
          f"{result.ended_at:%Y-%m-%d %H:%M:%S}Z (seed {result.seed}, {result.ticks} ticks)",
          file=out)
    print(f"strategies: {', '.join(result.strategies)}", file=out)
    print(f"trades: {len(trades)} ({', '.join(f'{k} {v}' for k, v in sorted(stages.items()))})",
          file=out)
    if reasons:
        print(f"exit reasons: {', '.join(f'{k} {v}' for k, v in sorted(reasons.items()))}",
              file=out)
    print(f"pnl: {net:.2f} USD net, fees {fees:.2f} USD; REST calls {result.rest_calls}",
          file=out)
    for trade in trades:
        legs = ", ".join(f"{leg.side.value} {leg.qty} {leg.symbol}" for leg in trade.legs)
        opened = f"{trade.opened_at:%m-%d %H:%M:%S}" if trade.opened_at else "-"
        closed = f"{trade.closed_at:%m-%d %H:%M:%S}" if trade.closed_at else "-"
        print(f"  {trade.trade_id}: {trade.stage.value} {opened} -> {closed} "
              f"[{trade.exit_reason or '-'}] {legs}", file=out)
    if result.alerts:
        print(f"alerts ({len(result.alerts)}):", file=out)
        for alert in result.alerts[:20]:
            print(f"  {alert}", file=out)
    if result.errors:
        print(f"errors ({len(result.errors)}):", file=out)
        for error in result.errors[:20]:
            print(f"  {error}", file=out)
