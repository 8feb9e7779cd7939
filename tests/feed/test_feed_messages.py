"""Feed frames as Coincall documents them (coincall-api.md section 9) land in the price
cache; out-of-order and stale prices are never handed out."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from runner.domain.instruments import Underlying
from runner.feed.messages import (
    BookUpdate,
    Control,
    FeedMessageError,
    IndexUpdate,
    Subscription,
    TickerUpdate,
    apply,
    parse_frame,
    subscribe_message,
    unsubscribe_message,
)
from runner.feed.prices import PriceCache

SYMBOL = "BTCUSD-27FEB26-90000-C"


class Clock:
    """Monotonic seconds for the cache; `wall_ms` the local epoch clock (0 by default:
    behind every push, so a push's age counts from its arrival)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.epoch_ms = 0

    def __call__(self) -> float:
        return self.now

    def wall_ms(self) -> int:
        return self.epoch_ms


def cache_on(clock: Clock) -> PriceCache:
    return PriceCache(5.0, clock, clock.wall_ms)


def book_frame(ts: int, bid: str = "1290", level_size: str = "sz") -> str:
    return json.dumps({"dt": 5, "c": 20, "ts": ts, "d": {
        "s": SYMBOL, "ts": ts,
        "bids": [{"pr": bid, level_size: "2.5"}, {"pr": "1280", level_size: "1"}],
        "asks": [{"pr": "1335", level_size: "0.8"}]}})


def test_an_order_book_push_becomes_a_book_best_level_first() -> None:
    frame = parse_frame(book_frame(1767225601022))
    assert isinstance(frame, BookUpdate)
    assert frame.book.symbol == SYMBOL
    assert frame.book.best_bid == Decimal("1290")
    assert frame.book.best_ask == Decimal("1335")
    assert frame.book.bids[0].size == Decimal("2.5")
    assert frame.exchange_ms == 1767225601022


def test_book_levels_with_their_size_under_v_as_in_the_2023_docs_sample_are_read() -> None:
    frame = parse_frame(book_frame(1, level_size="v"))
    assert isinstance(frame, BookUpdate)
    assert frame.book.bids[0].size == Decimal("2.5")


def test_a_t_option_push_gives_each_option_its_top_of_book_mark_and_greeks() -> None:
    text = json.dumps({"dt": 4, "c": 20, "ts": 1767225601022, "d": [
        {"s": SYMBOL, "bid": "1290", "bs": "3.2", "biv": 0.44, "ask": "0", "as": "0",
         "aiv": 0, "mp": "1310.6", "miv": 0.452, "up": "86502.1", "delta": 0.3125,
         "gamma": 0.000035, "vega": 64.8, "theta": -61.3, "ts": 1767225601020}]})
    frame = parse_frame(text)
    assert isinstance(frame, TickerUpdate)
    (row,) = frame.rows
    assert (row.bid, row.ask, row.mark) == (Decimal("1290"), None, Decimal("1310.6"))
    assert row.delta == pytest.approx(0.3125)
    assert row.underlying_price == Decimal("86502.1")


def test_a_t_option_push_shaped_as_the_2023_docs_sample_is_read_row_by_row() -> None:
    """No frame `ts`, sizes as `bv`/`av`, no mark IV: each row keeps its own time."""
    text = json.dumps({"dt": 4, "c": 20, "d": [
        {"mp": 2463.01629839, "lp": 2462.85874122, "delta": 0.9979, "theta": -3.14435,
         "biv": 1.26, "aiv": 2.97, "s": "BTCUSD-27MAY23-24000-C", "bv": 0.52, "av": 8.94,
         "ask": 3065.9, "up": 26462.455, "bid": 2499.3, "gamma": 0.00001, "vega": 0.08962,
         "ts": 1685091838557}]})
    frame = parse_frame(text)
    assert isinstance(frame, TickerUpdate)
    (row,) = frame.rows
    assert (row.bid_size, row.ask_size) == (Decimal("0.52"), Decimal("8.94"))
    assert row.mark_iv is None
    assert frame.exchange_ms == (1685091838557,)


def test_a_spot_price_push_from_the_futures_stream_is_the_index() -> None:
    text = '{"dt":30,"c":20,"d":{"s":"BTCUSD","ip":"86420.5","mp":"86430","pr":"86431",' \
           '"ts":1767225601000},"ts":1767225601002}'
    frame = parse_frame(text)
    assert frame == IndexUpdate(Underlying.BTC, Decimal("86420.5"), 1767225601000)


@pytest.mark.parametrize(("text", "heartbeat"), [
    ('{"c":11,"rc":1}', True),
    ('{"action":"subscribe","result":true,"dataType":"orderBook"}', False),
    ('{"dt":11,"c":20,"d":{"oid":1},"ts":1}', False),  # a private channel we do not read
])
def test_heartbeat_replies_acks_and_other_channels_are_controls(text: str,
                                                                heartbeat: bool) -> None:
    frame = parse_frame(text)
    assert isinstance(frame, Control)
    assert frame.heartbeat is heartbeat


@pytest.mark.parametrize("text", [
    "not json", "[1,2]", '{"dt":5,"c":20,"d":{"bids":[]},"ts":1}',
    '{"dt":5,"c":20,"d":{"s":"X","bids":[{"pr":"abc","sz":"1"}]},"ts":1}',
    '{"dt":30,"c":20,"d":{"s":"DOGEUSD","ip":"1"},"ts":1}',
    '{"dt":30,"c":20,"d":{"s":"BTCUSD","ip":"0"},"ts":1}',
])
def test_a_frame_of_the_wrong_shape_is_refused_with_a_reason(text: str) -> None:
    with pytest.raises(FeedMessageError):
        parse_frame(text)


def test_subscribe_messages_are_written_as_the_docs_show_unsubscribe_with_a_capital_s() -> None:
    chain = Subscription("tOption", "BTCUSD", 1772179200000)
    assert json.loads(subscribe_message(chain)) == {
        "action": "subscribe", "dataType": "tOption",
        "payload": {"symbol": "BTCUSD", "end": 1772179200000}}
    assert json.loads(unsubscribe_message(Subscription("orderBook", SYMBOL)))["action"] == \
        "unSubscribe"


def test_an_older_push_arriving_after_a_newer_one_is_dropped() -> None:
    cache = cache_on(Clock())
    assert apply(parse_frame(book_frame(2000, bid="1300")), cache)
    assert not apply(parse_frame(book_frame(1000, bid="1100")), cache)
    book = cache.book(SYMBOL)
    assert book is not None
    assert book.best_bid == Decimal("1300")
    assert cache.counters.out_of_order == 1


def test_a_price_older_than_the_stale_limit_is_never_handed_out() -> None:
    clock = Clock()
    cache = cache_on(clock)
    apply(parse_frame(book_frame(1)), cache)
    clock.now += 4.9
    assert cache.book(SYMBOL) is not None
    clock.now += 0.2
    assert cache.book(SYMBOL) is None
    assert cache.index(Underlying.BTC) is None  # never pushed: nothing to hand out


def test_every_accepted_update_tells_the_listeners() -> None:
    cache = cache_on(Clock())
    heard: list[tuple[str, object]] = []
    cache.on_update(lambda kind, key: heard.append((kind, key)))
    apply(parse_frame(book_frame(5)), cache)
    apply(parse_frame(book_frame(4)), cache)  # out of order: not a change
    assert heard == [("book", SYMBOL)]


def test_a_push_that_arrives_late_is_aged_from_its_own_time_not_its_arrival() -> None:
    """A lagging socket (frames late but steady, heartbeats answered) looks alive: a push
    whose `ts` is 4 s behind the local clock has 1 s of freshness left, one 6 s behind
    none at all, however recently it arrived."""
    clock = Clock()
    cache = cache_on(clock)
    clock.epoch_ms = 10_000
    apply(parse_frame(book_frame(6_000)), cache)
    assert cache.book(SYMBOL) is not None
    clock.now += 1.1
    assert cache.book(SYMBOL) is None
    assert cache.counters.late == 0
    clock.epoch_ms = 16_000
    assert apply(parse_frame(book_frame(10_000)), cache)  # newer than the held one
    assert cache.counters.late == 1
    assert cache.book(SYMBOL) is None
