"""Reconciliation on start against the simulated venue (lessons A7, A9, G1, H6, I2)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from runner.dispatch import Dispatcher
from runner.domain.commands import OrderAccepted, OrderPurpose
from runner.domain.instruments import Underlying, parse_symbol
from runner.domain.ledger import LedgerStatus
from runner.domain.orders import OrderRequest, OrderStatus, Side
from runner.domain.trades import TradeLeg, TradeStage
from runner.exchange.errors import ExchangeUnavailable
from runner.reconcile import (
    adopt_positions,
    flatten_trade,
    fresh_start_blocked,
    mark_closed_externally,
    reconcile,
)
from tests.dispatch.helpers_dispatch import (
    crossing_buy_price,
    liquid_call,
    make_venue,
    resting_buy_price,
    venue_orders,
)
from tests.store.helpers_store import make_trade, open_fresh, place


def world(tmp_path, clock):
    venue = make_venue(clock)
    store = open_fresh(tmp_path, clock)
    return venue, store, Dispatcher(venue, store, clock), liquid_call(venue)


def one_leg_trade(trade_id, quote, stage=TradeStage.OPENING, at=None):
    trade = make_trade(trade_id, legs=(TradeLeg(0, quote.symbol, Side.BUY, Decimal("0.1")),),
                       at=at or make_trade().created_at)
    return trade.moved_to(stage, "orders placed", trade.created_at) \
        if stage is not TradeStage.PENDING_OPEN else trade


def settlement_from(venue):
    def price(underlying, expiry):
        return next((d.price for d in venue.delivery_prices(underlying) if d.expiry == expiry),
                    None)
    return price


def test_fills_made_while_the_runner_was_down_are_credited_to_the_right_leg(tmp_path,
                                                                           clock) -> None:
    """I2: killed after sending, before recording the answer; the order filled meanwhile."""
    venue, store, _, quote = world(tmp_path, clock)
    store.save_trade(one_leg_trade("t1", quote))
    command = place("t1", symbol=quote.symbol, qty="0.1", price=str(crossing_buy_price(quote)))
    store.record_intent(command)
    store.mark_sent(command.request.client_order_id)
    venue.place_order(command.request)  # the reply is never recorded: the process died
    store.close()

    clock.advance(timedelta(minutes=5))
    store = open_fresh(tmp_path, clock)
    report = reconcile(store, venue, clock)
    leg = store.load_active_trades()[0].legs[0]
    assert leg.filled_qty == Decimal("0.1")
    assert leg.entry_price is not None
    assert report.credited == ("t1",)
    assert any("credited fills" in line for line in report.lines)
    row = store.find_by_client_order_id(command.request.client_order_id)
    assert row is not None
    assert row.status is LedgerStatus.FINAL


def test_orphans_the_runner_placed_are_cancelled(tmp_path, clock) -> None:
    """Known client id but the trade is over: the order is cancelled, with a report line."""
    venue, store, dispatcher, quote = world(tmp_path, clock)
    trade = one_leg_trade("t1", quote, stage=TradeStage.PENDING_OPEN)
    store.save_trade(trade)
    command = place("t1", symbol=quote.symbol, qty="0.1", price=str(resting_buy_price(quote)))
    dispatcher.execute([command])
    store.save_trade(trade.moved_to(TradeStage.FAILED, "gave up", clock.now()))

    report = reconcile(store, venue, clock)
    assert report.cancelled == (command.request.client_order_id,)
    assert venue.open_orders() == []
    assert any("cancelled orphan" in line for line in report.lines)


def test_orders_and_positions_the_runner_did_not_open_are_left_alone_and_reported(
        tmp_path, clock) -> None:
    venue, store, _, quote = world(tmp_path, clock)
    resting = OrderRequest(quote.symbol, Side.BUY, Decimal("0.1"), resting_buy_price(quote), 77)
    held = OrderRequest(quote.symbol, Side.BUY, Decimal("0.2"), crossing_buy_price(quote), 78)
    resting_id = venue.place_order(resting)
    venue.place_order(held)

    report = reconcile(store, venue, clock)
    assert report.cancelled == ()
    assert report.foreign_orders == (resting_id,)
    assert report.foreign_positions == (quote.symbol,)
    assert [o.order_id for o in venue.open_orders()] == [resting_id]
    assert sum("left alone" in line for line in report.lines) == 2


def test_a_trade_held_through_expiry_is_settled_at_intrinsic_value(tmp_path, clock) -> None:
    """G1/G2: the position vanished at 08:00 UTC; CLOSED with reason expiry at intrinsic."""
    venue, store, dispatcher, quote = world(tmp_path, clock)
    store.save_trade(one_leg_trade("t1", quote))
    cash_before = venue.cash()
    dispatcher.execute([place("t1", symbol=quote.symbol, qty="0.1",
                              price=str(crossing_buy_price(quote)))])
    reconcile(store, venue, clock)
    expiry = parse_symbol(quote.symbol).expiry
    clock.set(expiry + timedelta(hours=1))

    report = reconcile(store, venue, clock, settlement_from(venue))
    trade = store.load_trade("t1")
    assert trade is not None
    assert trade.stage is TradeStage.CLOSED
    assert trade.exit_reason == "expiry"
    delivery = settlement_from(venue)(Underlying.BTC, expiry)
    assert delivery is not None
    strike = parse_symbol(quote.symbol).strike
    assert trade.legs[0].exit_price == max(Decimal(0), delivery - strike)
    assert trade.realized_pnl() - trade.fees() == venue.cash() - cash_before  # E6: fee booked
    assert [e.fee > 0 for e in venue.exercise_records()] == [True]  # it was charged one
    assert report.settled == ("t1",)
    assert store.load_active_trades() == []


def test_a_position_the_exchange_does_not_show_needs_a_decision(tmp_path, clock) -> None:
    """H6: never silently forgotten; the report asks for adopt / closed externally / flatten."""
    venue, store, _, quote = world(tmp_path, clock)
    trade = one_leg_trade("t1", quote, stage=TradeStage.OPENING)
    trade = trade.with_leg(trade.legs[0].with_open_fill(Decimal("0.1"), Decimal(100)))
    store.save_trade(trade.moved_to(TradeStage.OPEN, "filled", clock.now()))

    report = reconcile(store, venue, clock)
    assert report.needs_attention
    [discrepancy] = report.discrepancies
    assert (discrepancy.symbol, discrepancy.expected, discrepancy.found) == \
        (quote.symbol, Decimal("0.1"), Decimal(0))
    assert any(line.startswith("DECISION NEEDED") for line in report.lines)

    closed = mark_closed_externally(store, "t1", clock.now())
    assert closed.stage is TradeStage.CLOSED
    assert closed.exit_reason == "closed_externally"
    assert not reconcile(store, venue, clock).needs_attention


def test_reconciliation_is_idempotent_over_a_hundred_starts(tmp_path, clock) -> None:
    """A7: start 100 times after a kill mid-opening: the same result every time."""
    venue, store, dispatcher, quote = world(tmp_path, clock)
    store.save_trade(one_leg_trade("t1", quote))
    dispatcher.execute([place("t1", symbol=quote.symbol, qty="0.1",
                              price=str(resting_buy_price(quote)))])
    venue.place_order(OrderRequest(quote.symbol, Side.BUY, Decimal("0.1"),
                                   resting_buy_price(quote), 99))
    store.close()
    outcomes = set()
    for _ in range(100):
        store = open_fresh(tmp_path, clock)
        report = reconcile(store, venue, clock)
        outcomes.add((report.lines, report.cancelled, report.credited,
                      tuple(store.load_active_trades()), len(venue.open_orders())))
        store.close()
    assert len(outcomes) == 1
    assert len(venue_orders(venue)) == 2


def test_a_failed_exchange_read_postpones_reconciliation_and_changes_nothing(tmp_path,
                                                                             clock) -> None:
    """C5: a failed read is not an empty account."""
    venue, store, _, _ = world(tmp_path, clock)

    class Down:
        def open_orders(self):
            raise ExchangeUnavailable("connection refused")

        def __getattr__(self, name):
            return getattr(venue, name)

    report = reconcile(store, Down(), clock)
    assert not report.complete
    assert report.needs_attention
    assert "POSTPONED" in report.lines[0]


def test_a_fresh_start_is_refused_while_anything_is_open(tmp_path, clock) -> None:
    """A9: `runner run --fresh` refuses while the journal or the exchange shows positions."""
    venue, store, _, quote = world(tmp_path, clock)
    assert fresh_start_blocked(store, venue) is None
    venue.place_order(OrderRequest(quote.symbol, Side.BUY, Decimal("0.1"),
                                   crossing_buy_price(quote), 5))
    exchange_reason = fresh_start_blocked(store, venue)
    assert exchange_reason is not None
    assert "exchange shows 1 open position" in exchange_reason

    fresh_venue = make_venue(clock, seed=3)
    store.save_trade(one_leg_trade("t1", quote))
    store_reason = fresh_start_blocked(store, fresh_venue)
    assert store_reason is not None
    assert "store holds 1 active trade" in store_reason


def test_adopting_then_flattening_a_foreign_position_closes_it(tmp_path, clock) -> None:
    """H6: adopt and flatten are explicit operator choices; flatten is reduce-only."""
    venue, store, dispatcher, quote = world(tmp_path, clock)
    venue.place_order(OrderRequest(quote.symbol, Side.BUY, Decimal("0.2"),
                                   crossing_buy_price(quote), 5))
    [adopted] = adopt_positions(store, venue, clock.now())
    assert adopted.stage is TradeStage.OPEN
    assert adopted.legs[0].open_qty == Decimal("0.2")
    assert adopt_positions(store, venue, clock.now()) == []
    assert reconcile(store, venue, clock).foreign_positions == ()

    events, unpriced = flatten_trade(store, dispatcher, venue, adopted.trade_id, clock.now())
    assert unpriced == []
    assert any(isinstance(e, OrderAccepted) for e in events)
    [close] = store.orders_for_trade(adopted.trade_id)
    assert close.request.reduce_only
    assert close.key.purpose is OrderPurpose.CLOSE
    dispatcher.poll()
    assert venue.positions() == []
    assert store.find_by_client_order_id(close.client_order_id).exchange_status is \
        OrderStatus.FILLED


def test_reconcile_accepts_the_current_time_instead_of_a_clock(tmp_path, clock) -> None:
    venue, store, _, _ = world(tmp_path, clock)
    report = reconcile(store, venue, clock.now())
    assert report.complete
    assert report.lines == ("reconcile: store and exchange agree; nothing to do",)
