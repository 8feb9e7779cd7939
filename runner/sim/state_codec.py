"""JSON-safe encoding of the simulated venue's records (orders, fills, RFQs, settlements).

Owns the one mapping between the venue's in-memory records and plain JSON values, both
ways. Invariant: `decode_x(encode_x(r)) == r` for every record kind, exactly: Decimals
travel as strings (never floats, so 0.1 stays 0.1), datetimes as ISO 8601 with their UTC
offset and microseconds, enums as their values, floats (IV, index-path offsets) as JSON
numbers (Python writes the shortest repr that reads back to the same float).

Instruments travel as their symbol; the decoder is handed a lookup that returns the
venue's own `Instrument` (tick, lot and minimum come from the listing, not the file).
A value of the wrong shape raises `KeyError`, `TypeError` or `ValueError`; the loader
treats any of them as an unreadable file.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from runner.domain.instruments import Instrument, Underlying
from runner.domain.orders import Fill, OrderStatus, Side, TimeInForce
from runner.domain.rfq import (
    BlockTrade,
    BlockTradeLeg,
    QuoteLeg,
    QuoteState,
    RfqLeg,
    RfqState,
)
from runner.sim.accounting import PositionState
from runner.sim.makers import SimQuote, SimRfq
from runner.sim.records import ExerciseRecord, SimFill, SimOrder
from runner.sim.settlement import DeliveryPrice

Json = dict[str, Any]
InstrumentOf = Callable[[str], Instrument]


# -- scalars -----------------------------------------------------------------------
def dec(value: Decimal) -> str:
    return str(value)


def to_dec(value: object) -> Decimal:
    if not isinstance(value, str):
        raise TypeError(f"a decimal must be a string, got {value!r}")
    return Decimal(value)


def when(value: datetime) -> str:
    return value.isoformat()


def to_when(value: object) -> datetime:
    if not isinstance(value, str):
        raise TypeError(f"a time must be an ISO string, got {value!r}")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"naive time {value!r} in the saved venue")
    return parsed


def _maybe_when(value: object) -> datetime | None:
    return None if value is None else to_when(value)


def _int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def _maybe_int(value: object) -> int | None:
    return None if value is None else _int(value)


# -- account -------------------------------------------------------------------------
def encode_position(state: PositionState) -> Json:
    return {"symbol": state.instrument.symbol, "qty": dec(state.qty),
            "avg_price": dec(state.avg_price), "realized_pnl": dec(state.realized_pnl),
            "fees": dec(state.fees)}


def decode_position(data: Json, instrument_of: InstrumentOf) -> PositionState:
    return PositionState(instrument_of(data["symbol"]), to_dec(data["qty"]),
                         to_dec(data["avg_price"]), to_dec(data["realized_pnl"]),
                         to_dec(data["fees"]))


# -- orders and fills ------------------------------------------------------------------
def encode_fill(record: SimFill) -> Json:
    fill = record.fill
    return {"trade_id": fill.trade_id, "order_id": fill.order_id, "symbol": fill.symbol,
            "side": fill.side.value, "qty": dec(fill.qty), "price": dec(fill.price),
            "fee": dec(fill.fee), "at": when(fill.at), "is_taker": fill.is_taker,
            "reduce_only": fill.reduce_only, "trade_type": record.trade_type,
            "iv": record.iv, "mark": dec(record.mark), "index": dec(record.index),
            "reported_at": when(record.reported_at)}


def decode_fill(data: Json) -> SimFill:
    fill = Fill(trade_id=_int(data["trade_id"]), order_id=_int(data["order_id"]),
                symbol=str(data["symbol"]), side=Side(data["side"]), qty=to_dec(data["qty"]),
                price=to_dec(data["price"]), fee=to_dec(data["fee"]), at=to_when(data["at"]),
                is_taker=bool(data["is_taker"]), reduce_only=bool(data["reduce_only"]))
    return SimFill(fill, _int(data["trade_type"]), float(data["iv"]), to_dec(data["mark"]),
                   to_dec(data["index"]), to_when(data["reported_at"]))


def encode_order(order: SimOrder) -> Json:
    """An order without its fills (they are saved once, in the venue's fill list)."""
    return {"order_id": order.order_id, "client_order_id": order.client_order_id,
            "symbol": order.symbol, "side": order.side.value, "qty": dec(order.qty),
            "price": dec(order.price), "reduce_only": order.reduce_only,
            "time_in_force": order.time_in_force.value, "trade_type": order.trade_type,
            "created_at": when(order.created_at), "updated_at": when(order.updated_at),
            "status": order.status.value, "filled_qty": dec(order.filled_qty),
            "filled_value": dec(order.filled_value), "fee": dec(order.fee),
            "realized_pnl": dec(order.realized_pnl)}


def decode_order(data: Json, instrument_of: InstrumentOf, fills: list[SimFill]) -> SimOrder:
    return SimOrder(
        order_id=_int(data["order_id"]), client_order_id=_maybe_int(data["client_order_id"]),
        instrument=instrument_of(data["symbol"]), side=Side(data["side"]),
        qty=to_dec(data["qty"]), price=to_dec(data["price"]),
        reduce_only=bool(data["reduce_only"]), time_in_force=TimeInForce(data["time_in_force"]),
        trade_type=_int(data["trade_type"]), created_at=to_when(data["created_at"]),
        updated_at=to_when(data["updated_at"]), status=OrderStatus(data["status"]),
        filled_qty=to_dec(data["filled_qty"]), filled_value=to_dec(data["filled_value"]),
        fee=to_dec(data["fee"]), realized_pnl=to_dec(data["realized_pnl"]), fills=fills)


# -- RFQs ------------------------------------------------------------------------------
def _encode_quote(quote: SimQuote) -> Json:
    return {"quote_id": quote.quote_id, "maker": quote.maker,
            "legs": [{"symbol": leg.symbol, "maker_side": leg.maker_side.value,
                      "price": dec(leg.price), "qty": dec(leg.qty)} for leg in quote.legs],
            "created_at": when(quote.created_at), "expires_at": when(quote.expires_at),
            "state": quote.state.value}


def _decode_quote(data: Json, request_id: str) -> SimQuote:
    legs = tuple(QuoteLeg(str(leg["symbol"]), Side(leg["maker_side"]), to_dec(leg["price"]),
                          to_dec(leg["qty"])) for leg in data["legs"])
    return SimQuote(str(data["quote_id"]), request_id, _int(data["maker"]), legs,
                    to_when(data["created_at"]), to_when(data["expires_at"]),
                    QuoteState(data["state"]))


def encode_rfq(request: SimRfq) -> Json:
    return {"request_id": request.request_id,
            "legs": [{"symbol": leg.symbol, "side": leg.side.value, "qty": dec(leg.qty)}
                     for leg in request.legs],
            "created_at": when(request.created_at), "expires_at": when(request.expires_at),
            "first_quotes": [when(moment) for moment in request.first_quotes],
            "state": request.state.value,
            "updated_at": None if request.updated_at is None else when(request.updated_at),
            "rounds_done": list(request.rounds_done),
            "quotes": [_encode_quote(quote) for quote in request.quotes]}


def decode_rfq(data: Json) -> SimRfq:
    request_id = str(data["request_id"])
    legs = tuple(RfqLeg(str(leg["symbol"]), Side(leg["side"]), to_dec(leg["qty"]))
                 for leg in data["legs"])
    return SimRfq(request_id, legs, to_when(data["created_at"]), to_when(data["expires_at"]),
                  [to_when(moment) for moment in data["first_quotes"]],
                  RfqState(data["state"]), _maybe_when(data["updated_at"]),
                  [_int(done) for done in data["rounds_done"]],
                  [_decode_quote(quote, request_id) for quote in data["quotes"]])


def encode_block_trade(trade: BlockTrade) -> Json:
    return {"block_trade_id": trade.block_trade_id, "request_id": trade.request_id,
            "quote_id": trade.quote_id, "at": None if trade.at is None else when(trade.at),
            "legs": [{"symbol": leg.symbol, "side": leg.side.value, "price": dec(leg.price),
                      "qty": dec(leg.qty), "fee": dec(leg.fee), "order_id": leg.order_id,
                      "trade_id": leg.trade_id} for leg in trade.legs]}


def decode_block_trade(data: Json) -> BlockTrade:
    legs = tuple(BlockTradeLeg(str(leg["symbol"]), Side(leg["side"]), to_dec(leg["price"]),
                               to_dec(leg["qty"]), to_dec(leg["fee"]),
                               _maybe_int(leg["order_id"]), _maybe_int(leg["trade_id"]))
                 for leg in data["legs"])
    return BlockTrade(str(data["block_trade_id"]), str(data["request_id"]),
                      str(data["quote_id"]), legs, _maybe_when(data["at"]))


# -- settlement ---------------------------------------------------------------------------
def encode_exercise(record: ExerciseRecord) -> Json:
    return {"symbol": record.symbol, "at": when(record.at), "qty": dec(record.qty),
            "strike": dec(record.strike), "settlement_price": dec(record.settlement_price),
            "intrinsic_value": dec(record.intrinsic_value),
            "net_cash_flow": dec(record.net_cash_flow), "fee": dec(record.fee),
            "realized_pnl": dec(record.realized_pnl)}


def decode_exercise(data: Json) -> ExerciseRecord:
    return ExerciseRecord(
        symbol=str(data["symbol"]), at=to_when(data["at"]), qty=to_dec(data["qty"]),
        strike=to_dec(data["strike"]), settlement_price=to_dec(data["settlement_price"]),
        intrinsic_value=to_dec(data["intrinsic_value"]),
        net_cash_flow=to_dec(data["net_cash_flow"]), fee=to_dec(data["fee"]),
        realized_pnl=to_dec(data["realized_pnl"]))


def encode_delivery(delivery: DeliveryPrice) -> Json:
    return {"underlying": delivery.underlying.value, "expiry": when(delivery.expiry),
            "price": dec(delivery.price)}


def decode_delivery(data: Json) -> DeliveryPrice:
    return DeliveryPrice(Underlying(data["underlying"]), to_when(data["expiry"]),
                         to_dec(data["price"]))
