"""The dispatcher over the REST adapter over the sim-server with a taker key (issue 8 item 4).

rfqList answers HTTP 404 to this key, as it does live, so every settling below goes
through what a taker may call: trade-detail (block trades), cancel by the recorded id and
positions. Run in both body-encoding worlds, the adapter starting from the documented
JSON, so the FORM world also proves the switch happens inside a real settling.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest

from runner.dispatch import Dispatcher
from runner.dispatch.rfqs import ACCEPT_SETTLE_GRACE
from runner.domain.clock import ManualClock
from runner.domain.commands import (
    AcceptQuote,
    CreateRfq,
    OrderPurpose,
    QuoteAccepted,
    QuotesReceived,
    RfqFailed,
)
from runner.domain.instruments import OptionKind, Underlying
from runner.domain.ledger import RfqLedgerState
from runner.domain.orders import Side
from runner.domain.rfq import RfqLeg, RfqState
from runner.domain.trades import TradeLeg
from runner.exchange.coincall.client import CoincallClient
from runner.exchange.coincall.http import Timeouts
from runner.service.settings import Secret
from runner.sim import wire_in
from runner.sim.faults import FaultKind, FaultPlan, FaultRule
from runner.sim.server import SimServer
from runner.sim.venue import SimVenue
from runner.store import Store
from tests.store.helpers_store import make_trade, open_fresh

KEY = "Zk3vT9qLw2XnB7pR5sY1uZ8cD4eH6jM0aQ2iN5oV7wE="
SECRET = "9c4b1e7f2a6d8c0b3e5f7a9d1c2b4e6f8a0c2e4b6d8f0a1c3e5b7d9f1a3c5e7b"


class RestWorld:
    def __init__(self, venue: SimVenue, store: Store, dispatcher: Dispatcher,
                 legs: tuple[RfqLeg, ...], plan: FaultPlan, world: str) -> None:
        self.venue, self.store, self.dispatcher, self.legs, self.plan = (
            venue, store, dispatcher, legs, plan)
        self.world = world


def strangle(venue: SimVenue) -> tuple[RfqLeg, ...]:
    expiries = sorted({q.instrument.expiry for q in venue.option_chain(Underlying.BTC)})
    quotes = [q for q in venue.option_chain(Underlying.BTC, expiries[1])
              if q.bid is not None and q.ask is not None]
    index = venue.index_price(Underlying.BTC)
    return tuple(RfqLeg(min((q for q in quotes if q.instrument.kind is kind),
                            key=lambda q: abs(q.instrument.strike - index)).symbol,
                        Side.BUY, Decimal("0.5"))
                 for kind in (OptionKind.CALL, OptionKind.PUT))


@pytest.fixture(params=["json", "form"])
def rest(request: pytest.FixtureRequest, tmp_path, clock: ManualClock) -> Iterator[RestWorld]:
    venue = SimVenue(clock, seed=3)
    plan = FaultPlan(seed=1)
    store = open_fresh(tmp_path, clock)
    legs = strangle(venue)
    store.save_trade(make_trade("t1", legs=tuple(
        TradeLeg(i, leg.symbol, leg.side, leg.qty) for i, leg in enumerate(legs))))
    with SimServer(venue, KEY, SECRET, clock, plan,
                   rfq_body=wire_in.BodyKind(request.param)) as server, \
            CoincallClient(base_url=server.base_url, api_key=Secret(KEY),
                           api_secret=Secret(SECRET), clock=clock, sleep=clock.sleep,
                           timeouts=Timeouts(connect=1.0, read=0.5)) as client:
        yield RestWorld(venue, store, Dispatcher(client, store, clock), legs, plan,
                        request.param)
        assert server.throttled == 0, "the runner tripped the venue's rate limits (section 7)"
    store.close()


def choose_quote(world: RestWorld, clock: ManualClock) -> AcceptQuote:
    [created] = world.dispatcher.execute([CreateRfq("t1", OrderPurpose.OPEN, 0, world.legs)])
    clock.advance(timedelta(seconds=15))
    [received] = [e for e in world.dispatcher.poll() if isinstance(e, QuotesReceived)]
    quote = next(q for q in received.quotes if q.matches_direction(world.legs))
    return AcceptQuote("t1", created.rfq.request_id, quote.quote_id, quote.taker_cost())


def test_an_unknown_accept_that_did_not_happen_is_settled_as_not_traded_over_rest(
        rest: RestWorld, clock: ManualClock) -> None:
    accept = choose_quote(rest, clock)
    rest.plan.add(FaultRule("accept_quote", FaultKind.DISCONNECT, count=1))
    assert rest.dispatcher.execute([accept]) == []
    assert rest.venue.rfq_view(accept.request_id).state is RfqState.CANCELLED
    clock.advance(ACCEPT_SETTLE_GRACE)
    [failed] = rest.dispatcher.poll()
    assert isinstance(failed, RfqFailed)
    assert rest.store.find_rfq(accept.request_id).state is RfqLedgerState.CANCELLED
    assert rest.venue.block_trades(clock.now() - timedelta(hours=1)) == []
    assert rest.venue.positions() == []


def test_an_unknown_accept_that_happened_is_adopted_over_rest(rest: RestWorld,
                                                              clock: ManualClock) -> None:
    accept = choose_quote(rest, clock)
    refused_first = 1 if rest.world == "form" else 0  # JSON is tried first and refused
    rest.plan.add(FaultRule("accept_quote", FaultKind.LOST_RESPONSE, count=1,
                            after=refused_first))
    [adopted] = rest.dispatcher.execute([accept])
    assert isinstance(adopted, QuoteAccepted)
    assert adopted.trade.quote_id == accept.quote_id
    assert rest.store.find_rfq(accept.request_id).state is RfqLedgerState.FILLED
    assert len(rest.venue.block_trades(clock.now() - timedelta(hours=1))) == 1
