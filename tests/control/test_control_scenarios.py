"""Live control (issue 9 item 1): the service carries out pause, resume, flatten and close
requests written into its store, at the start of the next tick, as the CLI writes them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from runner.domain.trades import TradeStage
from runner.store import control_store
from tests.control.helpers_control import open_trades, probe, request, request_row
from tests.scenarios.helpers_scenarios import Scenario

FIVE_SECONDS = timedelta(seconds=5)


@pytest.fixture
def one(tmp_path):
    scenario = Scenario.start(tmp_path, [probe(tmp_path, "alpha", hold="30s")])
    yield scenario
    scenario.close()


@pytest.fixture
def two(tmp_path):
    specs = [probe(tmp_path, "alpha", concurrent=2), probe(tmp_path, "beta")]
    scenario = Scenario.start(tmp_path, specs)
    yield scenario
    scenario.close()


def _held_back(scenario: Scenario, strategy: str) -> list[str]:
    return [why for r in scenario.reports for name, why in r.blocked_entries if name == strategy]


def test_a_pause_holds_back_entries_while_the_open_trade_still_closes_at_its_exit(one):
    (trade_id,) = open_trades(one, 1)
    paused = request(one, "pause", "alpha")
    one.tick()
    applied = request_row(one, paused)
    assert applied.status == control_store.APPLIED
    assert applied.applied_at is not None
    assert "paused alpha" in (applied.outcome or "")
    assert any("paused" in line for line in one.service.attention.lines())
    one.run_for(timedelta(minutes=12), step=FIVE_SECONDS)  # its close starts at fair
    closed = one.trade(trade_id)
    assert closed.stage is TradeStage.CLOSED
    assert closed.exit_reason == "max_hold"
    assert [t.trade_id for t in one.trades()] == [trade_id]  # nothing new opened
    assert _held_back(one, "alpha")  # the held-back entries are recorded
    paged = one.pager.keys()
    assert "concern.control.pause.alpha" in paged
    assert ("control_applied", "pause") in [(k, d.get("action")) for k, d in one.events]


def test_resume_lets_a_paused_strategy_open_again(one):
    request(one, "pause")  # no names: every strategy
    one.run_for(timedelta(seconds=30))
    assert one.trades() == []
    assert _held_back(one, "alpha")
    resumed = request(one, "resume", "alpha")
    one.tick()
    assert request_row(one, resumed).status == control_store.APPLIED
    assert not [c for c in one.service.attention.concerns() if c.key.startswith("control.")]
    open_trades(one, 1, within=timedelta(seconds=30))


def test_flatten_closes_every_open_trade_of_the_named_strategy_at_once_aggressively(two):
    alpha = open_trades(two, 2, "alpha")
    (beta,) = open_trades(two, 1, "beta")
    flattened = request(two, "flatten", "alpha")
    report = two.tick()
    assert report is not None
    assert sorted(report.closing) == sorted(alpha)  # both, in the same tick
    assert request_row(two, flattened).status == control_store.APPLIED
    for trade_id in alpha:
        trade = two.trade(trade_id)
        assert trade.stage in (TradeStage.CLOSING, TradeStage.CLOSED)
        assert trade.exit_reason == "operator_flatten"
        _assert_priced_aggressively(two, trade_id)
    assert two.trade(beta).stage is TradeStage.OPEN  # another strategy is left alone
    two.run_for(timedelta(seconds=20))
    assert all(two.trade(t).stage is TradeStage.CLOSED for t in alpha)
    assert two.trade(beta).stage is TradeStage.OPEN


def _assert_priced_aggressively(scenario: Scenario, trade_id: str) -> None:
    """Selling to close a bought leg at or below the bid: the aggressive phase, not fair."""
    orders = [o for o in scenario.orders_of(trade_id) if o.key.purpose.value == "close"]
    assert orders, trade_id
    for order in orders:
        assert order.key.reason == "operator_flatten"
        book = scenario.venue.orderbook(order.request.symbol)
        assert book.best_bid is not None
        assert order.request.price <= book.best_bid, (order.request.price, book.best_bid)


def test_close_closes_one_trade_and_leaves_the_others_open(two):
    first, second = open_trades(two, 2, "alpha")
    closing = request(two, "close", first)
    two.tick()
    assert request_row(two, closing).status == control_store.APPLIED
    assert two.trade(first).exit_reason == "operator_close"
    two.run_for(timedelta(minutes=12), step=FIVE_SECONDS)
    assert two.trade(first).stage is TradeStage.CLOSED
    assert two.trade(second).stage is TradeStage.OPEN


def test_a_request_the_service_cannot_carry_out_is_refused_with_the_reason(one):
    refused = request(one, "close", "alpha-20260302-999")
    one.tick()
    row = request_row(one, refused)
    assert row.status == control_store.REFUSED
    assert "not active" in (row.outcome or "")


def test_a_pause_survives_a_restart_until_resumed(one):
    request(one, "pause", "alpha")
    one.tick()
    one.restart()
    one.run_for(timedelta(seconds=30))
    assert one.trades() == []
    assert _held_back(one, "alpha")
    assert any("paused" in line for line in one.service.attention.lines())
    request(one, "resume")
    open_trades(one, 1, within=timedelta(seconds=30))


def test_a_request_made_while_stopped_is_applied_at_the_first_tick_after_the_start(two):
    alpha = open_trades(two, 2, "alpha")
    two.runtime.store.close()  # the service stopped
    flattened = request(two, "flatten", "alpha")
    two.restart()
    report = two.tick()
    assert report is not None
    assert sorted(report.closing) == sorted(alpha)
    assert request_row(two, flattened).status == control_store.APPLIED


def test_a_request_that_fails_is_refused_once_and_never_retried_every_tick(one):
    broken = request(one, "close")  # no trade named: carrying it out raises
    one.tick()
    row = request_row(one, broken)
    assert row.status == control_store.REFUSED
    assert (row.outcome or "").startswith("failed: ValueError")
    one.run_for(timedelta(seconds=5))
    assert [k for k, d in one.events if d.get("request") == broken] == ["control_refused"]


def test_a_tick_reads_the_pending_requests_once_and_a_request_made_during_it_waits(one):
    """Issue 12: the requests the read plan saw pending (`has_pending`) are the ones the
    tick carries out, read once; one written after that read is carried out next tick."""
    (trade_id,) = open_trades(one, 1)
    connection = one.runtime.store.connection
    first = request(one, "close", trade_id)
    statements: list[str] = []
    connection.set_trace_callback(statements.append)
    assert one.service.control.has_pending(one.now) is True
    late = request(one, "pause", "alpha")  # after the plan's read, before `apply`
    one.service.control.apply(one.service, one.service.last_snapshot, one.now,
                              one.reports[-1])
    connection.set_trace_callback(None)
    assert len([s for s in statements if "FROM control_requests" in s]) == 1
    assert request_row(one, first).status == control_store.APPLIED
    assert request_row(one, late).status == control_store.PENDING
    one.tick()  # the next tick reads it
    assert request_row(one, late).status == control_store.APPLIED


def test_requests_read_at_another_moment_are_read_again(one):
    open_trades(one, 1)
    assert one.service.control.has_pending(one.now - timedelta(seconds=1)) is False
    paused = request(one, "pause", "alpha")
    one.service.control.apply(one.service, one.service.last_snapshot, one.now,
                              one.reports[-1])
    assert request_row(one, paused).status == control_store.APPLIED
