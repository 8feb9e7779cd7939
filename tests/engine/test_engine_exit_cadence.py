"""Exit cadence: rules that read the market are evaluated at the strategy's check interval,
rules of the clock on every decision, so a decision never depends on how often the service
ticks (issue 12 item 1: the same trades whether a simulation steps every second or from
one moment that matters to the next)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from runner.domain.orders import Side
from runner.engine.decide import exit_decisions
from runner.strategy.model import (
    IndexMoveExit,
    MaxHoldExit,
    MaxLossPctExit,
    MoveUnit,
    PriceBasis,
    TimingSpec,
)
from tests.builders import NOW, make_quote, make_spec, make_trade, snapshot_of
from tests.engine.helpers_engine import decide_at, state

CALL = "BTCUSD-27MAR26-90000-C"
LOSING_BOOK = make_quote(CALL, bid=80, ask=120, mark=110, delta=0.5)  # executable -20 %
EVERY_MINUTE = TimingSpec(check_interval=timedelta(minutes=1))
STOP = MaxLossPctExit(Decimal(20), PriceBasis.EXECUTABLE)


def _held(opened_ago: timedelta = timedelta(hours=1)):
    return make_trade([(CALL, Side.BUY, 1, 100)], created_at=NOW - opened_ago)


def _closes(spec, *, checked_ago: timedelta | None):
    last = NOW - checked_ago if checked_ago is not None else None
    decision = decide_at(spec, snapshot=snapshot_of([LOSING_BOOK]),
                         strategy_state=state(active_trades=(_held(),), last_entry_check=last))
    return decision


def test_a_stop_loss_that_is_hit_waits_for_the_strategy_s_next_check() -> None:
    spec = make_spec(exits=(STOP,), timing=EVERY_MINUTE)
    early = _closes(spec, checked_ago=timedelta(seconds=59))
    assert not early.entry_checked
    assert early.closes == ()
    due = _closes(spec, checked_ago=timedelta(seconds=60))
    assert due.entry_checked
    assert [c.reason for c in due.closes] == ["max_loss"]


def test_a_rule_of_the_clock_fires_at_its_moment_between_two_checks() -> None:
    spec = make_spec(exits=(STOP, MaxHoldExit(timedelta(minutes=30))), timing=EVERY_MINUTE)
    decision = _closes(spec, checked_ago=timedelta(seconds=10))
    assert [c.reason for c in decision.closes] == ["max_hold"]


def test_at_a_check_the_first_rule_in_declaration_order_still_wins() -> None:
    spec = make_spec(exits=(STOP, MaxHoldExit(timedelta(minutes=30))), timing=EVERY_MINUTE)
    decision = _closes(spec, checked_ago=timedelta(minutes=1))
    assert [c.reason for c in decision.closes] == ["max_loss"]


def test_a_disabled_strategy_keeps_the_cadence_of_its_market_exits() -> None:
    spec = make_spec(enabled=False, exits=(STOP,), timing=EVERY_MINUTE)
    early = _closes(spec, checked_ago=timedelta(seconds=30))
    assert not early.entry_checked
    assert early.closes == ()
    due = _closes(spec, checked_ago=timedelta(minutes=1))
    assert due.entry_checked  # the service restarts the timer on it
    assert [c.reason for c in due.closes] == ["max_loss"]


def test_exit_decisions_without_the_market_skip_an_index_move_too() -> None:
    spec = make_spec(exits=(IndexMoveExit(Decimal(1), MoveUnit.USD),), timing=EVERY_MINUTE)
    trade = make_trade([(CALL, Side.BUY, 1, 100)], created_at=NOW - timedelta(hours=1),
                       index_at_entry=Decimal(1))
    market = snapshot_of([LOSING_BOOK])
    held = state(active_trades=(trade,))
    assert exit_decisions(spec, held, market, NOW, market=False) == ()
    assert [c.reason for c in exit_decisions(spec, held, market, NOW)] == ["index_move"]
