"""Every Coincall REST call the adapter makes: path, method, body encoding, rate class, safety.

An endpoint is a *read* (idempotent: the transport may retry it with backoff) or a
*write* (never retried blindly; an unknown outcome is resolved by the client with a
lookup). Bodies are JSON. RFQ accept and cancel are listed as JSON too, but that is only
the encoding tried first: the client negotiates it (`rfq_bodies`), because a live client
saw FORM required (2026-07-09) while the later docs show JSON (coincall-api.md pitfall 3).

Rate classes are section 7's limits. Calls the docs leave unlisted (instruments, chain,
option detail, RFQ) get a conservative class of our own so a tick can never flood them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from enum import Enum
from typing import Final


class BodyKind(Enum):
    """How parameters travel: query string (GET), JSON body or FORM body (POST)."""

    QUERY = "query"
    JSON = "application/json"
    FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `calls` requests in any window of `per`."""

    calls: int
    per: timedelta


class RateClass(Enum):
    """Groups of endpoints sharing one client-side budget (coincall-api.md section 7)."""

    PUBLIC_CONFIG = "public config"
    MARKET_DATA = "market data"
    ORDERBOOK = "orderbook"
    POSITIONS_AND_ORDERS = "positions and orders"
    HISTORY = "history"
    ACCOUNT = "account"
    TRADING = "trading"
    RFQ = "rfq"
    DELIVERY_PRICES = "delivery prices"

    @property
    def limit(self) -> RateLimit:
        return RATE_LIMITS[self]


RATE_LIMITS: Final[Mapping[RateClass, RateLimit]] = {
    RateClass.PUBLIC_CONFIG: RateLimit(10, timedelta(seconds=2)),
    RateClass.MARKET_DATA: RateLimit(10, timedelta(seconds=1)),  # unlisted: our own cap
    RateClass.ORDERBOOK: RateLimit(30, timedelta(seconds=2)),
    RateClass.POSITIONS_AND_ORDERS: RateLimit(5, timedelta(seconds=1)),
    RateClass.HISTORY: RateLimit(4, timedelta(seconds=1)),  # [D24] 4/1 s, stricter than [D26]
    RateClass.ACCOUNT: RateLimit(2, timedelta(seconds=1)),
    RateClass.TRADING: RateLimit(30, timedelta(seconds=2)),
    RateClass.RFQ: RateLimit(5, timedelta(seconds=1)),  # unlisted: our own cap
    RateClass.DELIVERY_PRICES: RateLimit(1, timedelta(seconds=1)),
}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One REST call; `path` may hold `{placeholders}` filled per request."""

    name: str
    method: str
    path: str
    body: BodyKind
    rate_class: RateClass
    is_read: bool
    signed: bool = True

    def with_body(self, body: BodyKind) -> Endpoint:
        """The same call with another body encoding (the RFQ accept/cancel switch)."""
        if self.method != "POST" or body is BodyKind.QUERY:
            raise ValueError(f"{self.name}: only a POST can switch between JSON and FORM")
        return replace(self, body=body)


def _get(name: str, path: str, rate_class: RateClass, *, signed: bool = True) -> Endpoint:
    return Endpoint(name, "GET", path, BodyKind.QUERY, rate_class, is_read=True, signed=signed)


def _post(name: str, path: str, body: BodyKind, rate_class: RateClass) -> Endpoint:
    return Endpoint(name, "POST", path, body, rate_class, is_read=False)


_BLOCK: Final = "/open/option/blocktrade"

# -- market data (6.1) -------------------------------------------------------------------
SERVER_TIME: Final = _get("server time", "/time", RateClass.PUBLIC_CONFIG, signed=False)
INSTRUMENTS: Final = _get("instruments", "/open/option/getInstruments/{base}",
                          RateClass.MARKET_DATA)
OPTION_CHAIN: Final = _get("option chain", "/open/option/get/v1/{index}", RateClass.MARKET_DATA)
OPTION_DETAIL: Final = _get("option detail", "/open/option/detail/v1/{symbol}",
                            RateClass.MARKET_DATA)
ORDERBOOK: Final = _get("orderbook", "/open/option/order/orderbook/v1/{symbol}",
                        RateClass.ORDERBOOK)
FUTURES_SYMBOL: Final = _get("futures market", "/open/futures/market/symbol/v1",
                             RateClass.MARKET_DATA)
DELIVERY_PRICES: Final = _get("delivery prices", "/open/option/get-delivery-prices/v1",
                              RateClass.DELIVERY_PRICES, signed=False)

# -- orders (6.2) ------------------------------------------------------------------------
PLACE_ORDER: Final = _post("place order", "/open/option/order/create/v1", BodyKind.JSON,
                           RateClass.TRADING)
CANCEL_ORDER: Final = _post("cancel order", "/open/option/order/cancel/v1", BodyKind.JSON,
                            RateClass.TRADING)
SINGLE_ORDER: Final = _get("order query", "/open/option/order/singleQuery/v1",
                           RateClass.POSITIONS_AND_ORDERS)
OPEN_ORDERS: Final = _get("open orders", "/open/option/order/pending/v1",
                          RateClass.POSITIONS_AND_ORDERS)
TRADE_HISTORY: Final = _get("trade history", "/open/option/trade/history/v1", RateClass.HISTORY)
# Exercise history (docs "Get Exercise Details", no rate limit named): the history budget.
EXERCISE_HISTORY: Final = _get("exercise history", "/open/settle/exercise/history/v1",
                               RateClass.HISTORY)

# -- account (6.3) -----------------------------------------------------------------------
POSITIONS: Final = _get("positions", "/open/option/position/get/v1",
                        RateClass.POSITIONS_AND_ORDERS)
ACCOUNT_SUMMARY: Final = _get("account summary", "/open/account/summary/v1", RateClass.ACCOUNT)
API_KEY_INFO: Final = _get("api key info", "/open/auth/user/query-api", RateClass.ACCOUNT)

# -- RFQ, taker (6.4) --------------------------------------------------------------------
RFQ_CREATE: Final = _post("rfq create", f"{_BLOCK}/request/create/v1", BodyKind.JSON,
                          RateClass.RFQ)
RFQ_QUOTES: Final = _get("rfq quotes", f"{_BLOCK}/request/getQuotesReceived/v1", RateClass.RFQ)
# Accept and cancel: the first encoding tried; `rfq_bodies` switches on 10004 and remembers.
RFQ_ACCEPT: Final = _post("rfq accept", f"{_BLOCK}/request/accept/v1", BodyKind.JSON,
                          RateClass.RFQ)
RFQ_CANCEL: Final = _post("rfq cancel", f"{_BLOCK}/request/cancel/v1", BodyKind.JSON,
                          RateClass.RFQ)
RFQ_LIST: Final = _get("rfq list", f"{_BLOCK}/rfqList/v1", RateClass.RFQ)
BLOCK_TRADES: Final = _get("block trades", f"{_BLOCK}/trade-detail/private/v1", RateClass.RFQ)

ALL: Final = (SERVER_TIME, INSTRUMENTS, OPTION_CHAIN, OPTION_DETAIL, ORDERBOOK, FUTURES_SYMBOL,
              DELIVERY_PRICES, PLACE_ORDER, CANCEL_ORDER, SINGLE_ORDER, OPEN_ORDERS,
              TRADE_HISTORY, EXERCISE_HISTORY, POSITIONS, ACCOUNT_SUMMARY, API_KEY_INFO,
              RFQ_CREATE, RFQ_QUOTES, RFQ_ACCEPT, RFQ_CANCEL, RFQ_LIST, BLOCK_TRADES)
