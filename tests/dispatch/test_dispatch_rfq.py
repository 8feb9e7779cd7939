"""RFQ commands through the dispatcher: journaled first, accepts never repeated (pitfall 8),
and never a look-up of a request: the simulated key is a taker key (rfqList HTTP 404)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from runner.dispatch import Dispatcher
from runner.dispatch.rfqs import ACCEPT_SETTLE_GRACE
from runner.domain.commands import (
    AcceptQuote,
    CancelRfq,
    CreateRfq,
    OrderPurpose,
    QuoteAccepted,
    QuotesReceived,
    RfqCreated,
    RfqFailed,
)
from runner.domain.instruments import Underlying
from runner.domain.ledger import RfqLedgerState
from runner.domain.orders import Side
from runner.domain.rfq import RfqLeg, RfqState
from runner.domain.trades import TradeLeg
from runner.exchange.errors import EndpointNotAvailable
from runner.sim.access import KeyAccess
from runner.sim.faults import FaultKind, FaultPlan, FaultRule, FaultyExchange
from runner.sim.venue import SimVenue
from tests.dispatch.helpers_dispatch import CountingExchange, make_venue
from tests.store.helpers_store import make_trade, open_fresh


def strangle(venue):
    chain = venue.option_chain(Underlying.BTC)
    nearest = min(q.instrument.expiry for q in chain)
    same = [q for q in chain if q.instrument.expiry == nearest and q.delta is not None]
    call = min((q for q in same if q.delta > 0), key=lambda q: abs(q.delta - 0.3))
    put = min((q for q in same if q.delta < 0), key=lambda q: abs(q.delta + 0.3))
    return (RfqLeg(call.symbol, Side.BUY, Decimal("0.5")),
            RfqLeg(put.symbol, Side.BUY, Decimal("0.5")))


def world(tmp_path, clock, plan=None):
    venue = make_venue(clock)
    store = open_fresh(tmp_path, clock)
    legs = strangle(venue)
    store.save_trade(make_trade("t1", legs=tuple(
        TradeLeg(i, leg.symbol, leg.side, leg.qty) for i, leg in enumerate(legs))))
    exchange = FaultyExchange(venue, plan, clock) if plan else venue
    return venue, store, Dispatcher(exchange, store, clock), legs


def quotes_for(dispatcher, clock, legs):
    clock.advance(timedelta(seconds=15))
    received = [e for e in dispatcher.poll() if isinstance(e, QuotesReceived)]
    assert received, "no quotes arrived"
    return [q for q in received[0].quotes if q.matches_direction(legs)]


def test_creating_the_same_rfq_twice_creates_one_request(tmp_path, clock) -> None:
    venue, store, dispatcher, legs = world(tmp_path, clock)
    command = CreateRfq("t1", OrderPurpose.OPEN, 0, legs)
    [first] = dispatcher.execute([command])
    [second] = dispatcher.execute([command])
    assert isinstance(first, RfqCreated)
    assert isinstance(second, RfqCreated)
    assert first.rfq.request_id == second.rfq.request_id
    assert len(venue.rfq_records()) == 1
    assert store.find_rfq(first.rfq.request_id).state is RfqLedgerState.ACTIVE


def test_an_accepted_quote_is_journaled_and_never_accepted_twice(tmp_path, clock) -> None:
    venue, store, dispatcher, legs = world(tmp_path, clock)
    [created] = dispatcher.execute([CreateRfq("t1", OrderPurpose.OPEN, 0, legs)])
    request_id = created.rfq.request_id
    quote = quotes_for(dispatcher, clock, legs)[0]
    accept = AcceptQuote("t1", request_id, quote.quote_id, quote.taker_cost())
    [accepted] = dispatcher.execute([accept])
    assert isinstance(accepted, QuoteAccepted)
    assert dispatcher.execute([accept]) == [accepted]
    assert len(venue.block_trades(created.rfq.created_at)) == 1
    record = store.find_rfq(request_id)
    assert record.state is RfqLedgerState.FILLED
    assert record.accept_quote_id == quote.quote_id
    assert len(store.fills_for_trade("t1")) == 2


def test_a_lost_accept_answer_is_resolved_from_the_block_trades(tmp_path, clock) -> None:
    """Pitfall 8: the accept happened but its answer was lost: adopted, not resent."""
    plan = FaultPlan.of(FaultRule(endpoint="accept_quote", kind=FaultKind.LOST_RESPONSE,
                                  count=1))
    venue, store, dispatcher, legs = world(tmp_path, clock, plan)
    [created] = dispatcher.execute([CreateRfq("t1", OrderPurpose.OPEN, 0, legs)])
    quote = quotes_for(dispatcher, clock, legs)[0]
    accept = AcceptQuote("t1", created.rfq.request_id, quote.quote_id, quote.taker_cost())
    [accepted] = dispatcher.execute([accept])
    assert isinstance(accepted, QuoteAccepted)
    assert accepted.trade.quote_id == quote.quote_id
    assert dispatcher.execute([accept]) == [accepted]
    assert len(venue.block_trades(created.rfq.created_at)) == 1
    actions = [(a, o) for _, a, _, o, _ in store.audit_log() if a in ("accept_quote",
                                                                      "block_trades")]
    assert actions == [("accept_quote", "sending"), ("accept_quote", "outcome unknown"),
                       ("block_trades", "accept adopted")]


def test_an_unknown_accept_that_did_not_happen_is_settled_as_not_traded_with_a_taker_key(
        tmp_path, clock) -> None:
    """Issue 8 item 4: the accept's answer never came and it did not execute; rfqList is
    HTTP 404 for a taker key, so the request is cancelled by its recorded id and, with no
    block trade ACCEPT_SETTLE_GRACE after the cancel answer, settled as not traded (not
    left in OPENING for the request's hour)."""
    plan = FaultPlan.of(FaultRule(endpoint="accept_quote", kind=FaultKind.DISCONNECT,
                                  count=1))
    venue, store, dispatcher, legs = world(tmp_path, clock, plan)
    counted = CountingExchange(dispatcher.exchange)
    dispatcher.exchange = counted
    [created] = dispatcher.execute([CreateRfq("t1", OrderPurpose.OPEN, 0, legs)])
    request_id = created.rfq.request_id
    quote = quotes_for(dispatcher, clock, legs)[0]
    accept = AcceptQuote("t1", request_id, quote.quote_id, quote.taker_cost())
    assert dispatcher.execute([accept]) == []
    assert venue.rfq_view(request_id).state is RfqState.CANCELLED
    clock.advance(ACCEPT_SETTLE_GRACE - timedelta(seconds=2))
    assert dispatcher.poll() == []
    assert dispatcher.execute([accept]) == []
    assert store.find_rfq(request_id).state is RfqLedgerState.ACCEPT_UNKNOWN
    clock.advance(timedelta(seconds=2))
    [failed] = dispatcher.poll()
    assert isinstance(failed, RfqFailed)
    assert "did not happen" in failed.message
    assert store.find_rfq(request_id).state is RfqLedgerState.CANCELLED
    assert dispatcher.poll() == []
    assert venue.block_trades(created.rfq.created_at) == []
    assert counted.calls["get_rfq"] == 0
    assert counted.calls["accept_quote"] == 1
    assert counted.calls["cancel_rfq"] == 1


class LateBlockTrades(CountingExchange):
    """trade-detail shows a block trade only `lag_s` after it happened."""

    def __init__(self, inner, clock, lag_s: float) -> None:
        super().__init__(inner)
        self._clock = clock
        self._lag = timedelta(seconds=lag_s)

    def block_trades(self, since):
        self.calls["block_trades"] += 1
        return [t for t in self._inner.block_trades(since)
                if t.at is None or t.at + self._lag <= self._clock.now()]


def test_an_unknown_accept_whose_block_trade_shows_late_is_adopted_within_the_grace(
        tmp_path, clock) -> None:
    """The accept executed but its answer was lost and trade-detail lags: the settling
    cancel comes too late to matter (the request is filled) and the block trade is
    adopted when it shows, inside the grace; never settled as not traded."""
    plan = FaultPlan.of(FaultRule(endpoint="accept_quote", kind=FaultKind.LOST_RESPONSE,
                                  count=1))
    venue, store, dispatcher, legs = world(tmp_path, clock, plan)
    dispatcher.exchange = LateBlockTrades(dispatcher.exchange, clock, lag_s=10)
    [created] = dispatcher.execute([CreateRfq("t1", OrderPurpose.OPEN, 0, legs)])
    request_id = created.rfq.request_id
    quote = quotes_for(dispatcher, clock, legs)[0]
    accept = AcceptQuote("t1", request_id, quote.quote_id, quote.taker_cost())
    assert dispatcher.execute([accept]) == []
    clock.advance(timedelta(seconds=4))
    assert dispatcher.poll() == []
    clock.advance(timedelta(seconds=8))
    [accepted] = dispatcher.poll()
    assert isinstance(accepted, QuoteAccepted)
    assert accepted.trade.quote_id == quote.quote_id
    assert store.find_rfq(request_id).state is RfqLedgerState.FILLED
    assert venue.rfq_view(request_id).state is RfqState.FILLED
    assert dispatcher.exchange.calls["get_rfq"] == 0


def test_an_active_request_past_its_expiry_is_reported_expired_without_rfq_list(
        tmp_path, clock) -> None:
    venue, store, dispatcher, legs = world(tmp_path, clock)
    venue.set_maker_behaviour(enabled=False)
    [created] = dispatcher.execute([CreateRfq("t1", OrderPurpose.OPEN, 0, legs)])
    clock.advance(created.rfq.expires_at - clock.now())
    [expired] = [e for e in dispatcher.poll() if isinstance(e, RfqFailed)]
    assert expired.request_id == created.rfq.request_id
    assert store.find_rfq(created.rfq.request_id).state is RfqLedgerState.EXPIRED
    assert dispatcher.poll() == []


def test_a_refused_cancel_records_the_request_as_final(tmp_path, clock) -> None:
    """A taker key cannot look the request up: a cancel refused for the request (not for
    the key) means it is final already; it is not sent again every tick."""
    plan = FaultPlan.of(FaultRule(endpoint="cancel_rfq", kind=FaultKind.ERROR, code=10001,
                                  message="operation not allowed"))
    _, store, dispatcher, legs = world(tmp_path, clock, plan)
    counted = CountingExchange(dispatcher.exchange)
    dispatcher.exchange = counted
    [created] = dispatcher.execute([CreateRfq("t1", OrderPurpose.OPEN, 0, legs)])
    assert dispatcher.execute([CancelRfq("t1", created.rfq.request_id, "timeout")]) == []
    record = store.find_rfq(created.rfq.request_id)
    assert record.state is RfqLedgerState.CANCELLED
    assert "refused" in record.error_message
    dispatcher.poll()
    assert counted.calls["cancel_rfq"] == 1


def test_a_cancel_refused_for_the_key_is_sent_again_at_the_next_poll(tmp_path, clock) -> None:
    plan = FaultPlan.of(FaultRule(endpoint="cancel_rfq", kind=FaultKind.ERROR, code=10006,
                                  count=1))
    venue, store, dispatcher, legs = world(tmp_path, clock, plan)
    [created] = dispatcher.execute([CreateRfq("t1", OrderPurpose.OPEN, 0, legs)])
    dispatcher.execute([CancelRfq("t1", created.rfq.request_id, "timeout")])
    assert store.find_rfq(created.rfq.request_id).state is RfqLedgerState.ACTIVE
    dispatcher.poll()
    assert store.find_rfq(created.rfq.request_id).state is RfqLedgerState.CANCELLED
    assert venue.rfq_view(created.rfq.request_id).state is RfqState.CANCELLED


def test_the_simulated_taker_key_refuses_rfq_list_as_the_adapter_does(clock) -> None:
    venue = make_venue(clock)
    with pytest.raises(EndpointNotAvailable):
        venue.get_rfq("1")
    assert SimVenue(clock, key_access=KeyAccess.MAKER).get_rfq("1") is None


def test_a_refused_create_is_reported_and_final(tmp_path, clock) -> None:
    _, store, dispatcher, legs = world(tmp_path, clock)
    single_sell = (RfqLeg(legs[0].symbol, Side.SELL, Decimal("0.5")),)
    [failed] = dispatcher.execute([CreateRfq("t1", OrderPurpose.OPEN, 1, single_sell)])
    assert isinstance(failed, RfqFailed)
    assert failed.code is not None
    assert store.active_rfqs() == []


def test_cancelling_an_rfq_marks_it_cancelled(tmp_path, clock) -> None:
    venue, store, dispatcher, legs = world(tmp_path, clock)
    [created] = dispatcher.execute([CreateRfq("t1", OrderPurpose.OPEN, 0, legs)])
    assert dispatcher.execute([CancelRfq("t1", created.rfq.request_id, "timeout")]) == []
    assert store.find_rfq(created.rfq.request_id).state is RfqLedgerState.CANCELLED
    assert venue.rfq_view(created.rfq.request_id).state.value == "cancelled"


class NoBlockTrades(CountingExchange):
    """trade-detail that misses every block trade until `show()`."""

    hidden = True

    def block_trades(self, since):
        return [] if self.hidden else self._inner.block_trades(since)


def test_an_unknown_accept_the_block_trades_miss_but_positions_show_is_never_settled_as_not_traded(
        tmp_path, clock) -> None:
    """Positions are the second witness: the legs stand on the account beyond what the
    store holds, so settling "not traded" (and falling back to trade again) would double
    the structure; the dispatcher waits and adopts the block trade once it shows."""
    plan = FaultPlan.of(FaultRule(endpoint="accept_quote", kind=FaultKind.LOST_RESPONSE,
                                  count=1))
    _, store, dispatcher, legs = world(tmp_path, clock, plan)
    exchange = NoBlockTrades(dispatcher.exchange)
    dispatcher.exchange = exchange
    [created] = dispatcher.execute([CreateRfq("t1", OrderPurpose.OPEN, 0, legs)])
    request_id = created.rfq.request_id
    quote = quotes_for(dispatcher, clock, legs)[0]
    assert dispatcher.execute([AcceptQuote("t1", request_id, quote.quote_id,
                                           quote.taker_cost())]) == []
    for _ in range(3):
        clock.advance(ACCEPT_SETTLE_GRACE)
        assert dispatcher.poll() == []
    assert store.find_rfq(request_id).state is RfqLedgerState.ACCEPT_UNKNOWN
    assert exchange.calls["positions"] >= 1
    exchange.hidden = False
    [accepted] = dispatcher.poll()
    assert isinstance(accepted, QuoteAccepted)
    assert store.find_rfq(request_id).state is RfqLedgerState.FILLED
