"""The missing-order grace (lessons D2) and the close budget it must not consume (issue 7).

D2: an order just placed may not show in the exchange's reads yet (propagation delay).
Here its create answer is lost too (D3), and the exchange hides the new order from
every read for 10 s. The dispatcher must wait the grace period before calling it
"never placed": without the grace the order would be declared missing while it works on
the venue, and the executor would place a second one for the same leg.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from runner.dispatch import Dispatcher, DispatchLimits
from runner.domain.commands import OrderAccepted, OrderOutcomeUnknown, OrderRejected
from runner.domain.ledger import LedgerStatus
from runner.domain.orders import OrderRequest
from runner.exchange.errors import OutcomeUnknown
from tests.dispatch.helpers_dispatch import (
    SlowToShowExchange,
    liquid_call,
    make_venue,
    resting_buy_price,
    venue_orders,
)
from tests.store.helpers_store import make_trade, open_fresh, place

HIDDEN_FOR_S = 10


class SlowAndSilent(SlowToShowExchange):
    """Takes the order, loses the answer, and shows the order only 10 s later."""

    def place_order(self, request: OrderRequest) -> int:
        super().place_order(request)
        raise OutcomeUnknown("no answer (lost on the way back)", endpoint="place_order")


def lost_and_slow_order(tmp_path, clock, limits: DispatchLimits) -> tuple[Any, Any, Any, int]:
    venue = make_venue(clock)
    store = open_fresh(tmp_path, clock)
    store.save_trade(make_trade("t1"))
    quote = liquid_call(venue)
    dispatcher = Dispatcher(SlowAndSilent(venue, clock, HIDDEN_FOR_S), store, clock, limits)
    command = place(symbol=quote.symbol, qty="0.1", price=str(resting_buy_price(quote)))
    assert dispatcher.execute([command]) == [OrderOutcomeUnknown(command.request
                                                                 .client_order_id)]
    return venue, store, dispatcher, command.request.client_order_id


def poll_for(dispatcher: Dispatcher, clock, seconds: int) -> list[Any]:
    events = []
    for _ in range(seconds):
        clock.advance(timedelta(seconds=1))
        events.extend(dispatcher.poll())
    return events


def test_an_order_not_yet_visible_is_not_declared_missing_within_the_grace(tmp_path,
                                                                           clock) -> None:
    """D2: polled every second while invisible; adopted once it shows, never rejected."""
    venue, store, dispatcher, cid = lost_and_slow_order(tmp_path, clock, DispatchLimits())
    events = poll_for(dispatcher, clock, HIDDEN_FOR_S + 2)
    assert not any(isinstance(e, OrderRejected) for e in events), events
    assert any(isinstance(e, OrderAccepted) and e.client_order_id == cid for e in events)
    row = store.find_by_client_order_id(cid)
    assert row is not None
    assert row.status is LedgerStatus.ACCEPTED
    assert len(venue_orders(venue)) == 1


@pytest.mark.parametrize("grace_s", [0, 5])
def test_without_a_long_enough_grace_a_working_order_is_declared_never_placed(
        tmp_path, clock, grace_s: int) -> None:
    """The contrast that shows the grace matters: shorter than the propagation delay, the
    working order is written off as never placed (the executor would place another)."""
    limits = DispatchLimits(missing_grace=timedelta(seconds=grace_s))
    venue, _store, dispatcher, cid = lost_and_slow_order(tmp_path, clock, limits)
    events = poll_for(dispatcher, clock, HIDDEN_FOR_S + 2)
    assert any(isinstance(e, OrderRejected) and e.client_order_id == cid for e in events)
    assert [o.client_order_id for o in venue.open_orders()] == [cid]  # yet it works
