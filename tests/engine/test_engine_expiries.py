"""Expiry rules against a Coincall-like calendar, and the chains a tick must fetch.

The calendar at NOW (Monday 2 March 2026, 10:00 UTC), every expiry at 08:00 UTC:
Tue 3, Wed 4, Thu 5, Fri 6, Fri 13, Fri 20, Fri 27 March, Fri 24 April, Fri 29 May,
Fri 26 June.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from runner.domain.instruments import Underlying, expiry_at
from runner.domain.orders import Side
from runner.domain.trades import TradeStage
from runner.engine.expiries import (
    choose_expiry,
    describe_expiry,
    expiries_needed,
    expiry_candidates,
    is_in_cycle,
)
from runner.strategy.model import (
    CycleExpiry,
    DaysWindowExpiry,
    DteExpiry,
    ExpiryCycle,
    ExpiryRule,
    FixedExpiry,
    NextExpiry,
)
from tests.builders import NOW, calendar, make_leg, make_spec, make_trade

LISTED = calendar(NOW)


def _day(month: int, day: int) -> datetime:
    return expiry_at(date(2026, month, day))


@pytest.mark.parametrize(("rule", "expected"), [
    (NextExpiry(), _day(3, 3)),
    (DteExpiry(1, 1, 1), _day(3, 3)),
    (DteExpiry(2, 2, 2), _day(3, 4)),
    (DteExpiry(5, 5, 5), None),  # Saturday 7 March: nothing expires
    (DteExpiry(5, 3, 10), _day(3, 6)),  # closest to noon of the 7th: Friday 08:00
    (DteExpiry(7, 3, 14), _day(3, 6)),  # noon Mon 9th: Fri 6th (3 d 4 h) < Fri 13th (3 d 20 h)
    (DteExpiry(8, 3, 14), _day(3, 13)),  # noon Tue 10th: Fri 13th (2 d 20 h) < Fri 6th (4 d 4 h)
    (DaysWindowExpiry(20, 40), _day(3, 27)),
    (DaysWindowExpiry(0, 2), _day(3, 3)),  # middle = now + 1 day: the 3rd, 2 h away
    (DaysWindowExpiry(100, 200), _day(6, 26)),
    (CycleExpiry(ExpiryCycle.WEEKLY), _day(3, 6)),
    (CycleExpiry(ExpiryCycle.WEEKLY, min_days=5), _day(3, 13)),
    (CycleExpiry(ExpiryCycle.MONTHLY), _day(3, 27)),
    (CycleExpiry(ExpiryCycle.MONTHLY, min_days=30), _day(4, 24)),
    (CycleExpiry(ExpiryCycle.QUARTERLY), _day(3, 27)),
    (CycleExpiry(ExpiryCycle.QUARTERLY, min_days=30), _day(6, 26)),
    (FixedExpiry(date(2026, 3, 27)), _day(3, 27)),
    (FixedExpiry(date(2026, 3, 28)), None),  # not listed
], ids=lambda v: str(v))
def test_each_expiry_rule_resolves_on_a_realistic_calendar(rule: ExpiryRule,
                                                           expected: datetime | None) -> None:
    assert choose_expiry(rule, LISTED, NOW) == expected


def test_next_never_returns_an_expired_expiry() -> None:
    today = _day(3, 2)
    assert choose_expiry(NextExpiry(), (today, _day(3, 3)), today - timedelta(minutes=1)) == today
    assert choose_expiry(NextExpiry(), (today, _day(3, 3)), today) == _day(3, 3)


def test_dte_zero_after_0800_finds_nothing_instead_of_todays_expired_options() -> None:
    """old-system c.2: `dte 0` had no "already expired" filter."""
    today = _day(3, 2)
    assert choose_expiry(DteExpiry(0, 0, 0), (today, *LISTED), NOW) is None
    assert choose_expiry(DteExpiry(0, 0, 0), (today, *LISTED), today - timedelta(hours=1)) \
        == today


def test_dte_window_days_count_from_midnight_utc_today() -> None:
    late = datetime(2026, 3, 2, 23, 59, tzinfo=UTC)
    assert choose_expiry(DteExpiry(1, 1, 1), LISTED, late) == _day(3, 3)
    just_after = datetime(2026, 3, 3, 0, 0, 1, tzinfo=UTC)
    assert choose_expiry(DteExpiry(1, 1, 1), LISTED, just_after) == _day(3, 4)


def test_days_window_ties_go_to_the_earlier_expiry() -> None:
    now = _day(3, 2)
    assert choose_expiry(DaysWindowExpiry(1, 3), (_day(3, 5), _day(3, 3)), now) == _day(3, 3)


def test_candidates_are_listed_best_first() -> None:
    assert expiry_candidates(DteExpiry(7, 3, 14), LISTED, NOW) == (
        _day(3, 6), _day(3, 13), _day(3, 5))


def test_cycle_membership_is_read_from_the_calendar() -> None:
    assert is_in_cycle(_day(3, 20), ExpiryCycle.WEEKLY)
    assert not is_in_cycle(_day(3, 20), ExpiryCycle.MONTHLY)
    assert is_in_cycle(_day(4, 24), ExpiryCycle.MONTHLY)
    assert not is_in_cycle(_day(4, 24), ExpiryCycle.QUARTERLY)
    assert is_in_cycle(_day(6, 26), ExpiryCycle.QUARTERLY)
    assert not is_in_cycle(_day(3, 5), ExpiryCycle.WEEKLY)  # a Thursday daily


def test_g3_an_80_day_rule_with_a_window_finds_one_expiry_every_day_for_60_days() -> None:
    """G3: resolved every day for 60 days of a realistic listing, one candidate each day."""
    rule = DteExpiry(80, 60, 100)
    chosen = []
    for day in range(60):
        now = NOW + timedelta(days=day)
        expiry = choose_expiry(rule, calendar(now), now)
        assert expiry is not None, f"no expiry on {now.date()}"
        assert 60 <= (expiry.date() - now.date()).days <= 100
        chosen.append(expiry)
    assert len(set(chosen)) >= 2  # it rolls forward as the calendar moves


def test_g3_the_old_narrow_65_to_95_day_window_found_nothing_on_some_days() -> None:
    """G3: the live failure, reproduced: a monthly gap leaves days without a candidate."""
    empty = [now.date() for now in (NOW + timedelta(days=d) for d in range(60))
             if not expiry_candidates(DteExpiry(80, 65, 95), calendar(now), now)]
    assert empty  # which is why rules take a wide window plus a target


# -- which chains a tick fetches --------------------------------------------------------------
def test_expiries_needed_covers_every_leg_of_every_strategy_and_every_trade_leg() -> None:
    btc = make_spec(legs=(make_leg(expiry=NextExpiry()), make_leg(expiry=DteExpiry(2, 2, 2))))
    eth = make_spec(name="eth", underlying=Underlying.ETH,
                    legs=(make_leg(expiry=CycleExpiry(ExpiryCycle.MONTHLY),
                                   underlying=Underlying.ETH),))
    held = make_trade([("BTCUSD-29MAY26-100000-C", Side.SELL, "0.1", 3000)])
    expired = make_trade([("BTCUSD-27FEB26-100000-C", Side.SELL, "0.1", 3000)],
                         stage=TradeStage.OPEN, trade_id="old")
    needed = expiries_needed([btc, eth], {Underlying.BTC: LISTED, Underlying.ETH: LISTED}, NOW,
                             trades=[held, expired])
    assert needed == {(Underlying.BTC, _day(3, 3)), (Underlying.BTC, _day(3, 4)),
                      (Underlying.ETH, _day(3, 27)), (Underlying.BTC, _day(5, 29))}


def test_expiries_needed_skips_a_rule_with_no_listed_expiry() -> None:
    spec = make_spec(legs=(make_leg(expiry=FixedExpiry(date(2026, 3, 28))),))
    assert expiries_needed([spec], {Underlying.BTC: LISTED}, NOW) == set()


@pytest.mark.parametrize(("rule", "words"), [
    (DteExpiry(2, 2, 2), "dte 2"),
    (DteExpiry(80, 60, 100), "dte 80 (window 60 to 100 days)"),
    (NextExpiry(), "the next expiry"),
    (DaysWindowExpiry(20, 40), "20 to 40 days from now"),
    (CycleExpiry(ExpiryCycle.MONTHLY, 5), "the next monthly expiry at least 5 days out"),
    (FixedExpiry(date(2026, 3, 27)), "the expiry of 27 Mar 2026"),
], ids=lambda v: str(v))
def test_each_expiry_rule_is_described_in_words(rule: ExpiryRule, words: str) -> None:
    assert describe_expiry(rule) == words
