"""SimVenue: the simulated Coincall exchange in process, implementing the Exchange port.

Invariant: every public call first brings the simulation up to `clock.now()` (catch-up),
in time order: resting orders meet the market on a fixed epoch-aligned grid
(`resting_check_s`, 60 s) and at the last second before each 08:00 UTC, which then settles
the expiry and rolls the listing; makers publish the quotes due; finally resting orders
meet the market at now. Nothing happens between calls, so the state after a call depends
only on the seed, the config, the calls made and the clock readings at them (and, at the
grid's resolution, not on how often the venue was looked at).

Thread safety: one re-entrant lock around every public method (the HTTP server calls in
from request threads). Raw records for Coincall-only endpoints (order, trade and exercise
history, delivery prices, public config, option detail) are offered by `SimRecords`.
`export_state`/`from_state` (in `VenueState`, venue_state.py) let a paper venue survive
a restart; `persistence.py` keeps it in the state directory. Finished history older
than `history_retention` (7 days) is forgotten as the venue catches up (`HistoryRetention`,
retention.py), so its memory does not grow with simulated time.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from runner.domain.clock import Clock, ManualClock
from runner.domain.instruments import Instrument, Underlying
from runner.domain.orders import Fill, Order, OrderRequest, Side
from runner.domain.rfq import BlockTrade, BlockTradeLeg, Rfq, RfqLeg, RfqQuote
from runner.domain.snapshot import Account, Book, Greeks, OptionQuote, Position
from runner.sim.access import KeyAccess, rfq_list_refused
from runner.sim.accounting import (
    Ledger,
    MarginFigures,
    short_margin_per_coin,
    trade_fee,
)
from runner.sim.config import SimConfig
from runner.sim.controls import VenueControls
from runner.sim.delivery_history import backfilled_deliveries
from runner.sim.entry_bounds import EntryBoundReads
from runner.sim.exit_figures import ExitFigureReads
from runner.sim.forecast import VenueForecast
from runner.sim.listing import expiry_boundaries
from runner.sim.makers import RfqDesk
from runner.sim.market import Market, epoch_second
from runner.sim.matching import Matcher, reject
from runner.sim.quotes import OptionState
from runner.sim.records import (
    ZERO,
    ExerciseRecord,
    SimOrder,
    order_view,
)
from runner.sim.retention import DEFAULT_HISTORY_RETENTION, HistoryRetention
from runner.sim.settlement import DeliveryPrice, daily_deliveries, settle_expiry
from runner.sim.venue_state import Json, VenueState, saved_origin
from runner.sim.views import SimRecords

_ONE_SECOND = timedelta(seconds=1)


class SimVenue(VenueControls, SimRecords, VenueState, ExitFigureReads, EntryBoundReads,
               HistoryRetention):
    """A deterministic (given a seed) Coincall-like venue driven by an injected clock."""

    def __init__(self, clock: Clock, seed: int = 0, config: SimConfig | None = None, *,
                 key_access: KeyAccess = KeyAccess.TAKER,
                 history_retention: timedelta | None = DEFAULT_HISTORY_RETENTION) -> None:
        self._clock = clock
        self.key_access = key_access
        self.history_retention = history_retention  # finished history kept (retention.py)
        self._config = config or SimConfig()
        self._seed = seed
        self._lock = threading.RLock()
        self._now = clock.now()
        self.started_at = self._now
        self._market = Market(self._config, seed, self._now)
        self._ledger = Ledger(self._config)
        self._matcher = Matcher(self._config, self._ledger)
        self._desk = RfqDesk(self._config, seed)
        self._emptied: set[tuple[str, Side]] = set()
        self._exercises: list[ExerciseRecord] = []
        self._deliveries: list[DeliveryPrice] = backfilled_deliveries(self._config, seed,
                                                                      self._now)

    @property
    def config(self) -> SimConfig:
        return self._config

    @classmethod
    def from_state(cls, clock: Clock, state: Json, config: SimConfig | None = None
                   ) -> SimVenue:
        """Restore a venue saved by `export_state` (see venue_state.py); it then follows `clock`.

        Raises `VenueStateError` for a state it cannot read, `VenueStateTooNew` for one
        written by a newer runner.
        """
        started_at, seed = saved_origin(state)
        venue = cls(ManualClock(started_at), seed=seed, config=config)
        venue._clock = clock
        venue._restore(state)
        return venue

    def order_forecast(self) -> VenueForecast:
        """A read-only look-ahead at what later reads would do to our orders and RFQs
        (forecast.py); valid until the venue is next read."""
        return VenueForecast(self._market, self._matcher, self._desk, self._now)

    # -- catch-up ------------------------------------------------------------------
    def _catch_up(self) -> datetime:
        now = self._clock.now()
        if now <= self._now:
            return self._now
        for boundary in expiry_boundaries(self._now, now):
            before = boundary - _ONE_SECOND
            if before > self._now:
                self._advance_to(before)
            self._settle(boundary)
            self._now = boundary
        self._advance_to(now)
        self._now = now
        self._forget_history(now)
        return now

    def _advance_to(self, when: datetime) -> None:
        """Move from `self._now` to `when`: makers quote, resting orders meet the market.

        Across a gap, resting orders are also matched on a fixed grid of
        `resting_check_s` seconds (epoch-aligned), so an order the market passed through
        in between fills even if nobody looked then.
        """
        step = self._config.resting_check_s
        second = (epoch_second(self._now) // step + 1) * step
        while self._matcher.open and second < epoch_second(when):
            moment = datetime.fromtimestamp(second, tz=UTC)
            self._desk.advance(moment, self._state_at_time)
            self._match_now(moment)
            second += step
        self._desk.advance(when, self._state_at_time)
        self._match_now(when)

    def _match_now(self, now: datetime) -> None:
        second = epoch_second(now)
        self._matcher.match_resting(lambda symbol: self._market.state(symbol, second), now)

    def _settle(self, boundary: datetime) -> None:
        second = epoch_second(boundary)
        delivery = {u: self._market.index(u, second) for u in self._config.underlyings}
        delisted = self._market.roll(boundary)
        self._deliveries.extend(daily_deliveries(boundary, delivery))
        self._exercises.extend(settle_expiry(
            moment=boundary, delisted=delisted, delivery=delivery, ledger=self._ledger,
            matcher=self._matcher, config=self._config))

    def _state_at_time(self, symbol: str, when: datetime) -> OptionState | None:
        return self._market.state(symbol, epoch_second(when))

    def _state(self, symbol: str) -> OptionState | None:
        return self._market.state(symbol, epoch_second(self._now))

    def _listed(self, symbol: str) -> Instrument | None:
        instrument = self._market.instrument(symbol)
        if instrument is None or not self._market.is_listed(instrument):
            return None
        return instrument

    # -- market data ---------------------------------------------------------------
    def server_time(self) -> datetime:
        return self._clock.now()

    def instruments(self, underlying: Underlying) -> list[Instrument]:
        with self._lock:
            self._catch_up()
            return self._market.instruments(underlying)

    def option_chain(self, underlying: Underlying, expiry: datetime | None = None, *,
                     fresh: bool = False) -> list[OptionQuote]:
        """Quotes of one expiry (or all); `fresh` is moot: quotes are per second. Each
        row is priced when first read (lazy_chain.py)."""
        del fresh
        with self._lock:
            now = self._catch_up()
            second = epoch_second(now)
            expiries = [expiry] if expiry is not None else self._market.expiries(underlying)
            return [quote for e in expiries
                    for quote in self._market.expiry_quotes(underlying, e, second)]

    def option_quotes(self, symbols: Iterable[str]) -> list[OptionQuote]:
        """The chain rows of these listed options now (`QuoteSource`); others left out."""
        with self._lock:
            self._catch_up()
            return [state.quote for symbol in symbols
                    if (state := self._state(symbol)) is not None]

    def orderbook(self, symbol: str, *, fresh: bool = True) -> Book:
        del fresh
        with self._lock:
            self._catch_up()
            state = self._state(symbol)
            if state is None:
                raise reject(10574, f"symbol not tradable: {symbol}")
            return state.book()

    def index_price(self, underlying: Underlying) -> Decimal:
        with self._lock:
            now = self._catch_up()
            return self._market.index(underlying, epoch_second(now))

    def delivery_price(self, underlying: Underlying, expiry: datetime) -> Decimal | None:
        """The index at exactly the expiry's 08:00 (recorded when it settled); None before."""
        with self._lock:
            self._catch_up()
            return next((d.price for d in self._deliveries
                         if d.underlying is underlying and d.expiry == expiry), None)

    # -- orders --------------------------------------------------------------------
    def place_order(self, request: OrderRequest) -> int:
        with self._lock:
            now = self._catch_up()
            instrument = self._listed(request.symbol)
            price = self._matcher.normalise(request, instrument)
            assert instrument is not None  # noqa: S101 (normalise refused None)
            state = self._state(request.symbol)
            assert state is not None  # noqa: S101 (listed instruments have a state)
            required = self._order_margin(instrument, request.side, request.qty, price, state)
            if required > self._available_margin():
                raise reject(10529, "insufficient available balance")
            return self._matcher.submit(request, instrument, price, state, now).order_id

    def cancel_order(self, *, order_id: int | None = None,
                     client_order_id: int | None = None) -> None:
        with self._lock:
            now = self._catch_up()
            order = self._find(order_id, client_order_id)
            if order is None:
                raise reject(10584, "order does not exist")
            self._matcher.cancel(order, now)

    def get_order(self, *, order_id: int | None = None,
                  client_order_id: int | None = None) -> Order | None:
        with self._lock:
            now = self._catch_up()
            order = self._find(order_id, client_order_id)
            return order_view(order, now) if order is not None else None

    def open_orders(self, underlying: Underlying | None = None) -> list[Order]:
        with self._lock:
            now = self._catch_up()
            candidates = (self._matcher.open.values() if not self._matcher.report_delay
                          else self._matcher.orders.values())
            views = [order_view(o, now) for o in candidates
                     if underlying is None or o.instrument.underlying is underlying]
            return sorted((v for v in views if v.status.is_live), key=lambda v: v.order_id)

    def fills(self, since: datetime) -> list[Fill]:
        with self._lock:
            now = self._catch_up()
            return [f.fill for f in self._matcher.fills
                    if f.fill.at >= since and f.reported_at <= now]

    def _find(self, order_id: int | None, client_order_id: int | None) -> SimOrder | None:
        if order_id is None and client_order_id is None:
            raise reject(10575, "orderId or clientOrderId required")
        return self._matcher.find(order_id, client_order_id)

    # -- account -------------------------------------------------------------------
    def positions(self) -> list[Position]:
        with self._lock:
            self._catch_up()
            found = []
            for symbol, held in sorted(self._ledger.positions.items()):
                state = self._state(symbol)
                mark = state.mark if state else held.avg_price
                greeks = state.greeks if state else None
                scale = float(held.qty)
                found.append(Position(
                    symbol=symbol, qty=held.qty, avg_price=held.avg_price, mark_price=mark,
                    unrealized_pnl=(mark - held.avg_price) * held.qty,
                    greeks=Greeks(greeks.delta * scale, greeks.gamma * scale,
                                  greeks.vega * scale, greeks.theta * scale)
                    if greeks else None))
            return found

    def account(self) -> Account:
        with self._lock:
            self._catch_up()
            figures = self._figures()
            reserved = self._reserved_margin()
            return Account(
                equity=figures.equity,
                available_margin=figures.equity - figures.initial - reserved,
                initial_margin=figures.initial, maintenance_margin=figures.maintenance,
                unrealized_pnl=figures.unrealized)

    def _figures(self) -> MarginFigures:
        marks: dict[str, Decimal] = {}
        indices: dict[str, Decimal] = {}
        for symbol, held in self._ledger.positions.items():
            state = self._state(symbol)
            marks[symbol] = state.mark if state else held.avg_price
            indices[symbol] = state.index if state else self._market.index(
                held.instrument.underlying, epoch_second(self._now))
        return self._ledger.margin(marks, indices)

    def _available_margin(self) -> Decimal:
        figures = self._figures()
        return figures.equity - figures.initial - self._reserved_margin()

    def _reserved_margin(self) -> Decimal:
        total = ZERO
        for order in self._matcher.open.values():
            state = self._state(order.symbol)
            if state is not None:
                total += self._order_margin(order.instrument, order.side, order.remaining,
                                            order.price, state)
        return total

    def _order_margin(self, instrument: Instrument, side: Side, qty: Decimal, price: Decimal,
                      state: OptionState) -> Decimal:
        """Margin an order needs: premium and fee for opening buys, short margin for sells."""
        position = self._ledger.position_qty(instrument.symbol)
        closing = min(qty, max(ZERO, -position * side.sign))
        opening = qty - closing
        if opening <= 0:
            return ZERO
        if side is Side.BUY:
            fee = trade_fee(self._config, index=state.index, qty=opening, price=price,
                            is_taker=True)
            return opening * price + fee
        return opening * short_margin_per_coin(self._config, instrument, state.index,
                                               state.mark)

    # -- RFQ -----------------------------------------------------------------------
    def create_rfq(self, legs: Sequence[RfqLeg]) -> Rfq:
        with self._lock:
            now = self._catch_up()
            return self._desk.create(legs, now, self._listed).view()

    def rfq_quotes(self, request_id: str) -> list[RfqQuote]:
        with self._lock:
            now = self._catch_up()
            request = self._desk.requests.get(request_id)
            if request is None:
                raise reject(10584, f"unknown request {request_id}")
            return [quote.view(now) for quote in request.quotes]

    def accept_quote(self, request_id: str, quote_id: str) -> BlockTrade:
        with self._lock:
            now = self._catch_up()
            request, quote = self._desk.acceptable(request_id, quote_id, now)
            legs = [(self._listed(leg.symbol), self._state(leg.symbol), leg)
                    for leg in quote.legs]
            required = ZERO
            for instrument, state, leg in legs:
                if instrument is None or state is None:
                    raise reject(50014, f"{leg.symbol} is no longer tradable")
                required += self._order_margin(instrument, leg.taker_side, leg.qty, leg.price,
                                               state)
            if required > self._available_margin():
                raise reject(10529, "insufficient available balance")
            executed = tuple(self._block_leg(i, s, leg.taker_side, leg.qty, leg.price, now)
                             for i, s, leg in legs if i is not None and s is not None)
            trade = BlockTrade(self._desk.next_block_id(), request_id, quote_id, executed, now)
            self._desk.mark_filled(request, quote, trade, now)
            return trade

    def _block_leg(self, instrument: Instrument, state: OptionState, side: Side, qty: Decimal,
                   price: Decimal, now: datetime) -> BlockTradeLeg:
        order = self._matcher.block_leg(instrument, state, side, qty, price, now)
        return BlockTradeLeg(instrument.symbol, side, price, qty, order.fee, order.order_id,
                             order.fills[0].fill.trade_id)

    def cancel_rfq(self, request_id: str) -> None:
        with self._lock:
            now = self._catch_up()
            self._desk.cancel(request_id, now)

    def get_rfq(self, request_id: str) -> Rfq | None:
        """rfqList: a taker-only key (the default) is refused as Coincall does (HTTP 404)."""
        if self.key_access is KeyAccess.TAKER:
            raise rfq_list_refused()
        return self.rfq_view(request_id)

    def block_trades(self, since: datetime) -> list[BlockTrade]:
        with self._lock:
            self._catch_up()
            return [t for t in self._desk.block_trades if t.at is not None and t.at >= since]
