"""Explicit operator decisions, and the guard that demands one (lessons A9, H6).

A position the store and the exchange disagree about is never resolved by deleting
memory. The operator chooses one of three things, each recorded as a transition with
its reason and in the audit log: adopt (track exchange positions as trades), mark a
trade closed externally (the position was closed by hand), or flatten (reduce-only
orders through the dispatcher, followed until filled or a bounded number of requotes).
`runner run --fresh` must refuse to start while anything is open.

Deliberate choices:
- Flatten never asks for more than both sides hold: the leg's open quantity and the
  exchange's position in the leg's direction, whichever is smaller; every order is
  reduce-only (lessons B1). A leg the exchange does not show is reported (it needs
  "closed externally"), never "closed" by an order that would open a new position.
- Every leg is priced from the book before any order of the round is placed; a leg
  without a price is retried next round while the others close (lessons B1, B6).
- A trade the operator takes over loses its saved executor state: the operator's
  orders replace the executor's, which are cancelled first (lessons B3, B4).
- Flatten leaves an unfinished trade in PENDING_CLOSE with its reason, for the next
  attempt; it never marks a trade closed while anything is still held.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from runner.dispatch import Dispatcher
from runner.domain.clock import Clock
from runner.domain.commands import (
    CancelOrder,
    CancelRfq,
    Command,
    Event,
    OrderKey,
    OrderPurpose,
    OrderRejected,
    PlaceOrder,
)
from runner.domain.instruments import parse_symbol
from runner.domain.ledger import (
    RfqLedgerState,
    credit_executions,
    executions_from_orders,
    executions_from_rfq,
)
from runner.domain.orders import OrderRequest, Side
from runner.domain.trades import ZERO, Trade, TradeLeg, TradeStage
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


# -- adopt -------------------------------------------------------------------------------------
def adopt_positions(store: Store, exchange: Exchange, now: datetime,
                    strategy: str = ADOPTED_STRATEGY,
                    symbols: set[str] | None = None) -> list[Trade]:
    """Track exchange positions no active trade holds as OPEN trades (operator choice).

    One trade per symbol, holding only the part of the position no active trade
    accounts for; expired instruments are left to settlement (lessons G1).
    """
    held = signed_holdings(store.load_active_trades())
    adopted = []
    for position in exchange.positions():
        if symbols is not None and position.symbol not in symbols:
            continue
        untracked = position.qty - held.get(position.symbol, ZERO)
        if untracked == 0 or untracked * position.qty < 0 or is_expired(position.symbol, now):
            continue
        side = Side.BUY if untracked > 0 else Side.SELL
        leg = TradeLeg(0, position.symbol, side, abs(untracked)).with_open_fill(
            abs(untracked), position.avg_price)
        trade = Trade.create(_free_trade_id(store, position.symbol, now), strategy, (leg,), now,
                             reason="adopted by the operator from the exchange")
        trade = trade.moved_to(TradeStage.OPEN, "adopted position", now)
        with store.transaction():
            store.save_trade(trade)
            store.audit("adopt", trade.trade_id, "adopted", symbol=position.symbol,
                        side=side.value, qty=abs(untracked), avg_price=position.avg_price,
                        strategy=strategy)
        adopted.append(trade)
    return adopted


def signed_holdings(trades: Iterable[Trade]) -> dict[str, Decimal]:
    """Signed quantity per symbol the trades still hold (long +, short -)."""
    held: dict[str, Decimal] = {}
    for trade in trades:
        for leg in trade.legs:
            held[leg.symbol] = held.get(leg.symbol, ZERO) + leg.open_qty * leg.side.sign
    return held


def is_expired(symbol: str, now: datetime) -> bool:
    try:
        return parse_symbol(symbol).expiry <= now
    except ValueError:
        return False


def _free_trade_id(store: Store, symbol: str, now: datetime) -> str:
    base = f"adopted-{symbol}-{now:%Y%m%dT%H%M%S}"
    candidate, number = base, 1
    while store.trade_stage(candidate) is not None:
        number += 1
        candidate = f"{base}-{number}"
    return candidate


# -- closed externally ---------------------------------------------------------------------------
def mark_closed_externally(store: Store, trade_id: str, now: datetime,
                           note: str = "closed outside the runner",
                           dispatcher: Dispatcher | None = None) -> Trade:
    """Record that a trade's positions were closed by hand; its exit price is unknown.

    With a dispatcher, the trade's working orders and RFQs are cancelled first, so
    nothing of a trade the runner forgot keeps working on the exchange.
    """
    trade = _active(store, trade_id)
    if dispatcher is not None:
        dispatcher.execute(_cancellations(store, trade_id, "operator: closed externally"))
        trade = credit_trade(store, trade_id)
    for leg in trade.legs:
        trade = trade.with_leg(replace(leg, closed_qty=leg.filled_qty))
    trade = move_to_closed(trade.with_exit_reason(CLOSED_EXTERNALLY),
                           f"operator: {note}", now)
    with store.transaction():
        store.save_trade_and_execution(trade, None)
        store.audit("close_externally", trade_id, "closed", note=note)
    return trade


# -- flatten -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FlattenLimits:
    """How hard flatten tries: placement rounds, and the wait for fills in each."""

    rounds: int = 5
    requote_after: timedelta = timedelta(seconds=10)
    poll_every: timedelta = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class FlattenOutcome:
    """The trade after flatten, and what happened, as lines a person can read."""

    trade: Trade
    lines: tuple[str, ...]

    @property
    def is_done(self) -> bool:
        return self.trade.stage.is_terminal


@dataclass(frozen=True, slots=True)
class _Round:
    commands: tuple[PlaceOrder, ...]
    notes: tuple[str, ...]
    retry: bool  # something may succeed later (no price yet, positions unreadable)


def flatten_trade(store: Store, dispatcher: Dispatcher, exchange: Exchange, trade_id: str,
                  now: datetime) -> tuple[list[Event], list[str]]:
    """One round: close every held leg with a reduce-only order at the touch.

    Returns the dispatcher's events and the legs that could not be placed, with why.
    `flatten` follows the orders and requotes; this places them once.
    """
    _take_over(store, dispatcher, trade_id, now)
    planned = _plan_round(store, exchange, credit_trade(store, trade_id))
    events = dispatcher.execute(planned.commands)
    _mark_closing(store, trade_id, events, now)
    return events, list(planned.notes)


def flatten(store: Store, dispatcher: Dispatcher, exchange: Exchange, clock: Clock,
            trade_id: str, limits: FlattenLimits | None = None) -> FlattenOutcome:
    """Close what the trade holds: place, follow, cancel and requote, at most `rounds` times."""
    limits = limits or FlattenLimits()
    _take_over(store, dispatcher, trade_id, clock.now())
    store.audit("flatten", trade_id, "started", rounds=limits.rounds)
    lines: list[str] = []
    for number in range(1, limits.rounds + 1):
        started = clock.now()
        trade = credit_trade(store, trade_id)
        if trade.is_flat:
            break
        planned = _plan_round(store, exchange, trade)
        lines += _place(store, dispatcher, clock, trade_id, planned, f"round {number}: ")
        if planned.commands:
            _follow(store, dispatcher, clock, trade_id, limits)
        elif not planned.retry:
            break  # nothing placeable now will become placeable by waiting
        if planned.retry and number < limits.rounds:
            clock.sleep((started + limits.requote_after - clock.now()).total_seconds())
    return _finish(store, trade_id, clock.now(), lines, limits.rounds)


def _place(store: Store, dispatcher: Dispatcher, clock: Clock, trade_id: str,
           planned: _Round, prefix: str) -> list[str]:
    """Send the round's orders; what happened, as lines."""
    events = dispatcher.execute(planned.commands)
    _mark_closing(store, trade_id, events, clock.now())
    return [*(f"{prefix}{note}" for note in planned.notes),
            *(f"{prefix}{_placed_line(command)}" for command in planned.commands),
            *(f"{prefix}order {e.client_order_id} not placed: {e.message}"
              for e in events if isinstance(e, OrderRejected))]


def credit_trade(store: Store, trade_id: str) -> Trade:
    """Credit one trade with what its orders and block trades executed (exchange truth)."""
    trade = store.load_trade(trade_id)
    if trade is None:
        raise KeyError(f"no trade {trade_id} in the store")
    executions = executions_from_orders(store.orders_for_trade(trade_id))
    for record in store.rfqs_for_trade(trade_id):
        if record.state is RfqLedgerState.FILLED:
            executions.extend(executions_from_rfq(record, trade))
    updated = credit_executions(trade, executions)
    if updated != trade:
        store.save_trade(updated)
    return updated


def _take_over(store: Store, dispatcher: Dispatcher, trade_id: str, now: datetime) -> None:
    """Cancel the trade's working orders and RFQs, drop its executor, move to PENDING_CLOSE."""
    _active(store, trade_id)
    dispatcher.execute(_cancellations(store, trade_id, "operator: flatten supersedes it"))
    trade = credit_trade(store, trade_id).with_exit_reason(FLATTEN_REASON)
    if trade.stage is TradeStage.PENDING_OPEN and not trade.is_flat:
        trade = trade.moved_to(TradeStage.OPEN, "operator: flatten found fills", now)
    if trade.stage in (TradeStage.OPEN, TradeStage.OPENING):
        trade = trade.moved_to(TradeStage.PENDING_CLOSE, "operator: flatten", now)
    store.save_trade_and_execution(trade, None)


def _cancellations(store: Store, trade_id: str, reason: str) -> list[Command]:
    commands: list[Command] = [CancelOrder(trade_id, row.client_order_id, row.order_id, reason)
                               for row in store.live_orders(trade_id=trade_id)]
    commands += [CancelRfq(trade_id, record.request_id, reason)
                 for record in store.active_rfqs(trade_id)
                 if record.state is RfqLedgerState.ACTIVE and record.request_id]
    return commands


def _plan_round(store: Store, exchange: Exchange, trade: Trade) -> _Round:
    """Price every held leg first (B1), then build reduce-only orders for the priced ones."""
    try:
        found = {p.symbol: p.qty for p in exchange.positions()}
    except ExchangeError as exc:
        return _Round((), (f"positions could not be read ({exc}); nothing placed",), True)
    commands: list[PlaceOrder] = []
    notes: list[str] = []
    retry = False
    for leg in trade.legs:
        if leg.open_qty <= 0:
            continue
        reducible = max(ZERO, found.get(leg.symbol, ZERO) * leg.side.sign)
        qty = min(leg.open_qty, reducible)
        if qty <= 0:
            notes.append(f"{leg.symbol}: the trade holds {leg.open_qty} but the exchange shows"
                         f" no {leg.side.value} position to reduce; if it was closed by hand,"
                         f" use close-externally")
            continue
        price = _touch(exchange, leg.symbol, leg.close_side)
        if price is None:
            notes.append(f"{leg.symbol}: no {leg.close_side.value} price in the book; retried")
            retry = True
            continue
        commands.append(_close_order(store, trade, leg, qty, price))
    return _Round(tuple(commands), tuple(notes), retry)


def _close_order(store: Store, trade: Trade, leg: TradeLeg, qty: Decimal,
                 price: Decimal) -> PlaceOrder:
    earlier = [o.key.attempt for o in store.orders_for_trade(trade.trade_id)
               if o.key.leg_index == leg.index and o.key.reason == FLATTEN_REASON]
    key = OrderKey(trade.trade_id, leg.index, OrderPurpose.CLOSE, FLATTEN_REASON,
                   max(earlier, default=-1) + 1, strategy=trade.strategy)
    return PlaceOrder(key, OrderRequest(symbol=leg.symbol, side=leg.close_side, qty=qty,
                                        price=price, client_order_id=key.client_order_id,
                                        reduce_only=True))


def _placed_line(command: PlaceOrder) -> str:
    request = command.request
    return (f"{request.side.value} {request.qty} {request.symbol} @ {request.price}"
            f" reduce-only (client id {request.client_order_id})")


def _mark_closing(store: Store, trade_id: str, events: list[Event], now: datetime) -> None:
    trade = store.load_trade(trade_id)
    working = any(not isinstance(e, OrderRejected) for e in events)
    if trade is not None and working and trade.stage is TradeStage.PENDING_CLOSE:
        store.save_trade(trade.moved_to(TradeStage.CLOSING, "operator: flatten orders placed",
                                        now))


def _follow(store: Store, dispatcher: Dispatcher, clock: Clock, trade_id: str,
            limits: FlattenLimits) -> None:
    """Watch the trade's orders until none is working or the wait is over; cancel the rest."""
    deadline = clock.now() + limits.requote_after
    dispatcher.poll_orders(clock.now())
    while store.live_orders(trade_id=trade_id) and clock.now() < deadline:
        clock.sleep(limits.poll_every.total_seconds())
        dispatcher.poll_orders(clock.now())
    dispatcher.execute(_cancellations(store, trade_id, "operator: flatten requotes"))


def _finish(store: Store, trade_id: str, now: datetime, lines: list[str],
            rounds: int) -> FlattenOutcome:
    trade = credit_trade(store, trade_id)
    if trade.is_flat:
        held_once = any(leg.filled_qty > 0 for leg in trade.legs)
        trade = (move_to_closed(trade, "operator: flattened", now) if held_once
                 else trade.moved_to(TradeStage.FAILED, "operator: flatten; nothing was held",
                                     now))
        outcome = "flat"
        lines.append(f"trade {trade_id} is flat: {trade.stage.value}")
    else:
        still = ", ".join(f"{leg.symbol} {leg.open_qty}" for leg in trade.legs if leg.open_qty)
        if trade.stage is TradeStage.CLOSING:
            trade = trade.moved_to(TradeStage.PENDING_CLOSE,
                                   f"operator: flatten stopped; still held: {still}", now)
        outcome = "incomplete"
        lines.append(f"trade {trade_id} is NOT flat after at most {rounds} round(s); still held:"
                     f" {still}; it stays {trade.stage.value} for another decision")
    with store.transaction():
        store.save_trade_and_execution(trade, None)
        store.audit("flatten", trade_id, outcome, stage=trade.stage.value)
    return FlattenOutcome(trade, tuple(lines))


def _touch(exchange: Exchange, symbol: str, side: Side) -> Decimal | None:
    try:
        book = exchange.orderbook(symbol, fresh=True)
    except ExchangeError:
        return None
    price = book.best_bid if side is Side.SELL else book.best_ask
    return price if price is not None and price > 0 else None


def _active(store: Store, trade_id: str) -> Trade:
    trade = store.load_trade(trade_id)
    if trade is None:
        raise KeyError(f"no trade {trade_id} in the store")
    if trade.stage.is_terminal:
        raise ValueError(f"trade {trade_id} is already {trade.stage.value}")
    return trade
