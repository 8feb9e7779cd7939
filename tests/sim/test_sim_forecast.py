"""The venue's look-ahead names the very second it will act on our orders (sim/forecast.py).

A simulation stepping by events reads the venue only at the moments the forecast names.
Each scenario is played on twin venues (same seed, same orders): one read every second
as a live loop would read it, one read only at the seconds its own forecast names. Both
must see the same fills, at the same seconds and prices, and the forecasting one nothing
in between: so skipping the other seconds loses nothing, and asking changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from runner.domain.clock import ManualClock
from runner.domain.instruments import OptionKind
from runner.domain.orders import Fill, OrderRequest, Side
from runner.domain.rfq import RfqLeg
from runner.sim.venue import SimVenue
from tests.sim.helpers_sim import expiry, near_money, order

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


@dataclass
class Twin:
    clock: ManualClock
    venue: SimVenue

    @classmethod
    def at(cls, start: datetime) -> Twin:
        clock = ManualClock(start)
        return cls(clock, SimVenue(clock, seed=7))

    def fills(self) -> list[Fill]:
        return self.venue.fills(START - timedelta(days=1))


def twins(start: datetime = START) -> tuple[Twin, Twin]:
    return Twin.at(start), Twin.at(start)


def place_on_both(twins_: tuple[Twin, Twin], request: OrderRequest) -> None:
    for twin in twins_:
        twin.venue.place_order(request)


def read_every_second(twin: Twin, until: datetime) -> list[datetime]:
    """The seconds at which our orders changed, read as a live loop reads the venue."""
    changed = []
    seen = twin.venue.open_orders()
    while twin.clock.now() < until:
        twin.clock.advance(SECOND)
        orders = twin.venue.open_orders()
        if orders != seen:
            changed.append(twin.clock.now())
        seen = orders
    return changed


def read_when_forecast(twin: Twin, until: datetime) -> list[datetime]:
    """The same, reading only at the seconds the venue's forecast names."""
    changed = []
    seen = twin.venue.open_orders()
    while (moment := twin.venue.order_forecast().first_fill(until)) is not None:
        twin.clock.set(moment - SECOND)
        assert twin.venue.open_orders() == seen  # nothing happened before it
        twin.clock.set(moment)
        orders = twin.venue.open_orders()
        assert orders != seen  # and something did at it
        changed.append(moment)
        seen = orders
    twin.clock.set(until)
    assert twin.venue.open_orders() == seen
    return changed


def play(fine: Twin, coarse: Twin, minutes: int) -> list[datetime]:
    until = fine.clock.now() + timedelta(minutes=minutes)
    seconds = read_every_second(fine, until)
    assert read_when_forecast(coarse, until) == seconds
    assert coarse.fills() == fine.fills()
    return seconds


def test_a_resting_buy_fills_at_the_second_the_forecast_names() -> None:
    fine, coarse = twins()
    put = near_money(fine.venue, OptionKind.PUT)
    place_on_both((fine, coarse), order(put.symbol, Side.BUY, "0.1", put.ask - 15))
    assert play(fine, coarse, 20) == [START + timedelta(seconds=8)]


def test_an_order_the_market_never_reaches_is_never_forecast_to_fill() -> None:
    fine, coarse = twins()
    call = near_money(fine.venue, OptionKind.CALL)
    place_on_both((fine, coarse), order(call.symbol, Side.BUY, "0.1", call.ask - 4))
    assert coarse.venue.order_forecast().first_fill(START + timedelta(minutes=20)) is None
    assert play(fine, coarse, 20) == []


def test_a_large_order_fills_in_parts_as_each_minute_brings_fresh_liquidity() -> None:
    """Liquidity our fills took stays taken for the minute: the forecast knows it."""
    fine, coarse = twins()
    put = near_money(fine.venue, OptionKind.PUT)
    depth = sum(level.size for level in fine.venue.orderbook(put.symbol).asks)
    place_on_both((fine, coarse), order(put.symbol, Side.BUY, str(depth * 3), put.ask - 2))
    assert len(play(fine, coarse, 30)) >= 2


def test_a_reduce_only_sell_fills_only_what_is_held() -> None:
    fine, coarse = twins()
    call = near_money(fine.venue, OptionKind.CALL, offset=1)
    place_on_both((fine, coarse), order(call.symbol, Side.BUY, "0.2", call.ask + 50))
    place_on_both((fine, coarse), order(call.symbol, Side.SELL, "0.2", call.bid + 4,
                                        reduce_only=True))
    assert len(play(fine, coarse, 20)) == 1
    assert fine.venue.positions() == []


def test_an_order_of_an_expiring_option_ends_at_the_expiry_it_is_cancelled_at() -> None:
    before = datetime(2026, 3, 3, 7, 50, tzinfo=UTC)
    fine, coarse = twins(before)
    soonest = expiry(fine.venue)
    assert soonest == datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    quotes = [q for q in fine.venue.option_chain(near_money(fine.venue, OptionKind.PUT,
                                                           position=0).instrument.underlying,
                                                 soonest) if q.bid is not None]
    far = max(quotes, key=lambda q: q.instrument.strike)
    place_on_both((fine, coarse), order(far.symbol, Side.BUY, "0.1", Decimal(1)))
    assert coarse.venue.order_forecast().first_fill(before + timedelta(minutes=30)) == soonest
    assert play(fine, coarse, 30) == [soonest]


def test_delayed_fill_reports_make_the_forecast_inexact() -> None:
    venue = Twin.at(START).venue
    assert venue.order_forecast().exact
    venue.delay_fill_reports(2)
    assert not venue.order_forecast().exact


def test_rfq_quotes_are_shown_ahead_until_the_makers_next_change() -> None:
    fine, coarse = twins()
    call = near_money(fine.venue, OptionKind.CALL, offset=2)
    put = near_money(fine.venue, OptionKind.PUT, offset=-2)
    legs = (RfqLeg(call.symbol, Side.SELL, Decimal("0.5")),
            RfqLeg(put.symbol, Side.SELL, Decimal("0.5")))
    request_id = fine.venue.create_rfq(legs).request_id
    assert coarse.venue.create_rfq(legs).request_id == request_id
    forecast = coarse.venue.order_forecast()
    first = forecast.next_quote_change(request_id)
    assert START < first <= START + timedelta(seconds=10)
    assert forecast.quotes_at(request_id, first - SECOND) == ()
    fine.clock.set(first - SECOND)
    assert fine.venue.rfq_quotes(request_id) == []
    coarse.clock.set(first + timedelta(seconds=1))
    forecast = coarse.venue.order_forecast()
    later = forecast.next_quote_change(request_id)
    shown = fine.clock.now()
    while fine.clock.now() + SECOND < later:
        fine.clock.advance(SECOND)
        shown = fine.clock.now()
        assert fine.venue.rfq_quotes(request_id) == list(forecast.quotes_at(request_id, shown))
    books = forecast.books_at([call.symbol, put.symbol], shown)
    assert books == {symbol: fine.venue.orderbook(symbol) for symbol in books}


def test_legs_are_shown_ahead_as_a_later_read_of_their_chain_and_book_shows_them() -> None:
    """What a limit execution prices a waiting leg from (order_probe.py): the chain row
    and the book a tick at that second would read, with the ticks the service learned."""
    fine, coarse = twins()
    call = near_money(fine.venue, OptionKind.CALL, offset=3)
    put = near_money(fine.venue, OptionKind.PUT, offset=-3)
    symbols = [call.symbol, put.symbol]
    forecast = coarse.venue.order_forecast()
    learned = {call.symbol: Decimal("5")}
    for later in (START + SECOND, START + timedelta(minutes=7, seconds=13)):
        shown = forecast.legs_at(symbols, later, learned)
        fine.clock.set(later)
        assert shown.at == later
        assert shown.learned_ticks == learned
        assert [shown.quote(symbol) for symbol in symbols] == fine.venue.option_quotes(symbols)
        assert shown.books == {symbol: fine.venue.orderbook(symbol) for symbol in symbols}
    assert coarse.clock.now() == START  # asking moved nothing
