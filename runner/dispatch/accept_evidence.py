"""Whether the account's positions show an RFQ accept that the block-trade list does not.

An accept whose answer was lost is resolved from trade-detail first (`dispatch.rfqs`).
Positions are the second witness: when every leg of the request stands on the account
beyond what the store's active trades hold, by at least the leg's quantity and in the
direction the accept would have traded, the accept probably happened and the list lags
or missed it. Settling "not traded" then would let the executor fall back and trade the
structure a second time, so the dispatcher keeps waiting instead (until the request's
expiry). The check is one-sided on purpose: a position left over from elsewhere only
delays the settling, and a missed block trade that moved no position cannot double a
trade.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from runner.domain.rfq import RfqLeg
from runner.domain.snapshot import Position
from runner.domain.trades import Trade

_ZERO = Decimal(0)


def positions_show_the_legs(legs: Sequence[RfqLeg], positions: Iterable[Position],
                            trades: Iterable[Trade]) -> bool:
    """True when every leg has moved the account by its quantity beyond the store's view."""
    found: dict[str, Decimal] = {}
    for position in positions:
        found[position.symbol] = found.get(position.symbol, _ZERO) + position.qty
    held: dict[str, Decimal] = {}
    for trade in trades:
        for leg in trade.legs:
            held[leg.symbol] = held.get(leg.symbol, _ZERO) + leg.open_qty * leg.side.sign
    return bool(legs) and all(
        (found.get(leg.symbol, _ZERO) - held.get(leg.symbol, _ZERO)) * leg.side.sign >= leg.qty
        for leg in legs)
