"""How "react between ticks" composes with "market exits are evaluated at the strategy's
check_interval" (runner/feed/reaction.py): the tick a pushed crossing starts prices the
woken trade's legs and evaluates its market exits off the check interval, so the close is
sent in that tick; the strategy's own check grid does not move. Without the push, the
same off-cadence tick decides nothing on the market and reads no chain.

The service runs on the simulated venue with a manual clock, a 5 s check interval and
2 s ticks; `Service.reacting` is what `BetweenTicks` sets when a push makes an exit due.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from runner.domain.instruments import Underlying
from tests.service.test_read_plan import TICK, World, held

EXITS = "      - index_move: {pct: 1}\n      - max_hold: 1h"


def _crossed_off_cadence(tmp_path: Path) -> tuple[World, str]:
    """Held on index_move; one tick (2 s) after a tick that checked the strategy, the index
    has moved 3 %: a crossing the check interval (5 s) would only see at the next check."""
    holding = held(tmp_path, EXITS)
    while not holding.run(TICK)[0].decisions[0].entry_checked:
        pass
    venue = holding.exchange.inner._exchange  # the venue behind the faults
    index = venue.index_price(Underlying.BTC)
    venue.set_index(Underlying.BTC, (index * Decimal("1.03")).quantize(Decimal("0.01")))
    holding.exchange.calls.clear()
    (trade,) = holding.trades()
    return holding, trade.trade_id


def test_the_tick_a_pushed_crossing_starts_sends_the_close_off_the_check_interval(
        tmp_path: Path) -> None:
    holding, trade_id = _crossed_off_cadence(tmp_path)
    service = holding.runtime.service
    service.reacting = frozenset({trade_id})
    report = service.safe_tick()
    assert report is not None
    assert report.closing == [trade_id]
    assert holding.exchange.calls.count("option_chain") >= 1  # its legs priced this tick
    assert holding.exchange.calls.count("place_order") == 2  # both legs' closes sent
    assert not report.decisions[0].entry_checked  # the strategy's check grid kept
    assert service.reacting == frozenset()  # one tick only


def test_without_a_push_the_same_off_cadence_tick_leaves_market_exits_to_the_check(
        tmp_path: Path) -> None:
    holding, _trade_id = _crossed_off_cadence(tmp_path)
    report = holding.runtime.service.safe_tick()
    assert report is not None
    assert report.closing == []
    assert holding.exchange.calls.count("option_chain") == 0
    assert holding.exchange.calls.count("place_order") == 0
