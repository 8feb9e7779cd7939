"""micro_strangle end to end: the shipped YAML through the real service over the simulator.

Issue 4 "Done means": exactly two trades in a UTC day, each buying a call near +0.15
delta and a put near -0.15 delta on the next expiry, 0.01 each, closed about 10 s after
the fill; lessons A2: a 1-trade/day strategy trades once a day for days on end and the
service never stops; E4/E5: the OPEN record carries fill prices and the exit reason is
the rule that fired.

Time is simulated: 1 s ticks while trades are working, coarser ticks through the quiet
rest of the day (the entry gates are evaluated on every coarse tick all the same).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from runner.domain.instruments import Underlying, parse_symbol
from runner.domain.orders import Side
from runner.domain.trades import TradeStage
from runner.sim.listing import listed_expiries
from tests.scenarios.helpers_scenarios import (
    ONE_SECOND,
    Scenario,
    all_closed,
    held_seconds,
    shipped,
)

MIDNIGHT = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
QUIET_STEP = timedelta(minutes=1)


def _next_expiry_at(scenario: Scenario, when: datetime) -> datetime:
    listed = listed_expiries(when, scenario.venue.config)
    return min(expiry for expiry in listed if expiry > when)


NEXT_DAY = MIDNIGHT + timedelta(days=1)


@pytest.fixture(scope="module")
def day_one(tmp_path_factory):
    """micro_strangle from 00:00 UTC through the whole day, then into the next day.

    Read-only for the tests: 1 s ticks until the day's two trades are closed, 1 min
    ticks for the rest of the day (the gates are evaluated on each), then 1 s ticks
    again after midnight until the next day's two trades are closed.
    """
    scenario = Scenario.start(tmp_path_factory.mktemp("micro"), shipped("micro_strangle"),
                              at=MIDNIGHT)
    finished = scenario.run_until(MIDNIGHT + timedelta(hours=1), ONE_SECOND,
                                  stop=all_closed("micro_strangle", 2))
    assert finished, [(t.trade_id, t.stage) for t in scenario.trades()]
    scenario.run_until(NEXT_DAY, QUIET_STEP)
    scenario.first_day = scenario.trades("micro_strangle")  # type: ignore[attr-defined]
    scenario.run_until(NEXT_DAY + timedelta(minutes=10), ONE_SECOND,
                       stop=all_closed("micro_strangle", 4))
    yield scenario
    scenario.close()


def _first_day(scenario: Scenario):
    return [t for t in scenario.trades("micro_strangle") if t.created_at < NEXT_DAY]


def test_micro_strangle_makes_exactly_two_round_trips_in_a_utc_day(day_one):
    trades = _first_day(day_one)
    assert len(trades) == 2
    assert day_one.first_day == trades  # seen at midnight: nothing else the whole day
    assert all(t.stage is TradeStage.CLOSED for t in trades)
    assert day_one.failed_ticks == 0
    assert day_one.strategy_errors() == []
    assert day_one.net_positions() == {}


def test_each_trade_buys_a_015_delta_strangle_of_001_on_the_next_expiry(day_one):
    for trade in _first_day(day_one):
        call, put = sorted(trade.legs, key=lambda leg: parse_symbol(leg.symbol).kind.letter)
        assert parse_symbol(call.symbol).kind.letter == "C"
        assert parse_symbol(put.symbol).kind.letter == "P"
        assert call.side is Side.BUY
        assert put.side is Side.BUY
        assert call.qty == put.qty == Decimal("0.01")
        assert call.filled_qty == put.filled_qty == Decimal("0.01")
        assert call.delta_at_entry == pytest.approx(0.15, abs=0.05)
        assert put.delta_at_entry == pytest.approx(-0.15, abs=0.05)
        expiry = _next_expiry_at(day_one, trade.created_at)
        assert parse_symbol(call.symbol).expiry == parse_symbol(put.symbol).expiry == expiry


def test_each_trade_closes_about_ten_seconds_after_its_fill_by_max_hold(day_one):
    """E5: the exit reason is the rule that fired (max_hold, the only exit)."""
    for trade in _first_day(day_one):
        assert 10 <= held_seconds(trade) <= 15, (trade.opened_at, trade.closed_at)
        assert trade.exit_reason == "max_hold"
        assert all(leg.exit_price is not None and leg.open_qty == 0 for leg in trade.legs)


def test_the_open_record_carries_the_fill_prices_at_the_open_transition(day_one):
    """E4: at the moment a trade becomes OPEN its stored record has every fill price."""
    opened = [trade for stage, trade in day_one.stage_changes if stage == "open"]
    assert len(opened) == 4
    for trade in opened:
        assert trade.stage is TradeStage.OPEN
        assert trade.opened_at is not None
        for leg in trade.legs:
            assert leg.entry_price is not None
            assert leg.entry_price > 0
            assert leg.filled_qty == leg.qty
        assert trade.entry_cost() > 0


def test_the_second_day_trades_again_after_a_quota_day(day_one):
    """A quota only blocks entries until the next UTC day (A2): the runner keeps going."""
    trades = day_one.trades("micro_strangle")
    assert [t.created_at.date() for t in trades].count(NEXT_DAY.date()) == 2
    assert all(t.stage is TradeStage.CLOSED for t in trades)


@pytest.mark.slow
def test_a_one_trade_a_day_strategy_trades_once_a_day_for_three_days_without_stopping(tmp_path):
    """A2: 3 simulated days of a 1-trade/day strategy: 3 trades, one per day, no stop."""
    (spec,) = shipped("micro_strangle")
    once_a_day = replace(spec, timing=replace(spec.timing, max_trades_per_day=1))
    scenario = Scenario.start(tmp_path, [once_a_day], at=MIDNIGHT)
    scenario.run_until(MIDNIGHT + timedelta(days=3), timedelta(seconds=30))
    trades = scenario.trades("micro_strangle")
    assert [t.created_at.date() for t in trades] == [
        (MIDNIGHT + timedelta(days=day)).date() for day in range(3)]
    assert all(t.stage is TradeStage.CLOSED and t.exit_reason == "max_hold" for t in trades)
    assert not scenario.service.stop_requested
    assert scenario.failed_ticks == 0
    assert scenario.service.ticks == 3 * 24 * 60 * 2
    assert scenario.net_positions() == {}
    assert scenario.venue.index_price(Underlying.BTC) > 0
    scenario.close()
