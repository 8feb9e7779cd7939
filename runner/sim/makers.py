"""Simulated RFQ market makers and the taker-side request lifecycle.

Lifecycle (coincall-api.md 6.4): a request is ACTIVE for `rfq_lifetime_s` (1 h), then
EXPIRED; makers answer after a seeded delay (2-10 s) and re-quote every quote lifetime
(5 min) while it is active; accepting a quote FILLS the request (other quotes are
cancelled); cancelling makes it CANCELLED. Quotes are two-way: each maker sends one quote
whose leg sides are opposite to ours (accepting trades the legs as asked) and one with the
same sides (accepting trades the reverse); quote legs carry the MAKER's side.

Refusals: a single-leg request must be BUY (10004, pitfall 6); the notional
sum(strike x qty) must reach `rfq_min_notional` (10001: Coincall has no documented code
for it, coincall-api.md 6.4); legs must be listed (10574), sized on the lot (10558, 10004)
and distinct (10004). Accepting an unknown request answers 10584; a request no longer
active 10001; a quote that is unknown, expired or not OPEN 50014.

Pricing: around the mark with `spread_pct` (maker sells above, buys below), or, with
`book_offset_pct`, against the book side we would trade on (our buy vs the ask, our sell
vs the bid), better for us when positive. Maker k widens by k x 30 %. Prices are on the tick.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from itertools import count
from typing import Final

from runner.domain.instruments import Instrument
from runner.domain.orders import Side
from runner.domain.rfq import BlockTrade, QuoteLeg, QuoteState, Rfq, RfqLeg, RfqQuote, RfqState
from runner.sim.config import MakerBehaviour, SimConfig
from runner.sim.matching import reject
from runner.sim.quotes import OptionState

REQUEST_ID_BASE: Final = 1_983_130_000_000_000_000
QUOTE_ID_BASE: Final = 1_983_131_000_000_000_000
BLOCK_ID_BASE: Final = 1_983_132_000_000_000_000
_HUNDRED: Final = Decimal(100)

StateAtTime = Callable[[str, datetime], OptionState | None]


@dataclass(slots=True)
class SimQuote:
    quote_id: str
    request_id: str
    maker: int
    legs: tuple[QuoteLeg, ...]
    created_at: datetime
    expires_at: datetime
    state: QuoteState = QuoteState.OPEN

    def view(self, now: datetime) -> RfqQuote:
        state = self.state
        if state is QuoteState.OPEN and now >= self.expires_at:
            state = QuoteState.EXPIRED
        return RfqQuote(self.quote_id, self.request_id, state, self.legs, self.expires_at)


@dataclass(slots=True)
class SimRfq:
    request_id: str
    legs: tuple[RfqLeg, ...]
    created_at: datetime
    expires_at: datetime
    first_quotes: list[datetime]  # per maker, when its first quote arrives
    state: RfqState = RfqState.ACTIVE
    updated_at: datetime | None = None
    rounds_done: list[int] = field(default_factory=list)
    quotes: list[SimQuote] = field(default_factory=list)

    def view(self) -> Rfq:
        return Rfq(self.request_id, self.state, self.legs, self.created_at, self.expires_at)


class RfqDesk:
    """Our requests, the makers' quotes on them, and the block trades that resulted."""

    def __init__(self, config: SimConfig, seed: int) -> None:
        self._config = config
        self._seed = seed
        self.behaviour: MakerBehaviour = config.makers
        self.requests: dict[str, SimRfq] = {}
        self.block_trades: list[BlockTrade] = []
        self._request_ids = count(REQUEST_ID_BASE + 1)
        self._quote_ids = count(QUOTE_ID_BASE + 1)
        self._block_ids = count(BLOCK_ID_BASE + 1)

    def create(self, legs: Sequence[RfqLeg], now: datetime,
               instrument_of: Callable[[str], Instrument | None]) -> SimRfq:
        """Validate and open a request; makers are scheduled to answer."""
        self._validate(legs, instrument_of)
        number = next(self._request_ids)
        rng = random.Random(f"{self._seed}:rfq:{number}")
        behaviour = self.behaviour
        makers = behaviour.makers if behaviour.enabled else 0
        first = [now + timedelta(milliseconds=round(1000 * rng.uniform(
                     behaviour.min_delay_s, behaviour.max_delay_s)))
                 for _ in range(makers)]
        request = SimRfq(str(number), tuple(legs), now,
                         now + timedelta(seconds=self._config.rfq_lifetime_s), first,
                         updated_at=now, rounds_done=[0] * makers)
        self.requests[request.request_id] = request
        return request

    def _validate(self, legs: Sequence[RfqLeg],
                  instrument_of: Callable[[str], Instrument | None]) -> None:
        if not legs or len({leg.symbol for leg in legs}) != len(legs):
            raise reject(10004, "Parameter illegal: legs missing or repeated")
        if len(legs) == 1 and legs[0].side is not Side.BUY:
            raise reject(10004, "Parameter illegal: a single-leg RFQ must be BUY")
        notional = Decimal(0)
        for leg in legs:
            instrument = instrument_of(leg.symbol)
            if instrument is None:
                raise reject(10574, f"symbol not tradable: {leg.symbol}")
            if leg.qty < instrument.min_qty:
                raise reject(10558, "less.than.min.amount")
            if leg.qty % instrument.lot_size != 0:
                raise reject(10004, "Invalid params: qty off the lot step")
            notional += instrument.strike * leg.qty
        if notional < self._config.rfq_min_notional:
            raise reject(10001, f"blocktrade notional {notional} below minimum "
                                f"{self._config.rfq_min_notional}")

    # -- time ----------------------------------------------------------------------
    def advance(self, now: datetime, state_at: StateAtTime) -> None:
        """Expire requests and let makers publish every quote due by `now`."""
        for request in self.requests.values():
            if request.state is not RfqState.ACTIVE:
                continue
            self._publish_due(request, min(now, request.expires_at), state_at)
            if now >= request.expires_at:
                request.state = RfqState.EXPIRED
                request.updated_at = request.expires_at

    def _publish_due(self, request: SimRfq, until: datetime, state_at: StateAtTime) -> None:
        lifetime = timedelta(seconds=self.behaviour.quote_lifetime_s)
        for maker, first in enumerate(request.first_quotes):
            while True:
                moment = first + lifetime * request.rounds_done[maker]
                if moment > until or moment >= request.expires_at:
                    break
                request.rounds_done[maker] += 1
                if self.behaviour.enabled:
                    request.quotes.extend(self._quotes(request, maker, moment, state_at))

    def _quotes(self, request: SimRfq, maker: int, moment: datetime,
                state_at: StateAtTime) -> list[SimQuote]:
        states = [state_at(leg.symbol, moment) for leg in request.legs]
        if any(state is None for state in states):
            return []
        quotes = []
        for reverse in (False, True):
            legs = []
            for leg, state in zip(request.legs, states, strict=True):
                assert state is not None  # noqa: S101 (checked above)
                maker_side = leg.side if reverse else leg.side.opposite
                price = self._price(state, maker_side, maker)
                legs.append(QuoteLeg(leg.symbol, maker_side, price, leg.qty))
            expires = moment + timedelta(seconds=self.behaviour.quote_lifetime_s)
            quotes.append(SimQuote(str(next(self._quote_ids)), request.request_id, maker,
                                   tuple(legs), moment, min(expires, request.expires_at)))
        return quotes

    def _price(self, state: OptionState, maker_side: Side, maker: int) -> Decimal:
        behaviour = self.behaviour
        maker_sells = maker_side is Side.SELL
        widen = Decimal(1) + Decimal("0.3") * maker
        offset = behaviour.book_offset_pct
        book = state.asks if maker_sells else state.bids
        if offset is not None and book:
            # Our buy is baselined on the ask, our sell on the bid; positive = better for us.
            sign = -1 if maker_sells else 1
            raw = book[0].price * (1 + sign * offset / _HUNDRED)
        else:
            sign = 1 if maker_sells else -1
            raw = state.mark * (1 + sign * behaviour.spread_pct * widen / _HUNDRED)
        tick = state.instrument.tick_size
        rounding = ROUND_CEILING if maker_sells else ROUND_FLOOR
        return max(tick, (raw / tick).to_integral_value(rounding=rounding) * tick)

    # -- taker actions -------------------------------------------------------------
    def acceptable(self, request_id: str, quote_id: str,
                   now: datetime) -> tuple[SimRfq, SimQuote]:
        request = self.requests.get(request_id)
        if request is None:
            raise reject(10584, f"unknown request {request_id}")
        if request.state is not RfqState.ACTIVE:
            raise reject(10001, f"request {request_id} is {request.state.value}")
        quote = next((q for q in request.quotes if q.quote_id == quote_id), None)
        if quote is None or quote.view(now).state is not QuoteState.OPEN:
            raise reject(50014, f"quote {quote_id} is not open on request {request_id}")
        return request, quote

    def mark_filled(self, request: SimRfq, quote: SimQuote, trade: BlockTrade,
                    now: datetime) -> None:
        for other in request.quotes:
            if other.state is QuoteState.OPEN:
                other.state = QuoteState.CANCELLED
        quote.state = QuoteState.FILLED
        request.state = RfqState.FILLED
        request.updated_at = now
        self.block_trades.append(trade)

    def cancel(self, request_id: str, now: datetime) -> None:
        request = self.requests.get(request_id)
        if request is None:
            raise reject(10584, f"unknown request {request_id}")
        if request.state is RfqState.ACTIVE:
            request.state = RfqState.CANCELLED
            request.updated_at = now
            for quote in request.quotes:
                if quote.state is QuoteState.OPEN:
                    quote.state = QuoteState.CANCELLED

    def next_block_id(self) -> str:
        return str(next(self._block_ids))

    # -- persistence (additive: a paper venue saved and restored across restarts) ----
    def next_ids(self) -> tuple[int, int, int]:
        """The next request, quote and block trade numbers (none is used up)."""
        ids = next(self._request_ids), next(self._quote_ids), next(self._block_ids)
        self.resume_ids(*ids)
        return ids

    def resume_ids(self, request_id: int, quote_id: int, block_id: int) -> None:
        """Continue numbering requests, quotes and block trades from these numbers."""
        self._request_ids = count(request_id)
        self._quote_ids = count(quote_id)
        self._block_ids = count(block_id)
