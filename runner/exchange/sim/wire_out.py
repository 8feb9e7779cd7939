"""Domain objects -> Coincall JSON, as the simulated exchange answers on the wire.

Owns the outbound encoding of `sim.server`: field names, shapes and types exactly as
coincall-api.md sections 2 and 6 show them, so a client parsing the documented
examples parses the simulator too. Invariant: nothing here decides anything; each
function maps one domain value to one documented JSON shape.

Deliberate choices (all from coincall-api.md):
- Numbers are JSON numbers where Coincall sends numbers (instruments, chain, detail,
  orders, positions) and strings where it sends strings (orderbook, account summary,
  RFQ and block trades). Decimals become floats through their shortest text, so
  `Decimal("1250.5")` is written `1250.5`; integral values are written as integers
  except strikes in the instrument list and chain (`90000.0` in the docs).
- Order and client order ids are JSON integers; RFQ, quote, block trade ids strings.
- An empty book side is `0` in the chain and detail; a missing last price is 1.797e308.
- Fields the domain does not model are sent with neutral values (0, or the mark IV for
  bid/ask IVs) so every documented key is present.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from runner.domain.clock import to_epoch_ms
from runner.domain.instruments import Instrument, OptionKind, Underlying
from runner.domain.orders import Order, OrderStatus, Side
from runner.domain.rfq import BlockTrade, BlockTradeLeg, QuoteLeg, Rfq, RfqLeg, RfqQuote
from runner.domain.snapshot import Account, Book, OptionQuote, Position
from runner.exchange.sim.venue_records import ConfigRules, HistoryFill, HistoryOrder

NO_LAST_PRICE: Final = 1.797e308
SUCCESS_MSG: Final = "Success"

ORDER_STATE: Final = {
    OrderStatus.PENDING: -1,
    OrderStatus.NEW: 0,
    OrderStatus.FILLED: 1,
    OrderStatus.PARTIALLY_FILLED: 2,
    OrderStatus.CANCELED: 3,
    OrderStatus.CANCELING: 5,
    OrderStatus.REJECTED: 6,
    OrderStatus.CANCELED_BY_EXERCISE: 10,
}
TRADE_TYPE_LIMIT: Final = 1
TRADE_TYPE_POST_ONLY: Final = 3
TRADE_TYPE_BLOCK: Final = 14


def envelope(data: Any, *, code: int = 0, msg: str | None = SUCCESS_MSG) -> dict[str, Any]:
    """The answer every Coincall call is wrapped in."""
    return {"code": code, "msg": msg, "i18nArgs": None, "data": data}


def error_envelope(code: int, msg: str) -> dict[str, Any]:
    return envelope(None, code=code, msg=msg)


# -- scalars ---------------------------------------------------------------------------
def num(value: Decimal | None) -> int | float:
    """A Decimal as a JSON number: integral -> int, otherwise the float of its text."""
    if value is None:
        return 0
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def real(value: Decimal | None) -> float:
    """A Decimal always as a JSON float (`90000.0`)."""
    return 0.0 if value is None else float(value)


def text(value: Decimal | None) -> str:
    """A Decimal as a Coincall numeric string (`"0.5"`, `"1240"`)."""
    if value is None:
        return "0"
    normal = value.normalize()
    if normal == normal.to_integral_value():
        return str(int(normal))
    return format(normal, "f")


def ms(when: datetime | None) -> int:
    return 0 if when is None else to_epoch_ms(when)


def side_code(side: Side) -> int:
    """`tradeSide`: 1 buy, 2 sell."""
    return 1 if side is Side.BUY else 2


def side_word(side: Side) -> str:
    """RFQ leg `side`: "BUY" / "SELL"."""
    return side.value.upper()


def option_type(kind: OptionKind) -> int:
    return 1 if kind is OptionKind.CALL else 2


def display_name(symbol: str) -> str:
    """`BTCUSD-27FEB26-90000-C` -> `BTC-27FEB26-90000-C`."""
    head, _, rest = symbol.partition("-")
    return f"{head.removesuffix('USD')}-{rest}"


def synthetic_id(symbol: str) -> int:
    """A stable numeric id for things the domain does not number (optionId, positionId)."""
    return zlib.crc32(symbol.encode())


# -- market data -----------------------------------------------------------------------
def server_time(now: datetime) -> dict[str, int]:
    return {"serverTime": to_epoch_ms(now)}


def public_config(rules: Mapping[Underlying, ConfigRules]) -> dict[str, Any]:
    """`/open/public/config/v1`: one `optionConfig` entry per index."""
    config = {
        underlying.index_name: {
            "takerFee": text(item.taker_fee_rate), "makerFee": text(item.maker_fee_rate),
            "tickSize": num(item.tick_size), "qtyDecimal": 2, "priceDecimal": 1,
            "multiplier": "0.01", "limitMaxQty": "100", "marketMaxQty": "50",
            "maxPositionQty": "1000", "maxOrderNumber": item.max_open_orders,
            "settle": "USDT", "base": underlying.value,
        }
        for underlying, item in rules.items()
    }
    return {"optionConfig": config}


def instrument(item: Instrument, listed_at: datetime | None = None) -> dict[str, Any]:
    """Instrument list item; `startTimestamp` (live, undocumented) when known."""
    row: dict[str, Any] = {
        "baseCurrency": item.underlying.value,
        "expirationTimestamp": ms(item.expiry),
        "strike": real(item.strike),
        "symbolName": item.symbol,
        "isActive": item.is_active,
        "minQty": num(item.min_qty),
        "tickSize": num(item.tick_size),
    }
    if listed_at is not None:
        row["startTimestamp"] = ms(listed_at)
    return row


def chain(quotes: Iterable[OptionQuote]) -> list[dict[str, Any]]:
    """`/open/option/get/v1/{index}`: one row per strike with its call and put."""
    rows: dict[Decimal, dict[str, Any]] = {}
    for quote in quotes:
        strike = quote.instrument.strike
        row = rows.setdefault(strike, {"strike": real(strike), "callOption": None,
                                       "putOption": None})
        key = "callOption" if quote.instrument.kind is OptionKind.CALL else "putOption"
        row[key] = chain_option(quote)
    return [rows[strike] for strike in sorted(rows)]


def chain_option(quote: OptionQuote) -> dict[str, Any]:
    item = quote.instrument
    greeks = quote.greeks
    iv = quote.mark_iv or 0.0
    index_key = "index" if item.kind is OptionKind.CALL else "underlying"
    return {
        "symbol": item.symbol, "displayName": display_name(item.symbol),
        "optionId": synthetic_id(item.symbol), "type": option_type(item.kind),
        "strike": real(item.strike), "endTime": ms(item.expiry),
        "bid": num(quote.bid), "bidSize": num(quote.bid_size if quote.bid else None),
        "bidIv": iv if quote.bid else 0,
        "ask": num(quote.ask), "askSize": num(quote.ask_size if quote.ask else None),
        "askIv": iv if quote.ask else 0,
        "markPrice": num(quote.mark), "markIv": iv,
        "lastPrice": _last(quote), "lastPriceIv": iv if quote.last is not None else NO_LAST_PRICE,
        "underlyingPrice": num(quote.underlying_price),
        "delta": greeks.delta if greeks else 0, "gamma": greeks.gamma if greeks else 0,
        "vega": greeks.vega if greeks else 0, "theta": greeks.theta if greeks else 0,
        "rho": 0, "volume": 0, "openInterest": 0, "changeRate": 0,
        "breakeven": num(_breakeven(quote)), index_key: item.underlying.index_name,
    }


def option_detail(quote: OptionQuote, index_price: Decimal, now: datetime) -> dict[str, Any]:
    """`/open/option/detail/v1/{symbol}`, with the live `bid`/`ask` keys."""
    item = quote.instrument
    greeks = quote.greeks
    return {
        "symbol": item.symbol, "index": item.underlying.index_name,
        "endTime": ms(item.expiry), "remainTime": max(0, ms(item.expiry) - ms(now)),
        "strike": real(item.strike), "type": option_type(item.kind),
        "bid": num(quote.bid), "ask": num(quote.ask),
        "markPrice": num(quote.mark), "lastPrice": _last(quote), "iv": quote.mark_iv or 0.0,
        "indexPrice": num(index_price), "underlyingPrice": num(quote.underlying_price),
        "delta": greeks.delta if greeks else 0, "gamma": greeks.gamma if greeks else 0,
        "vega": greeks.vega if greeks else 0, "theta": greeks.theta if greeks else 0,
        "rho": 0, "multiplier": 0.01, "openInterest": 0, "volume24h": 0,
        "breakeven": num(_breakeven(quote)),
    }


def _last(quote: OptionQuote) -> int | float:
    return NO_LAST_PRICE if quote.last is None else num(quote.last)


def _breakeven(quote: OptionQuote) -> Decimal | None:
    if quote.mark is None:
        return None
    item = quote.instrument
    return item.strike + quote.mark if item.kind is OptionKind.CALL else item.strike - quote.mark


def orderbook(book: Book, strike: Decimal | None) -> dict[str, Any]:
    """`/open/option/order/orderbook/v1/{symbol}`: strings, best first, no mark."""
    return {
        "optionName": book.symbol,
        "strike": num(strike),
        "bids": [{"price": text(level.price), "size": text(level.size)} for level in book.bids],
        "asks": [{"price": text(level.price), "size": text(level.size)} for level in book.asks],
    }


def futures_symbol(underlying: Underlying, index_price: Decimal) -> dict[str, Any]:
    """`/open/futures/market/symbol/v1?symbol=BTCUSD`: one object, as [RM] reads it."""
    price = text(index_price)
    return {"symbol": underlying.index_name, "indexPrice": price, "markPrice": price,
            "price": price}


def delivery_price(underlying: Underlying, expiry: datetime, price: Decimal) -> dict[str, Any]:
    """`get-delivery-prices/v1` item. Coincall's field names are not documented: the sim
    sends the names the client reads first (`deliveryPrice`, `deliveryTime` in ms)."""
    return {"symbol": underlying.index_name, "deliveryPrice": num(price),
            "deliveryTime": ms(expiry)}


# -- orders ----------------------------------------------------------------------------
def order(item: Order) -> dict[str, Any]:
    """singleQuery: every documented field, `state` as Coincall's number."""
    return {
        "orderId": item.order_id, "clientOrderId": item.client_order_id,
        "symbol": item.symbol, "qty": num(item.qty), "fillQty": num(item.filled_qty),
        "remainQty": num(item.remaining_qty), "price": num(item.price),
        "avgPrice": num(item.avg_price), "tradeSide": side_code(item.side),
        "tradeType": TRADE_TYPE_LIMIT, "reduceOnly": int(item.reduce_only),
        "fee": num(item.fee), "createTime": ms(item.created_at),
        "updateTime": ms(item.updated_at or item.created_at),
        "state": ORDER_STATE[item.status],
    }


def pending_order(item: Order) -> dict[str, Any]:
    """`pending/v1` list item: no `state`, an `initMargin`."""
    row = order(item)
    for key in ("state", "fee", "updateTime"):
        del row[key]
    row["initMargin"] = 0
    return row


def history_order(item: HistoryOrder) -> dict[str, Any]:
    """`order/history/v1` list item: with `rpnl`, without `remainQty`."""
    row = order(item.order)
    for key in ("remainQty", "updateTime"):
        del row[key]
    row["tradeType"] = item.trade_type
    row["rpnl"] = num(item.realized_pnl)
    return row


def page(items: Sequence[dict[str, Any]], page_no: int, page_size: int) -> dict[str, Any]:
    """`{list, pageTotal, total}` of the pending-orders call."""
    start = (page_no - 1) * page_size
    total_pages = (len(items) + page_size - 1) // page_size
    return {"list": list(items[start:start + page_size]), "pageTotal": total_pages,
            "total": len(items)}


def cursor_page(items: list[dict[str, Any]], *, has_next: bool) -> dict[str, Any]:
    return {"list": items, "hasNext": has_next, "hasPre": False}


def fill(item: HistoryFill) -> dict[str, Any]:
    """`trade/history/v1` list item."""
    done = item.fill
    return {
        "tradeId": done.trade_id, "orderId": done.order_id, "symbol": done.symbol,
        "tradeSide": side_code(done.side), "tradeType": item.trade_type,
        "price": num(done.price), "qty": num(done.qty), "fee": num(done.fee),
        "iv": item.iv, "markPrice": num(item.mark), "indexPrice": num(item.index),
        "time": ms(done.at), "reduceOnly": int(done.reduce_only),
        "isTaker": int(done.is_taker),
    }


# -- account ---------------------------------------------------------------------------
def position(item: Position, index_price: Decimal | None,
             realized: Decimal | None = None) -> dict[str, Any]:
    """Positions: unsigned `qty`, direction in `tradeSide` (1 long, 2 short)."""
    qty = abs(item.qty)
    greeks = item.greeks
    value = (item.mark_price or Decimal(0)) * qty
    cost = item.avg_price * qty
    roi = float(item.unrealized_pnl / cost) if cost else 0.0
    base, _, _ = item.symbol.partition("USD")
    return {
        "positionId": synthetic_id(item.symbol), "symbol": item.symbol,
        "displayName": display_name(item.symbol), "qty": num(qty),
        "tradeSide": 1 if item.qty > 0 else 2, "avgPrice": num(item.avg_price),
        "markPrice": num(item.mark_price), "indexPrice": num(index_price),
        "lastPrice": num(item.mark_price), "value": num(value),
        "upnl": num(item.unrealized_pnl), "roi": roi,
        "upnlByMarkPrice": num(item.unrealized_pnl), "roiByMarkPrice": roi,
        "rspl": num(realized), "initMargin": 0, "maintMargin": 0, "lockQty": 0,
        "delta": greeks.delta if greeks else 0, "gamma": greeks.gamma if greeks else 0,
        "vega": greeks.vega if greeks else 0, "theta": greeks.theta if greeks else 0,
        "rho": 0, "baseToken": base, "quoteToken": "USDT",
    }


def account_summary(item: Account) -> dict[str, Any]:
    """`/open/account/summary/v1`: top-level strings plus the USDT `accounts` entry."""
    equity = item.equity
    im_ratio = item.initial_margin / equity if equity > 0 else Decimal(0)
    mm_ratio = item.maintenance_margin / equity if equity > 0 else Decimal(0)
    margin_balance = equity
    return {
        "equity": text(equity), "availableMargin": text(item.available_margin),
        "imAmount": text(item.initial_margin), "mmAmount": text(item.maintenance_margin),
        "imRatio": text(round(im_ratio, 4)), "mmRatio": text(round(mm_ratio, 4)),
        "marginBalance": text(margin_balance), "unrealizedPnL": text(item.unrealized_pnl),
        "totalDollarValue": text(equity), "totalUsdtValue": text(equity), "totalBtcValue": "0",
        "accounts": [{
            "coin": "USDT", "equityAmount": text(equity),
            "availableBalance": text(item.available_margin),
            "marginBalance": text(margin_balance), "unrealizedAmount": text(item.unrealized_pnl),
            "imAmount": text(item.initial_margin), "mmAmount": text(item.maintenance_margin),
            "marginMode": 2, "usdtValue": text(equity),
        }],
    }


# -- RFQ -------------------------------------------------------------------------------
def rfq_created(item: Rfq) -> dict[str, Any]:
    """`request/create/v1`: request legs use `qty`."""
    return {
        "requestId": item.request_id, "createTime": ms(item.created_at),
        "expiryTime": ms(item.expires_at), "state": rfq_state(item),
        "legs": [{"instrumentName": leg.symbol, "qty": text(leg.qty),
                  "side": side_word(leg.side)} for leg in item.legs],
    }


def rfq_listed(item: Rfq, now: datetime) -> dict[str, Any]:
    """`rfqList/v1` item: legs use `quantity`."""
    return {
        "requestId": item.request_id, "state": rfq_state(item), "role": "TAKER",
        "createTime": ms(item.created_at), "expiryTime": ms(item.expires_at),
        "updateTime": ms(now) if item.state.is_final else ms(item.created_at),
        "legs": [_rfq_leg(leg) for leg in item.legs],
    }


def _rfq_leg(leg: RfqLeg) -> dict[str, str]:
    return {"instrumentName": leg.symbol, "side": side_word(leg.side),
            "quantity": text(leg.qty)}


def rfq_state(item: Rfq) -> str:
    return item.state.value.upper()


def quote(item: RfqQuote, *, user_id: int, created_at: datetime) -> dict[str, Any]:
    """`getQuotesReceived/v1` item: legs carry the maker's side."""
    return {
        "quoteId": item.quote_id, "requestId": item.request_id, "userId": user_id,
        "state": item.state.value.upper(), "createTime": ms(created_at),
        "updateTime": ms(created_at), "expiryTime": ms(item.expires_at),
        "legs": [_quote_leg(leg) for leg in item.legs],
    }


def _quote_leg(leg: QuoteLeg) -> dict[str, str]:
    return {"instrumentName": leg.symbol, "side": side_word(leg.maker_side),
            "price": text(leg.price), "quantity": text(leg.qty)}


def block_trade(item: BlockTrade) -> dict[str, Any]:
    """`request/accept/v1`: legs carry our (the taker's) side."""
    return {
        "blockTradeId": item.block_trade_id, "requestId": item.request_id,
        "quoteId": item.quote_id, "role": "TAKER",
        "legs": [_trade_leg(leg, item.at) for leg in item.legs],
    }


def _trade_leg(leg: BlockTradeLeg, at: datetime | None) -> dict[str, Any]:
    return {
        "instrumentName": leg.symbol, "side": side_word(leg.side), "price": text(leg.price),
        "quantity": text(leg.qty), "fee": text(leg.fee), "iv": "0", "markPrice": "0",
        "indexPrice": "0", "orderId": str(leg.order_id or 0), "tradeId": str(leg.trade_id or 0),
        "createTime": ms(at),
    }


def block_trade_detail(item: BlockTrade) -> dict[str, Any]:
    """`trade-detail/private/v1` item; strategy price = our net cost per unit of leg 1."""
    first = item.legs[0] if item.legs else None
    unit = first.qty if first and first.qty else Decimal(1)
    net = sum((leg.side.sign * leg.price * leg.qty for leg in item.legs), Decimal(0))
    return {
        **block_trade(item),
        "tradeSide": side_code(first.side) if first else 1,
        "strategyPrice": text(net / unit), "strategyQuantity": text(unit),
        "createTime": ms(item.at),
    }
