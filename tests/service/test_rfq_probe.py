"""The RFQ look-ahead names the very second the executor acts on its quotes (issue 12).

While an RFQ collects quotes, a simulation stepping by events steps to the first tick at
which the executor would accept one (or must be seen raising the best improvement it
keeps for the failure reason). To find it cheaply, the look-ahead (service/rfq_probe.py)
passes over stretches in which the venue's bounds keep the book cost where no quote can
be accepted nor improve on the best seen, and stretches in which a leg's bid never shows.
Given real requests on the simulated venue and minimum improvements that a quote first
meets at a chosen second, it answers as a second-by-second search with the executor's
own step does: the same second.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from runner.domain.clock import ManualClock
from runner.domain.commands import OrderPurpose, QuotesReceived, RfqCreated
from runner.domain.instruments import OptionKind, Underlying
from runner.domain.orders import Side
from runner.domain.snapshot import MarketSnapshot
from runner.domain.trades import Trade
from runner.execution import ExecutionState, advance
from runner.execution.next_action import rfq_step_is_quiet
from runner.execution.rfq import begin_rfq, book_cost, judge_quotes
from runner.service.rfq_probe import rfq_event
from runner.sim.config import MakerBehaviour, SimConfig
from runner.sim.forecast import VenueForecast
from runner.sim.venue import SimVenue
from runner.strategy.model import RfqExecution
from tests.execution.helpers_execution import new_trade
from tests.service.test_order_probe_bids import bidless_near_the_money
from tests.sim.helpers_sim import near_money

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
NEVER = Decimal(1000)  # a minimum no quote meets
HOUR_LONG_QUOTES = replace(SimConfig(), makers=MakerBehaviour(quote_lifetime_s=3600),
                           rfq_lifetime_s=7200)
SPEC = RfqExecution(timeout=timedelta(minutes=50), min_improvement_pct=NEVER)


def collecting(venue: SimVenue, clock: ManualClock, trade: Trade
               ) -> tuple[ExecutionState, datetime]:
    """The RFQ of `trade`, created at START, just after it judged its makers' first
    quotes (their next come minutes later)."""
    state, create = begin_rfq(trade, SPEC, OrderPurpose.OPEN, "entry", START, 1)
    rfq = venue.create_rfq(create.legs)
    symbols = [leg.symbol for leg in create.legs]
    created = advance(state, trade, books(venue.order_forecast(), symbols, START),
                      (RfqCreated(trade.trade_id, rfq, 1),), START)
    assert created.state is not None
    now = START
    while (change := venue.order_forecast().next_quote_change(rfq.request_id)) is not None \
            and change - now < timedelta(minutes=1):
        now = change.replace(microsecond=0) + 2 * SECOND
        clock.set(now)
        venue.rfq_quotes(rfq.request_id)  # read: the venue catches up
    quotes = tuple(venue.rfq_quotes(rfq.request_id))
    assert quotes
    judged = advance(created.state, trade, books(venue.order_forecast(), symbols, now),
                     (QuotesReceived(rfq.request_id, quotes),), now)
    assert judged.state is not None
    assert judged.commands == ()
    return judged.state, now


def books(forecast: VenueForecast, symbols: list[str], at: datetime) -> MarketSnapshot:
    return MarketSnapshot(at=at, books=forecast.books_at(symbols, at))


def with_minimum(state: ExecutionState, minimum: Decimal,
                 best: Decimal | None = None) -> ExecutionState:
    assert state.rfq is not None
    rfq = replace(state.rfq, spec=replace(state.rfq.spec, min_improvement_pct=minimum))
    if best is not None:  # the best improvement of a quote seen earlier (refused, expired)
        rfq = replace(rfq, best_improvement=best)
    return replace(state, rfq=rfq)


def window(state: ExecutionState, forecast: VenueForecast, now: datetime) -> datetime:
    """Until the makers' next quote, as the probe looks."""
    assert state.rfq is not None
    assert state.rfq.request_id is not None
    change = forecast.next_quote_change(state.rfq.request_id)
    assert change is not None
    return min(change, state.rfq.deadline)


def improvements(state: ExecutionState, forecast: VenueForecast, now: datetime,
                 limit: datetime) -> dict[datetime, Decimal]:
    """The best improvement a usable quote offers at each second (with a book)."""
    rfq = state.rfq
    assert rfq is not None
    assert rfq.request_id is not None
    found = {}
    at = now + SECOND
    while at < limit:
        snapshot = books(forecast, [leg.symbol for leg in rfq.wanted], at)
        book = book_cost(rfq.wanted, snapshot)
        judged = judge_quotes(forecast.quotes_at(rfq.request_id, at), rfq.wanted, book, at)
        if judged and judged[0].improvement is not None:
            found[at] = judged[0].improvement
        at += SECOND
    return found


def records(found: dict[datetime, Decimal]) -> list[datetime]:
    """The seconds whose improvement beats every earlier one."""
    best, seconds = None, []
    for at, improvement in found.items():
        if best is None or improvement > best:
            best = improvement
            seconds.append(at)
    return seconds


def second_by_second(trade: Trade, state: ExecutionState, forecast: VenueForecast,
                     now: datetime, limit: datetime) -> datetime:
    """The look-ahead's answer from the executor's own step at every second: the first
    act (after the last raise of the best improvement before it), or the tick before a
    missing book, else the last raise or the limit."""
    rfq = state.rfq
    assert rfq is not None
    assert rfq.request_id is not None
    symbols = sorted({leg.symbol for leg in rfq.wanted})
    running, raised, priced = state, None, None
    at = now + SECOND
    while at < limit:
        snapshot = books(forecast, symbols, at)
        has_book = book_cost(rfq.wanted, snapshot) is not None
        if not has_book and priced is not None:
            return raised or priced
        step = advance(running, trade, snapshot,
                       (QuotesReceived(rfq.request_id, forecast.quotes_at(rfq.request_id, at)),),
                       at)
        if not rfq_step_is_quiet(running, step, trade) or step.state is None:
            return raised or at
        assert running.rfq is not None
        assert step.state.rfq is not None
        if step.state.rfq.best_improvement != running.rfq.best_improvement:
            raised = at
        running = step.state
        if has_book:
            priced = at
        at += SECOND
    return raised or limit


def strangle(venue: SimVenue, offset: int, underlying: Underlying = Underlying.BTC) -> Trade:
    call = near_money(venue, OptionKind.CALL, offset=offset, underlying=underlying)
    put = near_money(venue, OptionKind.PUT, offset=-offset, underlying=underlying)
    qty = "0.5" if underlying is Underlying.BTC else "10"
    return new_trade((call.symbol, Side.SELL, qty), (put.symbol, Side.SELL, qty))


@pytest.mark.parametrize(("seed", "offset"), [(3, 1), (5, 2), (8, 3), (11, 0)])
def test_the_probe_steps_to_the_second_a_quote_first_meets_the_minimum(
        seed: int, offset: int) -> None:
    """Each second at which the best improvement beats every earlier one is made the
    minimum in turn: the probe names that very second, as the search does."""
    clock = ManualClock(START)
    venue = SimVenue(clock, seed=seed)
    trade = strangle(venue, offset)
    state, now = collecting(venue, clock, trade)
    forecast = venue.order_forecast()
    limit = window(state, forecast, now)
    found = improvements(state, forecast, now, limit)
    targets = records(found)
    assert found
    assert targets
    for target in targets:
        # A better quote seen earlier keeps the best improvement out of reach: only the
        # accept is stepped to.
        chosen = with_minimum(state, found[target], best=Decimal(100))
        assert rfq_event(trade, chosen, forecast, now, SECOND, limit) == target
        assert second_by_second(trade, chosen, forecast, now, limit) == target
        natural = with_minimum(state, found[target])
        assert rfq_event(trade, natural, forecast, now, SECOND, limit) == second_by_second(
            trade, natural, forecast, now, limit)
    for minimum in (max(found.values()) + Decimal("0.0001"), NEVER):
        # None meets it: the last second that raises the best improvement, or the limit.
        unmet = with_minimum(state, minimum)
        assert rfq_event(trade, unmet, forecast, now, SECOND, limit) == second_by_second(
            trade, unmet, forecast, now, limit)
    assert clock.now() == now  # looking ahead moved nothing


@pytest.mark.parametrize(("seed", "underlying"), [(2, Underlying.ETH), (6, Underlying.ETH)])
def test_a_leg_without_a_bid_keeps_the_rfq_quiet_until_the_bid_shows(
        seed: int, underlying: Underlying) -> None:
    """Selling a leg without a bid, the executor has no book cost to judge quotes by:
    nothing changes until a bid shows (then a quote is accepted at once, or the best
    improvement is first set), and the probe finds that second as the search does, over
    makers quoting for most of an hour (waits of 2 min to 26 min)."""
    qty = "0.5" if underlying is Underlying.BTC else "10"
    first, second, _ = bidless_near_the_money(SimVenue(ManualClock(START), seed=seed),
                                              underlying, 0, 3)
    for legs in ((first, None), (second, None), (first, second)):
        clock = ManualClock(START)
        venue = SimVenue(clock, seed=seed, config=HOUR_LONG_QUOTES)
        partner = legs[1] or near_money(venue, OptionKind.CALL, underlying=underlying).symbol
        trade = new_trade((legs[0], Side.SELL, qty), (partner, Side.SELL, qty))
        state, now = collecting(venue, clock, trade)
        forecast = venue.order_forecast()
        limit = window(state, forecast, now)
        assert limit - now > timedelta(minutes=45)
        for minimum in (Decimal(-1000), NEVER):
            chosen = with_minimum(state, minimum)
            assert rfq_event(trade, chosen, forecast, now, SECOND, limit) == second_by_second(
                trade, chosen, forecast, now, limit), legs
