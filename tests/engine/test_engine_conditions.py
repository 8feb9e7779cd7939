"""Entry conditions: given a market, a strategy and a time, does entry pass, and why."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time
from decimal import Decimal

import pytest

from runner.domain.instruments import Underlying
from runner.domain.snapshot import Chain
from runner.strategy.model import (
    AllOf,
    AnyOf,
    MaxAccountDeltaCondition,
    MaxMarginUtilisationCondition,
    MinAvailableMarginCondition,
    MinEquityCondition,
    NoExistingPositionCondition,
    TimeWindowCondition,
    UtcWindowCondition,
    Weekday,
    WeekdaysCondition,
)
from tests.builders import (
    NOW,
    make_account,
    make_position,
    make_quote,
    make_snapshot,
    make_spec,
)
from tests.engine.helpers_engine import check, decide_at


def _at(hour: int, minute: int = 0, second: int = 0, day: int = 2) -> datetime:
    return datetime(2026, 3, day, hour, minute, second, tzinfo=UTC)


def _window(start: str, end: str) -> TimeWindowCondition:
    h1, m1 = map(int, start.split(":"))
    h2, m2 = map(int, end.split(":"))
    return TimeWindowCondition(time(h1, m1, tzinfo=UTC), time(h2, m2, tzinfo=UTC))


# -- time window -------------------------------------------------------------------------
@pytest.mark.parametrize(("now", "passes"), [
    (_at(11, 59, 59), False),
    (_at(12, 0), True),  # the start is inside
    (_at(12, 59, 59), True),
    (_at(13, 0), False),  # the end is outside
])
def test_a_time_window_is_half_open_start_inside_end_outside(now: datetime,
                                                             passes: bool) -> None:
    spec = make_spec(entry=[_window("12:00", "13:00")])
    decision = decide_at(spec, now)
    assert check(decision, "time_window").passed is passes
    assert (decision.open is not None) is passes


@pytest.mark.parametrize(("now", "passes"), [
    (_at(21, 59), False),
    (_at(22, 0), True),
    (_at(23, 30), True),
    (_at(0, 0, day=3), True),  # wraps past midnight
    (_at(5, 59, 59, day=3), True),
    (_at(6, 0, day=3), False),
    (_at(12, 0), False),
])
def test_a_time_window_from_22_to_6_wraps_past_midnight(now: datetime, passes: bool) -> None:
    spec = make_spec(entry=[_window("22:00", "06:00")])
    assert check(decide_at(spec, now), "time_window").passed is passes


def test_a_time_window_detail_names_the_time_and_the_window() -> None:
    result = check(decide_at(make_spec(entry=[_window("12:00", "13:00")]), _at(10)),
                   "time_window")
    assert result.detail == "10:00:00 outside 12:00-13:00 UTC"


# -- UTC window --------------------------------------------------------------------------
@pytest.mark.parametrize(("now", "passes"), [
    (_at(8, 59), False), (_at(9, 0), True), (_at(16, 59), True), (_at(17, 0), False),
])
def test_a_utc_window_passes_from_its_start_to_just_before_its_end(now: datetime,
                                                                   passes: bool) -> None:
    spec = make_spec(entry=[UtcWindowCondition(_at(9), _at(17))])
    assert check(decide_at(spec, now), "utc_window").passed is passes


# -- weekdays ----------------------------------------------------------------------------
@pytest.mark.parametrize(("day", "passes"), [
    (2, True),  # Monday 2 March 2026
    (6, True),  # Friday
    (7, False),  # Saturday
    (8, False),  # Sunday
])
def test_weekdays_passes_only_on_the_listed_utc_days(day: int, passes: bool) -> None:
    spec = make_spec(entry=[WeekdaysCondition(frozenset(
        {Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI}))])
    result = check(decide_at(spec, _at(10, day=day)), "weekdays")
    assert result.passed is passes


def test_weekdays_uses_the_utc_day_just_after_midnight() -> None:
    spec = make_spec(entry=[WeekdaysCondition(frozenset({Weekday.TUE}))])
    assert check(decide_at(spec, _at(0, 0, 1, day=3)), "weekdays").passed
    assert not check(decide_at(spec, _at(23, 59, 59, day=2)), "weekdays").passed


# -- account conditions --------------------------------------------------------------------
@pytest.mark.parametrize(("available", "passes"), [(29_999, False), (30_000, True),
                                                   (30_001, True)])
def test_min_available_margin_compares_available_over_equity(available: int,
                                                             passes: bool) -> None:
    spec = make_spec(entry=[MinAvailableMarginCondition(Decimal(30))])
    market = make_snapshot(account=make_account(equity=100_000, available=available))
    result = check(decide_at(spec, snapshot=market), "min_available_margin_pct")
    assert result.passed is passes


def test_min_available_margin_blocks_with_zero_equity() -> None:
    spec = make_spec(entry=[MinAvailableMarginCondition(Decimal(30))])
    market = make_snapshot(account=make_account(equity=0, available=0, initial=0))
    result = check(decide_at(spec, snapshot=market), "min_available_margin_pct")
    assert not result.passed
    assert "equity is 0" in result.detail


@pytest.mark.parametrize(("equity", "passes"), [(9_999, False), (10_000, True)])
def test_min_equity_is_inclusive(equity: int, passes: bool) -> None:
    spec = make_spec(entry=[MinEquityCondition(Decimal(10_000))])
    market = make_snapshot(account=make_account(equity=equity, available=equity, initial=0))
    assert check(decide_at(spec, snapshot=market), "min_equity_usd").passed is passes


@pytest.mark.parametrize(("initial", "passes"), [(40_000, True), (40_001, False)])
def test_max_margin_utilisation_is_inclusive(initial: int, passes: bool) -> None:
    spec = make_spec(entry=[MaxMarginUtilisationCondition(Decimal(40))])
    market = make_snapshot(account=make_account(equity=100_000, initial=initial))
    result = check(decide_at(spec, snapshot=market), "max_margin_utilisation_pct")
    assert result.passed is passes


def test_max_margin_utilisation_blocks_with_zero_equity_where_the_old_system_passed() -> None:
    """old-system a.2: a failed account fetch read as 0 % utilisation and passed."""
    spec = make_spec(entry=[MaxMarginUtilisationCondition(Decimal(40))])
    market = make_snapshot(account=make_account(equity=0, available=0, initial=0))
    assert not check(decide_at(spec, snapshot=market), "max_margin_utilisation_pct").passed


@pytest.mark.parametrize("condition", [
    MinAvailableMarginCondition(Decimal(30)),
    MinEquityCondition(Decimal(1)),
    MaxMarginUtilisationCondition(Decimal(100)),
])
def test_c5_every_account_condition_blocks_when_the_account_was_not_read(condition) -> None:
    decision = decide_at(make_spec(entry=[condition]), snapshot=make_snapshot(account=None))
    assert decision.open is None
    blocked = decision.blocked_by
    assert blocked is not None
    assert blocked.detail == "the account was not read this tick (C5)"


# -- account delta -------------------------------------------------------------------------
def _holding(*held: tuple[str, float, str], reported: float | None = None):
    """A realistic tick where each held (qty, chain delta, symbol) is quoted at that delta;
    the exchange reports `reported` as every position's own delta (never decided on)."""
    base = make_snapshot(positions=[make_position(symbol, qty, delta=reported)
                                    for qty, _, symbol in held])
    chain = base.chains[Underlying.BTC]
    quotes = {**chain.quotes, **{symbol: make_quote(symbol, bid=90, ask=110, mark=100,
                                                    delta=delta)
                                 for _, delta, symbol in held}}
    return replace(base, chains={Underlying.BTC: Chain.of(Underlying.BTC, quotes.values())})


def _call(i: int) -> str:
    return f"BTCUSD-27MAR26-{90000 + 1000 * i}-C"


@pytest.mark.parametrize(("held", "passes"), [
    ((("0.1", 0.3), ("-0.1", 0.1)), True),  # 0.03 - 0.01 = +0.02
    ((("1", 0.3), ("1", 0.2)), True),  # net +0.5 = the limit: inclusive
    ((("1", 0.3), ("1", 0.21)), False),
    ((("-2", 0.3),), False),  # -0.6: absolute value
])
def test_max_account_delta_sums_chain_delta_times_signed_position_qty(held, passes) -> None:
    market = _holding(*((qty, delta, _call(i)) for i, (qty, delta) in enumerate(held)))
    spec = make_spec(entry=[MaxAccountDeltaCondition(Decimal("0.5"))])
    assert check(decide_at(spec, snapshot=market), "max_account_delta").passed is passes


def test_max_account_delta_never_decides_on_the_exchanges_position_greeks() -> None:
    """Issue 8 #8: whether the exchange signs and scales position greeks is unverified;
    an unscaled (per-contract) or unsigned report changes the log line, not the verdict."""
    spec = make_spec(entry=[MaxAccountDeltaCondition(Decimal("0.5"))])
    for reported in (None, 0.3, -0.03, 9.0):
        result = check(decide_at(spec, snapshot=_holding(("-0.1", 0.3, _call(0)),
                                                         reported=reported)),
                       "max_account_delta")
        assert result.passed
        assert result.detail.startswith("account delta -0.0300")


def test_c5_max_account_delta_blocks_when_positions_were_not_read() -> None:
    spec = make_spec(entry=[MaxAccountDeltaCondition(Decimal("0.5"))])
    result = check(decide_at(spec, snapshot=make_snapshot(positions=None)), "max_account_delta")
    assert not result.passed
    assert "positions were not read" in result.detail


def test_max_account_delta_blocks_when_a_held_position_has_no_chain_delta() -> None:
    spec = make_spec(entry=[MaxAccountDeltaCondition(Decimal("0.5"))])
    unlisted = "BTCUSD-27MAR26-91234-C"
    market = make_snapshot(positions=[make_position(unlisted, "0.1", delta=0.01)])
    result = check(decide_at(spec, snapshot=market), "max_account_delta")
    assert not result.passed
    assert f"no chain delta for held {unlisted}" in result.detail


# -- no existing position --------------------------------------------------------------------
HELD = "BTCUSD-27MAR26-90000-C"


def test_no_existing_position_passes_when_none_of_the_listed_symbols_is_held() -> None:
    spec = make_spec(entry=[NoExistingPositionCondition((HELD,))])
    market = make_snapshot(positions=[make_position("BTCUSD-27MAR26-95000-C", "0.1")])
    assert check(decide_at(spec, snapshot=market), "no_existing_position").passed


def test_no_existing_position_blocks_when_a_listed_symbol_is_held_short_or_long() -> None:
    spec = make_spec(entry=[NoExistingPositionCondition((HELD,))])
    for qty in ("0.1", "-0.1"):
        market = make_snapshot(positions=[make_position(HELD, qty)])
        result = check(decide_at(spec, snapshot=market), "no_existing_position")
        assert not result.passed
        assert HELD in result.detail


def test_c5_no_existing_position_never_passes_when_positions_were_not_read() -> None:
    """C5: a failed positions read is not "flat"."""
    for condition in (NoExistingPositionCondition((HELD,)), NoExistingPositionCondition()):
        decision = decide_at(make_spec(entry=[condition]), snapshot=make_snapshot(positions=None))
        assert decision.open is None
        assert check(decision, "no_existing_position").detail == \
            "positions were not read this tick (C5)"


def test_no_existing_position_without_symbols_looks_at_the_trades_own_instruments() -> None:
    spec = make_spec(entry=[NoExistingPositionCondition()])
    free = decide_at(spec)
    assert free.open is not None
    own = free.open.legs[0].symbol
    held = decide_at(spec, snapshot=make_snapshot(positions=[make_position(own, "0.1")]))
    assert held.open is None
    assert own in check(held, "no_existing_position").detail


def test_no_existing_position_on_own_instruments_blocks_when_the_legs_cannot_resolve() -> None:
    spec = make_spec(entry=[NoExistingPositionCondition()])
    decision = decide_at(spec, snapshot=make_snapshot(expiries=()))
    assert check(decision, "no_existing_position").passed is False


# -- groups ----------------------------------------------------------------------------------
def test_any_passes_when_one_member_passes_and_reports_each_member() -> None:
    group = AnyOf((_window("22:00", "23:00"), _window("09:00", "11:00")))
    result = check(decide_at(make_spec(entry=[group])), "any")
    assert result.passed
    assert "time_window: BLOCK" in result.detail
    assert "time_window: pass" in result.detail


def test_any_blocks_when_every_member_blocks() -> None:
    group = AnyOf((_window("22:00", "23:00"), MinEquityCondition(Decimal(10**9))))
    assert not check(decide_at(make_spec(entry=[group])), "any").passed


def test_a_nested_all_needs_every_member() -> None:
    group = AllOf((_window("09:00", "11:00"), MinEquityCondition(Decimal(10**9))))
    assert not check(decide_at(make_spec(entry=[group])), "all").passed


def test_no_entry_conditions_means_entry_passes() -> None:
    assert decide_at(make_spec(entry=[])).open is not None


def test_every_condition_is_reported_even_after_one_blocks() -> None:
    spec = make_spec(entry=[_window("22:00", "23:00"), MinEquityCondition(Decimal(1)),
                            MinAvailableMarginCondition(Decimal(30))])
    decision = decide_at(spec, NOW)
    reported = [c.name for c in decision.checks]
    assert reported[-3:] == ["time_window", "min_equity_usd", "min_available_margin_pct"]
    assert decision.blocked_by is not None
    assert decision.blocked_by.name == "time_window"
