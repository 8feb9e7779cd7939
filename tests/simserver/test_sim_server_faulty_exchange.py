"""FaultyExchange: the same fault plan in process, raised as the port's error classes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from runner.domain.clock import ManualClock
from runner.domain.instruments import Underlying
from runner.domain.orders import OrderRequest, Side
from runner.domain.rfq import RfqLeg
from runner.exchange.errors import (
    ExchangeError,
    ExchangeUnavailable,
    InsufficientFunds,
    MalformedResponse,
    OutcomeUnknown,
    RateLimited,
)
from runner.exchange.port import Exchange
from runner.sim.faults import DEFAULT_TIMEOUT_HOLD_S, FaultKind, FaultPlan, FaultRule
from runner.sim.faulty import FaultyExchange
from runner.sim.venue import SimVenue


def near_money_symbol(venue: SimVenue) -> str:
    expiry = min(i.expiry for i in venue.instruments(Underlying.BTC))
    quotes = [q for q in venue.option_chain(Underlying.BTC, expiry)
              if q.instrument.kind.value == "call" and q.bid and q.ask and q.greeks]
    return min(quotes, key=lambda q: abs(q.greeks.delta - 0.5)).symbol  # type: ignore[union-attr]


def resting_buy(symbol: str, client_order_id: int) -> OrderRequest:
    return OrderRequest(symbol, Side.BUY, Decimal("0.1"), Decimal(5), client_order_id)


def faulty(venue: SimVenue, clock: ManualClock, *rules: FaultRule,
           seed: int = 0) -> FaultyExchange:
    return FaultyExchange(venue, FaultPlan.of(*rules, seed=seed), clock)


def test_it_is_an_exchange_that_passes_clean_calls_through(venue: SimVenue,
                                                           sim_clock: ManualClock) -> None:
    exchange: Exchange = faulty(venue, sim_clock)
    symbol = near_money_symbol(venue)
    order_id = exchange.place_order(resting_buy(symbol, 11))
    assert exchange.get_order(order_id=order_id) == venue.get_order(order_id=order_id)
    assert exchange.index_price(Underlying.BTC) == venue.index_price(Underlying.BTC)


def test_a_lost_response_places_the_order_then_raises_outcome_unknown(
        venue: SimVenue, sim_clock: ManualClock) -> None:
    """D3: the write happened; only the answer was lost."""
    exchange = faulty(venue, sim_clock, FaultRule("place_order", FaultKind.LOST_RESPONSE,
                                                  count=1))
    with pytest.raises(OutcomeUnknown):
        exchange.place_order(resting_buy(near_money_symbol(venue), 12))
    placed = exchange.get_order(client_order_id=12)
    assert placed is not None
    assert placed.status.is_live


def test_a_lost_accept_answer_still_trades_the_quote(venue: SimVenue,
                                                     sim_clock: ManualClock) -> None:
    exchange = faulty(venue, sim_clock, FaultRule("accept_quote", FaultKind.LOST_RESPONSE))
    request = exchange.create_rfq([RfqLeg(near_money_symbol(venue), Side.BUY, Decimal(1))])
    sim_clock.advance(timedelta(seconds=30))
    quote = exchange.rfq_quotes(request.request_id)[0]
    with pytest.raises(OutcomeUnknown):
        exchange.accept_quote(request.request_id, quote.quote_id)
    traded = exchange.block_trades(sim_clock.now() - timedelta(hours=1))
    assert [t.quote_id for t in traded] == [quote.quote_id]


def test_a_malformed_answer_to_a_write_raises_after_performing_it(
        venue: SimVenue, sim_clock: ManualClock) -> None:
    exchange = faulty(venue, sim_clock, FaultRule("place_order", FaultKind.MALFORMED))
    with pytest.raises(MalformedResponse):
        exchange.place_order(resting_buy(near_money_symbol(venue), 13))
    assert venue.get_order(client_order_id=13) is not None


def test_a_timeout_on_a_write_is_outcome_unknown_but_nothing_happened(
        venue: SimVenue, sim_clock: ManualClock) -> None:
    exchange = faulty(venue, sim_clock, FaultRule("place_order", FaultKind.TIMEOUT,
                                                  seconds=10))
    before = sim_clock.now()
    with pytest.raises(OutcomeUnknown):
        exchange.place_order(resting_buy(near_money_symbol(venue), 14))
    assert venue.get_order(client_order_id=14) is None
    assert sim_clock.now() - before == timedelta(seconds=10)  # the wait ran on the clock


def test_a_timeout_on_a_read_is_unavailable(venue: SimVenue, sim_clock: ManualClock) -> None:
    exchange = faulty(venue, sim_clock, FaultRule("positions", FaultKind.TIMEOUT))
    before = sim_clock.now()
    with pytest.raises(ExchangeUnavailable) as raised:
        exchange.positions()
    assert not isinstance(raised.value, OutcomeUnknown)
    assert sim_clock.now() - before == timedelta(seconds=DEFAULT_TIMEOUT_HOLD_S)


@pytest.mark.parametrize(("rule", "error", "code"), [
    (FaultRule("place_order", FaultKind.HTTP_5XX, status=502), ExchangeUnavailable, None),
    (FaultRule("place_order", FaultKind.DISCONNECT), OutcomeUnknown, None),
    (FaultRule("place_order", FaultKind.RATE_LIMIT), RateLimited, 10605),
    (FaultRule("place_order", FaultKind.ERROR, code=10529), InsufficientFunds, 10529),
    (FaultRule("place_order", FaultKind.ERROR, code=10002), ExchangeUnavailable, 10002),
])
def test_refusals_raise_the_matching_error_and_leave_the_venue_untouched(
        venue: SimVenue, sim_clock: ManualClock, rule: FaultRule,
        error: type[ExchangeError], code: int | None) -> None:
    exchange = faulty(venue, sim_clock, rule)
    with pytest.raises(error) as raised:
        exchange.place_order(resting_buy(near_money_symbol(venue), 15))
    assert raised.value.code == code
    assert raised.value.endpoint == "place_order"
    assert venue.get_order(client_order_id=15) is None


def test_latency_advances_the_clock_and_answers_normally(venue: SimVenue,
                                                         sim_clock: ManualClock) -> None:
    exchange = faulty(venue, sim_clock, FaultRule("*", FaultKind.LATENCY, seconds=2.5))
    before = sim_clock.now()
    assert exchange.positions() == []
    assert sim_clock.now() - before == timedelta(seconds=2.5)


def test_a_freeze_rule_keeps_the_index_still_until_it_expires(venue: SimVenue,
                                                              sim_clock: ManualClock) -> None:
    """C1 in process: the venue's freeze control is driven by the plan."""
    exchange = faulty(venue, sim_clock, FaultRule("index_price", FaultKind.FREEZE_PRICES,
                                                  seconds=300, count=1))
    first = exchange.index_price(Underlying.BTC)
    readings = []
    for _ in range(4):
        sim_clock.advance(timedelta(seconds=60))
        readings.append(exchange.index_price(Underlying.BTC))
    assert set(readings) == {first}
    later = []
    for _ in range(4):
        sim_clock.advance(timedelta(seconds=120))
        later.append(exchange.index_price(Underlying.BTC))
    assert len(set(later)) > 1


def test_the_same_seed_fails_the_same_calls(venue: SimVenue, sim_clock: ManualClock) -> None:
    def failures(seed: int) -> list[bool]:
        exchange = faulty(venue, sim_clock,
                          FaultRule("*", FaultKind.ERROR, code=10002, probability=0.3),
                          seed=seed)
        outcome = []
        for _ in range(30):
            try:
                exchange.positions()
                outcome.append(False)
            except ExchangeUnavailable:
                outcome.append(True)
        return outcome

    assert failures(9) == failures(9)
    assert failures(9) != failures(10)


def test_scenario_controls_pass_through_to_the_venue(venue: SimVenue,
                                                     sim_clock: ManualClock) -> None:
    exchange = faulty(venue, sim_clock)
    exchange.set_index(Underlying.BTC, Decimal(90_000))
    assert venue.index_price(Underlying.BTC) == Decimal(90_000)
    assert exchange.inner is venue


def test_faulty_exchange_is_importable_from_the_faults_module_too() -> None:
    from runner.sim import faults

    assert faults.FaultyExchange is FaultyExchange
