"""Booking a trade whose options expired: cash settled at intrinsic value (lessons G1, G2).

Coincall settles at 08:00 UTC against its delivery price; the snapshot's index price at
or after the expiry moment stands in for it. No close order is ever sent for an expired
leg. Without an index price the trade is left as it is and settled on a later tick: a
missing price never turns into a settlement at 0.
"""

from __future__ import annotations

from datetime import datetime

from runner.domain.instruments import parse_symbol
from runner.domain.snapshot import MarketSnapshot
from runner.domain.trades import Trade, TradeStage


def settle_trade(trade: Trade, snapshot: MarketSnapshot, now: datetime) -> Trade:
    """Close every expired leg at intrinsic value; CLOSED once nothing is held."""
    for leg in trade.legs:
        parts = parse_symbol(leg.symbol)
        if leg.open_qty == 0 or now < parts.expiry:
            continue
        index = snapshot.index_price(parts.underlying)
        if index is None:
            return trade
        intrinsic = (max(index - parts.strike, 0) if parts.kind.letter == "C"
                     else max(parts.strike - index, 0))
        trade = trade.with_leg(leg.with_close_fill(leg.open_qty, intrinsic))
    if not trade.is_flat:
        return trade
    if trade.stage is TradeStage.OPEN:
        trade = trade.moved_to(TradeStage.PENDING_CLOSE, "expiry: options expired", now)
    return trade.moved_to(TradeStage.CLOSED, "expiry: settled at intrinsic value", now)
