"""The RFQ calls of the simulated Coincall API (taker side), mixed into `CoincallApi`.

Create, quotes, accept, cancel, list (`rfqList`, served to a maker key only) and block trades,
answered from the port. Accept and cancel take the one body encoding the server was started
with (`rfq_body`) and answer the other with 10004, nothing executed (as seen live). Block
trades page by the docs' rule: NEXT (default) older ids, newest first (finding 4).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from runner.domain.clock import Clock
from runner.domain.rfq import BlockTrade
from runner.exchange.port import Exchange
from runner.sim import paging, wire_out
from runner.sim import venue_records as records
from runner.sim.wire_in import (
    CODE_BAD_PARAMS,
    BodyKind,
    WireError,
    WireRequest,
    from_id_param,
    page_size,
    rfq_leg,
    text_param,
)

SIM_USER_ID: Final = wire_out.SIM_USER_ID
RFQ_LIST_WINDOW: Final = timedelta(days=3)
BLOCK_TRADE_WINDOW: Final = timedelta(days=90)
# the body encoding the server takes for accept and cancel -> the bodies it accepts
RFQ_BODIES: Final[Mapping[BodyKind, frozenset[BodyKind]]] = {
    BodyKind.JSON: frozenset({BodyKind.JSON}),
    BodyKind.FORM: frozenset({BodyKind.FORM, BodyKind.NONE}),
}


class RfqRoutes:
    """RFQ handlers; `CoincallApi` provides the exchange, clock, lock and `_window`."""

    _exchange: Exchange
    _clock: Clock
    _lock: threading.Lock
    _rfq_body: BodyKind
    _rfq_ids: list[str]
    _window: Callable[[Mapping[str, Any], timedelta], tuple[datetime, datetime]]

    # -- RFQ -------------------------------------------------------------------------
    def _create_rfq(self, request: WireRequest, _a: Mapping[str, str], _k: str) -> Any:
        legs = request.params.get("legs")
        if not isinstance(legs, list) or not legs:
            raise WireError(CODE_BAD_PARAMS, "legs is required")
        created = self._exchange.create_rfq([rfq_leg(leg) for leg in legs])
        with self._lock:
            self._rfq_ids.append(created.request_id)
        return wire_out.rfq_created(created)

    def _rfq_quotes(self, request: WireRequest, _a: Mapping[str, str], _k: str) -> Any:
        request_id = text_param(request.params, "requestId")
        now = self._clock.now()
        made = records.quote_times(self._exchange, request_id)
        return [wire_out.quote(q, user_id=SIM_USER_ID, created_at=made.get(q.quote_id, now))
                for q in self._exchange.rfq_quotes(request_id)]

    def _rfq_body_accepted(self, request: WireRequest) -> None:
        """Accept and cancel take one encoding; the other is 10004, nothing executed."""
        if request.body_kind not in RFQ_BODIES[self._rfq_body]:
            raise WireError(CODE_BAD_PARAMS, "Parameter illegal")

    def _accept_quote(self, request: WireRequest, _a: Mapping[str, str], _k: str) -> Any:
        self._rfq_body_accepted(request)
        params = request.params
        trade = self._exchange.accept_quote(text_param(params, "requestId"),
                                            text_param(params, "quoteId"))
        return wire_out.block_trade(trade)

    def _cancel_rfq(self, request: WireRequest, _a: Mapping[str, str], _k: str) -> Any:
        self._rfq_body_accepted(request)
        self._exchange.cancel_rfq(text_param(request.params, "requestId"))
        return True

    def _get_rfq(self, request: WireRequest, _a: Mapping[str, str], _k: str) -> Any:
        params = request.params
        start, end = self._window(params, RFQ_LIST_WINDOW)
        if params.get("requestId"):
            ids = [str(params["requestId"])]
        else:
            with self._lock:
                ids = list(dict.fromkeys([*records.request_ids(self._exchange),
                                          *self._rfq_ids]))
        found = [rfq for rfq in (records.rfq(self._exchange, i) for i in ids)
                 if rfq is not None and start <= rfq.created_at <= end]
        state = str(params.get("state", "")).upper()
        if state in ("OPEN", "CLOSED"):
            found = [r for r in found if r.state.is_final == (state == "CLOSED")]
        if str(params.get("role", "TAKER")).upper() != "TAKER":
            found = []
        now = self._clock.now()
        return {"userId": SIM_USER_ID, "rfqList": [wire_out.rfq_listed(r, now) for r in found]}

    def _block_trades(self, request: WireRequest, _a: Mapping[str, str], _k: str) -> Any:
        """Paged by the docs' rule: NEXT (default) older ids, newest first (finding 4)."""
        params = request.params
        start, _end = self._window(params, BLOCK_TRADE_WINDOW)
        trades = self._exchange.block_trades(start)
        wanted = params.get("blocktradeId") or params.get("blockTradeId")
        if wanted:
            trades = [t for t in trades if t.block_trade_id == str(wanted)]
        index = params.get("symbol")
        if index:
            trades = [t for t in trades if all(leg.symbol.startswith(f"{index}-")
                                               for leg in t.legs)]
        direction = paging.direction_of(params.get("direction"))
        if direction is None:
            raise WireError(CODE_BAD_PARAMS, "direction must be NEXT or PREV")
        found = paging.cursor_page(trades, _block_trade_number, from_id=from_id_param(params),
                                   direction=direction, size=min(page_size(params), 49))
        return {"list": [wire_out.block_trade_detail(t) for t in found.rows],
                "hasNext": found.has_next, "hasPrev": found.has_prev}


def _block_trade_number(trade: BlockTrade) -> int:
    """The numeric id the client pages with (`fromId`); a non-numeric id sorts first."""
    text = trade.block_trade_id
    return int(text) if text.isdigit() else 0
