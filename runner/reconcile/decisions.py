"""Explicit operator decisions, and the guard that demands one (lessons A9, H6).

A position the store and the exchange disagree about is never resolved by deleting
memory. The operator chooses one of three things, each recorded as a transition with
its reason: adopt (track exchange positions as trades), mark a trade closed externally
(the position was closed by hand), or flatten (reduce-only orders through the
dispatcher). `runner run --fresh` must refuse to start while anything is open.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from runner.dispatch import Dispatcher
from runner.domain.commands import Event, OrderKey, OrderPurpose, PlaceOrder
from runner.domain.orders import OrderRequest, Side
from runner.domain.trades import Trade, TradeLeg, TradeStage
from runner.exchange.errors import ExchangeError
from runner.exchange.port import Exchange
from runner.reconcile.startup import move_to_closed
from runner.store import Store

ADOPTED_STRATEGY = "adopted"
CLOSED_EXTERNALLY = "closed_externally"
FLATTEN_REASON = "manual_flatten"


def fresh_start_blocked(store: Store, exchange: Exchange) -> str | None:
    """Why a fresh start must not happen now, or None when store and exchange are flat."""
    active = store.load_active_trades()
    if active:
        names = ", ".join(t.trade_id for t in active[:5])
        return (f"the store holds {len(active)} active trade(s) ({names}): decide with"
                " --adopt or --flatten; a fresh start never forgets open trades (A9)")
    try:
        positions = exchange.positions()
    except ExchangeError as exc:
        return f"cannot confirm the exchange is flat ({exc}); refusing a fresh start"
    if positions:
        held = ", ".join(f"{p.symbol} {p.qty}" for p in positions[:5])
        return (f"the exchange shows {len(positions)} open position(s) ({held}): decide with"
                " --adopt or --flatten before a fresh start (A9)")
    return None


def adopt_positions(store: Store, exchange: Exchange, now: datetime,
                    strategy: str = ADOPTED_STRATEGY,
                    symbols: set[str] | None = None) -> list[Trade]:
    """Track exchange positions no active trade holds as OPEN trades (operator choice)."""
    held: dict[str, Decimal] = {}
    for trade in store.load_active_trades():
        for leg in trade.legs:
            held[leg.symbol] = held.get(leg.symbol, Decimal(0)) + leg.open_qty * leg.side.sign
    adopted = []
    for position in exchange.positions():
        if symbols is not None and position.symbol not in symbols:
            continue
        untracked = position.qty - held.get(position.symbol, Decimal(0))
        if untracked == 0 or untracked * position.qty < 0:
            continue
        side = Side.BUY if untracked > 0 else Side.SELL
        leg = TradeLeg(0, position.symbol, side, abs(untracked)).with_open_fill(
            abs(untracked), position.avg_price)
        trade_id = f"adopted-{position.symbol}-{now.strftime('%Y%m%dT%H%M%S')}"
        trade = Trade.create(trade_id, strategy, (leg,), now,
                             reason="adopted by the operator from the exchange")
        trade = trade.moved_to(TradeStage.OPEN, "adopted position", now)
        store.save_trade(trade)
        adopted.append(trade)
    return adopted


def mark_closed_externally(store: Store, trade_id: str, now: datetime,
                           note: str = "closed outside the runner") -> Trade:
    """Record that a trade's positions were closed by hand; its exit price is unknown."""
    trade = _active(store, trade_id)
    for leg in trade.legs:
        trade = trade.with_leg(TradeLeg(leg.index, leg.symbol, leg.side, leg.qty,
                                        leg.filled_qty, leg.entry_price, leg.filled_qty,
                                        leg.exit_price, leg.fees, leg.delta_at_entry))
    trade = move_to_closed(trade.with_exit_reason(CLOSED_EXTERNALLY),
                           f"operator: {note}", now)
    store.save_trade(trade)
    return trade


def flatten_trade(store: Store, dispatcher: Dispatcher, exchange: Exchange, trade_id: str,
                  now: datetime) -> tuple[list[Event], list[str]]:
    """Close every held leg with a reduce-only order at the touch; report unpriced legs."""
    trade = _active(store, trade_id).with_exit_reason(FLATTEN_REASON)
    if trade.stage in (TradeStage.OPEN, TradeStage.OPENING):
        trade = trade.moved_to(TradeStage.PENDING_CLOSE, "operator: flatten", now)
    store.save_trade(trade)
    commands, unpriced = [], []
    for leg in trade.legs:
        if leg.open_qty <= 0:
            continue
        price = _touch(exchange, leg.symbol, leg.close_side)
        if price is None:
            unpriced.append(f"{leg.symbol}: no {leg.close_side.value} price in the book")
            continue
        attempt = len([o for o in store.orders_for_trade(trade_id)
                       if o.key.leg_index == leg.index and o.key.reason == FLATTEN_REASON])
        key = OrderKey(trade_id, leg.index, OrderPurpose.CLOSE, FLATTEN_REASON, attempt)
        commands.append(PlaceOrder(key, OrderRequest(
            symbol=leg.symbol, side=leg.close_side, qty=leg.open_qty, price=price,
            client_order_id=key.client_order_id, reduce_only=True)))
    return dispatcher.execute(commands), unpriced


def _touch(exchange: Exchange, symbol: str, side: Side) -> Decimal | None:
    try:
        book = exchange.orderbook(symbol, fresh=True)
    except ExchangeError:
        return None
    return book.best_bid if side is Side.SELL else book.best_ask


def _active(store: Store, trade_id: str) -> Trade:
    trade = store.load_trade(trade_id)
    if trade is None:
        raise KeyError(f"no trade {trade_id} in the store")
    if trade.stage.is_terminal:
        raise ValueError(f"trade {trade_id} is already {trade.stage.value}")
    return trade
