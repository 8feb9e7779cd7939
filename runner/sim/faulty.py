"""Faults in process: the Exchange port with a FaultPlan applied, and price freezes.

Owns the in-process consumer of `sim.faults` (the HTTP server is the other): the
accelerated simulation runs against `FaultyExchange(SimVenue(...), plan, clock)` and
meets the same faults, each raised as the `exchange.errors` class a correct REST
client would raise for the answer the server would have given. Invariant: a write
that a `malformed` or `lost_response` rule hits has been performed before the error
is raised; every other fault leaves the venue untouched. Deterministic for a seed:
the plan decides, and waiting advances the injected clock instead of real time.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from runner.domain.clock import Clock
from runner.domain.exercise import Exercise
from runner.domain.instruments import Instrument, Underlying
from runner.domain.orders import Fill, Order, OrderRequest
from runner.domain.rfq import BlockTrade, Rfq, RfqLeg, RfqQuote
from runner.domain.snapshot import Account, Book, OptionQuote, Position
from runner.exchange.errors import (
    ExchangeError,
    ExchangeUnavailable,
    MalformedResponse,
    OutcomeUnknown,
    RateLimited,
    error_for_code,
)
from runner.exchange.port import Exchange
from runner.sim.faults import (
    DEFAULT_5XX_STATUS,
    ENDPOINTS,
    WRITE_ENDPOINTS,
    FaultKind,
    FaultPlan,
    FaultRule,
)

_T = TypeVar("_T")


class PriceFreezer:
    """Freezes the venue's prices when a `freeze_prices` rule fires, and thaws them later.

    Calls the venue's scenario controls `freeze_prices(underlying)` and
    `unfreeze_prices(underlying)` when it has them (SimVenue does); on another exchange
    a freeze rule does nothing. A rule without `underlying` freezes every underlying; a
    rule with `seconds: 0` freezes until `thaw()`. Expired freezes thaw on the next
    request that passes through the plan.
    """

    def __init__(self, exchange: object, clock: Clock) -> None:
        self._exchange = exchange
        self._clock = clock
        self._thaw_at: dict[Underlying, datetime | None] = {}
        self._lock = threading.Lock()

    @property
    def supported(self) -> bool:
        return callable(getattr(self._exchange, "freeze_prices", None))

    @property
    def frozen(self) -> frozenset[Underlying]:
        with self._lock:
            return frozenset(self._thaw_at)

    def apply(self, rules: tuple[FaultRule, ...]) -> None:
        """Thaw what has expired, then freeze for the fired rules (the longest wins)."""
        with self._lock:
            now = self._clock.now()
            for underlying, until in list(self._thaw_at.items()):
                if until is not None and now >= until:
                    self._thaw(underlying)
            if not self.supported:
                return
            for rule in rules:
                until = now + timedelta(seconds=rule.seconds) if rule.seconds else None
                for underlying in rule.underlyings:
                    self._freeze(underlying, until)

    def thaw(self) -> None:
        """Unfreeze everything this freezer froze."""
        with self._lock:
            for underlying in list(self._thaw_at):
                self._thaw(underlying)

    def _freeze(self, underlying: Underlying, until: datetime | None) -> None:
        if underlying not in self._thaw_at:
            self._exchange.freeze_prices(underlying)  # type: ignore[attr-defined]
            self._thaw_at[underlying] = until
            return
        current = self._thaw_at[underlying]
        if current is not None and (until is None or until > current):
            self._thaw_at[underlying] = until

    def _thaw(self, underlying: Underlying) -> None:
        control = getattr(self._exchange, "unfreeze_prices", None)
        if callable(control):
            control(underlying)
        del self._thaw_at[underlying]


class FaultyExchange:
    """The Exchange port with a FaultPlan applied in process (accelerated simulation).

    Each call is decided like an HTTP request to the same endpoint and fails with the
    error a correct REST client would raise for that answer: `timeout`/`disconnect` ->
    ExchangeUnavailable (OutcomeUnknown for writes, though nothing was performed),
    `http_5xx` -> ExchangeUnavailable, `error` -> error_for_code(code), `rate_limit` ->
    RateLimited, `malformed` -> MalformedResponse after performing the call,
    `lost_response` -> OutcomeUnknown after performing the write (ExchangeUnavailable
    for reads). Latency and timeouts advance the injected clock instead of sleeping
    for real. Anything not in the port (scenario controls) passes through unchanged.
    """

    def __init__(self, exchange: Exchange, plan: FaultPlan, clock: Clock) -> None:
        self._exchange = exchange
        self._plan = plan
        self._clock = clock
        self._freezer = PriceFreezer(exchange, clock)

    @property
    def inner(self) -> Exchange:
        return self._exchange

    @property
    def plan(self) -> FaultPlan:
        return self._plan

    def __getattr__(self, name: str) -> Any:
        return getattr(self._exchange, name)

    # -- market data -----------------------------------------------------------------
    def server_time(self) -> datetime:
        return self._call("server_time", self._exchange.server_time)

    def instruments(self, underlying: Underlying) -> list[Instrument]:
        return self._call("instruments", self._exchange.instruments, underlying)

    def option_chain(self, underlying: Underlying, expiry: datetime | None = None, *,
                     fresh: bool = False) -> list[OptionQuote]:
        return self._call("option_chain", self._exchange.option_chain, underlying, expiry,
                          fresh=fresh)

    def orderbook(self, symbol: str, *, fresh: bool = True) -> Book:
        return self._call("orderbook", self._exchange.orderbook, symbol, fresh=fresh)

    def index_price(self, underlying: Underlying) -> Decimal:
        return self._call("index_price", self._exchange.index_price, underlying)

    def delivery_price(self, underlying: Underlying, expiry: datetime) -> Decimal | None:
        return self._call("delivery_price", self._exchange.delivery_price, underlying, expiry)

    def exercises(self, since: datetime) -> list[Exercise]:
        return self._call("exercises", self._exchange.exercises, since)

    # -- orders ----------------------------------------------------------------------
    def place_order(self, request: OrderRequest) -> int:
        return self._call("place_order", self._exchange.place_order, request)

    def cancel_order(self, *, order_id: int | None = None,
                     client_order_id: int | None = None) -> None:
        return self._call("cancel_order", self._exchange.cancel_order, order_id=order_id,
                          client_order_id=client_order_id)

    def get_order(self, *, order_id: int | None = None,
                  client_order_id: int | None = None) -> Order | None:
        return self._call("get_order", self._exchange.get_order, order_id=order_id,
                          client_order_id=client_order_id)

    def open_orders(self, underlying: Underlying | None = None) -> list[Order]:
        return self._call("open_orders", self._exchange.open_orders, underlying)

    def fills(self, since: datetime) -> list[Fill]:
        return self._call("fills", self._exchange.fills, since)

    # -- account ---------------------------------------------------------------------
    def positions(self) -> list[Position]:
        return self._call("positions", self._exchange.positions)

    def account(self) -> Account:
        return self._call("account", self._exchange.account)

    # -- RFQ, taker side -------------------------------------------------------------
    def create_rfq(self, legs: Sequence[RfqLeg]) -> Rfq:
        return self._call("create_rfq", self._exchange.create_rfq, legs)

    def rfq_quotes(self, request_id: str) -> list[RfqQuote]:
        return self._call("rfq_quotes", self._exchange.rfq_quotes, request_id)

    def accept_quote(self, request_id: str, quote_id: str) -> BlockTrade:
        return self._call("accept_quote", self._exchange.accept_quote, request_id, quote_id)

    def cancel_rfq(self, request_id: str) -> None:
        return self._call("cancel_rfq", self._exchange.cancel_rfq, request_id)

    def get_rfq(self, request_id: str) -> Rfq | None:
        return self._call("get_rfq", self._exchange.get_rfq, request_id)

    def block_trades(self, since: datetime) -> list[BlockTrade]:
        return self._call("block_trades", self._exchange.block_trades, since)

    # -- the fault itself ------------------------------------------------------------
    def _call(self, name: str, action: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        decision = self._plan.decide(name, ENDPOINTS[name])
        if decision.delay:
            self._clock.sleep(decision.delay)
        self._freezer.apply(decision.freezes)
        rule = decision.outcome
        if rule is None:
            return action(*args, **kwargs)
        if rule.kind in (FaultKind.MALFORMED, FaultKind.LOST_RESPONSE):
            with contextlib.suppress(ExchangeError):
                action(*args, **kwargs)
        raise self._error(name, rule)

    def _error(self, name: str, rule: FaultRule) -> ExchangeError:
        is_write = name in WRITE_ENDPOINTS
        kind = rule.kind
        if kind in (FaultKind.TIMEOUT, FaultKind.DISCONNECT, FaultKind.LOST_RESPONSE):
            self._clock.sleep(rule.hold_seconds)
            text = "no answer (injected " + kind.value + ")"
            return (OutcomeUnknown if is_write else ExchangeUnavailable)(text, endpoint=name)
        if kind is FaultKind.HTTP_5XX:
            return ExchangeUnavailable(f"HTTP {rule.status or DEFAULT_5XX_STATUS}", endpoint=name)
        if kind is FaultKind.RATE_LIMIT:
            return RateLimited(rule.answer_message, code=rule.answer_code, endpoint=name)
        if kind is FaultKind.MALFORMED:
            return MalformedResponse("unparseable answer (injected)", endpoint=name)
        return error_for_code(rule.answer_code, rule.answer_message, name)
