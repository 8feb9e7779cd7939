"""The exchange port: everything the runner needs from a venue, in domain words.

Implemented by the Coincall REST adapter (`exchange.coincall.client`) and by the
simulated exchange (`exchange.sim.venue` in process; `exchange.sim.server` serves the
same venue over HTTP with Coincall's wire format). Failures are raised as the
`exchange.errors` tree; a lookup that finds nothing returns None.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from runner.domain.exercise import Exercise
from runner.domain.instruments import Instrument, Underlying
from runner.domain.orders import Fill, Order, OrderRequest
from runner.domain.rfq import BlockTrade, Rfq, RfqLeg, RfqQuote
from runner.domain.snapshot import Account, Book, OptionQuote, Position


class Exchange(Protocol):
    """A venue for options on BTC and ETH."""

    # -- market data -----------------------------------------------------------------
    def server_time(self) -> datetime:
        """The venue's clock (used to keep request timestamps inside its window)."""
        ...

    def instruments(self, underlying: Underlying) -> list[Instrument]:
        """Every listed, active option of `underlying`."""
        ...

    def option_chain(
        self, underlying: Underlying, expiry: datetime | None = None, *, fresh: bool = False
    ) -> list[OptionQuote]:
        """Top of book, mark, IV and greeks for one expiry, or for every expiry when None.

        `fresh` bypasses any cache (before pricing an order).
        """
        ...

    def orderbook(self, symbol: str, *, fresh: bool = True) -> Book:
        """The instrument's book, best level first."""
        ...

    def index_price(self, underlying: Underlying) -> Decimal:
        """The underlying's index price in USD."""
        ...

    def delivery_price(self, underlying: Underlying, expiry: datetime) -> Decimal | None:
        """The settlement (delivery) price the venue cash-settled `expiry` at, in USD.

        Expired options settle at intrinsic value against this price, published at the
        expiry moment (08:00 UTC); None until it is published (lessons G2). Never a
        guess: a caller without it waits, it does not settle at an index of its own.
        """
        ...

    def exercises(self, since: datetime) -> list[Exercise]:
        """Positions the venue settled at expiry since `since`, each with the exercise fee
        it charged (to book it at settlement, lessons E6), oldest first. A settlement not
        yet processed is simply absent: the caller waits, within its own bound."""
        ...

    # -- orders ----------------------------------------------------------------------
    def place_order(self, request: OrderRequest) -> int:
        """Place a limit order and return the exchange order id (an ack, not a fill).

        Raises OutcomeUnknown when the request may have reached the exchange but the
        answer was lost; the caller resolves it with `get_order(client_order_id=...)`.
        """
        ...

    def cancel_order(self, *, order_id: int | None = None,
                     client_order_id: int | None = None) -> None:
        """Cancel one order; an order already final is not an error."""
        ...

    def get_order(self, *, order_id: int | None = None,
                  client_order_id: int | None = None) -> Order | None:
        """Look one order up, live or final; None when the exchange does not know it."""
        ...

    def open_orders(self, underlying: Underlying | None = None) -> list[Order]:
        """Every working order of the account."""
        ...

    def fills(self, since: datetime) -> list[Fill]:
        """Our executions since `since`, oldest first (for fees and reconciliation)."""
        ...

    # -- account ---------------------------------------------------------------------
    def positions(self) -> list[Position]:
        """Every non-zero option position."""
        ...

    def account(self) -> Account:
        """Equity and margin summary in USD."""
        ...

    # -- RFQ, taker side -------------------------------------------------------------
    def create_rfq(self, legs: Sequence[RfqLeg]) -> Rfq:
        """Ask makers for a quote on a structure (legs carry our sides)."""
        ...

    def rfq_quotes(self, request_id: str) -> list[RfqQuote]:
        """Quotes received on our request (legs carry the makers' sides)."""
        ...

    def accept_quote(self, request_id: str, quote_id: str) -> BlockTrade:
        """Trade a quote. Not idempotent: on OutcomeUnknown look it up with `block_trades`."""
        ...

    def cancel_rfq(self, request_id: str) -> None:
        """Withdraw a request by its id; may raise ExchangeRejected for one already final
        (a taker key cannot look it up to tell)."""
        ...

    def get_rfq(self, request_id: str) -> Rfq | None:
        """The request's current state; None when unknown. Maker keys and diagnostics
        only: a taker-only key raises EndpointNotAvailable (rfqList is HTTP 404), so the
        runner never decides on it."""
        ...

    def block_trades(self, since: datetime) -> list[BlockTrade]:
        """Our block trades since `since` (to resolve an accept whose answer was lost)."""
        ...


@runtime_checkable
class QuoteSource(Protocol):
    """A venue that reads options by symbol (the simulated one): a reader that needs a few
    held legs asks for those, not for their expiries' whole chains (issue 12)."""

    def option_quotes(self, symbols: Iterable[str]) -> list[OptionQuote]:
        """The rows a chain read of their expiries would hold for these options, now;
        an option not listed (expired, unknown) is left out, as a chain leaves it out."""
        ...
