"""The order probe finds the very second a close's leg without a bid gets one (issue 12; B6).

A close tries a leg without a bid every tick until it has one, sometimes for days. A
simulation stepping by events steps to the first second the executor would price it; to
find it cheaply, the probe passes over minute-long stretches in which the venue proves no
bid can show. Given real closes of bidless options of the simulated venue, the probe
answers as a second-by-second search with the executor's own pricing does: the same first
second, or none before the limit.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from runner.domain.clock import ManualClock
from runner.domain.instruments import Underlying
from runner.domain.orders import Side
from runner.domain.snapshot import Chain, MarketSnapshot
from runner.domain.trades import Trade
from runner.execution import ExecutionState, start_close
from runner.execution.limit import leg_outcome
from runner.execution.next_action import next_action_at, price_waits
from runner.execution.pricing import Unpriced
from runner.service.order_probe import OrderProbe
from runner.sim.forecast import VenueForecast
from runner.sim.venue import SimVenue
from runner.strategy.model import LimitExecution
from tests.execution.helpers_execution import new_trade, opened, pending_close

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
HORIZON = timedelta(hours=2)
CLOSE = LimitExecution(fill_timeout=timedelta(hours=3), requote_rounds=0)


def bidless_near_the_money(venue: SimVenue, underlying: Underlying, position: int,
                           count: int) -> list[str]:
    """The `count` options of an expiry closest to the money without a bid now."""
    expiry = sorted({q.instrument.expiry for q in venue.option_chain(underlying)})[position]
    index = venue.index_price(underlying)
    quotes = [q for q in venue.option_chain(underlying, expiry) if q.bid is None]
    quotes.sort(key=lambda q: abs(q.instrument.strike - index))
    return [q.symbol for q in quotes[:count]]


def waiting_close(venue: SimVenue, symbol: str) -> tuple[Trade, ExecutionState]:
    """A held long option whose close could not price it (no bid to sell at)."""
    trade = pending_close(opened(new_trade((symbol, Side.BUY, "0.1")), "5", when=START),
                          "max_hold", when=START)
    (quote,) = venue.option_quotes([symbol])
    underlying = quote.instrument.underlying
    market = MarketSnapshot(at=START, books={symbol: venue.orderbook(symbol)},
                            chains={underlying: Chain.of(underlying, [quote])})
    step = start_close(trade, CLOSE, "max_hold", market, START)
    assert step.state is not None
    assert step.commands == ()  # nothing could be placed
    return step.trade, step.state


def first_priced_second_by_second(trade: Trade, state: ExecutionState,
                                  forecast: VenueForecast, until: datetime) -> datetime:
    (wait,) = price_waits(state, trade, START)
    assert state.limit is not None
    at = START + SECOND
    while at < until:
        market = forecast.legs_at([wait.leg.symbol], at, {})
        outcome = leg_outcome(state.limit, wait.leg, wait.side, market, opening=False)
        if not isinstance(outcome, Unpriced) or outcome.why != wait.why:
            return at
        at += SECOND
    return until


@pytest.mark.parametrize(("seed", "underlying", "position"), [
    (3, Underlying.BTC, 1), (1, Underlying.BTC, 0), (2, Underlying.ETH, 1),
    (6, Underlying.ETH, 0)])
def test_the_probe_steps_to_the_first_second_a_bid_returns_as_a_search_of_each_second(
        seed: int, underlying: Underlying, position: int) -> None:
    venue = SimVenue(ManualClock(START), seed=seed)
    found_by_symbol = {}
    for symbol in bidless_near_the_money(venue, underlying, position, 3):
        trade, state = waiting_close(venue, symbol)
        limit = min(next_action_at(state, trade, START, watching_prices=True),
                    START + HORIZON)
        assert limit == START + HORIZON  # nothing of the clock before: only the market
        probe = OrderProbe(venue.order_forecast)
        found = probe.next_event([(trade, state)], START, SECOND, limit)
        assert found == first_priced_second_by_second(
            trade, state, venue.order_forecast(), limit), symbol
        found_by_symbol[symbol] = found
    returned = [found for found in found_by_symbol.values() if found < START + HORIZON]
    assert any(found > START + timedelta(minutes=5) for found in returned)  # a long wait
