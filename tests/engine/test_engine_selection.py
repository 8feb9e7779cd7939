"""Leg selection: strike rules, quantities and failures against a snapshot.

The default market: BTC index 87,000; the next expiry is Tue 3 March 08:00 UTC with
strikes every 1,000 near the money.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from runner.domain.instruments import OptionKind, Underlying
from runner.domain.orders import Side
from runner.engine.selection import LegFailure, ResolvedLeg, resolve_legs
from runner.strategy.model import (
    AtmStrike,
    DeltaStrike,
    DteExpiry,
    FixedExpiry,
    FixedStrike,
    MoveUnit,
    OffsetUnit,
    RelativeStrike,
    SpotDistanceStrike,
    StepsFromAtmStrike,
    StrikeRule,
)
from tests.builders import (
    NOW,
    calendar,
    make_leg,
    make_quote,
    make_snapshot,
    make_spec,
    snapshot_of,
)

NEXT = datetime(2026, 3, 3, 8, tzinfo=UTC)


def _resolve(*legs, snapshot=None) -> tuple[ResolvedLeg, ...] | LegFailure:
    return resolve_legs(make_spec(legs=tuple(legs)), snapshot or make_snapshot(), NOW)


def _one(rule: StrikeRule, kind: OptionKind = OptionKind.CALL, snapshot=None) -> ResolvedLeg:
    resolved = _resolve(make_leg(kind, strike=rule), snapshot=snapshot)
    assert not isinstance(resolved, LegFailure), str(resolved)
    return resolved[0]


def _failure(*legs, snapshot=None) -> LegFailure:
    resolved = _resolve(*legs, snapshot=snapshot)
    assert isinstance(resolved, LegFailure), resolved
    return resolved


def _listed_strikes(kind: OptionKind = OptionKind.CALL) -> list[Decimal]:
    chain = make_snapshot().chains[Underlying.BTC]
    return [q.instrument.strike for q in chain.at_expiry(NEXT, kind)]


# -- delta -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "target"), [(OptionKind.CALL, "0.25"), (OptionKind.CALL, "0.05"),
                                              (OptionKind.PUT, "-0.25"), (OptionKind.PUT, "-0.05")])
def test_a_delta_target_picks_the_strike_whose_exchange_delta_is_closest(kind: OptionKind,
                                                                         target: str) -> None:
    leg = _one(DeltaStrike(Decimal(target)), kind)
    chain = make_snapshot().chains[Underlying.BTC].at_expiry(NEXT, kind)
    best = min(chain, key=lambda q: abs(q.delta - float(target)))
    assert leg.symbol == best.symbol
    assert leg.delta == best.delta
    assert (leg.delta > 0) is (kind is OptionKind.CALL)


HAND = "BTCUSD-3MAR26-{}-C"
DELTAS = {88000: 0.40, 90000: 0.30, 92000: 0.20, 94000: 0.10}


def _hand_chain(**skip_delta: bool):
    quotes = [make_quote(HAND.format(k), bid=10, ask=12, mark=11,
                         delta=None if skip_delta.get(str(k)) else d) for k, d in DELTAS.items()]
    return snapshot_of(quotes)


def test_a_delta_tolerance_accepts_a_strike_within_it() -> None:
    leg = _one(DeltaStrike(Decimal("0.24"), Decimal("0.05")), snapshot=_hand_chain())
    assert leg.instrument.strike == 92000


def test_a_delta_tolerance_refuses_when_no_strike_is_close_enough() -> None:
    failure = _failure(make_leg(strike=DeltaStrike(Decimal("0.25"), Decimal("0.04"))),
                       snapshot=_hand_chain())
    assert failure.leg == 0
    assert "closest delta +0.3000" in failure.reason
    assert "more than 0.04 from the target 0.25" in failure.reason


def test_a_delta_tie_goes_to_the_lower_strike() -> None:
    assert _one(DeltaStrike(Decimal("0.25")), snapshot=_hand_chain()).instrument.strike == 90000


def test_options_without_greeks_are_not_delta_candidates() -> None:
    leg = _one(DeltaStrike(Decimal("0.30")), snapshot=_hand_chain(**{"90000": True}))
    assert leg.instrument.strike in (88000, 92000)


# -- ATM and price-relative rules --------------------------------------------------------------
@pytest.mark.parametrize(("index", "strike"), [(87_000, 87_000), (87_400, 87_000),
                                               (87_600, 88_000), (87_500, 87_000)])
def test_atm_is_the_listed_strike_closest_to_the_index(index: int, strike: int) -> None:
    market = make_snapshot(index_prices={Underlying.BTC: index})
    assert _one(AtmStrike(), snapshot=market).instrument.strike == strike


def test_c2_atm_without_an_index_price_cannot_resolve_and_no_constant_is_used() -> None:
    failure = _failure(make_leg(strike=AtmStrike()), snapshot=make_snapshot(index_prices={}))
    assert "no index price" in failure.reason
    assert "(C2)" in failure.reason


def test_c2_every_price_rule_needs_the_index() -> None:
    for rule in (SpotDistanceStrike(Decimal(5), MoveUnit.PCT), StepsFromAtmStrike(1)):
        assert "(C2)" in _failure(make_leg(strike=rule),
                                  snapshot=make_snapshot(index_prices={})).reason


def test_atm_reads_the_index_of_the_legs_own_underlying() -> None:
    both = make_snapshot(underlyings=(Underlying.BTC, Underlying.ETH))
    resolved = _resolve(make_leg(strike=AtmStrike(), underlying=Underlying.ETH), snapshot=both)
    assert not isinstance(resolved, LegFailure)
    leg = resolved[0]
    assert leg.instrument.underlying is Underlying.ETH
    assert leg.instrument.strike == 3000


@pytest.mark.parametrize(("distance", "unit", "strike"), [
    ("5", MoveUnit.PCT, 91_000),  # 87,000 x 1.05 = 91,350
    ("-3", MoveUnit.PCT, 84_000),  # 84,390
    ("-3000", MoveUnit.USD, 84_000),
    ("2600", MoveUnit.USD, 90_000),  # 89,600
])
def test_spot_distance_picks_the_strike_closest_to_the_moved_spot(distance: str, unit: MoveUnit,
                                                                  strike: int) -> None:
    leg = _one(SpotDistanceStrike(Decimal(distance), unit))
    assert leg.instrument.strike == strike


def test_a_fixed_strike_is_taken_exactly_or_the_leg_fails() -> None:
    assert _one(FixedStrike(Decimal(90_000))).instrument.strike == 90_000
    failure = _failure(make_leg(strike=FixedStrike(Decimal(90_500))))
    assert "strike 90500 is not listed" in failure.reason


@pytest.mark.parametrize("steps", [2, -1, 0])
def test_steps_from_atm_count_listed_strikes(steps: int) -> None:
    listed = _listed_strikes()
    expected = listed[listed.index(Decimal(87_000)) + steps]
    assert _one(StepsFromAtmStrike(steps)).instrument.strike == expected


def test_steps_past_the_listed_strikes_fail() -> None:
    failure = _failure(make_leg(strike=StepsFromAtmStrike(1000)))
    assert "past the listed strikes" in failure.reason


# -- relative to an earlier leg ----------------------------------------------------------------
@pytest.mark.parametrize(("offset", "unit", "strike"), [
    ("-2000", OffsetUnit.USD, 85_000),
    ("5", OffsetUnit.PCT, 91_000),  # 87,000 x 1.05
])
def test_a_relative_strike_moves_from_the_earlier_legs_strike(offset: str, unit: OffsetUnit,
                                                              strike: int) -> None:
    resolved = _resolve(make_leg(OptionKind.CALL, Side.SELL, strike=AtmStrike()),
                        make_leg(OptionKind.CALL, Side.BUY,
                                 strike=RelativeStrike(0, Decimal(offset), unit)))
    assert not isinstance(resolved, LegFailure)
    assert [leg.instrument.strike for leg in resolved] == [87_000, strike]


def test_a_relative_strike_in_steps_counts_listed_strikes_of_its_own_kind() -> None:
    resolved = _resolve(make_leg(OptionKind.CALL, strike=AtmStrike()),
                        make_leg(OptionKind.PUT, strike=RelativeStrike(0, Decimal(-2),
                                                                       OffsetUnit.STEPS)))
    assert not isinstance(resolved, LegFailure)
    puts = _listed_strikes(OptionKind.PUT)
    assert resolved[1].instrument.strike == puts[puts.index(Decimal(87_000)) - 2]


# -- quantity ----------------------------------------------------------------------------------
def test_f5_the_quantity_snaps_down_to_the_lot() -> None:
    resolved = _resolve(make_leg(qty="0.5999"))
    assert not isinstance(resolved, LegFailure)
    assert resolved[0].qty == Decimal("0.59")


def test_a_quantity_below_the_minimum_fails_the_leg() -> None:
    failure = _failure(make_leg(qty="0.005"))
    assert "below the minimum 0.01" in failure.reason


# -- failures ----------------------------------------------------------------------------------
def test_one_failing_leg_fails_the_whole_structure_naming_the_leg() -> None:
    failure = _failure(make_leg(), make_leg(OptionKind.PUT, strike=FixedStrike(Decimal(1))))
    assert failure.leg == 1
    assert str(failure).startswith("leg 1: put 03 Mar 2026")


def test_a_leg_whose_expiry_rule_finds_nothing_fails_in_words() -> None:
    failure = _failure(make_leg(expiry=FixedExpiry(date(2026, 3, 28))))
    assert failure.reason == "no listed BTC expiry fits the expiry of 28 Mar 2026"
    failure = _failure(make_leg(expiry=DteExpiry(5, 5, 5)))
    assert failure.reason == "no listed BTC expiry fits dte 5"


def test_a_leg_on_an_underlying_without_a_chain_fails() -> None:
    failure = _failure(make_leg(underlying=Underlying.ETH))
    assert failure.reason == "no ETH chain in this tick's snapshot"


def test_a_listed_expiry_whose_chain_was_not_fetched_fails_instead_of_using_another() -> None:
    listed = calendar(NOW)
    without_next = make_snapshot(expiries=listed[1:])
    told = replace(without_next, listed_expiries={Underlying.BTC: listed})
    failure = _failure(make_leg(), snapshot=told)
    assert "chain of 03 Mar 2026 was not in this tick's snapshot" in failure.reason


def test_inactive_instruments_are_never_chosen() -> None:
    market = _hand_chain()
    chain = market.chains[Underlying.BTC]
    quotes = [replace(q, instrument=replace(q.instrument, is_active=False))
              if q.instrument.strike == 90000 else q for q in chain.quotes.values()]
    leg = _one(DeltaStrike(Decimal("0.30")), snapshot=snapshot_of(quotes))
    assert leg.instrument.strike != 90000


def test_the_resolved_leg_carries_symbol_quote_delta_and_notional() -> None:
    leg = _one(FixedStrike(Decimal(90_000)))
    assert leg.symbol == "BTCUSD-3MAR26-90000-C"
    assert leg.quote.symbol == leg.symbol
    assert leg.delta == leg.quote.delta
    assert leg.notional_usd == Decimal(9000)  # 90,000 x 0.1
