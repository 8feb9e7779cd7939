"""Trades and their legs in words, for transition reasons and alerts an operator reads."""

from __future__ import annotations

from runner.domain.trades import Trade, TradeLeg


def trade_leg(trade: Trade, index: int) -> TradeLeg:
    return next(leg for leg in trade.legs if leg.index == index)


def fills_text(trade: Trade, *, opening: bool) -> str:
    parts = []
    for leg in trade.legs:
        qty, price = (leg.filled_qty, leg.entry_price) if opening else \
            (leg.closed_qty, leg.exit_price)
        parts.append(f"{leg.side.value if opening else leg.close_side.value} {qty}"
                     f" {leg.symbol} @ {price}")
    return "; ".join(parts)


def held_text(trade: Trade) -> str:
    held = [f"leg {leg.index} {leg.open_qty} {leg.symbol}" for leg in trade.legs
            if leg.open_qty > 0]
    return ", ".join(held) or "nothing"
