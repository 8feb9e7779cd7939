"""The Coincall REST calls of coincall-api.md section 6, answered from an `Exchange`.

Owns the translation of one parsed request into one port call and back (through
`wire_out`). It knows nothing about HTTP, signatures or faults (`sim.server` does);
it works with any implementation of the port, the simulated venue in particular.
Invariant: every answer is either documented Coincall `data` or a `WireError` /
`ExchangeError` carrying a Coincall code.

Deliberate choices:
- Parameter problems answer like Coincall: missing qty 10533, missing price 10530,
  neither order id 10575, unknown order 10584, a cancel of a final order 11101
  (cancelled) or 11102 (filled), a timeInForce other than GTC or IOC 12012 (FOK
  too: the message names only GTC and IOC, section 5), unknown index 10579,
  unknown option 10574, anything else malformed 10004.
- A create without `clientOrderId` gets a server-generated one (the domain always
  carries one).
- Coincall-only details (history rows, quote times, realised PnL, listing times, public
  config) come from the venue's records when it keeps them (`venue_records`), else
  from the port. History answers (orders, fills, exercises, block trades) cover what the
  venue holds: a simulated venue forgets finished history older than its retention
  window (7 days, sim/retention.py), so a span reaching further back (Coincall allows
  90 days) gets the part inside it. RFQ accept and cancel take the body encoding the
  server is started with (`rfq_body`, JSON by default as the 2026-07 docs show; FORM as
  seen live on 2026-07-09) and answer the other with 10004. The port has no "list my RFQs" call:
  without `requestId`, `rfqList` answers the venue's recorded requests plus those
  created through this server. `rfqList` is served only to a maker key (`key_access`);
  a taker-only key, the default, gets HTTP 404 as it does live.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from runner.domain.clock import Clock, from_epoch_ms
from runner.domain.instruments import Underlying, parse_symbol
from runner.domain.orders import Order, OrderRequest, OrderStatus, Side, TimeInForce
from runner.exchange.port import Exchange
from runner.sim import paging, wire_exercise, wire_out, wire_out_market
from runner.sim import venue_records as records
from runner.sim.access import KeyAccess
from runner.sim.faults import ENDPOINTS
from runner.sim.records import TRADE_TYPE_LIMIT, TRADE_TYPE_POST_ONLY
from runner.sim.rfq_routes import RFQ_BODIES, RfqRoutes
from runner.sim.wire_in import (
    CODE_BAD_PARAMS,
    BodyKind,
    WireError,
    WireRequest,
    decimal_param,
    from_id_param,
    index_param,
    int_param,
    order_ids,
    page_size,
    time_param,
    underlying_param,
)

SIM_USER_ID: Final = wire_out.SIM_USER_ID
HISTORY_WINDOW: Final = timedelta(hours=24)
_ACCEPTED_TIF: Final = ("GTC", "IOC")
EXERCISE_WINDOW: Final = timedelta(days=30)  # without startTime (the docs name no default)

Handler = Callable[[WireRequest, Mapping[str, str], str], Any]


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    method: str
    pattern: re.Pattern[str]
    signed: bool
    bodies: frozenset[BodyKind]


_PUBLIC: Final = frozenset({"server_time", "public_config", "instruments", "option_chain",
                            "option_detail", "orderbook", "index_price", "delivery_price"})
_JSON = frozenset({BodyKind.JSON})
_FORM = frozenset({BodyKind.FORM, BodyKind.NONE})
# POST endpoints and the bodies they accept (coincall-api.md 3.3, 6.2, 6.4).
_POST_BODIES: Final[Mapping[str, frozenset[BodyKind]]] = {
    "place_order": _JSON,
    "cancel_order": _JSON,
    "create_rfq": _JSON,
    # Either encoding reaches the handler, which refuses the one this server is not
    # configured for (`rfq_body`) with 10004, as Coincall does (pitfall 3).
    "accept_quote": _FORM | _JSON,
    "cancel_rfq": _FORM | _JSON,
}
_MAKER_ONLY: Final = frozenset({"get_rfq"})  # rfqList: 404 to a taker-only key (pitfall 7)


def _compile(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)"
                    for i, part in enumerate(parts))
    return re.compile(f"^{regex}$")


ROUTES: Final = tuple(
    Route(name, "POST" if name in _POST_BODIES else "GET", _compile(template),
          name not in _PUBLIC, _POST_BODIES.get(name, frozenset({BodyKind.NONE})))
    for name, template in ENDPOINTS.items()
)


def find_route(path: str) -> tuple[Route, dict[str, str]] | None:
    """The route serving `path` and its path parameters, whatever the method."""
    for route in ROUTES:
        match = route.pattern.match(path)
        if match:
            return route, match.groupdict()
    return None


class CoincallApi(RfqRoutes):
    """Answers parsed Coincall requests from an Exchange; thread-safe if the exchange is."""

    def __init__(self, exchange: Exchange, clock: Clock, *,
                 rfq_body: BodyKind = BodyKind.JSON,
                 key_access: KeyAccess = KeyAccess.TAKER) -> None:
        if rfq_body not in RFQ_BODIES:
            raise ValueError(f"RFQ bodies are JSON or FORM, not {rfq_body}")
        self._exchange = exchange
        self._clock = clock
        self._rfq_body = rfq_body
        self._key_access = key_access
        self._lock = threading.Lock()
        self.fills_paging = paging.FillsPaging.NEWEST_FIRST  # finding 5: the general rule
        self._rfq_ids: list[str] = []
        self._client_ids = itertools.count(int(clock.now().timestamp() * 1000) * 1000)
        self._handlers: dict[str, Handler] = {
            name: getattr(self, f"_{name}") for name in ENDPOINTS
        }

    def serves(self, route: Route) -> bool:
        """False for a call this key may not make: it is answered HTTP 404, as live."""
        return route.name not in _MAKER_ONLY or self._key_access is KeyAccess.MAKER

    def answer(self, route: Route, request: WireRequest, path_args: Mapping[str, str],
               api_key: str) -> Any:
        """The `data` of the answer to one request (raise for an error answer)."""
        return self._handlers[route.name](request, path_args, api_key)

    def envelope(self, route: Route, data: Any) -> dict[str, Any]:
        """The success envelope of `data`; delivery prices carry `records_total` beside
        `data`, as the docs' example does ([D26] "Call-over settlement price public data")."""
        wrapped = wire_out.envelope(data)
        if route.name == "delivery_price":
            wrapped["records_total"] = len(data)
        return wrapped

    # -- market data -----------------------------------------------------------------
    def _server_time(self, _r: WireRequest, _a: Mapping[str, str], _k: str) -> Any:
        return wire_out_market.server_time(self._clock.now())

    def _public_config(self, _r: WireRequest, _a: Mapping[str, str], _k: str) -> Any:
        return wire_out_market.public_config({u: records.config_rules(self._exchange, u)
                                       for u in Underlying})

    def _instruments(self, _r: WireRequest, args: Mapping[str, str], _k: str) -> Any:
        try:
            underlying = Underlying(args["baseCurrency"].upper())
        except ValueError:
            return []
        return [wire_out_market.instrument(item, records.listed_at(self._exchange, item.symbol))
                for item in self._exchange.instruments(underlying)]

    def _option_chain(self, request: WireRequest, args: Mapping[str, str], _k: str) -> Any:
        underlying = index_param(args["index"])
        end = request.params.get("endTime")
        expiry = time_param(end, "endTime") if end not in (None, "") else None
        return wire_out_market.chain(self._exchange.option_chain(underlying, expiry, fresh=True))

    def _option_detail(self, _r: WireRequest, args: Mapping[str, str], _k: str) -> Any:
        symbol = args["symbol"]
        try:
            parts = parse_symbol(symbol)
        except ValueError:
            raise WireError(10574, "symbol not exist") from None
        quotes = self._exchange.option_chain(parts.underlying, parts.expiry, fresh=True)
        quote = next((q for q in quotes if q.symbol == symbol), None)
        if quote is None:
            raise WireError(10574, "symbol not exist")
        index = self._exchange.index_price(parts.underlying)
        return wire_out_market.option_detail(quote, index, self._clock.now())

    def _orderbook(self, _r: WireRequest, args: Mapping[str, str], _k: str) -> Any:
        symbol = args["symbol"]
        book = self._exchange.orderbook(symbol, fresh=True)
        try:
            strike: Decimal | None = parse_symbol(symbol).strike
        except ValueError:
            strike = None
        return wire_out_market.orderbook(book, strike)

    def _index_price(self, request: WireRequest, _a: Mapping[str, str], _k: str) -> Any:
        """The documented list of perpetuals; a `symbol` (undocumented, sent by [RM] and by
        our adapter) keeps the list shape and narrows it to that index."""
        symbol = request.params.get("symbol")
        wanted = [index_param(symbol)] if symbol else list(Underlying)
        prices = {u: self._exchange.index_price(u) for u in wanted}
        return wire_out_market.futures_market(prices, self._clock.now())

    def _delivery_price(self, request: WireRequest, _a: Mapping[str, str], _k: str) -> Any:
        """`get-delivery-prices/v1?symbol=BTCUSD`: past settlement prices, newest first."""
        symbol = request.params.get("symbol")
        if not symbol:
            raise WireError(CODE_BAD_PARAMS, "symbol is required")
        underlying = index_param(str(symbol))
        return wire_out_market.delivery_prices(
            records.delivery_history(self._exchange, underlying, self._clock.now()))

    # -- orders ----------------------------------------------------------------------
    def _place_order(self, request: WireRequest, _a: Mapping[str, str], _k: str) -> Any:
        return self._exchange.place_order(self._order_request(request.params))

    def _order_request(self, params: Mapping[str, Any]) -> OrderRequest:
        symbol = params.get("symbol")
        if not isinstance(symbol, str) or not symbol:
            raise WireError(10005, "symbol is required")
        side = {1: Side.BUY, 2: Side.SELL}.get(int_param(params.get("tradeSide"), "tradeSide"))
        trade_type = int_param(params.get("tradeType"), "tradeType")
        if side is None or trade_type not in (TRADE_TYPE_LIMIT,
                                              TRADE_TYPE_POST_ONLY):
            raise WireError(CODE_BAD_PARAMS, "Parameter illegal")
        tif_text = params.get("timeInForce") or "GTC"
        if tif_text not in _ACCEPTED_TIF:
            raise WireError(12012, "timeInForce only supports GTC, IOC")
        client_id = params.get("clientOrderId")
        return OrderRequest(
            symbol=symbol, side=side,
            qty=decimal_param(params.get("qty"), missing_code=10533),
            price=decimal_param(params.get("price"), missing_code=10530),
            client_order_id=(int_param(client_id, "clientOrderId") if client_id is not None
                             else next(self._client_ids)),
            reduce_only=int_param(params.get("reduceOnly", 0), "reduceOnly") == 1,
            post_only=trade_type == TRADE_TYPE_POST_ONLY,
            time_in_force=TimeInForce(tif_text),
        )

    def _cancel_order(self, request: WireRequest, _a: Mapping[str, str], _k: str) -> Any:
        order_id, client_id = order_ids(request.params)
        existing = self._exchange.get_order(order_id=order_id, client_order_id=client_id)
        if existing is None:
            raise WireError(10584, "order not exist")
        if existing.status is OrderStatus.FILLED:
            raise WireError(11102, "cancel failed, order already filled")
        if existing.status.is_final:
            raise WireError(11101, "cancel failed, order already cancelled")
        self._exchange.cancel_order(order_id=order_id, client_order_id=client_id)
        return "success"

    def _get_order(self, request: WireRequest, _a: Mapping[str, str], _k: str) -> Any:
        order_id, client_id = order_ids(request.params)
        found = self._exchange.get_order(order_id=order_id, client_order_id=client_id)
        if found is None:
            raise WireError(10584, "order not exist")
        return wire_out.order(found)

    def _open_orders(self, request: WireRequest, _a: Mapping[str, str], _k: str) -> Any:
        params = request.params
        currency = params.get("currency")
        underlying = underlying_param(currency) if currency else None
        orders = sorted(self._exchange.open_orders(underlying), key=_created_key)
        page_no = max(1, int_param(params.get("page", 1), "page"))
        return wire_out.page([wire_out.pending_order(o) for o in orders], page_no,
                             page_size(params))

    def _order_history(self, request: WireRequest, _a: Mapping[str, str], _k: str) -> Any:
        """Newest first; `fromId` is a cursor: only older (smaller) order ids follow it."""
        start, end = self._window(request.params, HISTORY_WINDOW)
        rows = sorted(records.order_history(self._exchange, self._clock.now(), start, end),
                      key=lambda row: _created_key(row.order), reverse=True)
        from_id = request.params.get("fromId")
        if from_id not in (None, "", "0", 0):
            rows = [r for r in rows if r.order.order_id < int_param(from_id, "fromId")]
        size = page_size(request.params)
        return wire_out.cursor_page([wire_out.history_order(r) for r in rows[:size]],
                                    has_next=len(rows) > size)

    def _fills(self, request: WireRequest, _a: Mapping[str, str], _k: str) -> Any:
        """`fromId` read as `fills_paging` says (issue 8 finding 5, `sim.paging`)."""
        start, end = self._window(request.params, HISTORY_WINDOW)
        found = paging.fills_page(records.fill_history(self._exchange, start, end),
                                  lambda row: row.fill.trade_id,
                                  from_id=from_id_param(request.params),
                                  size=page_size(request.params), paging=self.fills_paging)
        return wire_out.cursor_page([wire_out.fill(r) for r in found.rows],
                                    has_next=found.has_next, has_prev=found.has_prev)

    def _exercises(self, request: WireRequest, _a: Mapping[str, str], _k: str) -> Any:
        """Settled positions with their exercise fee, newest first, paged by `page`."""
        start, end = self._window(request.params, EXERCISE_WINDOW)
        symbol = request.params.get("symbol")
        rows = [e for e in self._exchange.exercises(start) if (e.at is None or e.at <= end)
                and (not symbol or e.symbol == symbol)]
        page_no = int_param(request.params.get("page", 1), "page")
        size = int_param(request.params.get("pageSize", 20), "pageSize")
        return wire_exercise.exercise_page(rows, page_no, size)

    # -- account ---------------------------------------------------------------------
    def _positions(self, _r: WireRequest, _a: Mapping[str, str], _k: str) -> Any:
        held = self._exchange.positions()
        wanted = {parse_symbol(p.symbol).underlying for p in held}
        index = {u: self._exchange.index_price(u) for u in wanted}
        realized = records.realized_pnl(self._exchange)
        return [wire_out.position(p, index[parse_symbol(p.symbol).underlying],
                                  realized.get(p.symbol)) for p in held]

    def _account(self, _r: WireRequest, _a: Mapping[str, str], _k: str) -> Any:
        return wire_out.account_summary(self._exchange.account())

    def _user_info(self, _r: WireRequest, _a: Mapping[str, str], _k: str) -> Any:
        return {"userId": SIM_USER_ID, "name": "simulated", "email": "sim@localhost"}

    def _api_key_info(self, _r: WireRequest, _a: Mapping[str, str], api_key: str) -> Any:
        return {"userId": SIM_USER_ID, "apiKey": api_key, "readOnly": 0, "isMaster": True,
                "parentUid": "0"}

    def _window(self, params: Mapping[str, Any], default: timedelta) -> tuple[datetime,
                                                                              datetime]:
        now = self._clock.now()
        start = params.get("startTime")
        end = params.get("endTime")
        return (time_param(start, "startTime") if start else now - default,
                time_param(end, "endTime") if end else now)


_EPOCH: Final = from_epoch_ms(0)


def _created_key(order: Order) -> tuple[datetime, int]:
    return (order.created_at or _EPOCH, order.order_id)
