"""Domain objects -> Coincall JSON, as the simulated exchange answers on the wire.

Owns the outbound encoding of `sim.server` for orders, account and RFQ calls, and the
scalars every encoder shares; market data is in `wire_out_market`. Field names, shapes
and JSON types are those of the docs' answer examples (docs/exchange-evidence.md, checked
by tests/exchange/contract), so a client parsing the documented examples parses the
simulator too. Invariant: nothing here decides anything; each function maps one domain
value to one documented JSON shape.

Deliberate choices (from the evidence file):
- Numbers are JSON numbers where Coincall sends numbers (orders, fills, positions,
  account totals) and strings where it sends strings (account amounts, RFQ and block
  trades). Decimals become floats through their shortest text, so `Decimal("1250.5")` is
  written `1250.5`; integral values are written as integers.
- Order and client order ids are JSON integers; RFQ, quote, block trade ids strings.
- Fields the domain does not model are sent with neutral values (0, or null where the
  docs show null) so every documented key is present.
"""

from __future__ import annotations

import sys
import zlib
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from runner.domain.clock import to_epoch_ms
from runner.domain.instruments import OptionKind
from runner.domain.orders import Order, Side
from runner.domain.rfq import BlockTrade, BlockTradeLeg, QuoteLeg, Rfq, RfqLeg, RfqQuote
from runner.domain.snapshot import Account, Position
from runner.sim.records import (  # the Coincall codes, defined once (coincall-api.md 5)
    COINCALL_STATE,
    TRADE_TYPE_LIMIT,
)
from runner.sim.venue_records import HistoryFill, HistoryOrder

NO_LAST_PRICE: Final = sys.float_info.max  # 1.7976931348623157E308 in the docs
SIM_USER_ID: Final = 1695796692726153
SUCCESS_MSG: Final = "Success"


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


# -- orders ----------------------------------------------------------------------------
def order(item: Order) -> dict[str, Any]:
    """singleQuery: every documented field, `state` as Coincall's number."""
    return {
        "orderId": item.order_id, "clientOrderId": item.client_order_id,
        "symbol": item.symbol, "displayName": display_name(item.symbol),
        "qty": num(item.qty), "fillQty": num(item.filled_qty),
        "remainQty": num(item.remaining_qty), "price": num(item.price),
        "avgPrice": num(item.avg_price), "tradeSide": side_code(item.side),
        "tradeType": TRADE_TYPE_LIMIT, "reduceOnly": int(item.reduce_only),
        "fee": num(item.fee), "createTime": ms(item.created_at),
        "updateTime": ms(item.updated_at or item.created_at),
        "mmp": False, "state": COINCALL_STATE[item.status],
    }


def pending_order(item: Order) -> dict[str, Any]:
    """`pending/v1` list item: no `state`, `fee`, `mmp`; with `id`, `initMargin`,
    `indexPrice`."""
    row = order(item)
    for key in ("state", "fee", "updateTime", "mmp"):
        del row[key]
    return {"id": item.order_id, **row, "initMargin": 0, "indexPrice": 0}


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


def cursor_page(items: list[dict[str, Any]], *, has_next: bool,
                has_prev: bool = False) -> dict[str, Any]:
    """`{list, hasNext, hasPre}` of the order and trade histories (`hasPre` sic)."""
    return {"list": items, "hasNext": has_next, "hasPre": has_prev}


def fill(item: HistoryFill) -> dict[str, Any]:
    """`trade/history/v1` list item."""
    done = item.fill
    return {
        "id": done.trade_id, "optionId": None, "symbol": done.symbol,
        "displayName": display_name(done.symbol), "tradeId": done.trade_id,
        "orderId": done.order_id,
        "tradeSide": side_code(done.side), "tradeType": item.trade_type,
        "price": num(done.price), "qty": num(done.qty), "fee": num(done.fee),
        "iv": item.iv, "markPrice": num(item.mark), "indexPrice": num(item.index),
        "time": ms(done.at), "reduceOnly": int(done.reduce_only),
        "isTaker": int(done.is_taker), "mmp": False,
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
        "id": synthetic_id(item.symbol) - 1, "positionId": synthetic_id(item.symbol),
        "updateTime": 0, "orderId": 0, "userId": SIM_USER_ID, "symbol": item.symbol,
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
    """`/open/account/summary/v1`: totals as numbers, amounts as strings, one USDT entry."""
    equity = item.equity
    im_ratio = item.initial_margin / equity if equity > 0 else Decimal(0)
    mm_ratio = item.maintenance_margin / equity if equity > 0 else Decimal(0)
    return {
        "totalBtcValue": 0, "totalDollarValue": num(equity), "totalUsdtValue": num(equity),
        "imAmount": text(item.initial_margin), "mmAmount": text(item.maintenance_margin),
        "imRatio": text(round(im_ratio, 4)), "mmRatio": text(round(mm_ratio, 4)),
        "equity": text(equity), "availableMargin": text(item.available_margin),
        "marginBalance": text(equity), "unrealizedPnL": text(item.unrealized_pnl),
        "accounts": [_usdt_account(item)],
    }


def _usdt_account(item: Account) -> dict[str, Any]:
    equity = item.equity
    return {
        "accountId": SIM_USER_ID % 1_000_000_000, "coin": "USDT", "coinIconUrl": "",
        "coinDesc": "Tether USD", "coinView": "USDT", "equityAmount": text(equity),
        "availableBalance": text(item.available_margin), "cashBalanceAmount": num(equity),
        "canWithdrawAmount": text(item.available_margin), "marginMode": 2,
        "marginBalance": text(equity), "unrealizedAmount": text(item.unrealized_pnl),
        "imAmount": text(item.initial_margin), "mmAmount": text(item.maintenance_margin),
        "delta": None, "chainType": None, "btcValue": 0, "dollarValue": num(equity),
        "usdtValue": num(equity), "decimal": 6,
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
        "quoteId": item.quote_id, "requestId": item.request_id, "userId": str(user_id),
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
        "userId": None, "blockTradeId": item.block_trade_id, "requestId": item.request_id,
        "quoteId": item.quote_id, "role": "TAKER",
        "legs": [_trade_leg(leg, item.at) for leg in item.legs],
    }


def _trade_leg(leg: BlockTradeLeg, at: datetime | None) -> dict[str, Any]:
    base, _, _ = leg.symbol.partition("USD")
    return {
        "instrumentName": leg.symbol, "baseToken": base, "quoteToken": "USDT",
        "side": side_word(leg.side), "price": text(leg.price), "quantity": text(leg.qty),
        "iv": "0", "markPrice": "0", "indexPrice": "0", "orderId": str(leg.order_id or 0),
        "tradeId": str(leg.trade_id or 0), "fee": text(leg.fee), "createTime": ms(at),
        "profit": "0",
    }


def block_trade_detail(item: BlockTrade) -> dict[str, Any]:
    """`trade-detail/private/v1` item; strategy price = our net cost per unit of leg 1."""
    first = item.legs[0] if item.legs else None
    unit = first.qty if first and first.qty else Decimal(1)
    net = sum((leg.side.sign * leg.price * leg.qty for leg in item.legs), Decimal(0))
    accepted = block_trade(item)
    return {
        "requestId": item.request_id,
        "tradeSide": side_word(first.side) if first else "BUY",
        "strategyPrice": text(net / unit), "strategyQuantity": text(unit),
        "description": " / ".join(leg.symbol for leg in item.legs),
        "strategyName": "Custom" if len(item.legs) > 1 else "Single",
        "legs": [{**leg, "reduceOnly": None} for leg in accepted["legs"]],
        "createTime": ms(item.at), "userId": str(SIM_USER_ID),
        "blockTradeId": item.block_trade_id, "quoteId": item.quote_id, "role": "TAKER",
    }
