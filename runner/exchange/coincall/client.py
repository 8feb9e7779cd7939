"""`CoincallClient`: the `Exchange` port over Coincall's REST API.

Composes the signed transport (`http`), the wire mapping (`wire`), client-side rate
limits and the market-data cache, and adds the decisions that need the port's view:

- Placing an order never creates two. When the outcome is unknown (timeout after
  sending, 10582, an unreadable ack) the order is looked up by its client order id:
  found -> its id is adopted; not found -> the SAME request (same client order id) is
  sent once more, and a duplicate-client-id answer (10577) leads to a second lookup
  and adoption. Still unresolved -> OutcomeUnknown for the caller's reconciliation.
- Cancelling treats "already cancelled / already filled" (11101/11102) as done; an
  unknown cancel outcome is resolved by looking at the order before cancelling again.
- Accepting a quote is sent exactly once; an unknown outcome (including a `code 0`
  whose payload cannot be read, pitfall 8) raises OutcomeUnknown, to be resolved with
  `block_trades`. The one exception is a 10004 refusal of the body's encoding, which
  executed nothing: accept and cancel are sent in the encoding last seen to work and
  retried once in the other on 10004 (`rfq_bodies`).
- Instruments and chains are cached (30 s TTL, LRU 100); orders, positions, account
  and books are always read live. There is no constant fallback for any price (C2).
  Published delivery (settlement) prices never change and are kept without a TTL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, TypeVar

import requests

from runner.common.secrets import Secret
from runner.domain.clock import Clock, to_epoch_ms
from runner.domain.exercise import Exercise
from runner.domain.instruments import Instrument, Underlying
from runner.domain.orders import Fill, Order, OrderRequest, OrderStatus
from runner.domain.rfq import BlockTrade, Rfq, RfqLeg, RfqQuote
from runner.domain.snapshot import Account, Book, OptionQuote, Position
from runner.exchange.coincall import endpoints as ep
from runner.exchange.coincall.cache import DEFAULT_MAX_ENTRIES, DEFAULT_TTL, TtlCache
from runner.exchange.coincall.endpoints import BodyKind, Endpoint, RateClass, RateLimit
from runner.exchange.coincall.http import DEFAULT_TIMEOUTS, Timeouts, Transport
from runner.exchange.coincall.paging import read_pages
from runner.exchange.coincall.ratelimit import RateLimiter
from runner.exchange.coincall.rfq_bodies import FIRST_ENCODING, RfqBodies
from runner.exchange.coincall.wire import account as wire_account
from runner.exchange.coincall.wire import exercise as wire_exercise
from runner.exchange.coincall.wire import market as wire_market
from runner.exchange.coincall.wire import orders as wire_orders
from runner.exchange.coincall.wire import rfq as wire_rfq
from runner.exchange.errors import (
    AuthenticationFailed,
    ExchangeError,
    ExchangeRejected,
    ExchangeUnavailable,
    MalformedResponse,
    OrderNotFound,
    OutcomeUnknown,
)

T = TypeVar("T")

DUPLICATE_CLIENT_ORDER_ID: Final = 10577
ALREADY_FINAL_CODES: Final = frozenset({11101, 11102})  # cancel: already cancelled / filled
_PAGE_LIMIT: Final = 50  # pages read per listing before giving up (a runaway guard)
_HISTORY_PAGE_SIZE: Final = 100
_OPEN_ORDERS_PAGE_SIZE: Final = 500
_BLOCK_TRADE_PAGE_SIZE: Final = 49  # "less than 50"
_BLOCK_TRADE_PAGES: Final = 5  # pages read per check, newest first, back to `since`
_EXERCISE_PAGE_SIZE: Final = 50  # the documented maximum
_MAX_HISTORY_SPAN: Final = timedelta(days=89)
_DELIVERY_CACHE_ENTRIES: Final = 2000  # published settlement prices kept (never stale)


class CoincallClient:
    """Coincall REST (testnet or production) behind the `Exchange` port."""

    def __init__(self, *, base_url: str, api_key: Secret, api_secret: Secret, clock: Clock,
                 session: requests.Session | None = None,
                 sleep: Callable[[float], None] | None = None,
                 timeouts: Timeouts = DEFAULT_TIMEOUTS,
                 cache_ttl: timedelta = DEFAULT_TTL, cache_entries: int = DEFAULT_MAX_ENTRIES,
                 rate_limits: Mapping[RateClass, RateLimit] | None = None,
                 rfq_body: BodyKind = FIRST_ENCODING, rfq_body_memory: Path | None = None,
                 session_factory: Callable[[], requests.Session] = requests.Session) -> None:
        self._clock = clock
        wait = sleep if sleep is not None else clock.sleep
        limiter = RateLimiter(now=lambda: clock.now().timestamp(), sleep=wait,
                              limits=rate_limits)
        self._transport = Transport(base_url=base_url, api_key=api_key, api_secret=api_secret,
                                    clock=clock, limiter=limiter, sleep=wait, timeouts=timeouts,
                                    session=session, session_factory=session_factory)
        self._cache: TtlCache[tuple[Any, ...]] = TtlCache(now=clock.now, ttl=cache_ttl,
                                                          max_entries=cache_entries)
        self._deliveries: dict[tuple[Underlying, int], Decimal] = {}
        self._rfq_bodies = RfqBodies(rfq_body, rfq_body_memory)

    def __repr__(self) -> str:
        return f"CoincallClient({self._transport.base_url!r})"

    def __enter__(self) -> CoincallClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._transport.close()

    def begin_shutdown(self, deadline: float) -> None:
        """The service is stopping: short timeouts, no retries, nothing sent after
        `deadline` (`time.monotonic()`); see `coincall.shutdown`."""
        self._transport.begin_shutdown(deadline)

    @property
    def request_in_flight(self) -> bool:
        return self._transport.request_in_flight

    # -- health ------------------------------------------------------------------------
    @property
    def is_reachable(self) -> bool:
        """False after 3 consecutive transport failures (lessons C4)."""
        return self._transport.is_reachable

    @property
    def consecutive_failures(self) -> int:
        return self._transport.consecutive_failures

    def check_api_key(self) -> wire_account.ApiKeyInfo:
        """What the exchange says about our key (read-only or trading)."""
        return wire_account.api_key_info(self._call(ep.API_KEY_INFO))

    def require_trading_key(self) -> wire_account.ApiKeyInfo:
        """Raise AuthenticationFailed unless the key may trade (readOnly == 0); return what
        the exchange said about it (shown in the production banner)."""
        info = self.check_api_key()
        if info.read_only:
            raise AuthenticationFailed("the API key is read-only; trading needs a trade key",
                                       endpoint=ep.API_KEY_INFO.name)
        return info

    # -- market data -------------------------------------------------------------------
    def server_time(self) -> datetime:
        return wire_market.server_time(self._call(ep.SERVER_TIME))

    def instruments(self, underlying: Underlying) -> list[Instrument]:
        return [i for i in self._listed(underlying) if i.is_active]

    def option_chain(self, underlying: Underlying, expiry: datetime | None = None, *,
                     fresh: bool = False) -> list[OptionQuote]:
        if expiry is not None:
            return list(self._chain(underlying, expiry, fresh=fresh))
        now = self._clock.now()
        expiries = sorted({i.expiry for i in self.instruments(underlying) if i.expiry > now})
        return [quote for when in expiries
                for quote in self._chain(underlying, when, fresh=fresh)]

    def orderbook(self, symbol: str, *, fresh: bool = True) -> Book:
        """The live book (books are never cached, whatever `fresh` says)."""
        data = self._call(ep.ORDERBOOK, symbol=symbol)
        return wire_market.orderbook(data, symbol, self._clock.now())

    def index_price(self, underlying: Underlying) -> Decimal:
        """Futures index (6.1 source 2), else an option detail's `indexPrice` (source 3)."""
        try:
            data = self._call(ep.FUTURES_SYMBOL, {"symbol": underlying.index_name})
            price = wire_market.futures_index_price(data, underlying.index_name)
        except AuthenticationFailed:
            raise
        except (ExchangeUnavailable, ExchangeRejected, MalformedResponse):
            price = None
        if price is None:
            price = self._index_from_option_detail(underlying)
        if price is None:
            raise ExchangeUnavailable(f"no index price for {underlying.index_name}",
                                      endpoint=ep.FUTURES_SYMBOL.name)
        return price

    def delivery_price(self, underlying: Underlying, expiry: datetime) -> Decimal | None:
        """The settlement price of `expiry` (public `get-delivery-prices/v1`, 1 call/s).

        The answer is one `{date, delivery_price}` row per daily 08:00 UTC settlement,
        newest first (docs/exchange-evidence.md section 7); the row of the expiry's date
        settles it. Published prices never change, so each is cached for good; an expiry
        still in the future is None without a call, and a date not (yet) published is None.
        """
        expiry_ms = to_epoch_ms(expiry)
        known = self._deliveries.get((underlying, expiry_ms))
        if known is not None or expiry > self._clock.now():
            return known
        data = self._call(ep.DELIVERY_PRICES, {"symbol": underlying.index_name})
        for at, price in wire_market.delivery_prices(data).items():
            self._deliveries[(underlying, at)] = price
        while len(self._deliveries) > _DELIVERY_CACHE_ENTRIES:
            del self._deliveries[min(self._deliveries, key=lambda key: key[1])]
        return self._deliveries.get((underlying, expiry_ms))

    def _index_from_option_detail(self, underlying: Underlying) -> Decimal | None:
        now = self._clock.now()
        live = sorted((i for i in self.instruments(underlying) if i.expiry > now),
                      key=lambda i: (i.expiry, i.strike))
        if not live:
            return None
        return wire_market.detail_index_price(self._call(ep.OPTION_DETAIL, symbol=live[0].symbol))

    def _listed(self, underlying: Underlying, *, fresh: bool = False) -> tuple[Instrument, ...]:
        def load() -> tuple[Instrument, ...]:
            data = self._call(ep.INSTRUMENTS, base=underlying.value)
            return tuple(wire_market.instruments(data, underlying))

        return self._cache.get_or_load(("instruments", underlying), load, fresh=fresh)

    def _chain(self, underlying: Underlying, expiry: datetime, *,
               fresh: bool) -> tuple[OptionQuote, ...]:
        expiry_ms = to_epoch_ms(expiry)

        def load() -> tuple[OptionQuote, ...]:
            known = {i.symbol: i for i in self._listed(underlying)}
            data = self._call(ep.OPTION_CHAIN, {"endTime": expiry_ms},
                              index=underlying.index_name)
            quotes = wire_market.option_chain(data, now=self._clock.now(), known=known)
            return tuple(q for q in quotes if to_epoch_ms(q.instrument.expiry) == expiry_ms)

        return self._cache.get_or_load(("chain", underlying, expiry_ms), load, fresh=fresh)

    # -- orders ------------------------------------------------------------------------
    def place_order(self, request: OrderRequest) -> int:
        body = wire_orders.order_body(request)
        for attempt in range(2):
            try:
                return self._send_order(body)
            except OutcomeUnknown:
                pass
            except ExchangeRejected as error:
                if error.code != DUPLICATE_CLIENT_ORDER_ID:
                    raise
            except ExchangeUnavailable as error:
                if attempt == 0:
                    raise  # nothing was sent: the order certainly does not exist
                # the first send is still unresolved: "not sent now" is not "not placed"
                raise OutcomeUnknown(f"resend not possible ({error.message}); the first "
                                     "send is unresolved", endpoint=ep.PLACE_ORDER.name) from None
            adopted = self._adoptable_order(request)
            if adopted is not None:
                return adopted
        raise OutcomeUnknown(
            f"order with client order id {request.client_order_id} is still unresolved; "
            "look it up by client order id before doing anything else",
            endpoint=ep.PLACE_ORDER.name)

    def _send_order(self, body: Mapping[str, object]) -> int:
        data = self._transport.call(ep.PLACE_ORDER, body)
        try:
            return wire_orders.order_id(data)
        except MalformedResponse as error:
            raise OutcomeUnknown(f"accepted but the order id is unreadable: {error.message}",
                                 endpoint=ep.PLACE_ORDER.name) from None

    def _adoptable_order(self, request: OrderRequest) -> int | None:
        try:
            found = self.get_order(client_order_id=request.client_order_id)
        except ExchangeError as error:
            raise OutcomeUnknown(f"order outcome unknown and the lookup failed: {error}",
                                 endpoint=ep.PLACE_ORDER.name) from None
        if found is None:
            return None
        if found.symbol != request.symbol or found.side is not request.side:
            raise ExchangeRejected(
                f"client order id {request.client_order_id} belongs to another order "
                f"({found.symbol} {found.side.value})", endpoint=ep.PLACE_ORDER.name)
        return found.order_id

    def cancel_order(self, *, order_id: int | None = None,
                     client_order_id: int | None = None) -> None:
        reference = wire_orders.order_reference(order_id=order_id,
                                                client_order_id=client_order_id)
        try:
            self._send_cancel(reference)
            return
        except OutcomeUnknown:
            pass
        try:
            found = self.get_order(order_id=order_id, client_order_id=client_order_id)
        except ExchangeError as error:
            raise OutcomeUnknown(f"cancel outcome unknown and the lookup failed: {error}",
                                 endpoint=ep.CANCEL_ORDER.name) from None
        if found is None:
            raise OrderNotFound("no such order to cancel", endpoint=ep.CANCEL_ORDER.name)
        if found.status.is_live and found.status is not OrderStatus.CANCELING:
            self._send_cancel(reference)

    def _send_cancel(self, reference: Mapping[str, object]) -> None:
        try:
            self._transport.call(ep.CANCEL_ORDER, reference)
        except ExchangeRejected as error:
            if error.code not in ALREADY_FINAL_CODES:
                raise

    def get_order(self, *, order_id: int | None = None,
                  client_order_id: int | None = None) -> Order | None:
        reference = wire_orders.order_reference(order_id=order_id,
                                                client_order_id=client_order_id)
        try:
            data = self._call(ep.SINGLE_ORDER, reference)
        except ExchangeRejected as error:
            if error.code == 10584:
                return None
            raise
        if not data:
            return None
        return wire_orders.order(data)

    def open_orders(self, underlying: Underlying | None = None) -> list[Order]:
        currency = underlying.value if underlying is not None else None
        found: list[Order] = []
        page, pages = 1, 1
        while page <= min(pages, _PAGE_LIMIT):
            data = self._call(ep.OPEN_ORDERS, {"page": page, "pageSize": _OPEN_ORDERS_PAGE_SIZE,
                                               "currency": currency})
            rows, pages = wire_orders.open_orders(data)
            found.extend(rows)
            if not rows:
                break
            page += 1
        return found

    def fills(self, since: datetime) -> list[Fill]:
        """Fills since `since`, oldest first; paged right under both readings of `fromId`
        (finding 5, `coincall.paging`), bounded by `startTime`/`endTime` as well."""
        now = self._clock.now()
        start = max(since, now - _MAX_HISTORY_SPAN)
        params: dict[str, object] = {"pageSize": _HISTORY_PAGE_SIZE,
                                     "startTime": to_epoch_ms(start),
                                     "endTime": to_epoch_ms(now)}
        found = read_pages(lambda query: wire_orders.fills(self._call(ep.TRADE_HISTORY, query)),
                           params, row_id=lambda fill: str(fill.trade_id),
                           row_at=lambda fill: fill.at, since=since, max_pages=_PAGE_LIMIT)
        return sorted((f for f in found if f.at >= since), key=lambda f: (f.at, f.trade_id))

    def exercises(self, since: datetime) -> list[Exercise]:
        """Exercise history pages (`page`, up to 50 rows each) from `since` to now."""
        now = self._clock.now()
        params: dict[str, object] = {"startTime": to_epoch_ms(max(since, now - _MAX_HISTORY_SPAN)),
                                     "endTime": to_epoch_ms(now),
                                     "pageSize": _EXERCISE_PAGE_SIZE}
        found: list[Exercise] = []
        for page in range(1, _PAGE_LIMIT + 1):
            rows, has_next = wire_exercise.exercises(
                self._call(ep.EXERCISE_HISTORY, {**params, "page": page}))
            found.extend(rows)
            if not has_next or not rows:
                break
        kept = [e for e in found if e.at is None or e.at >= since]
        return sorted(kept, key=lambda e: (e.at or since, e.symbol))

    # -- account -----------------------------------------------------------------------
    def positions(self) -> list[Position]:
        return wire_account.positions(self._call(ep.POSITIONS))

    def account(self) -> Account:
        return wire_account.account(self._call(ep.ACCOUNT_SUMMARY))

    # -- RFQ, taker side ---------------------------------------------------------------
    def create_rfq(self, legs: Sequence[RfqLeg]) -> Rfq:
        data = self._transport.call(ep.RFQ_CREATE, wire_rfq.create_body(legs))
        return self._written(ep.RFQ_CREATE, lambda: wire_rfq.rfq(data))

    def rfq_quotes(self, request_id: str) -> list[RfqQuote]:
        data = self._call(ep.RFQ_QUOTES, {"requestId": request_id})
        return [q for q in wire_rfq.quotes(data, request_id) if q.request_id == request_id]

    @property
    def rfq_body(self) -> BodyKind:
        """The encoding RFQ accept and cancel are sent in now (the last seen to work)."""
        return self._rfq_bodies.current

    def accept_quote(self, request_id: str, quote_id: str) -> BlockTrade:
        body = wire_rfq.accept_body(request_id, quote_id)
        data = self._rfq_bodies.send(ep.RFQ_ACCEPT,
                                     lambda endpoint: self._transport.call(endpoint, body))
        return self._written(ep.RFQ_ACCEPT, lambda: wire_rfq.block_trade(data))

    def cancel_rfq(self, request_id: str) -> None:
        """Withdraw a request by the id the runner recorded. A refusal is raised as it
        came: whether the request is already final cannot be looked up with a taker key
        (rfqList is HTTP 404), so the caller decides what a refusal means."""
        body = wire_rfq.cancel_body(request_id)
        self._rfq_bodies.send(ep.RFQ_CANCEL,
                              lambda endpoint: self._transport.call(endpoint, body))

    def get_rfq(self, request_id: str) -> Rfq | None:
        """rfqList, for maker keys and diagnostics only: a taker-only key (the normal
        case) gets HTTP 404, raised as EndpointNotAvailable. Nothing decides on it."""
        data = self._call(ep.RFQ_LIST, {"requestId": request_id})
        return next((r for r in wire_rfq.rfq_list(data) if r.request_id == request_id), None)

    def block_trades(self, since: datetime) -> list[BlockTrade]:
        """Block trades since `since`: newest-first pages (NEXT), read until one reaches a
        trade older than `since` (finding 4), at most `_BLOCK_TRADE_PAGES` pages."""
        params: dict[str, object] = {"fromId": 0, "direction": "NEXT",
                                     "pageSize": _BLOCK_TRADE_PAGE_SIZE}
        found = read_pages(
            lambda query: wire_rfq.block_trades(self._call(ep.BLOCK_TRADES, query)), params,
            row_id=lambda trade: trade.block_trade_id, row_at=lambda trade: trade.at,
            since=since, max_pages=_BLOCK_TRADE_PAGES)
        recent = (t for t in found if t.at is None or t.at >= since)
        return sorted(recent, key=lambda t: (t.at or since, t.block_trade_id))

    # -- plumbing ----------------------------------------------------------------------
    def _call(self, endpoint: Endpoint, params: Mapping[str, object] | None = None,
              **path_args: str) -> Any:
        return self._transport.call(endpoint, params, path_args=path_args)

    @staticmethod
    def _written(endpoint: Endpoint, parse: Callable[[], T]) -> T:
        """Parse the answer of a write that succeeded; unreadable means outcome unknown."""
        try:
            return parse()
        except MalformedResponse as error:
            raise OutcomeUnknown(f"accepted (code 0) but the answer is unreadable: "
                                 f"{error.message}", endpoint=endpoint.name) from None
