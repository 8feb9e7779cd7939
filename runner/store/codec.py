"""Column encodings: aware UTC datetimes as sortable ISO text, Decimals as text.

One place decides how a value is written so that every query compares like with like
(`created_at >= '2026-03-02T00:00:00.000000+00:00'` works because every time has the
same shape).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from runner.domain.clock import ensure_utc
from runner.domain.orders import Side
from runner.domain.rfq import BlockTrade, BlockTradeLeg, RfqLeg


def time_text(when: datetime) -> str:
    return ensure_utc(when).isoformat(timespec="microseconds")


def opt_time_text(when: datetime | None) -> str | None:
    return None if when is None else time_text(when)


def time_value(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).astimezone(UTC)


def must_time(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def dec_text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def dec_value(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def must_dec(text: str) -> Decimal:
    return Decimal(text)


def rfq_legs_text(legs: tuple[RfqLeg, ...]) -> str:
    return json.dumps([{"symbol": leg.symbol, "side": leg.side.value, "qty": str(leg.qty)}
                       for leg in legs])


def rfq_legs_value(text: str) -> tuple[RfqLeg, ...]:
    return tuple(RfqLeg(item["symbol"], Side(item["side"]), Decimal(item["qty"]))
                 for item in json.loads(text))


def block_trade_text(trade: BlockTrade | None) -> str | None:
    if trade is None:
        return None
    legs = [{"symbol": leg.symbol, "side": leg.side.value, "price": str(leg.price),
             "qty": str(leg.qty), "fee": str(leg.fee), "order_id": leg.order_id,
             "trade_id": leg.trade_id} for leg in trade.legs]
    return json.dumps({"block_trade_id": trade.block_trade_id, "request_id": trade.request_id,
                       "quote_id": trade.quote_id, "at": opt_time_text(trade.at), "legs": legs})


def block_trade_value(text: str | None) -> BlockTrade | None:
    if text is None:
        return None
    data = json.loads(text)
    legs = tuple(BlockTradeLeg(leg["symbol"], Side(leg["side"]), Decimal(leg["price"]),
                               Decimal(leg["qty"]), Decimal(leg["fee"]), leg["order_id"],
                               leg["trade_id"]) for leg in data["legs"])
    return BlockTrade(data["block_trade_id"], data["request_id"], data["quote_id"], legs,
                      time_value(data["at"]))


def column_value(value: object) -> object:
    """Encode a Python value for a column: times and Decimals as text, bools as 0/1."""
    if isinstance(value, datetime):
        return time_text(value)
    if isinstance(value, bool):
        return int(value)
    if value is None or isinstance(value, int | str):
        return value
    return str(value)
