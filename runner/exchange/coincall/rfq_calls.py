"""The RFQ half of `CoincallClient` (taker side), and the call plumbing both halves share.

Create a request, read its quotes, accept one (sent exactly once; an unknown outcome is
resolved from `block_trades`, pitfall 8), cancel, list (maker keys only) and read the block
trades. Accept and cancel go out in the body encoding last seen to work (`rfq_bodies`).
A mixin: `CoincallClient` provides the transport and the encoding memory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, TypeVar

from runner.domain.rfq import BlockTrade, Rfq, RfqLeg, RfqQuote
from runner.exchange.coincall import endpoints as ep
from runner.exchange.coincall.endpoints import BodyKind, Endpoint
from runner.exchange.coincall.http import Transport
from runner.exchange.coincall.paging import read_pages
from runner.exchange.coincall.rfq_bodies import RfqBodies
from runner.exchange.coincall.wire import rfq as wire_rfq
from runner.exchange.errors import MalformedResponse, OutcomeUnknown

T = TypeVar("T")

_BLOCK_TRADE_PAGE_SIZE: Final = 49  # "less than 50"
_BLOCK_TRADE_PAGES: Final = 5  # pages read per check, newest first, back to `since`


class RfqCalls:
    """RFQ calls over the signed transport; mixed into `CoincallClient`."""

    _transport: Transport
    _rfq_bodies: RfqBodies

    # -- RFQ, taker side ---------------------------------------------------------------
    def create_rfq(self, legs: Sequence[RfqLeg]) -> Rfq:
        data = self._transport.call(ep.RFQ_CREATE, wire_rfq.create_body(legs))
        return self._written(ep.RFQ_CREATE, lambda: wire_rfq.rfq(data))

    def rfq_quotes(self, request_id: str) -> list[RfqQuote]:
        data = self._call(ep.RFQ_QUOTES, {"requestId": request_id})
        return [q for q in wire_rfq.quotes(data, request_id) if q.request_id == request_id]

    @property
    def rfq_body(self) -> BodyKind:
        """The encoding RFQ accept and cancel are sent in now (the last seen to work)."""
        return self._rfq_bodies.current

    def accept_quote(self, request_id: str, quote_id: str) -> BlockTrade:
        body = wire_rfq.accept_body(request_id, quote_id)
        data = self._rfq_bodies.send(ep.RFQ_ACCEPT,
                                     lambda endpoint: self._transport.call(endpoint, body))
        return self._written(ep.RFQ_ACCEPT, lambda: wire_rfq.block_trade(data))

    def cancel_rfq(self, request_id: str) -> None:
        """Withdraw a request by the id the runner recorded. A refusal is raised as it
        came: whether the request is already final cannot be looked up with a taker key
        (rfqList is HTTP 404), so the caller decides what a refusal means."""
        body = wire_rfq.cancel_body(request_id)
        self._rfq_bodies.send(ep.RFQ_CANCEL,
                              lambda endpoint: self._transport.call(endpoint, body))

    def get_rfq(self, request_id: str) -> Rfq | None:
        """rfqList, for maker keys and diagnostics only: a taker-only key (the normal
        case) gets HTTP 404, raised as EndpointNotAvailable. Nothing decides on it."""
        data = self._call(ep.RFQ_LIST, {"requestId": request_id})
        return next((r for r in wire_rfq.rfq_list(data) if r.request_id == request_id), None)

    def block_trades(self, since: datetime) -> list[BlockTrade]:
        """Block trades since `since`: newest-first pages (NEXT), read until one reaches a
        trade older than `since` (finding 4), at most `_BLOCK_TRADE_PAGES` pages."""
        params: dict[str, object] = {"fromId": 0, "direction": "NEXT",
                                     "pageSize": _BLOCK_TRADE_PAGE_SIZE}
        found = read_pages(
            lambda query: wire_rfq.block_trades(self._call(ep.BLOCK_TRADES, query)), params,
            row_id=lambda trade: trade.block_trade_id, row_at=lambda trade: trade.at,
            since=since, max_pages=_BLOCK_TRADE_PAGES)
        recent = (t for t in found if t.at is None or t.at >= since)
        return sorted(recent, key=lambda t: (t.at or since, t.block_trade_id))

    # -- plumbing ----------------------------------------------------------------------
    def _call(self, endpoint: Endpoint, params: Mapping[str, object] | None = None,
              **path_args: str) -> Any:
        return self._transport.call(endpoint, params, path_args=path_args)

    @staticmethod
    def _written(endpoint: Endpoint, parse: Callable[[], T]) -> T:
        """Parse the answer of a write that succeeded; unreadable means outcome unknown."""
        try:
            return parse()
        except MalformedResponse as error:
            raise OutcomeUnknown(f"accepted (code 0) but the answer is unreadable: "
                                 f"{error.message}", endpoint=endpoint.name) from None
