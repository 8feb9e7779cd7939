"""Positions as the second witness of an RFQ accept whose answer was lost."""

from __future__ import annotations

from decimal import Decimal

from runner.dispatch.accept_evidence import positions_show_the_legs
from runner.domain.orders import Side
from runner.domain.rfq import RfqLeg
from runner.domain.snapshot import Position
from runner.domain.trades import TradeLeg
from tests.store.helpers_store import make_trade

D = Decimal
CALL, PUT = "BTCUSD-27FEB26-90000-C", "BTCUSD-27FEB26-80000-P"
OPEN = (RfqLeg(CALL, Side.BUY, D("0.5")), RfqLeg(PUT, Side.BUY, D("0.5")))


def position(symbol: str, qty: str) -> Position:
    return Position(symbol, D(qty), D(100), None, D(0))


def held(qty: str):
    legs = (TradeLeg(0, CALL, Side.BUY, D("0.5")).with_open_fill(D(qty), D(100)),
            TradeLeg(1, PUT, Side.BUY, D("0.5")).with_open_fill(D(qty), D(100)))
    return [make_trade("t1", legs=legs)]


def test_an_open_whose_every_leg_stands_on_the_account_unexplained_is_shown() -> None:
    assert positions_show_the_legs(OPEN, [position(CALL, "0.5"), position(PUT, "0.5")], [])


def test_a_position_the_store_already_explains_shows_nothing() -> None:
    found = [position(CALL, "0.5"), position(PUT, "0.5")]
    assert not positions_show_the_legs(OPEN, found, held("0.5"))


def test_one_leg_missing_shows_nothing() -> None:
    assert not positions_show_the_legs(OPEN, [position(CALL, "0.5")], [])


def test_a_close_shows_as_the_held_position_gone() -> None:
    close = (RfqLeg(CALL, Side.SELL, D("0.5")), RfqLeg(PUT, Side.SELL, D("0.5")))
    assert positions_show_the_legs(close, [], held("0.5"))
    still_held = [position(CALL, "0.5"), position(PUT, "0.5")]
    assert not positions_show_the_legs(close, still_held, held("0.5"))
