"""RFQ (block trade, taker side) requests and answers -> domain.

Side conventions (coincall-api.md 6.4, pitfalls 4, 5, 17): request legs carry *our*
side and are sent with `qty` as a string; quote legs carry the *maker's* side and a
`quantity`; accept results and block-trade details carry *our* side again. Every RFQ
number is a string on the wire and ids may be numbers or strings: ids stay strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Final

from runner.domain.orders import Side
from runner.domain.rfq import (
    BlockTrade,
    BlockTradeLeg,
    QuoteLeg,
    QuoteState,
    Rfq,
    RfqLeg,
    RfqQuote,
    RfqState,
)
from runner.exchange.coincall import endpoints
from runner.exchange.coincall.wire.fields import Fields, items, listing

_RFQ_STATES: Final = {"ACTIVE": RfqState.ACTIVE, "OPEN": RfqState.ACTIVE,
                      "CANCELLED": RfqState.CANCELLED, "CANCELED": RfqState.CANCELLED,
                      "FILLED": RfqState.FILLED, "EXPIRED": RfqState.EXPIRED,
                      "TRADED_AWAY": RfqState.TRADED_AWAY}
_QUOTE_STATES: Final = {"OPEN": QuoteState.OPEN, "ACTIVE": QuoteState.OPEN,
                        "CANCELLED": QuoteState.CANCELLED, "CANCELED": QuoteState.CANCELLED,
                        "FILLED": QuoteState.FILLED, "EXPIRED": QuoteState.EXPIRED}
_SIDE_TEXT: Final = {Side.BUY: "BUY", Side.SELL: "SELL"}


def qty_text(qty: Decimal) -> str:
    """A positive quantity as the plain decimal string RFQ bodies carry ("0.5")."""
    if not qty.is_finite() or qty <= 0:
        raise ValueError(f"an RFQ leg needs a positive quantity, got {qty}")
    return format(qty.normalize(), "f")


def create_body(legs: Sequence[RfqLeg]) -> dict[str, object]:
    """The JSON body of the request-create call (legs with our side and `qty` strings)."""
    if not legs:
        raise ValueError("an RFQ needs at least one leg")
    return {"legs": [{"instrumentName": leg.symbol, "side": _SIDE_TEXT[leg.side],
                      "qty": qty_text(leg.qty)} for leg in legs]}


def rfq(data: object, endpoint: str = endpoints.RFQ_CREATE.name) -> Rfq:
    """A request as answered by create or listed by rfqList."""
    return _rfq(Fields(data, endpoint))


def rfq_list(data: object) -> list[Rfq]:
    """The requests of an rfqList answer (`{rfqList: [...]}` or a bare list)."""
    name = endpoints.RFQ_LIST.name
    rows, _ = listing(data, name, key="rfqList")
    return [_rfq(row) for row in rows]


def _rfq(row: Fields) -> Rfq:
    legs = tuple(RfqLeg(leg.text("instrumentName"), leg.text_side(), _leg_qty(leg))
                 for leg in row.children("legs"))
    return Rfq(request_id=row.text("requestId"), state=_rfq_state(row),
               legs=legs, created_at=row.time("createTime"), expires_at=row.time("expiryTime"))


def quotes(data: object, request_id: str) -> list[RfqQuote]:
    """Quotes received on one request; legs keep the maker's side."""
    if data is None:
        return []
    rows, _ = listing(data, endpoints.RFQ_QUOTES.name)
    return [_quote(row, request_id) for row in rows]


def _quote(row: Fields, request_id: str) -> RfqQuote:
    legs = tuple(QuoteLeg(leg.text("instrumentName"), leg.text_side(), leg.decimal("price"),
                          _leg_qty(leg)) for leg in row.children("legs"))
    answered_for = row.text("requestId") if row.has("requestId") else request_id
    return RfqQuote(quote_id=row.text("quoteId"), request_id=answered_for,
                    state=_quote_state(row), legs=legs,
                    expires_at=row.time("expiryTime"))


def accept_body(request_id: str, quote_id: str) -> dict[str, object]:
    """Ids as digit strings, in JSON or FORM alike (why: `coincall.rfq_bodies`)."""
    return {"requestId": str(request_id), "quoteId": str(quote_id)}


def cancel_body(request_id: str) -> dict[str, object]:
    return {"requestId": str(request_id)}


def block_trade(data: object, endpoint: str = endpoints.RFQ_ACCEPT.name) -> BlockTrade:
    """An accept result or a trade-detail row; legs carry our side."""
    return _block_trade(Fields(data, endpoint))


def block_trades(data: object) -> tuple[list[BlockTrade], bool]:
    """One page of trade-detail rows and whether more follow."""
    rows, has_next = listing(data, endpoints.BLOCK_TRADES.name)
    return [_block_trade(row) for row in rows], has_next


def _block_trade(row: Fields) -> BlockTrade:
    legs = tuple(_block_leg(leg) for leg in row.children("legs"))
    at = row.optional_time("createTime") or _first_leg_time(row)
    return BlockTrade(block_trade_id=row.text("blockTradeId"), request_id=row.text("requestId"),
                      quote_id=row.text("quoteId"), legs=legs, at=at)


def _block_leg(leg: Fields) -> BlockTradeLeg:
    return BlockTradeLeg(symbol=leg.text("instrumentName"), side=leg.text_side(),
                         price=leg.decimal("price"), qty=_leg_qty(leg),
                         fee=leg.optional_decimal("fee", Decimal(0)) or Decimal(0),
                         order_id=leg.optional_integer("orderId"),
                         trade_id=leg.optional_integer("tradeId"))


def _first_leg_time(row: Fields) -> datetime | None:
    for leg in items(row.raw("legs"), row.endpoint, f"{row.where}.legs"):
        at = leg.optional_time("createTime")
        if at is not None:
            return at
    return None


def _leg_qty(leg: Fields) -> Decimal:
    return leg.decimal("quantity") if leg.has("quantity") else leg.decimal("qty")


def _rfq_state(row: Fields) -> RfqState:
    value = row.text("state").upper()
    if value not in _RFQ_STATES:
        raise row.bad("state", f"is not a known RFQ state ({value!r})")
    return _RFQ_STATES[value]


def _quote_state(row: Fields) -> QuoteState:
    value = row.text("state").upper()
    if value not in _QUOTE_STATES:
        raise row.bad("state", f"is not a known quote state ({value!r})")
    return _QUOTE_STATES[value]
