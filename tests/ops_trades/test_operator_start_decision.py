"""`apply_start_decision` (runner run --adopt / --flatten) and the read-only trades view
(lessons A9, H6, I2, C5)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from runner.cli.operator import apply_start_decision, read_trades_view
from runner.domain.commands import OrderKey, OrderPurpose, PlaceOrder
from runner.domain.instruments import OptionKind
from runner.domain.orders import OrderRequest, Side
from runner.domain.trades import Trade, TradeLeg, TradeStage
from runner.exchange.errors import ExchangeUnavailable
from runner.reconcile.decisions import FlattenLimits, fresh_start_blocked
from runner.sim.venue import SimVenue
from runner.store.store import Store
from tests.ops_trades.helpers_ops_trades import hold, liquid_quote, positions

LIMITS = FlattenLimits(rounds=2, requote_after=timedelta(seconds=5))


@pytest.fixture
def venue(clock) -> SimVenue:
    return SimVenue(clock, seed=7)


@pytest.fixture
def store(tmp_path, clock) -> Store:
    opened = Store.open(tmp_path / "state" / "runner.sqlite3", clock)
    yield opened
    opened.close()


def held_trade(store, clock, trade_id, quote, side=Side.BUY, qty="0.1") -> Trade:
    now = clock.now()
    trade = Trade.create(trade_id, "demo", (TradeLeg(0, quote.instrument.symbol, side,
                                                     Decimal(qty)),), now)
    trade = trade.moved_to(TradeStage.OPENING, "orders placed", now)
    trade = trade.with_leg(trade.legs[0].with_open_fill(Decimal(qty), quote.ask))
    trade = trade.moved_to(TradeStage.OPEN, "filled", now)
    store.save_trade(trade)
    return trade


class Down:
    """The venue with its reads failing."""

    def __init__(self, inner: SimVenue) -> None:
        self.inner = inner

    def open_orders(self, underlying=None):
        raise ExchangeUnavailable("connection refused")

    def positions(self):
        raise ExchangeUnavailable("connection refused")

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_no_decision_changes_nothing(store, venue, clock) -> None:
    hold(venue, liquid_quote(venue), Side.BUY, "0.1")
    decision = apply_start_decision(store, venue, clock.now(), None)
    assert decision.ok
    assert decision.lines == ()
    assert store.load_active_trades() == []


def test_start_with_adopt_tracks_every_unknown_position(store, venue, clock) -> None:
    """A9: --adopt is the explicit decision that lets a clean start keep live positions."""
    call = liquid_quote(venue, OptionKind.CALL)
    put = liquid_quote(venue, OptionKind.PUT)
    hold(venue, call, Side.BUY, "0.1")
    hold(venue, put, Side.SELL, "0.2")
    decision = apply_start_decision(store, venue, clock.now(), "adopt")
    assert decision.ok
    adopted = {t.legs[0].symbol: (t.legs[0].side, t.legs[0].open_qty)
               for t in store.load_active_trades()}
    assert adopted == {call.instrument.symbol: (Side.BUY, Decimal("0.1")),
                       put.instrument.symbol: (Side.SELL, Decimal("0.2"))}
    assert all(line.startswith("start --adopt: adopted") for line in decision.lines)
    assert positions(venue) != {}
    assert store.audit_log()[-1][1:4] == ("operator", "run --adopt", "done")


def test_start_with_flatten_leaves_store_and_exchange_flat_so_a_fresh_start_is_allowed(
        store, venue, clock) -> None:
    """A9: --flatten closes the runner's trades and the positions it does not know."""
    call = liquid_quote(venue, OptionKind.CALL)
    put = liquid_quote(venue, OptionKind.PUT)
    hold(venue, call, Side.BUY, "0.1")
    held_trade(store, clock, "t1", call)
    hold(venue, put, Side.SELL, "0.1")  # foreign
    assert fresh_start_blocked(store, venue) is not None
    decision = apply_start_decision(store, venue, clock.now(), "flatten", limits=LIMITS)
    assert decision.ok, decision.lines
    assert positions(venue) == {}
    assert store.load_active_trades() == []
    assert fresh_start_blocked(store, venue) is None
    assert all(o.request.reduce_only for t in store.load_trades()
               for o in store.orders_for_trade(t.trade_id))


def test_start_with_flatten_leaves_a_trade_the_exchange_does_not_show_for_a_decision(
        store, venue, clock) -> None:
    held_trade(store, clock, "t1", liquid_quote(venue))  # nothing on the exchange
    decision = apply_start_decision(store, venue, clock.now(), "flatten", limits=LIMITS)
    assert not decision.ok
    assert any("close-externally t1" in line for line in decision.lines)
    assert store.load_trade("t1").stage is TradeStage.OPEN
    assert fresh_start_blocked(store, venue) is not None


def test_an_unreadable_exchange_applies_no_decision(store, venue, clock) -> None:
    hold(venue, liquid_quote(venue), Side.BUY, "0.1")
    decision = apply_start_decision(store, Down(venue), clock.now(), "adopt")
    assert not decision.ok
    assert "POSTPONED" in decision.lines[0]
    assert store.load_active_trades() == []


def test_an_unknown_decision_is_a_bug(store, venue, clock) -> None:
    with pytest.raises(ValueError, match="adopt or flatten"):
        apply_start_decision(store, venue, clock.now(), "forget")  # type: ignore[arg-type]


def test_the_view_credits_fills_made_while_down_in_memory_only(store, venue, clock) -> None:
    """I2: the order filled after the runner died; the view shows no discrepancy and the
    store is left for the service's own reconciliation."""
    quote = liquid_quote(venue)
    trade = Trade.create("t1", "demo", (TradeLeg(0, quote.instrument.symbol, Side.BUY,
                                                 Decimal("0.1")),), clock.now())
    store.save_trade(trade.moved_to(TradeStage.OPENING, "orders placed", clock.now()))
    key = OrderKey("t1", 0, OrderPurpose.OPEN, "entry", 0)
    request = OrderRequest(quote.instrument.symbol, Side.BUY, Decimal("0.1"),
                           (quote.ask or Decimal(0)) * 2, key.client_order_id)
    store.record_intent(PlaceOrder(key, request))
    store.mark_sent(key.client_order_id)
    venue.place_order(request)  # the answer was never recorded
    clock.advance(timedelta(minutes=5))

    view = read_trades_view(store, venue, clock.now())
    assert view.plan.discrepancies == ()
    assert view.plan.foreign_positions == ()
    assert view.trades[0].legs[0].filled_qty == Decimal("0.1")
    assert store.load_trade("t1").legs[0].filled_qty == 0
    assert [t.trade_id for t in view.unworked] == ["t1"]  # opening, and no executor


def test_the_view_raises_on_a_failed_read(store, venue, clock) -> None:
    """C5: a failed read is never an empty account."""
    with pytest.raises(ExchangeUnavailable):
        read_trades_view(store, Down(venue), clock.now())


def test_a_trade_worked_by_its_executor_is_not_reported_as_unworked(store, venue,
                                                                    clock) -> None:
    quote = liquid_quote(venue)
    trade = Trade.create("t1", "demo", (TradeLeg(0, quote.instrument.symbol, Side.BUY,
                                                 Decimal("0.1")),), clock.now())
    trade = trade.moved_to(TradeStage.OPENING, "orders placed", clock.now())
    store.save_trade_and_execution(trade, {"kind": "limit"})
    view = read_trades_view(store, venue, clock.now())
    assert view.unworked == ()
    assert not view.needs_decision
