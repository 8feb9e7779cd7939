"""RFQ taker flow through CoincallClient: sides, negotiated accept/cancel bodies (pitfall 3),
never a retried accept (pitfall 8)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from loguru import logger

from runner.domain.clock import ManualClock, to_epoch_ms
from runner.domain.orders import Side
from runner.domain.rfq import RfqLeg, RfqState
from runner.exchange.coincall import endpoints as ep
from runner.exchange.coincall.client import CoincallClient
from runner.exchange.coincall.endpoints import BodyKind
from runner.exchange.errors import EndpointNotAvailable, ExchangeRejected, OutcomeUnknown

from .conftest import FakeCoincall, RecordingSleep, Reply

REQUEST_ID = "1983130719395909632"
QUOTE_ID = "1983131007357546497"
CALL = "BTCUSD-27FEB26-90000-C"
PUT = "BTCUSD-27FEB26-80000-P"
ACCEPT = ep.RFQ_ACCEPT.path


@pytest.fixture
def warnings() -> Iterator[list[str]]:
    seen: list[str] = []
    sink = logger.add(lambda message: seen.append(str(message)), level="WARNING")
    yield seen
    logger.remove(sink)


def test_create_rfq_sends_our_legs_with_qty_strings_and_parses_the_request(
        client: CoincallClient, coincall: FakeCoincall, doc: SimpleNamespace) -> None:
    coincall.script("POST", ep.RFQ_CREATE.path, coincall.ok(doc.rfq_created))
    rfq = client.create_rfq([RfqLeg(CALL, Side.SELL, Decimal("0.5")),
                             RfqLeg(PUT, Side.SELL, Decimal("0.5"))])
    assert rfq.request_id == REQUEST_ID
    assert rfq.state is RfqState.ACTIVE
    [sent] = coincall.sent(ep.RFQ_CREATE.path)
    assert sent.signature_valid is True
    assert json.loads(sent.raw_body) == {"legs": [
        {"instrumentName": CALL, "side": "SELL", "qty": "0.5"},
        {"instrumentName": PUT, "side": "SELL", "qty": "0.5"}]}


def test_quotes_received_keep_the_makers_side(client: CoincallClient, coincall: FakeCoincall,
                                              doc: SimpleNamespace) -> None:
    coincall.script("GET", ep.RFQ_QUOTES.path, coincall.ok(doc.quotes))
    [quote] = client.rfq_quotes(REQUEST_ID)
    assert quote.quote_id == QUOTE_ID
    assert quote.taker_cost() == Decimal("-1072.5")
    assert coincall.sent(ep.RFQ_QUOTES.path)[0].params == {"requestId": REQUEST_ID}


def test_accepting_a_quote_posts_json_with_string_ids_and_returns_the_block_trade(
        client: CoincallClient, coincall: FakeCoincall, doc: SimpleNamespace) -> None:
    """JSON first, as the 2026-07-28 docs show; ids as strings (typed String in the docs'
    tables, and a 19-digit JSON number is not safe through a double)."""
    coincall.script("POST", ACCEPT, coincall.ok(doc.accepted))
    trade = client.accept_quote(REQUEST_ID, QUOTE_ID)
    assert trade.block_trade_id == "1983131007357546498"
    assert [leg.side for leg in trade.legs] == [Side.SELL, Side.SELL]
    [sent] = coincall.sent(ACCEPT)
    assert sent.headers["Content-Type"] == "application/json"
    assert json.loads(sent.raw_body) == {"requestId": REQUEST_ID, "quoteId": QUOTE_ID}
    assert sent.signature_valid is True


def test_the_first_rfq_body_can_be_form(
        make_client: object, coincall: FakeCoincall, doc: SimpleNamespace) -> None:
    client = make_client(rfq_body=BodyKind.FORM)  # type: ignore[operator]
    coincall.script("POST", ACCEPT, coincall.ok(doc.accepted))
    client.accept_quote(REQUEST_ID, QUOTE_ID)
    [sent] = coincall.sent(ACCEPT)
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert sent.params == {"requestId": REQUEST_ID, "quoteId": QUOTE_ID}


def test_an_accept_refused_with_10004_is_sent_once_in_form_and_form_is_kept(
        client: CoincallClient, coincall: FakeCoincall, doc: SimpleNamespace,
        warnings: list[str]) -> None:
    """Pitfall 3: 10004 executed nothing, so the other encoding is tried once; the one
    that worked serves accept and cancel from then on, the switch logged once."""
    coincall.script("POST", ACCEPT, coincall.error(10004, "Parameter illegal"),
                    coincall.ok(doc.accepted))
    coincall.always("POST", ep.RFQ_CANCEL.path, coincall.ok(True))
    trade = client.accept_quote(REQUEST_ID, QUOTE_ID)
    assert trade.quote_id == QUOTE_ID
    client.cancel_rfq(REQUEST_ID)
    client.cancel_rfq(REQUEST_ID)
    kinds = [r.headers["Content-Type"] for r in coincall.received if r.method == "POST"]
    assert kinds == ["application/json"] + ["application/x-www-form-urlencoded"] * 3
    assert client.rfq_body is BodyKind.FORM
    assert len([w for w in warnings if "10004" in w]) == 1


def test_an_accept_refused_with_10004_in_both_encodings_is_raised_and_nothing_changes(
        client: CoincallClient, coincall: FakeCoincall) -> None:
    coincall.script("POST", ACCEPT, coincall.error(10004, "Parameter illegal"),
                    coincall.error(10004, "Parameter illegal"))
    with pytest.raises(ExchangeRejected) as refused:
        client.accept_quote(REQUEST_ID, QUOTE_ID)
    assert refused.value.code == 10004
    assert len(coincall.sent(ACCEPT)) == 2
    assert client.rfq_body is BodyKind.JSON


def test_an_accept_refused_for_another_reason_is_not_sent_again(
        client: CoincallClient, coincall: FakeCoincall) -> None:
    coincall.script("POST", ACCEPT, coincall.error(50014, "quote is not valid"))
    with pytest.raises(ExchangeRejected):
        client.accept_quote(REQUEST_ID, QUOTE_ID)
    assert len(coincall.sent(ACCEPT)) == 1


def test_an_accept_whose_retry_in_the_other_encoding_is_lost_is_never_sent_a_third_time(
        client: CoincallClient, coincall: FakeCoincall, sleeps: RecordingSleep) -> None:
    """The 10004 send executed nothing; the FORM send's outcome is unknown: resolved from
    the block trades by the caller, never resent (pitfall 8)."""
    coincall.script("POST", ACCEPT, coincall.error(10004, "Parameter illegal"),
                    Reply(drop=True))
    with pytest.raises(OutcomeUnknown):
        client.accept_quote(REQUEST_ID, QUOTE_ID)
    assert len(coincall.sent(ACCEPT)) == 2
    assert sleeps.calls == []
    assert client.rfq_body is BodyKind.JSON


@pytest.mark.parametrize("lost", [
    Reply(body={"code": 0, "data": {}}, delay=0.6), Reply(drop=True), Reply(status=500),
    FakeCoincall.ok({"blockTradeId": "1"})], ids=["timeout", "dropped", "500", "unreadable"])
def test_an_accept_whose_outcome_is_unknown_is_never_sent_again(
        client: CoincallClient, coincall: FakeCoincall, sleeps: RecordingSleep,
        lost: Reply) -> None:
    """Pitfall 8: not idempotent; resolve with block_trades, never by resending."""
    coincall.script("POST", ACCEPT, lost)
    with pytest.raises(OutcomeUnknown):
        client.accept_quote(REQUEST_ID, QUOTE_ID)
    assert len(coincall.sent(ACCEPT)) == 1
    assert sleeps.calls == []


def test_an_accepted_trade_is_found_again_in_block_trades(
        client: CoincallClient, coincall: FakeCoincall, doc: SimpleNamespace,
        clock: ManualClock) -> None:
    since = clock.now() - timedelta(minutes=5)
    row = dict(doc.accepted, createTime=to_epoch_ms(clock.now()), tradeSide=2,
               strategyPrice="1072.5")
    old = dict(row, blockTradeId="1", createTime=to_epoch_ms(since - timedelta(hours=1)))
    path = ep.BLOCK_TRADES.path
    coincall.script("GET", path, coincall.ok({"list": [row], "hasNext": True}),
                    coincall.ok({"list": [old], "hasNext": False}))
    [trade] = client.block_trades(since)
    assert trade.quote_id == QUOTE_ID
    assert trade.request_id == REQUEST_ID
    first, second = coincall.sent(path)
    assert (first.params["fromId"], second.params["fromId"]) == ("0", "1983131007357546498")


def test_cancel_rfq_posts_json_with_a_string_id(client: CoincallClient,
                                                coincall: FakeCoincall) -> None:
    coincall.script("POST", ep.RFQ_CANCEL.path, coincall.ok(True))
    client.cancel_rfq(REQUEST_ID)
    [sent] = coincall.sent(ep.RFQ_CANCEL.path)
    assert json.loads(sent.raw_body) == {"requestId": REQUEST_ID}
    assert sent.headers["Content-Type"] == "application/json"


def test_a_cancel_refused_with_10004_switches_the_accept_to_form_too(
        client: CoincallClient, coincall: FakeCoincall, doc: SimpleNamespace) -> None:
    coincall.script("POST", ep.RFQ_CANCEL.path, coincall.error(10004, "Parameter illegal"),
                    coincall.ok(True))
    coincall.script("POST", ACCEPT, coincall.ok(doc.accepted))
    client.cancel_rfq(REQUEST_ID)
    client.accept_quote(REQUEST_ID, QUOTE_ID)
    [accept] = coincall.sent(ACCEPT)
    assert accept.headers["Content-Type"] == "application/x-www-form-urlencoded"


def _listed(doc: SimpleNamespace, state: str) -> dict[str, object]:
    row = dict(doc.rfq_created, state=state)
    return {"userId": 1, "rfqList": [row]}


def test_a_refused_cancel_is_raised_as_it_came_without_looking_the_request_up(
        client: CoincallClient, coincall: FakeCoincall) -> None:
    """A taker key gets HTTP 404 from rfqList: the caller decides what a refusal means."""
    coincall.script("POST", ep.RFQ_CANCEL.path, coincall.error(10001, "operation not allowed"))
    with pytest.raises(ExchangeRejected, match="operation not allowed"):
        client.cancel_rfq(REQUEST_ID)
    assert coincall.sent(ep.RFQ_LIST.path) == []


def test_get_rfq_with_a_taker_key_is_not_available(client: CoincallClient,
                                                   coincall: FakeCoincall) -> None:
    coincall.script("GET", ep.RFQ_LIST.path, Reply(status=404, body=b"Not Found"))
    with pytest.raises(EndpointNotAvailable):
        client.get_rfq(REQUEST_ID)
    assert len(coincall.sent(ep.RFQ_LIST.path)) == 1  # a 404 is an answer: not retried


def test_get_rfq_finds_the_request_or_answers_none(
        client: CoincallClient, coincall: FakeCoincall, doc: SimpleNamespace) -> None:
    coincall.script("GET", ep.RFQ_LIST.path, coincall.ok(_listed(doc, "FILLED")),
                    coincall.ok({"userId": 1, "rfqList": []}))
    found = client.get_rfq(REQUEST_ID)
    assert found is not None
    assert found.state is RfqState.FILLED
    assert client.get_rfq(REQUEST_ID) is None
    assert coincall.sent(ep.RFQ_LIST.path)[0].params == {"requestId": REQUEST_ID}
