"""The executors against the real dispatcher, store and simulated venue (the seam test).

Ticks as the service runs them: poll, one snapshot, advance, save trade and execution
state (intent first), execute the commands; their events feed the next advance.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from runner.dispatch import Dispatcher
from runner.domain.instruments import Underlying
from runner.domain.orders import Side
from runner.domain.snapshot import Chain, MarketSnapshot
from runner.domain.trades import Trade, TradeLeg, TradeStage
from runner.execution import Step, advance, execution_state_from_dict, start_close, start_open
from runner.strategy.model import LimitExecution, RfqExecution
from tests.dispatch.helpers_dispatch import liquid_call, make_venue
from tests.store.helpers_store import open_fresh


def snapshot_of(venue, symbols, now) -> MarketSnapshot:
    chain = Chain.of(Underlying.BTC, venue.option_chain(Underlying.BTC))
    return MarketSnapshot(at=now, chains={Underlying.BTC: chain},
                          books={s: venue.orderbook(s) for s in symbols})


def liquid_put(venue, expiry):
    puts = [q for q in venue.option_chain(Underlying.BTC) if q.instrument.expiry == expiry
            and q.bid and q.ask and q.delta is not None and -0.6 < q.delta < -0.2]
    return puts[0]


class Service:
    """The service's tick, reduced to what an execution needs."""

    def __init__(self, tmp_path, clock):
        self.clock = clock
        self.venue = make_venue(clock)
        self.store = open_fresh(tmp_path, clock)
        self.dispatcher = Dispatcher(self.venue, self.store, clock)
        self.events = []

    def strangle(self, qty: str) -> Trade:
        call = liquid_call(self.venue)
        put = liquid_put(self.venue, call.instrument.expiry)
        legs = (TradeLeg(0, call.symbol, Side.BUY, Decimal(qty)),
                TradeLeg(1, put.symbol, Side.BUY, Decimal(qty)))
        trade = Trade.create("t1", "demo", legs, self.clock.now())
        self.store.save_trade(trade)
        return trade

    def snapshot(self, trade):
        return snapshot_of(self.venue, [leg.symbol for leg in trade.legs], self.clock.now())

    def record(self, step: Step) -> Step:
        state = step.state.to_dict() if step.state else None
        self.store.save_trade_and_execution(step.trade, state)
        self.events = self.dispatcher.execute(step.commands)
        return step

    def run(self, step: Step, ticks: int) -> Step:
        self.record(step)
        for _ in range(ticks):
            if step.state is None:
                break
            now = self.clock.advance(timedelta(seconds=1))
            events = [*self.events, *self.dispatcher.poll(now)]
            state = execution_state_from_dict(step.state.to_dict())  # as after a restart
            step = self.record(advance(state, step.trade, self.snapshot(step.trade), events,
                                       now))
        return step

    def held(self, symbol):
        return sum((p.qty for p in self.venue.positions() if p.symbol == symbol), Decimal(0))


def test_a_limit_round_trip_through_the_dispatcher_ends_flat(tmp_path, clock):
    service = Service(tmp_path, clock)
    trade = service.strangle("0.1")
    step = service.run(start_open(trade, LimitExecution(), service.snapshot(trade),
                                  clock.now()), ticks=120)
    assert step.trade.stage is TradeStage.OPEN
    assert all(leg.filled_qty == Decimal("0.1") for leg in step.trade.legs)
    assert [service.held(leg.symbol) for leg in step.trade.legs] == [Decimal("0.1")] * 2
    closing = step.trade.with_exit_reason("max_hold").moved_to(TradeStage.PENDING_CLOSE,
                                                               "max_hold", clock.now())
    step = service.run(start_close(closing, LimitExecution(), "max_hold",
                                   service.snapshot(closing), clock.now()), ticks=120)
    assert step.trade.stage is TradeStage.CLOSED
    assert [service.held(leg.symbol) for leg in step.trade.legs] == [0, 0]
    assert service.store.live_orders() == []


@pytest.mark.parametrize(("minimum", "route"), [("-100", "rfq"), ("50", "limit")])
def test_an_rfq_open_through_the_dispatcher_opens_by_block_trade_or_by_its_fallback(
        tmp_path, clock, minimum, route):
    """Both ways: a quote good enough is accepted; none is, the limit fallback opens it."""
    service = Service(tmp_path, clock)
    trade = service.strangle("0.5")
    spec = RfqExecution(timeout=timedelta(seconds=60), min_improvement_pct=Decimal(minimum))
    step = service.run(start_open(trade, spec, service.snapshot(trade), clock.now()),
                       ticks=240)
    assert step.trade.stage is TradeStage.OPEN
    assert step.trade.execution == route
    assert [service.held(leg.symbol) for leg in step.trade.legs] == [Decimal("0.5")] * 2
