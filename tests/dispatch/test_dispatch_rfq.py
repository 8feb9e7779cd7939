"""RFQ commands through the dispatcher: journaled first, accepts never repeated (pitfall 8)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from runner.dispatch import Dispatcher
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
from runner.exchange.sim.faults import FaultKind, FaultPlan, FaultRule, FaultyExchange
from tests.dispatch.helpers_dispatch import make_venue
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


def test_an_accept_that_never_reached_the_exchange_is_settled_by_cancelling_the_request(
        tmp_path, clock) -> None:
    """No block trade and the request still active: cancelling it settles the accept at
    once (a cancelled request can no longer be accepted), instead of waiting ~1 h."""
    plan = FaultPlan.of(FaultRule(endpoint="accept_quote", kind=FaultKind.DISCONNECT,
                                  count=1))
    _, store, dispatcher, legs = world(tmp_path, clock, plan)
    [created] = dispatcher.execute([CreateRfq("t1", OrderPurpose.OPEN, 0, legs)])
    request_id = created.rfq.request_id
    quote = quotes_for(dispatcher, clock, legs)[0]
    events = dispatcher.execute([AcceptQuote("t1", request_id, quote.quote_id,
                                             quote.taker_cost())])
    assert [type(e) for e in events] == [RfqFailed]
    assert store.find_rfq(request_id).state is RfqLedgerState.CANCELLED
    assert dispatcher.exchange.inner.get_rfq(request_id).state is RfqState.CANCELLED
    assert dispatcher.poll() == []


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
    assert venue.get_rfq(created.rfq.request_id).state.value == "cancelled"
