"""Builders and a paper desk for executor scenarios (no exchange, only domain types).

`Desk` plays the dispatcher plus the exchange for the executors: it answers commands
with the events the real dispatcher produces (OrderAccepted, OrderUpdated with the
cumulative fill, RfqCreated, QuoteAccepted ...), lets a test fill orders, and keeps the
net position per symbol so a scenario can assert that no leg ever went net short.
Placement is idempotent per client order id, like the dispatcher (lessons B2).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from runner.domain.commands import (
    AcceptQuote,
    CancelOrder,
    CancelRfq,
    Command,
    CreateRfq,
    Event,
    OrderAccepted,
    OrderUpdated,
    PlaceOrder,
    QuoteAccepted,
    QuotesReceived,
    RfqCreated,
)
from runner.domain.instruments import Instrument, parse_symbol
from runner.domain.orders import Order, OrderStatus, Side
from runner.domain.rfq import (
    BlockTrade,
    BlockTradeLeg,
    QuoteLeg,
    QuoteState,
    Rfq,
    RfqLeg,
    RfqQuote,
    RfqState,
)
from runner.domain.snapshot import Book, BookLevel, Chain, MarketSnapshot, OptionQuote
from runner.domain.trades import Trade, TradeLeg, TradeStage
from runner.execution import Step, advance

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CALL = "BTCUSD-6MAR26-95000-C"
PUT = "BTCUSD-6MAR26-80000-P"
D = Decimal


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def instrument(symbol: str, tick: str = "1") -> Instrument:
    parts = parse_symbol(symbol)
    return Instrument(symbol, parts.underlying, parts.kind, parts.strike, parts.expiry,
                      tick_size=D(tick))


def option_quote(symbol: str, bid: str | None, ask: str | None, mark: str | None = None,
                 tick: str = "1", when: datetime = T0) -> OptionQuote:
    return OptionQuote(instrument(symbol, tick), None if bid is None else D(bid), D(1),
                       None if ask is None else D(ask), D(1),
                       None if mark is None else D(mark), 0.5, None, D(90000), when)


def market(when: datetime = T0, **legs: tuple[str | None, str | None, str | None]
           ) -> MarketSnapshot:
    """A snapshot from `CALL=(bid, ask, mark)` style keywords (names: CALL, PUT)."""
    names = {"CALL": CALL, "PUT": PUT}
    quotes = [option_quote(names.get(name, name), *values, when=when)
              for name, values in legs.items()]
    return MarketSnapshot(at=when, chains={parse_symbol(CALL).underlying:
                                           Chain.of(parse_symbol(CALL).underlying, quotes)})


def with_book(snapshot: MarketSnapshot, symbol: str, bid: str | None,
              ask: str | None) -> MarketSnapshot:
    book = Book(symbol, _level(bid), _level(ask), snapshot.at)
    return replace(snapshot, books={**snapshot.books, symbol: book})


def _level(price: str | None) -> tuple[BookLevel, ...]:
    return () if price is None else (BookLevel(D(price), D(1)),)


def new_trade(*legs: tuple[str, Side, str], trade_id: str = "t1") -> Trade:
    made = tuple(TradeLeg(i, symbol, side, D(qty)) for i, (symbol, side, qty) in enumerate(legs))
    return Trade.create(trade_id, "demo", made, T0)


def opened(trade: Trade, *prices: str, when: datetime = T0) -> Trade:
    """The trade OPEN with every leg filled at the given prices."""
    trade = trade.moved_to(TradeStage.OPENING, "orders placed", when)
    for leg, price in zip(trade.legs, prices, strict=True):
        trade = trade.with_leg(leg.with_open_fill(leg.qty, D(price)))
    return trade.moved_to(TradeStage.OPEN, "all legs filled", when)


def pending_close(trade: Trade, reason: str, when: datetime = T0) -> Trade:
    return trade.with_exit_reason(reason).moved_to(TradeStage.PENDING_CLOSE, reason, when)


def places(step: Step) -> list[PlaceOrder]:
    return [c for c in step.commands if isinstance(c, PlaceOrder)]


def cancels(step: Step) -> list[CancelOrder]:
    return [c for c in step.commands if isinstance(c, CancelOrder)]


@dataclass
class Desk:
    """A fake dispatcher + exchange: commands in, events out; fills on demand."""

    orders: dict[int, Order] = field(default_factory=dict)
    placed: list[PlaceOrder] = field(default_factory=list)
    position: dict[str, Decimal] = field(default_factory=dict)
    worst_position: dict[str, Decimal] = field(default_factory=dict)
    quotes: tuple[RfqQuote, ...] = ()
    rfqs: list[CreateRfq] = field(default_factory=list)
    accepts: list[AcceptQuote] = field(default_factory=list)
    cancelled_rfqs: list[CancelRfq] = field(default_factory=list)
    block_fee: Decimal = Decimal("0.5")

    def execute(self, commands: Iterable[Command]) -> list[Event]:
        events: list[Event] = []
        for command in commands:
            events.extend(self._one(command))
        return events

    def _one(self, command: Command) -> list[Event]:
        if isinstance(command, PlaceOrder):
            return self._place(command)
        if isinstance(command, CancelOrder):
            return self.cancel_on_exchange(command.client_order_id)
        if isinstance(command, CreateRfq):
            self.rfqs.append(command)
            rfq = Rfq(f"r{len(self.rfqs)}", RfqState.ACTIVE, command.legs, T0, T0)
            return [RfqCreated(command.trade_id, rfq)]
        if isinstance(command, AcceptQuote):
            self.accepts.append(command)
            return [self._block(command)]
        self.cancelled_rfqs.append(command)
        return []

    def _place(self, command: PlaceOrder) -> list[Event]:
        cid = command.request.client_order_id
        if cid in self.orders:  # the key is known: the same order, never a second one
            return [OrderAccepted(cid, self.orders[cid].order_id)]
        request = command.request
        self.placed.append(command)
        self.orders[cid] = Order(order_id=len(self.orders) + 1, client_order_id=cid,
                                 symbol=request.symbol, side=request.side, qty=request.qty,
                                 filled_qty=D(0), price=request.price, avg_price=D(0),
                                 status=OrderStatus.NEW, reduce_only=request.reduce_only)
        return [OrderAccepted(cid, self.orders[cid].order_id)]

    def cancel_on_exchange(self, cid: int) -> list[Event]:
        order = self.orders[cid]
        if order.status.is_final:
            return []
        self.orders[cid] = replace(order, status=OrderStatus.CANCELED)
        return [OrderUpdated(self.orders[cid])]

    def fill(self, cid: int, qty: str, price: str | None = None, fee: str = "0") -> Event:
        """Fill `qty` more of an order (at its limit unless `price`); the cumulative event."""
        order = self.orders[cid]
        more, px = D(qty), D(price) if price is not None else order.price
        total = order.filled_qty + more
        average = (order.avg_price * order.filled_qty + px * more) / total
        status = OrderStatus.FILLED if total >= order.qty else OrderStatus.PARTIALLY_FILLED
        if order.reduce_only:
            held = self.position.get(order.symbol, D(0))
            assert abs(held) >= more, "a reduce-only order would flip the position"
        self.orders[cid] = replace(order, filled_qty=total, avg_price=average, status=status,
                                   fee=order.fee + D(fee))
        self._book_position(order.symbol, order.side, more)
        return OrderUpdated(self.orders[cid])

    def _book_position(self, symbol: str, side: Side, qty: Decimal) -> None:
        now = self.position.get(symbol, D(0)) + side.sign * qty
        self.position[symbol] = now
        self.worst_position[symbol] = min(self.worst_position.get(symbol, D(0)), now)

    def live(self) -> list[Order]:
        return [o for o in self.orders.values() if not o.status.is_final]

    def live_on(self, symbol: str) -> list[Order]:
        return [o for o in self.live() if o.symbol == symbol]

    def quote_event(self, request_id: str) -> QuotesReceived:
        return QuotesReceived(request_id, self.quotes)

    def _block(self, command: AcceptQuote) -> Event:
        quote = next(q for q in self.quotes if q.quote_id == command.quote_id)
        legs = tuple(BlockTradeLeg(leg.symbol, leg.taker_side, leg.price, leg.qty,
                                   fee=self.block_fee) for leg in quote.legs)
        for leg in legs:
            self._book_position(leg.symbol, leg.side, leg.qty)
        return QuoteAccepted(command.request_id,
                             BlockTrade(f"b{len(self.accepts)}", command.request_id,
                                        command.quote_id, legs))


def make_quote(quote_id: str, request_id: str, *legs: tuple[str, Side, str, str],
               expires: datetime | None = None,
               state: QuoteState = QuoteState.OPEN) -> RfqQuote:
    """A maker quote from (symbol, maker side, price, qty) legs."""
    return RfqQuote(quote_id, request_id, state,
                    tuple(QuoteLeg(s, side, D(p), D(q)) for s, side, p, q in legs),
                    expires or T0 + timedelta(minutes=5))


def drive(step: Step, desk: Desk, snapshots: Sequence[tuple[datetime, MarketSnapshot]],
          fills: dict[datetime, Sequence[tuple[int, str]]] | None = None) -> list[Step]:
    """Feed a step's commands to the desk and advance through the given ticks."""
    steps = [step]
    events = desk.execute(step.commands)
    for when, snap in snapshots:
        if steps[-1].state is None:
            break
        for cid, qty in (fills or {}).get(when, ()):
            events.append(desk.fill(cid, qty))
        last = steps[-1]
        assert last.state is not None
        nxt = advance(last.state, last.trade, snap, events, when)
        steps.append(nxt)
        events = desk.execute(nxt.commands)
    return steps


def rfq_legs(step: Step) -> tuple[RfqLeg, ...]:
    return next(c for c in step.commands if isinstance(c, CreateRfq)).legs
