"""The pieces that make a restart whole: ledger resync, RFQ settling, no double credit.

Regression tests for the defects the crash matrix found (see requests.md R-C1):
- an RFQ open whose block trade recovery already credited was credited again by the
  executor (legs showed 1.00 of 0.50; the close then sold 1.00: a naked short);
- an accept intent the process died before sending kept its trade waiting for the
  request to expire (~1 h); it is now settled by cancelling the still-active request;
- a request left ACTIVE in the ledger that no execution waits on was polled every tick
  until it expired; reconciliation now settles it on the exchange;
- executions resumed after a kill get the ledger's view as events (`missed_events`).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from runner.dispatch import Dispatcher
from runner.dispatch.rfqs import ACCEPT_SETTLE_GRACE
from runner.domain.commands import (
    AcceptQuote,
    CancelRfq,
    CreateRfq,
    OrderAccepted,
    OrderPurpose,
    OrderRejected,
    OrderUpdated,
    PlaceOrder,
    QuoteAccepted,
    RfqCreated,
    RfqFailed,
)
from runner.domain.ledger import RfqLedgerState
from runner.domain.orders import Side
from runner.domain.rfq import Rfq, RfqLeg, RfqState
from runner.domain.trades import Trade, TradeLeg, TradeStage
from runner.execution import advance, budget_spent, start_open
from runner.execution.state import RfqStage
from runner.reconcile import reconcile
from runner.reconcile.resync import NEVER_SENT, missed_events
from runner.sim.faults import FaultKind, FaultPlan, FaultRule
from runner.sim.faulty import FaultyExchange
from runner.strategy.model import LimitExecution, RfqExecution
from tests.dispatch.helpers_dispatch import CountingExchange, liquid_call, make_venue
from tests.execution.helpers_execution import (
    CALL,
    PUT,
    T0,
    Desk,
    at,
    make_quote,
    market,
    new_trade,
)
from tests.store.helpers_store import open_fresh

D = Decimal
BOOK = market(CALL=("100", "102", "101"), PUT=("50", "52", "51"))
# Makers sell both legs 2 % below the book's asks (buying the strangle costs 77 on the book).
BETTER = ((CALL, Side.SELL, "99.96", "0.5"), (PUT, Side.SELL, "50.96", "0.5"))


def strangle() -> Trade:
    return new_trade((CALL, Side.BUY, "0.5"), (PUT, Side.BUY, "0.5"))


def accepting_step():
    """An RFQ open that has just sent its accept; and the desk that will answer it."""
    desk = Desk(quotes=(make_quote("q1", "r1", *BETTER),))
    step = start_open(strangle(), RfqExecution(timeout=timedelta(seconds=60)), BOOK, T0)
    created = desk.execute(step.commands)
    step = advance(step.state, step.trade, BOOK, [*created, desk.quote_event("r1")], at(5))
    assert step.state.rfq.stage is RfqStage.ACCEPTING
    return desk, step


def test_a_block_trade_already_credited_by_recovery_is_not_credited_again() -> None:
    """The accept's answer was lost with the process; recovery credited the legs from
    the ledger; the resumed executor then hears QuoteAccepted: legs stay at 0.5."""
    desk, step = accepting_step()
    [accepted] = desk.execute(step.commands)
    assert isinstance(accepted, QuoteAccepted)
    recovered = step.trade
    for done in accepted.trade.legs:
        leg = next(leg for leg in recovered.legs if leg.symbol == done.symbol)
        recovered = recovered.with_leg(leg.with_open_fill(done.qty, done.price, done.fee))
    resumed = advance(step.state, recovered, BOOK, [accepted], at(20))
    assert resumed.trade.stage is TradeStage.OPEN
    assert [leg.filled_qty for leg in resumed.trade.legs] == [D("0.5"), D("0.5")]
    assert resumed.trade.fees() == recovered.fees()


def test_an_rfq_open_without_recovery_is_credited_once() -> None:
    desk, step = accepting_step()
    done = advance(step.state, step.trade, BOOK, desk.execute(step.commands), at(6))
    assert [leg.filled_qty for leg in done.trade.legs] == [D("0.5"), D("0.5")]


# -- the dispatcher and reconciliation against the simulated venue -------------------------------
def rfq_world(tmp_path, clock):
    venue = make_venue(clock)
    store = open_fresh(tmp_path, clock)
    call = liquid_call(venue)
    put = next(q for q in venue.option_chain(call.instrument.underlying,
                                             call.instrument.expiry)
               if q.instrument.kind.value == "put" and q.bid and q.ask)
    legs = (RfqLeg(call.symbol, Side.BUY, D("0.5")), RfqLeg(put.symbol, Side.BUY, D("0.5")))
    trade = Trade.create("t1", "demo", (TradeLeg(0, call.symbol, Side.BUY, D("0.5")),
                                        TradeLeg(1, put.symbol, Side.BUY, D("0.5"))), clock.now())
    store.save_trade(trade)
    return venue, store, Dispatcher(venue, store, clock), legs


def first_quote(venue, clock, request_id: str):
    for _ in range(30):
        clock.advance(timedelta(seconds=1))
        quotes = [q for q in venue.rfq_quotes(request_id) if q.state.value == "open"]
        if quotes:
            return quotes[0]
    raise AssertionError("no quote")


def test_an_accept_intent_never_sent_is_settled_by_cancelling_the_request(
        tmp_path, clock) -> None:
    """Killed between the accept intent and its request: the restart cancels the request
    by its recorded id (a taker key cannot look it up) and, with no block trade a grace
    after the cancel answer, reports the accept as not done, instead of waiting an hour
    for the request to expire."""
    venue, store, dispatcher, legs = rfq_world(tmp_path, clock)
    [created] = dispatcher.execute([CreateRfq("t1", OrderPurpose.OPEN, 0, legs)])
    request_id = created.rfq.request_id
    quote = first_quote(venue, clock, request_id)
    record = store.find_rfq(request_id)
    store.record_accept_intent(record.rfq_key, quote.quote_id, quote.taker_cost())  # then died

    restarted = Dispatcher(venue, store, clock)
    assert restarted.poll() == []
    assert venue.rfq_view(request_id).state is RfqState.CANCELLED
    clock.advance(ACCEPT_SETTLE_GRACE)
    events = restarted.poll()
    assert [type(e) for e in events] == [RfqFailed]
    assert store.find_rfq(request_id).state is RfqLedgerState.CANCELLED
    assert venue.rfq_view(request_id).state is RfqState.CANCELLED
    assert venue.block_trades(created.rfq.created_at) == []


def test_an_accept_that_happened_is_adopted_never_cancelled(tmp_path, clock) -> None:
    venue, store, dispatcher, legs = rfq_world(tmp_path, clock)
    [created] = dispatcher.execute([CreateRfq("t1", OrderPurpose.OPEN, 0, legs)])
    request_id = created.rfq.request_id
    quote = first_quote(venue, clock, request_id)
    record = store.find_rfq(request_id)
    store.record_accept_intent(record.rfq_key, quote.quote_id, quote.taker_cost())
    venue.accept_quote(request_id, quote.quote_id)  # done; the answer died with the process

    [adopted] = Dispatcher(venue, store, clock).poll()
    assert isinstance(adopted, QuoteAccepted)
    assert store.find_rfq(request_id).state is RfqLedgerState.FILLED
    assert venue.rfq_view(request_id).state is RfqState.FILLED


def test_reconcile_cancels_an_active_request_no_execution_waits_on(tmp_path, clock) -> None:
    venue, store, dispatcher, legs = rfq_world(tmp_path, clock)
    [created] = dispatcher.execute([CreateRfq("t1", OrderPurpose.OPEN, 0, legs)])
    request_id = created.rfq.request_id

    report = reconcile(store, venue, clock)
    assert store.find_rfq(request_id).state is RfqLedgerState.CANCELLED
    assert venue.rfq_view(request_id).state is RfqState.CANCELLED
    assert any(request_id in line for line in report.lines)
    assert reconcile(store, venue, clock).lines == reconcile(store, venue, clock).lines  # A7


def test_reconcile_marks_a_request_the_exchange_already_cancelled(tmp_path, clock) -> None:
    venue, store, dispatcher, legs = rfq_world(tmp_path, clock)
    [created] = dispatcher.execute([CreateRfq("t1", OrderPurpose.OPEN, 0, legs)])
    venue.cancel_rfq(created.rfq.request_id)  # done; the ledger update died with the process
    reconcile(store, venue, clock)
    assert store.find_rfq(created.rfq.request_id).state is RfqLedgerState.CANCELLED


def test_reconcile_settles_a_request_whose_cancel_is_refused_as_final(tmp_path, clock) -> None:
    """The venue refuses to cancel a request already final; with a taker key it cannot be
    looked up, and the refusal is the answer: no execution waits on it, it is final."""
    venue, store, dispatcher, legs = rfq_world(tmp_path, clock)
    [created] = dispatcher.execute([CreateRfq("t1", OrderPurpose.OPEN, 0, legs)])
    plan = FaultPlan.of(FaultRule(endpoint="cancel_rfq", kind=FaultKind.ERROR, code=10001))
    report = reconcile(store, FaultyExchange(venue, plan, clock), clock)
    record = store.find_rfq(created.rfq.request_id)
    assert record.state is RfqLedgerState.CANCELLED
    assert "refused" in record.error_message
    assert any(created.rfq.request_id in line for line in report.lines)


def test_reconcile_expires_a_request_past_its_expiry_without_a_call(tmp_path, clock) -> None:
    venue, store, dispatcher, legs = rfq_world(tmp_path, clock)
    [created] = dispatcher.execute([CreateRfq("t1", OrderPurpose.OPEN, 0, legs)])
    clock.advance(created.rfq.expires_at - clock.now())
    counted = CountingExchange(venue)
    reconcile(store, counted, clock)
    assert store.find_rfq(created.rfq.request_id).state is RfqLedgerState.EXPIRED
    assert counted.calls["cancel_rfq"] == counted.calls["get_rfq"] == 0


def test_reconcile_leaves_alone_a_request_its_execution_still_collects_on(tmp_path,
                                                                          clock) -> None:
    venue, store, dispatcher, _ = rfq_world(tmp_path, clock)
    trade = store.load_trade("t1")
    step = start_open(trade, RfqExecution(), BOOK, clock.now())
    store.save_trade_and_execution(step.trade, step.state.to_dict())
    [created] = dispatcher.execute(step.commands)
    assert isinstance(created, RfqCreated)
    reconcile(store, venue, clock)
    assert store.find_rfq(created.rfq.request_id).state is RfqLedgerState.ACTIVE
    assert venue.rfq_view(created.rfq.request_id).state is RfqState.ACTIVE


# -- missed_events -----------------------------------------------------------------------------
def test_a_command_the_ledger_never_saw_is_answered_never_sent(tmp_path, clock) -> None:
    store = open_fresh(tmp_path, clock)
    step = start_open(strangle(), LimitExecution(), BOOK, T0)
    events = missed_events(store, [step.state])
    assert [type(e) for e in events] == [OrderRejected, OrderRejected]
    assert all(e.message == NEVER_SENT for e in events)


def test_an_order_the_ledger_shows_filled_is_reported_with_its_fill(tmp_path, clock) -> None:
    venue = make_venue(clock)
    store = open_fresh(tmp_path, clock)
    call = liquid_call(venue)
    trade = new_trade((call.symbol, Side.BUY, "0.1"))
    store.save_trade(trade)
    snapshot = market(**{call.symbol: (str(call.bid), str(call.ask), str(call.mark))})
    step = start_open(trade, LimitExecution(), snapshot, clock.now())
    [place] = [c for c in step.commands if isinstance(c, PlaceOrder)]
    dispatcher = Dispatcher(venue, store, clock)
    dispatcher.execute([place])
    clock.advance(timedelta(seconds=1))
    dispatcher.poll()  # the ledger learns the fill; the events die with the process
    events = missed_events(store, [step.state])
    assert [type(e) for e in events] == [OrderAccepted, OrderUpdated]
    assert events[1].order.filled_qty == D("0.1")


def test_an_accept_the_ledger_never_saw_frees_the_execution(tmp_path, clock) -> None:
    _, store, dispatcher, legs = rfq_world(tmp_path, clock)
    _, step = accepting_step()  # its AcceptQuote never reached the dispatcher
    assert any(isinstance(c, AcceptQuote) for c in step.commands)
    dispatcher.execute([CreateRfq("t1", OrderPurpose.OPEN, step.state.rfq.attempt, legs)])
    events = missed_events(store, [step.state])
    assert [type(e) for e in events] == [RfqFailed]
    assert NEVER_SENT in events[0].message


def test_the_failure_of_an_earlier_request_is_not_taken_by_the_next_one() -> None:
    """A "never sent" failure of a superseded RFQ attempt (no request id yet) arrives in the
    tick its renewal started: the new request keeps collecting, no limit fallback."""
    step = start_open(strangle(), RfqExecution(timeout=timedelta(seconds=60)), BOOK, T0)
    attempt = step.state.rfq.attempt
    stale = RfqFailed("t1", None, None, NEVER_SENT, attempt - 1)
    kept = advance(step.state, step.trade, BOOK, [stale], at(1))
    assert kept.state is not None
    assert kept.state.rfq is not None
    assert kept.state.rfq.stage is RfqStage.CREATING
    assert kept.commands == ()
    own = advance(step.state, step.trade, BOOK, [RfqFailed("t1", None, None, "x", attempt)],
                  at(1))
    assert own.state is None or own.state.rfq is None  # its own failure: it falls back


def test_a_cancel_the_exchange_did_not_answer_is_sent_again_at_the_next_poll(tmp_path,
                                                                             clock) -> None:
    """A timed-out RFQ whose cancel failed (5xx) stayed active ~1 h, its quotes polled
    every tick; the cancel is now remembered and retried (found by the crash campaign)."""
    venue, store, _, legs = rfq_world(tmp_path, clock)
    plan = FaultPlan.of(FaultRule(endpoint="cancel_rfq", kind=FaultKind.HTTP_5XX, count=1))
    dispatcher = Dispatcher(FaultyExchange(venue, plan, clock), store, clock)
    [created] = dispatcher.execute([CreateRfq("t1", OrderPurpose.OPEN, 0, legs)])
    request_id = created.rfq.request_id
    assert dispatcher.execute([CancelRfq("t1", request_id, "timeout")]) == []
    assert venue.rfq_view(request_id).state is RfqState.ACTIVE
    assert store.find_rfq(request_id).state is RfqLedgerState.ACTIVE
    assert dispatcher.poll() == []
    assert venue.rfq_view(request_id).state is RfqState.CANCELLED
    assert store.find_rfq(request_id).state is RfqLedgerState.CANCELLED
    assert store.active_rfqs() == []


def test_the_creation_of_an_earlier_request_is_not_taken_by_the_next_one() -> None:
    """An RfqCreated of a superseded attempt must not become the new request's id."""
    step = start_open(strangle(), RfqExecution(timeout=timedelta(seconds=60)), BOOK, T0)
    attempt = step.state.rfq.attempt
    old = Rfq("r-old", RfqState.ACTIVE, step.state.rfq.sent, T0, T0 + timedelta(hours=1))
    kept = advance(step.state, step.trade, BOOK, [RfqCreated("t1", old, attempt - 1)], at(1))
    assert kept.state.rfq.stage is RfqStage.CREATING
    assert kept.state.rfq.request_id is None
    own = advance(step.state, step.trade, BOOK, [RfqCreated("t1", old, attempt)], at(1))
    assert own.state.rfq.request_id == "r-old"


def test_an_rfq_execution_is_never_renewed_for_its_budget() -> None:
    """Past its deadline an RFQ times out by itself (cancel, limit fallback)."""
    step = start_open(strangle(), RfqExecution(timeout=timedelta(seconds=60)), BOOK, T0)
    assert not budget_spent(step.state, at(3600))
