"""ReadOnlyExchange: the exchange port with every write method taken away.

Used where a command must look at a venue and never act on it (`runner plan`). It
delegates only the read methods of the port; its write methods (`place_order`,
`cancel_order`, `create_rfq`, `accept_quote`, `cancel_rfq`) never reach the wrapped
venue and raise `WriteRefused`. Writing is refused by construction, not by a flag
someone could flip.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Final, NoReturn

from runner.domain.exercise import Exercise
from runner.domain.instruments import Instrument, Underlying
from runner.domain.orders import Fill, Order
from runner.domain.rfq import BlockTrade, Rfq, RfqQuote
from runner.domain.snapshot import Account, Book, OptionQuote, Position
from runner.exchange.port import Exchange

WRITE_METHODS: Final = frozenset({"place_order", "cancel_order", "create_rfq",
                                  "accept_quote", "cancel_rfq"})


class WriteRefused(PermissionError):
    """A read-only view of the exchange was asked to act on it (a bug in the caller)."""


class ReadOnlyExchange:
    """The read half of an `Exchange`."""

    def __init__(self, exchange: Exchange) -> None:
        self._exchange = exchange

    def server_time(self) -> datetime:
        return self._exchange.server_time()

    def instruments(self, underlying: Underlying) -> list[Instrument]:
        return self._exchange.instruments(underlying)

    def option_chain(self, underlying: Underlying, expiry: datetime | None = None, *,
                     fresh: bool = False) -> list[OptionQuote]:
        return self._exchange.option_chain(underlying, expiry, fresh=fresh)

    def orderbook(self, symbol: str, *, fresh: bool = True) -> Book:
        return self._exchange.orderbook(symbol, fresh=fresh)

    def index_price(self, underlying: Underlying) -> Decimal:
        return self._exchange.index_price(underlying)

    def delivery_price(self, underlying: Underlying, expiry: datetime) -> Decimal | None:
        return self._exchange.delivery_price(underlying, expiry)

    def exercises(self, since: datetime) -> list[Exercise]:
        return self._exchange.exercises(since)

    def get_order(self, *, order_id: int | None = None,
                  client_order_id: int | None = None) -> Order | None:
        return self._exchange.get_order(order_id=order_id, client_order_id=client_order_id)

    def open_orders(self, underlying: Underlying | None = None) -> list[Order]:
        return self._exchange.open_orders(underlying)

    def fills(self, since: datetime) -> list[Fill]:
        return self._exchange.fills(since)

    def positions(self) -> list[Position]:
        return self._exchange.positions()

    def account(self) -> Account:
        return self._exchange.account()

    def rfq_quotes(self, request_id: str) -> list[RfqQuote]:
        return self._exchange.rfq_quotes(request_id)

    def get_rfq(self, request_id: str) -> Rfq | None:
        return self._exchange.get_rfq(request_id)

    def block_trades(self, since: datetime) -> list[BlockTrade]:
        return self._exchange.block_trades(since)

    def _refuse(self, method: str) -> NoReturn:
        raise WriteRefused(f"{method} refused: this view of the exchange is read-only")

    def place_order(self, *_: object, **__: object) -> NoReturn:
        self._refuse("place_order")

    def cancel_order(self, *_: object, **__: object) -> NoReturn:
        self._refuse("cancel_order")

    def create_rfq(self, _legs: Sequence[object]) -> NoReturn:
        self._refuse("create_rfq")

    def accept_quote(self, *_: object) -> NoReturn:
        self._refuse("accept_quote")

    def cancel_rfq(self, *_: object) -> NoReturn:
        self._refuse("cancel_rfq")
