"""The simulated chain is priced lazily (issue 12 item 2): a step costs the options a
decision reads, and every number is the one pricing the whole expiry gave before.

The pinned figures were printed by the eager market (commit 24cf346) for seed 3 from
Monday 2 March 2026 00:00 UTC; they must never change for the same seed.
"""

from __future__ import annotations

import copy
import pickle
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from runner.domain.clock import ManualClock
from runner.domain.instruments import Underlying
from runner.domain.snapshot import OptionQuote
from runner.sim.venue import SimVenue

START = datetime(2026, 3, 2, tzinfo=UTC)
NOON = START + timedelta(hours=12, seconds=7)


def _venue_at(moment: datetime) -> tuple[SimVenue, ManualClock]:
    clock = ManualClock(START)
    venue = SimVenue(clock, seed=3)
    clock.set(moment)
    return venue, clock


def _row(venue: SimVenue, symbol: str) -> OptionQuote:
    return next(q for q in venue.option_chain(Underlying.BTC) if q.symbol == symbol)


def test_the_index_path_of_seed_3_is_the_one_it_always_was() -> None:
    clock = ManualClock(START)
    venue = SimVenue(clock, seed=3)
    seen = {}
    for offset in (0, 1, 59, 60, 61, 43_207, 30 * 86_400 + 17):
        clock.set(START + timedelta(seconds=offset))
        seen[offset] = (venue.index_price(Underlying.BTC), venue.index_price(Underlying.ETH))
    assert seen[0] == (Decimal("87000.00"), Decimal("3000.00"))
    assert seen[1] == (Decimal("86987.22"), Decimal("2999.94"))
    assert seen[59] == (Decimal("86952.21"), Decimal("2998.51"))
    assert seen[60] == (Decimal("86946.56"), Decimal("2997.94"))
    assert seen[61] == (Decimal("86945.80"), Decimal("2998.45"))
    assert seen[43_207] == (Decimal("90798.63"), Decimal("3094.72"))
    assert seen[30 * 86_400 + 17][0] == Decimal("76903.06")


def test_a_lazily_priced_row_reads_exactly_what_the_whole_expiry_gave() -> None:
    venue, _ = _venue_at(NOON)
    put = _row(venue, "BTCUSD-3MAR26-87000-P")
    assert (put.bid, put.bid_size, put.ask, put.ask_size, put.mark) == (
        Decimal(89), Decimal("1.55"), Decimal(108), Decimal("1.45"), Decimal("98.47"))
    assert put.mark_iv == 0.6373008331077213
    assert put.delta == -0.07799131896637368
    assert put.underlying_price == Decimal("90798.63")
    call = _row(venue, "BTCUSD-26JUN26-88000-C")
    assert (call.bid, call.ask, call.mark) == (Decimal(11323), Decimal(11669), Decimal("11496.27"))
    assert call.greeks.vega == 197.6805706845952
    book = venue.orderbook("BTCUSD-3MAR26-87000-P")
    assert [(level.price, level.size) for level in book.bids] == [
        (Decimal(89), Decimal("1.55")), (Decimal(85), Decimal("2.03")),
        (Decimal(81), Decimal("3.50")), (Decimal(77), Decimal("4.12"))]
    assert (book.asks[0].price, book.asks[0].size) == (Decimal(108), Decimal("1.45"))


def test_reading_a_chain_prices_only_the_rows_a_decision_reads() -> None:
    venue, _ = _venue_at(NOON)
    market = venue._market  # the count of options priced is the subject
    before = market.options_priced
    chain = venue.option_chain(Underlying.BTC)
    assert len(chain) > 100
    assert market.options_priced == before  # listed, nothing priced
    wanted = [q for q in chain if q.instrument.strike == Decimal(88000)]
    assert [q.mark is not None for q in wanted] == [True] * len(wanted)
    assert market.options_priced == before + len(wanted)


def test_within_one_step_an_option_is_priced_once_for_chain_and_book() -> None:
    venue, clock = _venue_at(NOON)
    market = venue._market  # the count of options priced is the subject
    symbol = "BTCUSD-3MAR26-87000-P"
    _row(venue, symbol).mark  # noqa: B018 - the read is the point
    priced = market.options_priced
    venue.orderbook(symbol)
    assert _row(venue, symbol).bid == Decimal(89)
    assert market.options_priced == priced  # the same second: cached
    clock.advance(timedelta(seconds=1))
    _row(venue, symbol).mark  # noqa: B018
    assert market.options_priced == priced + 1  # the next step prices it again


def test_a_lazy_row_copies_and_pickles_as_the_plain_quote_it_stands_for() -> None:
    venue, _ = _venue_at(NOON)
    row = _row(venue, "BTCUSD-3MAR26-87000-P")
    for twin in (copy.deepcopy(row), pickle.loads(pickle.dumps(row))):  # noqa: S301 - our own bytes
        assert type(twin) is OptionQuote
        assert (twin.symbol, twin.bid, twin.ask, twin.greeks) == (row.symbol, row.bid, row.ask,
                                                                  row.greeks)
