"""StrategyState: what the engine needs to know about a strategy's past.

The engine holds no memory between ticks. The service builds this value each tick from
the store (trades and counters survive restarts, lessons A1), so the gates count what
really happened, not what one process remembers. `state_from_trades` derives every field
from the strategy's trades, the way the store's daily counters are defined, for services
and tests that have the trades at hand.

Definitions (strategy-semantics.md "A strategy", lessons I3):
- trades_today: trades created today (UTC) that reached OPEN or beyond;
- attempts_today: every trade created today (UTC), failed ones included;
- trades_per_cycle: trades created in each schedule cycle (failed ones included: a cycle
  allows `trades_per_cycle` attempts);
- notional_open_usd: strike x qty summed over the legs of the active trades.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType

from runner.domain.instruments import parse_symbol
from runner.domain.trades import Trade

_ZERO = Decimal(0)


def _empty_cycles() -> Mapping[int, int]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class StrategyState:
    launch: datetime  # process/simulation launch time (CycleSchedule base)
    active_trades: tuple[Trade, ...]  # this strategy's non-terminal trades
    trades_today: int  # created today (UTC) that reached OPEN or beyond
    attempts_today: int  # every trade created today (UTC), failed included
    last_created_at: datetime | None  # for the cooldown
    last_entry_check: datetime | None  # for the check interval
    trades_per_cycle: Mapping[int, int] = field(default_factory=_empty_cycles)
    notional_open_usd: Decimal = _ZERO  # sum of strike x qty over active trades (risk)

    @classmethod
    def fresh(cls, launch: datetime) -> StrategyState:
        """A strategy that has never traded."""
        return cls(launch=launch, active_trades=(), trades_today=0, attempts_today=0,
                   last_created_at=None, last_entry_check=None)


def trade_notional_usd(trade: Trade) -> Decimal:
    """Strike x qty summed over the trade's legs (USD; the NOTIONAL_DEFINITION of the spec)."""
    return sum((parse_symbol(leg.symbol).strike * leg.qty for leg in trade.legs), _ZERO)


def state_from_trades(launch: datetime, trades: Iterable[Trade], now: datetime,
                      last_entry_check: datetime | None = None) -> StrategyState:
    """Derive a strategy's state from every trade it ever created (any stage)."""
    every = tuple(trades)
    today = now.date()
    created_today = [t for t in every if t.created_at.date() == today]
    active = tuple(t for t in every if t.stage.is_active)
    cycles: dict[int, int] = {}
    for trade in every:
        if trade.cycle is not None:
            cycles[trade.cycle] = cycles.get(trade.cycle, 0) + 1
    return StrategyState(
        launch=launch,
        active_trades=active,
        trades_today=sum(1 for t in created_today if t.opened_at is not None),
        attempts_today=len(created_today),
        last_created_at=max((t.created_at for t in every), default=None),
        last_entry_check=last_entry_check,
        trades_per_cycle=MappingProxyType(cycles),
        notional_open_usd=sum((trade_notional_usd(t) for t in active), _ZERO),
    )
