"""Greeks of a trade's legs: what `structure_delta_limit` and `leg_greek_limit` measure.

The exchange keeps one net position per symbol, so several trades (of this strategy or
another) may share it. A leg's greek is therefore, in this order:
1. the exchange's position greek pro-rated by our share of the position,
   share = min(our open qty / |position qty|, 1) (old-system b.2; the old leg greek limit
   used the whole position, which closed a trade because of another's size), when the
   positions were read, the position exists, carries greeks and points the same way as
   our leg (a position of the opposite sign is net of someone else's trade: pro-rating it
   would flip our sign);
2. otherwise the chain quote's greek (per coin) x our signed open qty. This covers a
   position not yet visible, a netted position, and a tick whose positions read failed:
   the estimate needs no account data, so a failed read does not blind the delta exits.
3. otherwise None: the rule that needs it is skipped this tick (lessons E1).
"""

from __future__ import annotations

from dataclasses import dataclass

from runner.domain.snapshot import Greeks, MarketSnapshot
from runner.domain.trades import Trade, TradeLeg
from runner.spec.model import Greek


@dataclass(frozen=True, slots=True)
class GreekReading:
    value: float  # signed, for our open quantity
    source: str  # "position" (pro-rated exchange position) or "quote" (chain greek x qty)


def _greek(greeks: Greeks, greek: Greek) -> float:
    return float(getattr(greeks, greek.value))


def leg_greek(leg: TradeLeg, snapshot: MarketSnapshot, greek: Greek) -> GreekReading | None:
    """One leg's greek for the quantity this trade holds."""
    held = leg.open_qty
    if held == 0:
        return GreekReading(0.0, "flat")
    if snapshot.positions is not None:
        position = snapshot.position(leg.symbol)
        same_way = position is not None and position.qty * leg.side.sign > 0
        if position is not None and position.greeks is not None and same_way:
            share = min(held / abs(position.qty), 1)
            return GreekReading(_greek(position.greeks, greek) * float(share), "position")
    quote = snapshot.quote(leg.symbol)
    if quote is None or quote.greeks is None:
        return None
    return GreekReading(_greek(quote.greeks, greek) * float(held) * leg.side.sign, "quote")


def structure_greek(trade: Trade, snapshot: MarketSnapshot,
                    greek: Greek = Greek.DELTA) -> float | None:
    """Sum of the legs' greeks; None when any held leg's greek is unknown."""
    total = 0.0
    for leg in trade.legs:
        reading = leg_greek(leg, snapshot, greek)
        if reading is None:
            return None
        total += reading.value
    return total
