"""Small helpers for the simulated-venue tests: picking options, placing orders."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from itertools import count

from runner.domain.instruments import OptionKind, Underlying
from runner.domain.orders import OrderRequest, Side, TimeInForce
from runner.domain.snapshot import OptionQuote
from runner.sim.venue import SimVenue

_client_ids = count(1000)


def expiry(venue: SimVenue, position: int = 0, underlying: Underlying = Underlying.BTC
           ) -> datetime:
    """The listed expiry at `position` (0 = soonest)."""
    return sorted({q.instrument.expiry for q in venue.option_chain(underlying)})[position]


def near_money(venue: SimVenue, kind: OptionKind, *, position: int = 1,
               underlying: Underlying = Underlying.BTC, offset: int = 0) -> OptionQuote:
    """The option of `kind` whose strike is closest to the index (shifted by `offset` strikes)."""
    quotes = [q for q in venue.option_chain(underlying, expiry(venue, position, underlying))
              if q.instrument.kind is kind]
    index = venue.index_price(underlying)
    closest = min(range(len(quotes)), key=lambda i: abs(quotes[i].instrument.strike - index))
    return quotes[closest + offset]


def order(symbol: str, side: Side, qty: str, price: Decimal | str, *,
          reduce_only: bool = False, post_only: bool = False,
          tif: TimeInForce = TimeInForce.GTC, client_order_id: int | None = None
          ) -> OrderRequest:
    return OrderRequest(symbol=symbol, side=side, qty=Decimal(qty), price=Decimal(price),
                        client_order_id=client_order_id or next(_client_ids),
                        reduce_only=reduce_only, post_only=post_only, time_in_force=tif)
