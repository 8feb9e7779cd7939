"""Order matching against the simulated book, with Coincall's acceptance rules.

Acceptance (coincall-api.md sections 6.2, 8, 10), checked in this order: a timeInForce other
than GTC or IOC 12012 (FOK too: Coincall's message names only GTC and IOC, and the
sim-server refuses it the same way, issue 8 finding 11); unknown or delisted symbol 10574;
clientOrderId reused 10577; qty below minimum 10558; qty off the 0.01 lot 10004 ("Invalid
params", lessons F5); price truncated DOWN to the tick (pitfall 13: a 9.50 buy rests at
9.00), 10532 when that leaves nothing; reduce-only that would open or flip a position 10536;
too many open orders 10535. Margin (10529) is checked by the venue, which knows the account.

Matching: an order that crosses fills at once against the book's levels (taker, at each
level's price), partially when depth is short; what is left rests (GTC) or is cancelled
(IOC). A post-only order that would cross is cancelled. Resting orders fill at their own
price (maker) when the book moves through them, checked at every catch-up. Liquidity taken
from a level stays taken for the rest of that minute (book sizes are redrawn once a minute).
A reduce-only order never fills beyond the position; if the position is gone its remainder
is cancelled. Orders of an expiring instrument end CANCELED_BY_EXERCISE at 08:00.

Memory: `forget_finished` drops orders that ended before a cutoff, with their fills and the
liquidity they took (the venue's retention window, retention.py); their client order ids
stay refused, kept compactly (`retired_clients`). Working orders are never forgotten.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from itertools import count
from typing import Final

from runner.domain.instruments import Instrument
from runner.domain.orders import Fill, OrderRequest, OrderStatus, Side, TimeInForce
from runner.domain.snapshot import BookLevel
from runner.exchange.errors import error_for_code
from runner.sim.accounting import Ledger, trade_fee
from runner.sim.config import SimConfig
from runner.sim.id_set import CompactIdSet
from runner.sim.quotes import OptionState
from runner.sim.records import (
    TRADE_TYPE_BLOCK,
    TRADE_TYPE_LIMIT,
    TRADE_TYPE_POST_ONLY,
    ZERO,
    SimFill,
    SimOrder,
)

ORDER_ID_BASE: Final = 1_983_000_000_000_000_000
TRADE_ID_BASE: Final = 1_984_000_000_000_000_000
_LIQUIDITY_WINDOW_S: Final = 60
ACCEPTED_TIME_IN_FORCE: Final = frozenset({TimeInForce.GTC, TimeInForce.IOC})

StateAt = Callable[[str], OptionState | None]


def reject(code: int, message: str) -> Exception:
    return error_for_code(code, message, "sim")


class Matcher:
    """Every order of the account and the fills they produced."""

    def __init__(self, config: SimConfig, ledger: Ledger) -> None:
        self._config = config
        self._ledger = ledger
        self._order_ids = count(ORDER_ID_BASE + 1)
        self._trade_ids = count(TRADE_ID_BASE + 1)
        self.orders: dict[int, SimOrder] = {}
        self.by_client: dict[int, int] = {}  # client order id -> order id, of held orders
        self.retired_clients = CompactIdSet()  # the client order ids of forgotten orders
        self.open: dict[int, SimOrder] = {}
        self.fills: list[SimFill] = []
        self.report_delay = timedelta(0)
        self._taken: dict[tuple[str, Side, int], Decimal] = {}

    # -- acceptance ----------------------------------------------------------------
    def normalise(self, request: OrderRequest, instrument: Instrument | None) -> Decimal:
        """Check a request against Coincall's rules; return its price truncated to tick."""
        if request.time_in_force not in ACCEPTED_TIME_IN_FORCE:
            raise reject(12012, "timeInForce only supports GTC, IOC")
        if instrument is None:
            raise reject(10574, f"symbol not tradable: {request.symbol}")
        if request.client_order_id in self.by_client \
                or request.client_order_id in self.retired_clients:
            raise reject(10577, "duplicate clientOrderId")
        if request.qty < instrument.min_qty:
            raise reject(10558, "less.than.min.amount")
        if request.qty % instrument.lot_size != 0:
            raise reject(10004, "Invalid params: qty off the lot step")
        tick = max(instrument.tick_size, self._config.truncate_price_to or instrument.tick_size)
        price = (request.price / tick).to_integral_value(rounding=ROUND_FLOOR) * tick
        if price <= 0:
            raise reject(10532, "price below minimum")
        if request.reduce_only:
            self._check_reduce_only(request)
        if len(self.open) >= self._config.max_open_orders:
            raise reject(10535, "too many open orders")
        return price

    def _check_reduce_only(self, request: OrderRequest) -> None:
        position = self._ledger.position_qty(request.symbol)
        reducible = -position * request.side.sign  # > 0 when the order reduces
        working = sum((o.remaining for o in self.open.values() if o.reduce_only
                       and o.symbol == request.symbol and o.side is request.side), ZERO)
        if reducible <= 0 or request.qty + working > reducible:
            raise reject(10536, "insufficient position to reduce")

    # -- lifecycle -----------------------------------------------------------------
    def submit(self, request: OrderRequest, instrument: Instrument, price: Decimal,
               state: OptionState, now: datetime) -> SimOrder:
        """Create an accepted order and match it against the book at once."""
        order = SimOrder(
            order_id=next(self._order_ids), client_order_id=request.client_order_id,
            instrument=instrument, side=request.side, qty=request.qty, price=price,
            reduce_only=request.reduce_only, time_in_force=request.time_in_force,
            trade_type=TRADE_TYPE_POST_ONLY if request.post_only else TRADE_TYPE_LIMIT,
            created_at=now, updated_at=now)
        self.orders[order.order_id] = order
        self.by_client[request.client_order_id] = order.order_id
        crossing = self._crossing_levels(order, state, now)
        if request.post_only and crossing:
            return self._finish(order, OrderStatus.CANCELED, now)
        self.open[order.order_id] = order
        for level_price, size in crossing:
            self._fill(order, min(size, order.remaining), level_price, state, now, taker=True)
            if order.status.is_final or order.remaining <= 0:
                break
        if request.time_in_force is not TimeInForce.GTC and order.status.is_live:
            self._finish(order, OrderStatus.CANCELED, now)
        return order

    def cancel(self, order: SimOrder, now: datetime,
               status: OrderStatus = OrderStatus.CANCELED) -> None:
        if order.status.is_live:
            self._finish(order, status, now)

    def match_resting(self, state_of: StateAt, now: datetime) -> None:
        """Fill resting orders that the book has moved through, at their own price."""
        for order in list(self.open.values()):
            state = state_of(order.symbol)
            if state is None:
                continue
            for _, size in self._crossing_levels(order, state, now):
                self._fill(order, min(size, order.remaining), order.price, state, now,
                           taker=False)
                if order.status.is_final:
                    break

    def meets_book(self, order: SimOrder, state: OptionState, now: datetime) -> bool:
        """Whether `match_resting` at `now` would do something to this resting order: a
        fill, or, for a reduce-only order with nothing left to reduce, its cancel. Pure
        (the forecast of the next fill asks it about future seconds, sim/forecast.py)."""
        return bool(self._crossing_levels(order, state, now))

    def cancel_expired(self, instruments: list[Instrument], now: datetime) -> list[SimOrder]:
        symbols = {i.symbol for i in instruments}
        expired = [o for o in self.open.values() if o.symbol in symbols]
        for order in expired:
            self._finish(order, OrderStatus.CANCELED_BY_EXERCISE, now)
        return expired

    def find(self, order_id: int | None, client_order_id: int | None) -> SimOrder | None:
        if order_id is None and client_order_id is not None:
            order_id = self.by_client.get(client_order_id)
        return self.orders.get(order_id) if order_id is not None else None

    # -- internals -----------------------------------------------------------------
    def _crossing_levels(self, order: SimOrder, state: OptionState,
                         now: datetime) -> list[tuple[Decimal, Decimal]]:
        """(price, size still available) of the opposite levels the order crosses."""
        levels: tuple[BookLevel, ...] = state.asks if order.side is Side.BUY else state.bids
        taken = self._taken.get(self._liquidity_key(order, now), ZERO)
        found = []
        for level in levels:
            crosses = level.price <= order.price if order.side is Side.BUY \
                else level.price >= order.price
            if not crosses:
                break
            used = min(level.size, taken)
            taken -= used
            if level.size - used > 0:
                found.append((level.price, level.size - used))
        return found

    def _liquidity_key(self, order: SimOrder, now: datetime) -> tuple[str, Side, int]:
        return (order.symbol, order.side, int(now.timestamp()) // _LIQUIDITY_WINDOW_S)

    def _fill(self, order: SimOrder, qty: Decimal, price: Decimal, state: OptionState,
              now: datetime, *, taker: bool) -> None:
        if order.reduce_only:
            reducible = -self._ledger.position_qty(order.symbol) * order.side.sign
            qty = min(qty, max(ZERO, reducible))
            if qty <= 0:
                self._finish(order, OrderStatus.CANCELED, now)
                return
        fee = trade_fee(self._config, index=state.index, qty=qty, price=price, is_taker=taker)
        realized = self._ledger.apply_fill(order.instrument, order.side, qty, price, fee)
        key = self._liquidity_key(order, now)
        self._taken[key] = self._taken.get(key, ZERO) + qty
        fill = Fill(trade_id=next(self._trade_ids), order_id=order.order_id,
                    symbol=order.symbol, side=order.side, qty=qty, price=price, fee=fee,
                    at=now, is_taker=taker, reduce_only=order.reduce_only)
        record = SimFill(fill, order.trade_type, state.iv, state.mark, state.index,
                         now + self.report_delay)
        order.fills.append(record)
        self.fills.append(record)
        order.filled_qty += qty
        order.filled_value += qty * price
        order.fee += fee
        order.realized_pnl += realized
        order.updated_at = now
        if order.remaining <= 0:
            self._finish(order, OrderStatus.FILLED, now)
        elif order.reduce_only and self._ledger.position_qty(order.symbol) == 0:
            self._finish(order, OrderStatus.CANCELED, now)  # nothing left to reduce
        else:
            order.status = OrderStatus.PARTIALLY_FILLED

    def _finish(self, order: SimOrder, status: OrderStatus, now: datetime) -> SimOrder:
        order.status = status
        order.updated_at = now
        self.open.pop(order.order_id, None)
        return order

    def block_leg(self, instrument: Instrument, state: OptionState, side: Side, qty: Decimal,
                  price: Decimal, now: datetime) -> SimOrder:
        """Book one leg of an accepted block trade: a filled BLOCK order with its one fill
        (taker fee), the account moved at once."""
        order = SimOrder(order_id=next(self._order_ids), client_order_id=None,
                         instrument=instrument, side=side, qty=qty, price=price,
                         reduce_only=False, time_in_force=TimeInForce.GTC,
                         trade_type=TRADE_TYPE_BLOCK, created_at=now, updated_at=now,
                         status=OrderStatus.FILLED)
        self.orders[order.order_id] = order
        fee = trade_fee(self._config, index=state.index, qty=qty, price=price, is_taker=True)
        realized = self._ledger.apply_fill(instrument, side, qty, price, fee)
        fill = Fill(trade_id=next(self._trade_ids), order_id=order.order_id,
                    symbol=instrument.symbol, side=side, qty=qty, price=price, fee=fee, at=now)
        record = SimFill(fill, TRADE_TYPE_BLOCK, state.iv, state.mark, state.index, now)
        order.fills.append(record)
        self.fills.append(record)
        order.filled_qty, order.filled_value, order.fee = qty, qty * price, fee
        order.realized_pnl = realized
        return order

    def forget_finished(self, cutoff: datetime, now: datetime) -> int:
        """Forget the orders that ended before `cutoff` (every fill reported by `now`), their
        fills and the liquidity taken before it; return how many records went. Their client
        order ids stay refused; working orders and their fills are all kept."""
        gone = [o for o in self.orders.values() if not o.status.is_live
                and o.updated_at < cutoff and all(f.reported_at <= now for f in o.fills)]
        first_minute = int(cutoff.timestamp()) // _LIQUIDITY_WINDOW_S
        self._taken = {key: qty for key, qty in self._taken.items() if key[2] >= first_minute}
        if not gone:
            return 0
        for order in gone:
            del self.orders[order.order_id]
        retired = [o.client_order_id for o in gone if o.client_order_id is not None
                   and self.by_client.get(o.client_order_id) == o.order_id]
        for client in retired:
            del self.by_client[client]
        self.retired_clients.update(retired)
        ids = {o.order_id for o in gone}
        held = len(self.fills)
        self.fills = [f for f in self.fills if f.fill.order_id not in ids]
        return len(gone) + held - len(self.fills)

    # -- persistence (additive: a paper venue saved and restored across restarts) ----
    def next_ids(self) -> tuple[int, int]:
        """The order id and trade id the next order and fill will get (none is used up)."""
        order_id, trade_id = next(self._order_ids), next(self._trade_ids)
        self.resume_ids(order_id, trade_id)
        return order_id, trade_id

    def resume_ids(self, order_id: int, trade_id: int) -> None:
        """Continue numbering orders from `order_id` and fills from `trade_id`."""
        self._order_ids, self._trade_ids = count(order_id), count(trade_id)

    def liquidity_taken(self, since: datetime) -> dict[tuple[str, Side, int], Decimal]:
        """Book liquidity our fills took, per (symbol, side, minute), from `since`'s minute."""
        first = int(since.timestamp()) // _LIQUIDITY_WINDOW_S
        return {key: qty for key, qty in self._taken.items() if key[2] >= first}

    def restore_liquidity(self, taken: dict[tuple[str, Side, int], Decimal]) -> None:
        self._taken = dict(taken)
