"""Human-readable summaries of what a simulation did: totals, a per-strategy table, every
trade with its net PnL and why it ended (a failed one: why it failed).

The figures come from `runner.service.simulation_report`; this module only lays them out.
"""

from __future__ import annotations

import sys
from collections import Counter
from decimal import Decimal
from typing import TextIO

from runner.domain.trades import Trade
from runner.service.simulation import SimulationResult
from runner.service.simulation_report import (
    StrategyFigures,
    by_close,
    max_drawdown,
    outcome_reason,
    strategy_figures,
    trade_cycle_words,
)

TABLE_HEADER = (f"  {'strategy':<28} {'trades':>6} {'failed':>6} {'win rate':>8} "
                f"{'net USD':>10} {'fees USD':>9} {'worst USD':>10} {'max DD USD':>10}")


def print_simulation_summary(result: SimulationResult, out: TextIO | None = None) -> None:
    """Print a short, readable account of a simulation (to stdout unless `out` is given;
    sys.stdout is read at call time, so a replaced stdout is honoured)."""
    out = out or sys.stdout
    for line in summary_lines(result):
        print(line, file=out)


def summary_lines(result: SimulationResult) -> list[str]:
    trades = result.trades
    stages = Counter(t.stage.value for t in trades)
    net = sum((t.net_pnl() for t in trades), Decimal(0))
    fees = sum((t.fees() for t in trades), Decimal(0))
    drawdown = max_drawdown(t.net_pnl() for t in by_close(trades))
    lines = [f"simulated {result.started_at:%Y-%m-%d %H:%M:%S}Z .. "
             f"{result.ended_at:%Y-%m-%d %H:%M:%S}Z (seed {result.seed}, {result.ticks} ticks)",
             f"strategies: {', '.join(result.strategies)}",
             f"trades: {len(trades)}"
             f" ({', '.join(f'{k} {v}' for k, v in sorted(stages.items()))})",
             f"pnl: {net:.2f} USD net, fees {fees:.2f} USD, max drawdown {drawdown:.2f} USD;"
             f" {result.rest_calls} simulated exchange calls",
             "per strategy:", TABLE_HEADER]
    for figures in strategy_figures(trades, result.strategies):
        lines += figure_lines(figures)
    if trades:
        lines.append("trades:")
        lines += [trade_line(t, result) for t in trades]
    lines += _listed("alerts", result.alerts) + _listed("errors", result.errors)
    return lines


def figure_lines(figures: StrategyFigures) -> list[str]:
    """One table row, then one line per kind of failure."""
    rate = "-" if figures.win_rate is None else f"{figures.win_rate:.0%}"
    worst = "-" if figures.worst_pnl is None else f"{figures.worst_pnl:.2f}"
    lines = [f"  {figures.strategy:<28} {figures.trades:>6} {figures.failed_count:>6}"
             f" {rate:>8} {figures.net_pnl:>10.2f} {figures.fees:>9.2f} {worst:>10}"
             f" {figures.max_drawdown:>10.2f}"]
    lines += [f"      failed {count}x: {kind}"
              for kind, count in sorted(figures.failed.items(), key=lambda kv: -kv[1])]
    return lines


def trade_line(trade: Trade, result: SimulationResult) -> str:
    legs = ", ".join(f"{leg.side.value} {leg.qty} {leg.symbol}" for leg in trade.legs)
    opened = f"{trade.opened_at:%m-%d %H:%M:%S}" if trade.opened_at else "-"
    closed = f"{trade.closed_at:%m-%d %H:%M:%S}" if trade.closed_at else "-"
    cycle = trade_cycle_words(trade, result.schedules, result.started_at)
    where = f" {cycle};" if cycle else ""
    return (f"  {trade.trade_id}: {trade.stage.value} {opened} -> {closed}"
            f" net {trade.net_pnl():.2f} USD [{outcome_reason(trade) or '-'}]{where} {legs}")


def _listed(title: str, items: list[str], limit: int = 20) -> list[str]:
    if not items:
        return []
    return [f"{title} ({len(items)}):", *(f"  {item}" for item in items[:limit])]
