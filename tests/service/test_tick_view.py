"""The tick's live numbers (runner.service.tick_view): marks, unrealized PnL and greeks per leg and
structure, never a guessed zero for what the tick did not read (lessons C5, E1)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from runner.domain.snapshot import Greeks
from runner.service.tick_view import (
    LAST_READ_MAX_AGE,
    LastReads,
    LegView,
    TickView,
    TradeView,
    build_view,
    trade_view,
)
from tests.builders import (
    NOW,
    make_account,
    make_position,
    make_quote,
    make_trade,
    snapshot_of,
)

CALL = "BTCUSD-3MAR26-90000-C"
PUT = "BTCUSD-3MAR26-84000-P"


def test_a_short_strangle_has_signed_greeks_and_unrealized_pnl_at_the_mark() -> None:
    trade = make_trade([(CALL, "sell", "0.5", 200), (PUT, "sell", "0.5", 150)])
    snapshot = snapshot_of([make_quote(CALL, mark=180, greeks=Greeks(0.2, 0.0001, 10.0, -50.0)),
                            make_quote(PUT, mark=170, greeks=Greeks(-0.1, 0.0001, 8.0, -40.0))])
    view = trade_view(trade, snapshot)
    # short: (200 - 180) x 0.5 + (150 - 170) x 0.5 = 10 - 10
    assert [leg.unrealized_usd for leg in view.legs] == [Decimal("10.0"), Decimal("-10.0")]
    assert view.unrealized_usd == Decimal("0.0")
    assert view.greeks == {"delta": -0.2 * 0.5 + 0.1 * 0.5, "gamma": -0.0001,
                           "theta": 45.0, "vega": -9.0}


def test_a_leg_without_a_chain_quote_takes_the_positions_mark_and_has_unknown_greeks() -> None:
    trade = make_trade([(CALL, "buy", "0.1", 100)])
    position = replace(make_position(CALL, "0.1", avg_price=100), mark_price=Decimal(120))
    snapshot = snapshot_of([], positions=[position])
    view = trade_view(trade, snapshot)
    assert view.legs[0].mark == Decimal(120)
    assert view.unrealized_usd == Decimal("2.0")
    assert view.greeks is None


def test_no_mark_at_all_leaves_the_pnl_unknown_and_the_totals_unknown() -> None:
    trade = make_trade([(CALL, "buy", "0.1", 100)])
    view = build_view(NOW, [], [trade], snapshot_of([]), paused=(), counts={}, windows={})
    assert view.trades[0].unrealized_usd is None
    assert view.unrealized_usd is None
    assert view.to_json()["totals"]["unrealized_pnl_usd"] is None
    assert view.to_json()["totals"]["greeks"] is None


def _held(mark: int | None, greeks: dict[str, float] | None, at: datetime | None,
          qty: str = "0.1") -> TickView:
    leg = LegView(CALL, "buy", Decimal(qty), Decimal(100), None if mark is None else Decimal(mark),
                  greeks, at if mark is not None else None, at if greeks is not None else None)
    return TickView(NOW, None, (), (TradeView("t-1", "s", "open", (leg,), Decimal(0),
                                              Decimal(0)),))


def test_a_tick_that_read_no_account_and_no_mark_shows_the_last_ones_read_with_their_time() -> None:
    # read_plan reads the account and the chains only when decisions need them (issue 11)
    reads = LastReads()
    greeks = {"delta": 0.05, "gamma": 0.0, "theta": -1.0, "vega": 2.0}
    first = replace(_held(120, greeks, NOW), account=make_account(), account_at=NOW)
    assert reads.fill(first).account_at == NOW
    later = NOW + timedelta(seconds=40)
    filled = reads.fill(replace(_held(None, None, None), at=later))
    assert (filled.account, filled.account_at) == (make_account(), NOW)
    (leg,) = filled.trades[0].legs
    assert (leg.mark, leg.mark_at, leg.greeks, leg.greeks_at) == (Decimal(120), NOW, greeks, NOW)
    assert filled.unrealized_usd == Decimal("2.0")
    assert filled.priced_at == NOW
    json = filled.to_json()
    assert json["account"]["as_of"] == NOW.isoformat()
    assert json["totals"]["marks_as_of"] == NOW.isoformat()
    assert json["trades"][0]["legs"][0]["greeks_as_of"] == NOW.isoformat()


def test_a_newer_read_replaces_the_last_one_and_a_read_older_than_5_minutes_is_unknown() -> None:
    reads = LastReads()
    reads.fill(replace(_held(120, None, NOW), account=make_account(), account_at=NOW))
    newer = NOW + timedelta(minutes=1)
    assert reads.fill(replace(_held(130, None, newer), at=newer)).trades[0].legs[0].mark == 130
    late = newer + LAST_READ_MAX_AGE + timedelta(seconds=1)
    filled = reads.fill(replace(_held(None, None, None), at=late))
    assert filled.account is None  # last read 6 min before: no longer the account
    assert filled.trades[0].legs[0].mark is None
    assert filled.unrealized_usd is None


def test_greeks_read_for_another_held_quantity_are_not_reused_after_a_partial_close() -> None:
    # greeks are for the held quantity: 0.1 contract's greeks are wrong for 0.05
    reads = LastReads()
    reads.fill(_held(120, {"delta": 0.05, "gamma": 0.0, "theta": -1.0, "vega": 2.0}, NOW))
    later = replace(_held(None, None, None, qty="0.05"), at=NOW + timedelta(seconds=10))
    (leg,) = reads.fill(later).trades[0].legs
    assert leg.mark == 120  # a price per coin, whatever the quantity
    assert leg.greeks is None
