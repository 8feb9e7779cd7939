"""A close that used up its budget: the position stays protected, its strategy opens
nothing new, and the operator is paged once (issue 7 item 8; lessons B1, R-C4).

The row of issue 7: a trade went FAILED holding a leg while its strategy kept opening
new trades, so leftovers piled up. Here a long strangle's put loses every bid when it
must close (B1's incident), or its close may not sell below a floor above every bid;
the strategy may hold ten trades at once, twenty a day, one a minute, so only the
failed-close concern can hold it back.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest

from runner.domain.instruments import parse_symbol
from runner.domain.orders import OrderRequest, Side
from runner.domain.trades import TradeStage
from runner.execution.retry import close_exhausted_at
from runner.reconcile.decisions import mark_closed_externally
from tests.scenarios.helpers_scenarios import Scenario, strategy_from_yaml
from tests.scenarios.test_scenario_unsellable_leg import STRANGLE

BUSY = STRANGLE.replace(
    "timing: {check_interval: 5s, max_trades_per_day: 1}",
    "timing: {check_interval: 5s, max_trades_per_day: 20, max_concurrent_trades: 10,"
    " cooldown: 1m}")
FLOORED = BUSY.replace("aggressive_buffer_pct: 2}", "aggressive_buffer_pct: 2,"
                       " min_floor_price: 50000}")


def exhaust(scenario: Scenario, trade_id: str) -> None:
    assert scenario.run_until(scenario.now + timedelta(minutes=2),
                              stop=lambda s: close_exhausted_at(s.trade(trade_id)) is not None)


def open_first(tmp_path, body: str) -> tuple[Scenario, str, str]:
    scenario = Scenario.start(tmp_path, [strategy_from_yaml(tmp_path, "strangle", body)])
    assert scenario.run_until(scenario.now + timedelta(minutes=1),
                              stop=lambda s: bool(s.in_stage(TradeStage.OPEN)))
    (trade,) = scenario.trades()
    put = next(leg.symbol for leg in trade.legs if parse_symbol(leg.symbol).kind.letter == "P")
    return scenario, trade.trade_id, put


@pytest.fixture
def exhausted(tmp_path):
    """The first strangle is OPEN, its put loses every bid, its close used its budget."""
    assert "max_concurrent_trades: 10" in BUSY
    scenario, trade_id, put = open_first(tmp_path, BUSY)
    scenario.venue.empty_book_side(put, Side.BUY)
    exhaust(scenario, trade_id)
    yield scenario, trade_id, put
    scenario.close()


@pytest.fixture
def unfillable(tmp_path):
    """The close may not sell below a floor far above every bid: it never fills, while
    the market would let the strategy open again (its legs are closable)."""
    assert FLOORED != BUSY
    scenario, trade_id, _ = open_first(tmp_path, FLOORED)
    exhaust(scenario, trade_id)
    yield scenario, trade_id
    scenario.close()


def test_the_strategy_opens_nothing_while_a_close_that_used_its_budget_holds_legs(
        unfillable) -> None:
    scenario, trade_id = unfillable
    before = [t.trade_id for t in scenario.trades()]  # opened while the close had budget
    scenario.run_for(timedelta(minutes=5))
    assert [t.trade_id for t in scenario.trades()] == before  # nothing new since
    trade = scenario.trade(trade_id)
    assert trade.stage in (TradeStage.PENDING_CLOSE, TradeStage.CLOSING)  # not abandoned
    held: dict[str, Decimal] = {}
    for each in scenario.trades():
        for leg in each.legs:
            held[leg.symbol] = held.get(leg.symbol, Decimal(0)) + leg.open_qty
    assert held == scenario.net_positions()  # every leg still held is still managed
    key = f"failed_close.{trade_id}"
    assert scenario.service.attention.is_open(key)
    blocked = [why for report in scenario.reports for name, why in report.blocked_entries
               if name == "strangle"]
    assert blocked
    assert trade_id in blocked[-1]
    pages = [m for m in scenario.pager.sent if trade_id in m.key]
    assert len(pages) == 1  # one page per trade, not per attempt
    assert pages[0].key == f"concern.{key}"
    retries = [o for o in scenario.orders_of(trade_id) if o.key.reason.endswith("+retry")]
    assert 4 * 2 <= len(retries) <= 6 * 2  # about one per held leg a minute
    assert all(o.request.reduce_only for o in retries)


def test_the_concern_is_raised_again_at_a_restart(exhausted) -> None:
    scenario, trade_id, _ = exhausted
    scenario.restart()
    assert scenario.service.attention.is_open(f"failed_close.{trade_id}")
    assert scenario.service.attention.entry_block("strangle") is not None
    scenario.run_for(timedelta(minutes=2))
    assert [t.trade_id for t in scenario.trades()] == [trade_id]


def test_once_the_retried_close_completes_the_concern_ends_and_entries_resume(
        exhausted) -> None:
    scenario, trade_id, put = exhausted
    scenario.run_for(timedelta(minutes=2))
    scenario.venue.restore_book_side(put, Side.BUY)
    scenario.run_for(timedelta(minutes=2))
    trade = scenario.trade(trade_id)
    assert trade.stage is TradeStage.CLOSED
    assert trade.is_flat
    assert not scenario.service.attention.is_open(f"failed_close.{trade_id}")
    assert len(scenario.trades()) >= 2  # the strategy trades again
    recovered = [m for m in scenario.pager.sent if m.recovered and trade_id in m.key]
    assert len(recovered) == 1


def test_an_operator_decision_ends_the_concern_at_the_next_start(unfillable) -> None:
    """Stopped, the operator flattens by hand and marks the trade closed externally
    (`runner trades close-externally`): the next start raises no concern, entries go on."""
    scenario, trade_id = unfillable
    scenario.run_for(timedelta(seconds=30))
    store = scenario.runtime.store
    ids = itertools.count(770_000)
    for trade in store.load_active_trades():  # flatten by hand on the venue, then tell the runner
        mark_closed_externally(store, trade.trade_id, scenario.now, "flattened by hand",
                               dispatcher=scenario.runtime.dispatcher)
        for leg in trade.legs:
            if leg.open_qty > 0:  # the strangle was bought: sold back at any bid
                scenario.venue.place_order(OrderRequest(leg.symbol, Side.SELL, leg.open_qty,
                                                        Decimal(1), next(ids)))
    assert scenario.net_positions() == {}
    scenario.restart()
    assert not scenario.service.attention.is_open(f"failed_close.{trade_id}")
    assert scenario.service.attention.entry_block("strangle") is None
    before = len(scenario.trades())
    scenario.run_for(timedelta(minutes=2))
    assert len(scenario.trades()) > before
