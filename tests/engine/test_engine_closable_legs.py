"""A position the market cannot take back is never opened (lessons B1, R-C4)."""

from __future__ import annotations

from decimal import Decimal

from runner.domain.orders import Side
from runner.engine.selection import LegFailure, resolve_legs
from runner.strategy.model import FixedStrike
from tests.builders import NOW, make_leg, make_quote, make_spec, snapshot_of

CALL = "BTCUSD-3MAR26-90000-C"


def spec_for(side: Side) -> object:
    return make_spec(legs=(make_leg("call", side, "0.1", FixedStrike(Decimal(90000))),))


def test_a_bought_leg_with_no_bid_does_not_open() -> None:
    snapshot = snapshot_of([make_quote(CALL, bid=None, ask=12, mark=6, delta=0.05)])
    outcome = resolve_legs(spec_for(Side.BUY), snapshot, NOW)
    assert isinstance(outcome, LegFailure)
    assert "has no bid: a buy there could not be closed again" in outcome.reason


def test_a_sold_leg_with_no_ask_does_not_open() -> None:
    snapshot = snapshot_of([make_quote(CALL, bid=10, ask=None, mark=11, delta=0.05)])
    outcome = resolve_legs(spec_for(Side.SELL), snapshot, NOW)
    assert isinstance(outcome, LegFailure)
    assert "has no ask" in outcome.reason


def test_a_two_sided_market_opens_either_way() -> None:
    snapshot = snapshot_of([make_quote(CALL, bid=10, ask=12, mark=11, delta=0.05)])
    for side in Side:
        assert not isinstance(resolve_legs(spec_for(side), snapshot, NOW), LegFailure)
