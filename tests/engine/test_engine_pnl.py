"""PnL per price basis (lessons E1, E2): the same book under each basis gives the documented
value; missing data gives no value, never a triggering one."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from runner.domain.orders import Side
from runner.engine.pnl import fair_price, price_on_basis, trade_pnl
from runner.strategy.model import PriceBasis
from tests.builders import make_book, make_quote, make_trade, snapshot_of

CALL = "BTCUSD-27MAR26-90000-C"
PUT = "BTCUSD-27MAR26-80000-P"


def _d(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


# The documented book: bid 80, ask 120, mark 110; one coin held, entered at 100.
@pytest.mark.parametrize(("basis", "side", "pnl"), [
    (PriceBasis.MARK, Side.BUY, 10),  # 110 - 100
    (PriceBasis.MID, Side.BUY, 0),  # (80 + 120) / 2 - 100
    (PriceBasis.FAIR, Side.BUY, 10),  # mark inside the book
    (PriceBasis.EXECUTABLE, Side.BUY, -20),  # a long sells at the bid: 80 - 100
    (PriceBasis.MARK, Side.SELL, -10),
    (PriceBasis.MID, Side.SELL, 0),
    (PriceBasis.FAIR, Side.SELL, -10),
    (PriceBasis.EXECUTABLE, Side.SELL, -20),  # a short buys back at the ask: 100 - 120
])
def test_e1_the_same_book_gives_the_documented_value_on_each_basis(basis: PriceBasis,
                                                                   side: Side, pnl: int) -> None:
    market = snapshot_of([make_quote(CALL, bid=80, ask=120, mark=110)])
    trade = make_trade([(CALL, side, 1, 100)])
    result = trade_pnl(trade, market, basis)
    assert result is not None
    assert result.usd == pnl
    assert result.entry_cost == 100 * side.sign
    assert result.pct == pnl  # of abs(entry cost) = 100


@pytest.mark.parametrize(("bid", "ask", "mark", "fair"), [
    (80, 120, 110, 110),  # mark inside the book
    (80, 120, 80, 80),  # on the edge is inside
    (80, 120, 130, 100),  # mark outside: the mid
    (80, 120, None, 100),  # no mark: the mid
    (80, None, 90, 90),  # bid only: the mark when not below the bid
    (80, None, 70, 80),  # ... else the bid
    (None, 120, 110, 110),  # ask only: the mark when not above the ask
    (None, 120, 130, 120),  # ... else the ask
    (None, None, 50, 50),  # no book: the mark
    (None, None, None, None),  # nothing: no price
])
def test_fair_is_the_mark_inside_the_book_else_mid_with_one_sided_fallbacks(
        bid: int | None, ask: int | None, mark: int | None, fair: int | None) -> None:
    assert fair_price(_d(bid), _d(ask), _d(mark)) == _d(fair)


def test_a_fetched_book_is_fresher_than_the_chain_quote_for_bid_and_ask() -> None:
    market = snapshot_of([make_quote(CALL, bid=80, ask=120, mark=110)],
                         books={CALL: make_book(CALL, bid=95, ask=105)})
    assert price_on_basis(market, CALL, Side.BUY, PriceBasis.EXECUTABLE) == 95
    assert price_on_basis(market, CALL, Side.SELL, PriceBasis.EXECUTABLE) == 105
    assert price_on_basis(market, CALL, Side.BUY, PriceBasis.MARK) == 110  # mark: the quote


def test_a_strangle_sums_its_legs() -> None:
    market = snapshot_of([make_quote(CALL, bid=80, ask=120, mark=110),
                          make_quote(PUT, bid=40, ask=60, mark=45)])
    trade = make_trade([(CALL, Side.BUY, "0.5", 100), (PUT, Side.BUY, "0.5", 50)])
    result = trade_pnl(trade, market, PriceBasis.MARK)
    assert result is not None
    assert result.usd == Decimal("2.5")  # 0.5 x (110 - 100) + 0.5 x (45 - 50)
    assert result.entry_cost == 75
    assert result.pct == Decimal("2.5") / 75 * 100


def test_fees_are_reported_beside_the_pnl_not_inside_it() -> None:
    market = snapshot_of([make_quote(CALL, bid=80, ask=120, mark=110)])
    trade = make_trade([(CALL, Side.BUY, 1, 100)])
    leg = trade.legs[0]
    charged = trade.with_leg(replace(leg, fees=Decimal(3)))
    result = trade_pnl(charged, market, PriceBasis.MARK)
    assert result is not None
    assert (result.usd, result.fees) == (10, 3)


@pytest.mark.parametrize(("quote", "basis"), [
    (make_quote(CALL, bid=80, ask=None, mark=110), PriceBasis.MID),
    (make_quote(CALL, bid=None, ask=120, mark=110), PriceBasis.EXECUTABLE),  # long: no bid
    (make_quote(CALL, bid=80, ask=120, mark=None), PriceBasis.MARK),
])
def test_e1_missing_data_gives_no_pnl(quote, basis: PriceBasis) -> None:
    assert trade_pnl(make_trade([(CALL, Side.BUY, 1, 100)]), snapshot_of([quote]), basis) is None


def test_a_leg_missing_from_the_snapshot_gives_no_pnl() -> None:
    market = snapshot_of([make_quote(CALL, bid=80, ask=120, mark=110)])
    trade = make_trade([(CALL, Side.BUY, 1, 100), (PUT, Side.BUY, 1, 50)])
    assert trade_pnl(trade, market, PriceBasis.MARK) is None


def test_a_zero_entry_cost_has_no_percentage() -> None:
    market = snapshot_of([make_quote(CALL, bid=80, ask=120, mark=110)])
    result = trade_pnl(make_trade([(CALL, Side.BUY, 1, 0)]), market, PriceBasis.MARK)
    assert result is not None
    assert result.pct is None
