"""Issue 7 item 10: a strategy whose window is open but whose legs cannot be resolved says why.

The engine returns the reason as data (`Decision.unresolved`): the failing leg, the kind
of failure, the words, and the entry window it happened in, so the service can tell it
once per window and `runner plan` print the same words.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from runner.domain.instruments import OptionKind, Underlying
from runner.engine.selection import FailureKind
from runner.strategy.model import DailySchedule, DeltaStrike, DteExpiry, FixedExpiry
from tests.builders import calendar, make_leg, make_snapshot, make_spec
from tests.engine.helpers_engine import decide_at

MIDNIGHT = datetime(2026, 3, 2, tzinfo=UTC)


def test_no_listed_expiry_matching_the_rule_is_the_reason_even_without_any_chain_read() -> None:
    spec = make_spec(legs=(make_leg(expiry=DteExpiry(5, 5, 5)),))
    # the service reads no chain for a rule that chooses no expiry: only the listing
    market = replace(make_snapshot(), chains={}, listed_expiries={Underlying.BTC: calendar()})
    decision = decide_at(spec, snapshot=market)
    assert decision.open is None
    assert decision.unresolved is not None
    assert decision.unresolved.failure.kind is FailureKind.EXPIRY
    assert decision.unresolved.text == ("the legs cannot be resolved: leg 0: no listed BTC "
                                        "expiry fits dte 5")
    assert decision.unresolved.window == MIDNIGHT  # no schedule: the UTC day


def test_no_strike_within_the_delta_tolerance_is_the_reason() -> None:
    far = DeltaStrike(Decimal("0.25"), tolerance=Decimal("0.0001"))
    decision = decide_at(make_spec(legs=(make_leg(OptionKind.CALL, strike=far),)))
    assert decision.unresolved is not None
    assert decision.unresolved.failure.kind is FailureKind.STRIKE
    assert "is more than 0.0001 from the target 0.25" in decision.unresolved.text


def test_a_quantity_below_the_minimum_is_the_reason() -> None:
    decision = decide_at(make_spec(legs=(make_leg(qty="0.005"),)))
    assert decision.unresolved is not None
    assert decision.unresolved.failure.kind is FailureKind.QUANTITY
    assert "quantity 0.005 snaps to 0.00, below the minimum 0.01" in decision.unresolved.text


def test_the_window_of_a_scheduled_strategy_is_its_open_window() -> None:
    daily = DailySchedule(open_at=time(9, 30), open_window=timedelta(hours=2),
                          close_at=time(16))
    spec = make_spec(schedule=daily, legs=(make_leg(expiry=FixedExpiry(date(2026, 3, 28))),))
    decision = decide_at(spec)
    assert decision.unresolved is not None
    assert decision.unresolved.window == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    assert decision.unresolved.failure.kind is FailureKind.EXPIRY


def test_legs_that_resolve_or_a_gate_that_blocks_first_leave_no_reason() -> None:
    assert decide_at(make_spec()).unresolved is None
    closed = DailySchedule(open_at=time(20), open_window=timedelta(hours=1), close_at=time(22))
    broken = make_spec(schedule=closed, legs=(make_leg(qty="0.005"),))
    assert decide_at(broken).unresolved is None  # the window is closed: nothing to say
