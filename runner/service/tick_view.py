"""The running service's live numbers, as of one tick: what `runner status` and the narrator show.

`runner status` reads the store, which holds no marks, greeks or account figures, and it
never calls the exchange. So the service builds this view after every tick from what the
tick already read (`Service.last_snapshot`) and what the store holds, and writes it into
the heartbeat it rewrites every tick anyway (`Heartbeat.view`); status reads it back and
says how old it is. The narrator (`runner.service.narrator`) talks from the same view.

What it holds:
- per strategy: enabled, paused, trades and attempts today against their daily limits,
  and the entry window (open now, or the next one);
- per active trade: each leg's held quantity, entry price and mark, the leg's greeks
  (chain greek per 1-coin contract x signed open quantity, as `runner.engine.exposure`
  decides on them), the structure's greeks summed over the legs, unrealized PnL on the
  mark and realized PnL and fees so far, in USD;
- the account: equity, available, initial and maintenance margin (USD), margin used (%).

Invariants: a number that the tick could not read is None, never zero (lessons C5, E1):
a leg without a mark leaves its trade's unrealized PnL unknown, a leg without chain greeks
leaves the structure's greeks unknown. Money is in USD (option prices are quoted in USD per
coin); greeks carry their units in the JSON keys' documentation below and in the text.
`build_view` is pure; `gather` is the thin edge that reads the service and the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from runner.domain.snapshot import Account, MarketSnapshot
from runner.domain.trades import Trade, TradeLeg
from runner.strategy.model import CycleSchedule, StrategySpec

GREEKS: Final = ("delta", "gamma", "theta", "vega")
# Units of the summed greeks (coincall-api.md section 4: per 1-coin contract):
# delta in coins of the underlying, gamma in coins per 1 USD move, theta in USD per day,
# vega in USD per 1 vol point.
GREEK_UNITS: Final = {"delta": "coin", "gamma": "coin per USD", "theta": "USD per day",
                      "vega": "USD per vol point"}
_ZERO: Final = Decimal(0)


@dataclass(frozen=True, slots=True)
class LegView:
    symbol: str
    side: str
    open_qty: Decimal
    entry_price: Decimal | None
    mark: Decimal | None  # USD per coin
    greeks: dict[str, float] | None  # for the held quantity, signed by the side

    @property
    def unrealized_usd(self) -> Decimal | None:
        if self.open_qty == 0:
            return _ZERO
        if self.mark is None or self.entry_price is None:
            return None
        sign = 1 if self.side == "buy" else -1
        return sign * (self.mark - self.entry_price) * self.open_qty


@dataclass(frozen=True, slots=True)
class TradeView:
    trade_id: str
    strategy: str
    stage: str
    legs: tuple[LegView, ...]
    realized_usd: Decimal  # gross, on the quantity closed so far
    fees_usd: Decimal

    @property
    def unrealized_usd(self) -> Decimal | None:
        values = [leg.unrealized_usd for leg in self.legs]
        return None if any(v is None for v in values) else sum(values, _ZERO)  # type: ignore[misc]

    @property
    def greeks(self) -> dict[str, float] | None:
        if any(leg.greeks is None for leg in self.legs):
            return None
        return {name: sum(leg.greeks[name] for leg in self.legs if leg.greeks)
                for name in GREEKS}


@dataclass(frozen=True, slots=True)
class StrategyView:
    name: str
    enabled: bool
    paused: bool
    trades_today: int
    attempts_today: int
    max_trades_per_day: int | None
    max_attempts_per_day: int | None
    window: dict[str, Any] | None  # next_window's answer

    @property
    def limit_reached(self) -> bool:
        limit = self.max_trades_per_day
        return limit is not None and self.trades_today >= limit


@dataclass(frozen=True, slots=True)
class TickView:
    at: datetime
    account: Account | None
    strategies: tuple[StrategyView, ...]
    trades: tuple[TradeView, ...]

    @property
    def unrealized_usd(self) -> Decimal | None:
        values = [trade.unrealized_usd for trade in self.trades]
        return None if any(v is None for v in values) else sum(values, _ZERO)  # type: ignore[misc]

    @property
    def trades_today(self) -> int:
        return sum(s.trades_today for s in self.strategies)

    @property
    def paused(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.strategies if s.paused)

    def to_json(self) -> dict[str, Any]:
        """The JSON the heartbeat carries (`view`); Decimals as text, None as null."""
        return {
            "at": self.at.isoformat(),
            "account": _account_json(self.account),
            "strategies": [_strategy_json(s) for s in self.strategies],
            "trades": [_trade_json(t) for t in self.trades],
            "totals": {"open_trades": len(self.trades), "trades_today": self.trades_today,
                       "unrealized_pnl_usd": _text(self.unrealized_usd),
                       "realized_pnl_open_trades_usd": _text(
                           sum((t.realized_usd for t in self.trades), _ZERO)),
                       "greeks": _total_greeks(self.trades)},
        }


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _account_json(account: Account | None) -> dict[str, Any] | None:
    if account is None:
        return None
    used = account.margin_utilisation_pct
    return {"equity_usd": str(account.equity),
            "available_margin_usd": str(account.available_margin),
            "initial_margin_usd": str(account.initial_margin),
            "maintenance_margin_usd": str(account.maintenance_margin),
            "margin_used_pct": None if used is None else f"{used:.2f}"}


def _strategy_json(view: StrategyView) -> dict[str, Any]:
    return {"name": view.name, "enabled": view.enabled, "paused": view.paused,
            "trades_today": view.trades_today, "max_trades_per_day": view.max_trades_per_day,
            "attempts_today": view.attempts_today,
            "max_attempts_per_day": view.max_attempts_per_day,
            "limit_reached": view.limit_reached, "window": view.window}


def _trade_json(view: TradeView) -> dict[str, Any]:
    return {"trade_id": view.trade_id, "strategy": view.strategy, "stage": view.stage,
            "unrealized_pnl_usd": _text(view.unrealized_usd),
            "realized_pnl_usd": str(view.realized_usd), "fees_usd": str(view.fees_usd),
            "greeks": view.greeks,
            "legs": [{"symbol": leg.symbol, "side": leg.side, "open_qty": str(leg.open_qty),
                      "entry_price_usd": _text(leg.entry_price), "mark_usd": _text(leg.mark),
                      "unrealized_pnl_usd": _text(leg.unrealized_usd), "greeks": leg.greeks}
                     for leg in view.legs]}


def _total_greeks(trades: Sequence[TradeView]) -> dict[str, float] | None:
    each = [trade.greeks for trade in trades]
    if any(g is None for g in each):
        return None
    return {name: sum(g[name] for g in each if g) for name in GREEKS}


def leg_view(leg: TradeLeg, snapshot: MarketSnapshot | None) -> LegView:
    """One leg as the tick saw it: the chain's mark (else the position's), chain greeks."""
    quote = snapshot.quote(leg.symbol) if snapshot is not None else None
    mark = quote.mark if quote is not None else None
    if mark is None and snapshot is not None and snapshot.positions:
        mark = next((p.mark_price for p in snapshot.positions if p.symbol == leg.symbol), None)
    greeks = None
    if leg.open_qty == 0:
        greeks = dict.fromkeys(GREEKS, 0.0)
    elif quote is not None and quote.greeks is not None:
        signed = float(leg.open_qty) * leg.side.sign
        greeks = {name: float(getattr(quote.greeks, name)) * signed for name in GREEKS}
    return LegView(leg.symbol, leg.side.value, leg.open_qty, leg.entry_price, mark, greeks)


def trade_view(trade: Trade, snapshot: MarketSnapshot | None) -> TradeView:
    return TradeView(trade.trade_id, trade.strategy, trade.stage.value,
                     tuple(leg_view(leg, snapshot) for leg in trade.legs),
                     trade.realized_pnl(), trade.fees())


def build_view(now: datetime, specs: Iterable[StrategySpec], trades: Iterable[Trade],
               snapshot: MarketSnapshot | None, *, paused: Iterable[str],
               counts: Mapping[str, tuple[int, int]],
               windows: Mapping[str, dict[str, Any]]) -> TickView:
    """The view of one tick. `counts` is strategy -> (trades, attempts) today; `paused`
    names the paused strategies ("*": all); `windows` is strategy -> its entry window."""
    held = set(paused)
    strategies = tuple(
        StrategyView(spec.name, spec.enabled, "*" in held or spec.name in held,
                     *counts.get(spec.name, (0, 0)), spec.timing.max_trades_per_day,
                     spec.timing.max_attempts_per_day, windows.get(spec.name))
        for spec in specs)
    return TickView(now, snapshot.account if snapshot is not None else None, strategies,
                    tuple(trade_view(trade, snapshot) for trade in trades))


def gather(service: Any, store: Any, now: datetime) -> TickView:
    """Read what the view needs from the service (its last snapshot, its strategies) and
    the store (active trades, today's counts, pauses), after a tick."""
    from runner.store.control_store import paused

    connection = store.connection
    windows = {spec.name: next_window(spec, service.launch_for(spec, now), now)
               for spec in service.all_specs}
    counts = {spec.name: (store.trades_created_on(spec.name, now.date()),
                          store.attempts_on(spec.name, now.date()))
              for spec in service.all_specs}
    return build_view(now, service.all_specs, store.load_active_trades(),
                      service.last_snapshot, paused=paused(connection), counts=counts,
                      windows=windows)


def next_window(spec: StrategySpec, launch: datetime | None, now: datetime) -> dict[str, Any]:
    """The entry window open now, or the next one, of a strategy counted from `launch`
    (also `runner status` with --strategies files)."""
    from runner.engine.windows import next_cycle, open_cycle

    base: dict[str, Any] = {"strategy": spec.name, "enabled": spec.enabled}
    schedule = spec.schedule
    if schedule is None:
        return {**base, "schedule": None, "next": "no schedule: entry is checked every "
                f"{spec.timing.check_interval} when the gates and conditions pass"}
    kind = "cycles" if isinstance(schedule, CycleSchedule) else "daily"
    if kind == "cycles" and launch is None:
        return {**base, "schedule": kind, "next": "no run recorded: cycles start at launch"}
    origin = launch or now
    window = open_cycle(schedule, origin, now) or next_cycle(schedule, origin, now)
    if window is None:
        return {**base, "schedule": kind, "launch": origin.isoformat(),
                "next": "every cycle of this run has passed"}
    return {**base, "schedule": kind, "launch": origin.isoformat() if launch else None,
            "cycle": window.index, "open_start": window.open_start.isoformat(),
            "open_end": window.open_end.isoformat(), "close_at": window.close_at.isoformat(),
            "open_now": window.is_open(now)}
