"""The tick's live numbers (runner.service.tick_view): marks, unrealized PnL and greeks per leg and
structure, never a guessed zero for what the tick did not read (lessons C5, E1)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from runner.domain.snapshot import Greeks
from runner.service.tick_view import build_view, trade_view
from tests.builders import NOW, make_position, make_quote, make_trade, snapshot_of

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
