"""What a simulation means to a trader: per-strategy figures, the equity curve, the JSON report.

Owns the numbers a trader reads after `runner simulate` (issue 12 item 4, issue 9 item 5):
per strategy the trades, how many failed and why (grouped by kind), the win rate, net
PnL, fees, the worst trade and the maximum drawdown of realised equity; the equity curve
(realised, net of fees, stepped at each trade's close); and the JSON report, a stable
contract (issue 4 item 7): keys are added, never renamed. A trade's `cycle` is the cycle
in words ("daily cycle of 2026-03-03", "cycle 2 of 3 (opened ...)"); it was the engine's
index, which for a daily schedule is the day's ordinal (739955), a number no trader can
read; that index is kept as `cycle_index`.

Net PnL is `Trade.net_pnl()` everywhere (the one definition, lessons E6). A trade counts
for the win rate when it reached CLOSED (a failed open is not a bet that won or lost, its
cost still counts in net PnL and fees). Drawdown is the largest fall of a strategy's
realised equity from its running peak, the peak starting at zero.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from runner.domain.trades import Trade, TradeStage
from runner.service.tracking import LAUNCH_KEY
from runner.strategy.model import CycleSchedule, DailySchedule, Schedule

if TYPE_CHECKING:
    from runner.service.simulation import SimulationResult

ZERO: Final = Decimal(0)
EQUITY_COLUMNS: Final = ("at", "trade_id", "strategy", "trade_net_pnl_usd", "equity_usd",
                         "strategy_equity_usd")


@dataclass(frozen=True, slots=True)
class StrategyFigures:
    """One strategy's outcome over a simulation."""

    strategy: str
    trades: int
    closed: int
    failed: dict[str, int]  # failure kind -> count
    wins: int
    net_pnl: Decimal
    fees: Decimal
    worst_trade: str | None
    worst_pnl: Decimal | None
    max_drawdown: Decimal

    @property
    def failed_count(self) -> int:
        return sum(self.failed.values())

    @property
    def win_rate(self) -> float | None:
        """Share of closed trades that made money net of fees; None when none closed."""
        return self.wins / self.closed if self.closed else None

    def to_json(self) -> dict[str, Any]:
        return {"strategy": self.strategy, "trades": self.trades, "closed": self.closed,
                "failed": self.failed_count, "failed_by_reason": dict(self.failed),
                "wins": self.wins, "win_rate": self.win_rate,
                "net_pnl_usd": float(self.net_pnl), "fees_usd": float(self.fees),
                "worst_trade": self.worst_trade,
                "worst_trade_pnl_usd": None if self.worst_pnl is None else float(self.worst_pnl),
                "max_drawdown_usd": float(self.max_drawdown)}


@dataclass(frozen=True, slots=True)
class EquityPoint:
    at: datetime
    trade_id: str
    strategy: str
    trade_net_pnl: Decimal
    equity: Decimal
    strategy_equity: Decimal


def failure_kind(reason: str | None) -> str:
    """A failure reason without its particulars, to count failures of the same kind:
    the words before the first colon, parenthesised details dropped."""
    if not reason:
        return "no reason recorded"
    head = reason.split(":", 1)[0]
    return re.sub(r"\s*\([^)]*\)", "", head).strip() or reason


def max_drawdown(pnls: Iterable[Decimal]) -> Decimal:
    """The largest fall of the running sum from its running peak (the peak starts at 0)."""
    equity = peak = worst = ZERO
    for pnl in pnls:
        equity += pnl
        peak = max(peak, equity)
        worst = max(worst, peak - equity)
    return worst


def by_close(trades: Iterable[Trade]) -> list[Trade]:
    """Finished trades in the order their PnL was realised."""
    done = [t for t in trades if t.stage.is_terminal]
    return sorted(done, key=lambda t: (t.closed_at or t.created_at, t.trade_id))


def strategy_figures(trades: Sequence[Trade], strategies: Sequence[str]) -> list[StrategyFigures]:
    """The per-strategy table, in the order the strategies were given (others after)."""
    names = list(strategies) + sorted({t.strategy for t in trades} - set(strategies))
    return [_figures(name, [t for t in trades if t.strategy == name]) for name in names]


def _figures(name: str, trades: list[Trade]) -> StrategyFigures:
    closed = [t for t in trades if t.stage is TradeStage.CLOSED]
    failed = Counter(failure_kind(t.failure_reason) for t in trades
                     if t.stage is TradeStage.FAILED)
    finished = by_close(trades)
    worst = min(finished, key=lambda t: t.net_pnl(), default=None)
    return StrategyFigures(
        strategy=name, trades=len(trades), closed=len(closed), failed=dict(failed),
        wins=sum(1 for t in closed if t.net_pnl() > 0),
        net_pnl=sum((t.net_pnl() for t in trades), ZERO),
        fees=sum((t.fees() for t in trades), ZERO),
        worst_trade=None if worst is None else worst.trade_id,
        worst_pnl=None if worst is None else worst.net_pnl(),
        max_drawdown=max_drawdown(t.net_pnl() for t in finished))


def equity_curve(trades: Sequence[Trade]) -> list[EquityPoint]:
    """Realised equity, net of fees, after each trade's close (total and per strategy)."""
    total = ZERO
    per_strategy: dict[str, Decimal] = {}
    points = []
    for trade in by_close(trades):
        pnl = trade.net_pnl()
        total += pnl
        per_strategy[trade.strategy] = per_strategy.get(trade.strategy, ZERO) + pnl
        points.append(EquityPoint(trade.closed_at or trade.created_at, trade.trade_id,
                                  trade.strategy, pnl, total, per_strategy[trade.strategy]))
    return points


def equity_csv(result: SimulationResult) -> str:
    """The equity curve as CSV: a zero row at the start, one row per finished trade."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EQUITY_COLUMNS)
    writer.writerow((iso(result.started_at), "", "", "0", "0", "0"))
    for point in equity_curve(result.trades):
        writer.writerow((iso(point.at), point.trade_id, point.strategy,
                         str(point.trade_net_pnl), str(point.equity),
                         str(point.strategy_equity)))
    return out.getvalue()


# -- cycles in words ---------------------------------------------------------------------
def cycle_words(schedule: Schedule | None, launch: datetime, index: int | None) -> str | None:
    """The cycle a trade opened in, as a trader names it: "daily cycle of 2026-03-02",
    "cycle 2 of 5 (opened 2026-03-02 10:16Z)". The stored index is the engine's key (the
    day's ordinal for a daily schedule), not a number to show (runner.engine.windows)."""
    if index is None:
        return None
    if isinstance(schedule, DailySchedule):
        if index < 1:
            return f"cycle {index}"
        return f"daily cycle of {date.fromordinal(index).isoformat()}"
    if isinstance(schedule, CycleSchedule):
        windows = schedule.windows(launch)
        if not 0 <= index < len(windows):
            return f"cycle {index + 1} of {schedule.count}"
        opened = windows[index].open_start
        return f"cycle {index + 1} of {schedule.count} (opened {opened:%Y-%m-%d %H:%M}Z)"
    return f"cycle {index + 1}"


def trade_cycle_words(trade: Trade, schedules: dict[str, Schedule | None],
                      launch: datetime) -> str | None:
    own_launch = dict(trade.metadata).get(LAUNCH_KEY)
    counted_from = datetime.fromisoformat(own_launch) if own_launch else launch
    return cycle_words(schedules.get(trade.strategy), counted_from, trade.cycle)


# -- the JSON report -----------------------------------------------------------------------
@dataclass(slots=True)
class _Context:
    requotes: dict[tuple[str, int], int]
    schedules: dict[str, Schedule | None]
    launch: datetime


def report_json(result: SimulationResult) -> dict[str, Any]:
    """The simulation report (issue 4 contract): add keys freely, keep these."""
    context = _Context(result.requotes, dict(result.schedules), result.started_at)
    trades = [_trade_json(t, context) for t in result.trades]
    pnl = sum((t.net_pnl() for t in result.trades), ZERO)
    fees = sum((t.fees() for t in result.trades), ZERO)
    figures = strategy_figures(result.trades, result.strategies)
    return {
        "started_at": iso(result.started_at),
        "ended_at": iso(result.ended_at),
        "seed": result.seed,
        "strategies": list(result.strategies),
        "trades": trades,
        "per_strategy": [f.to_json() for f in figures],
        "totals": {"trades": len(trades), "pnl_usd": float(pnl), "fees_usd": float(fees),
                   "rest_calls": result.rest_calls, "ticks": result.ticks,
                   "closed": sum(1 for t in result.trades if t.stage is TradeStage.CLOSED),
                   "failed": sum(1 for t in result.trades if t.stage is TradeStage.FAILED),
                   "max_drawdown_usd": float(max_drawdown(
                       t.net_pnl() for t in by_close(result.trades))),
                   "alerts": len(result.alerts), "errors": len(result.errors)},
    }


def outcome_reason(trade: Trade) -> str | None:
    """Why the trade ended: its exit rule, or for a failed one "failed: <why>"."""
    if trade.stage is TradeStage.FAILED:
        return f"failed: {trade.failure_reason or 'no reason recorded'}"
    return trade.exit_reason


def _trade_json(trade: Trade, context: _Context) -> dict[str, Any]:
    return {
        "trade_id": trade.trade_id,
        "strategy": trade.strategy,
        "stage": trade.stage.value,
        "opened_at": iso(trade.opened_at),
        "closed_at": iso(trade.closed_at),
        "exit_reason": outcome_reason(trade),
        "failure_reason": trade.failure_reason,
        "pnl_usd": float(trade.net_pnl()),
        "net_pnl_usd": float(trade.net_pnl()),
        "gross_pnl_usd": float(trade.realized_pnl()),
        "fees_usd": float(trade.fees()),
        "cycle": trade_cycle_words(trade, context.schedules, context.launch),
        "cycle_index": trade.cycle,
        "legs": [{
            "symbol": leg.symbol,
            "side": leg.side.value,
            "qty": float(leg.qty),
            "entry_price": _float(leg.entry_price),
            "exit_price": _float(leg.exit_price),
            "delta_at_entry": leg.delta_at_entry,
            "execution": trade.execution,
            "requote_rounds": context.requotes.get((trade.trade_id, leg.index), 0),
        } for leg in trade.legs],
    }


def iso(when: datetime | None) -> str | None:
    return when.isoformat().replace("+00:00", "Z") if when is not None else None


def _float(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None
