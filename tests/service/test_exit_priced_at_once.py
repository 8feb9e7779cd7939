"""Issue 11: the tick that decides an exit sends its close, even when that tick had not read
the legs' prices.

An `index_move` exit reads only the index, so a tick of a held trade does not read its
legs' chain (read_plan.py). When the index crosses, that tick decides the exit and, with
no WebSocket feed, reads the legs' chain then (one narrow read), so the close's first
orders go out in the same tick, not one tick (2 s) later. The real service on the
simulated venue, a manual clock and 2 s ticks; every exchange call is recorded.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from runner.domain.instruments import Underlying
from runner.domain.trades import TradeStage
from tests.service.test_read_plan import TICK, World, held


def move_index(holding: World, factor: str) -> None:
    """Move BTC's index on the venue (behind the recording and the fault layer)."""
    venue = holding.exchange.inner  # FaultyExchange(SimVenue): it passes controls through
    index = venue.index_price(Underlying.BTC)
    venue.set_index(Underlying.BTC, (index * Decimal(factor)).quantize(Decimal("0.01")))


def test_an_index_move_exit_sends_its_close_in_the_tick_that_decides_it(tmp_path) -> None:
    holding = held(tmp_path, "      - index_move: {pct: 1}\n      - max_hold: 1h")
    holding.run(TICK * 3)
    assert holding.reads()["option_chain"] == 0  # held on the index alone
    move_index(holding, "1.03")
    for _ in range(5):  # market exits are evaluated every check_interval (5 s)
        holding.exchange.calls.clear()
        [report] = holding.run(TICK)
        if report.closing:
            break
    [trade] = holding.trades()
    assert report.closing == [trade.trade_id]
    assert trade.exit_reason is not None
    assert trade.exit_reason.startswith("index_move")
    calls = holding.exchange.calls
    assert calls.count("option_chain") == 1  # one expiry holds both legs: one narrow read
    assert calls.count("place_order") == 2  # both legs' close orders, in this very tick
    assert trade.stage in (TradeStage.CLOSING, TradeStage.PENDING_CLOSE, TradeStage.CLOSED)


def test_a_time_exit_priced_by_the_plan_makes_no_second_read(tmp_path) -> None:
    """The plan already reads the legs' chain in the tick a time exit comes due: the
    close finds its prices there and reads nothing more."""
    holding = held(tmp_path, "      - max_hold: 3m")
    trade = holding.trades()[0]
    due = trade.opened_at + timedelta(minutes=3)
    holding.run(due - holding.clock.now() - TICK)
    holding.exchange.calls.clear()
    reports = holding.run(TICK * 2)
    assert any(r.closing for r in reports)
    assert holding.exchange.calls.count("option_chain") == 1
