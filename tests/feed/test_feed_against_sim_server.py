"""The market feed against `runner sim-server`'s WebSocket on loopback: prices come from
pushes while they are fresh and from REST otherwise; drops, silent stalls and
out-of-order pushes are survived (issue 11 item 2)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import websocket
from helpers_feed import FAST, STALE_AFTER, CountingRest, eventually, ws_urls

from runner.domain.clock import ManualClock, to_epoch_ms
from runner.domain.instruments import Underlying
from runner.feed.connection import Timing
from runner.feed.prices import PriceCache
from runner.feed.source import FeedExchange, FeedUrls, MarketFeed
from runner.sim.server import SimServer
from runner.sim.venue import SimVenue
from runner.sim.ws_faults import WsFaults

BTC = Underlying.BTC


def _served_from_feed(exchange: FeedExchange, rest: CountingRest) -> bool:
    before = rest.count("index_price")
    exchange.index_price(BTC)
    return rest.count("index_price") == before


@dataclass
class HeldMarket:
    """A market standing still (a manual clock on both sides) and a cache that ages only
    when the test says so: no push can go stale between two reads under any load."""

    clock: ManualClock
    venue: SimVenue
    rest: CountingRest
    cache: PriceCache
    feed: MarketFeed
    exchange: FeedExchange
    held: list[float]

    def age(self, seconds: float) -> None:
        self.held[0] += seconds


@contextmanager
def held_market() -> Iterator[HeldMarket]:
    clock = ManualClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    held = [0.0]  # the cache's monotonic clock, moved by the test alone
    venue = SimVenue(clock, seed=5)
    rest = CountingRest(venue)
    with SimServer(venue, "k", "s", clock) as server:
        options, futures = ws_urls(server.base_url)
        cache = PriceCache(STALE_AFTER, lambda: held[0], lambda: to_epoch_ms(clock.now()))
        feed = MarketFeed(FeedUrls(options, futures), cache, FAST).start()
        exchange = FeedExchange(rest, feed, clock)  # type: ignore[arg-type]
        try:
            yield HeldMarket(clock, venue, rest, cache, feed, exchange, held)
        finally:
            feed.stop()


def test_the_index_is_read_over_rest_until_the_pushed_one_arrives_then_from_the_feed(
        ) -> None:
    """Deterministic under any load (`held_market`); waits on conditions, never on a
    time window."""
    with held_market() as market:
        exchange, rest, venue, cache = market.exchange, market.rest, market.venue, market.cache
        exchange.index_price(BTC)  # nothing pushed yet: REST, and the channel subscribed
        assert rest.count("index_price") == 1
        eventually("the pushed index", lambda: cache.index(BTC) is not None, seconds=60)
        for _ in range(5):
            assert exchange.index_price(BTC) == venue.index_price(BTC)
        assert rest.count("index_price") == 1
        market.feed.futures.stop(timeout=60)  # no push lands after this
        market.age(STALE_AFTER + 0.1)  # the last push is now too old to be used
        assert exchange.index_price(BTC) == venue.index_price(BTC)
        assert rest.count("index_price") == 2


def test_a_book_and_a_chain_are_served_from_pushes_once_fresh() -> None:
    with held_market() as market:
        exchange, rest, venue = market.exchange, market.rest, market.venue
        instrument = venue.instruments(BTC)[0]
        exchange.orderbook(instrument.symbol)
        rows = exchange.option_chain(BTC, instrument.expiry, fresh=True)
        eventually("pushed book and chain", lambda: market.cache.book(instrument.symbol)
                   is not None and exchange.pushed_chain(BTC, instrument.expiry) is not None,
                   seconds=60)
        books, chains = rest.count("orderbook"), rest.count("option_chain")
        book = exchange.orderbook(instrument.symbol)
        pushed = exchange.option_chain(BTC, instrument.expiry, fresh=True)
        assert (rest.count("orderbook"), rest.count("option_chain")) == (books, chains)
        assert book.best_bid == venue.orderbook(instrument.symbol).best_bid
        assert [q.symbol for q in pushed] == [q.symbol for q in rows]
        assert all(q.mark is not None for q in pushed)


def test_a_silent_stall_makes_the_feed_stale_reads_go_to_rest_and_the_client_reconnects(
        exchange: FeedExchange, rest: CountingRest, sim_server: SimServer) -> None:
    exchange.index_price(BTC)
    eventually("the feed serves", lambda: _served_from_feed(exchange, rest))
    connects = exchange.feed.futures.stats.connects
    sim_server.ws.faults.stall(4.0)  # socket open, nothing sent, beats unanswered
    eventually("the last push gone stale", lambda: exchange.feed.cache.index(BTC) is None)
    before = rest.count("index_price")
    assert exchange.index_price(BTC) > 0
    assert rest.count("index_price") == before + 1  # the fallback read REST
    eventually("a reconnect after the silence",
               lambda: exchange.feed.futures.stats.stalls >= 1)
    eventually("the feed serving again after the stall",
               lambda: _served_from_feed(exchange, rest), seconds=60)
    assert exchange.feed.futures.stats.connects > connects


def test_a_dropped_socket_is_reconnected_and_every_channel_subscribed_again(
        exchange: FeedExchange, rest: CountingRest, sim_server: SimServer,
        venue: SimVenue) -> None:
    symbol = venue.instruments(BTC)[0].symbol
    exchange.index_price(BTC)
    exchange.orderbook(symbol)
    eventually("both channels pushed", lambda: exchange.feed.cache.index(BTC) is not None
               and exchange.feed.cache.book(symbol) is not None)
    subscribed = sim_server.ws.subscriptions
    sim_server.ws.faults.drop()
    eventually("both sockets reconnected", lambda: exchange.feed.options.stats.connects >= 2
               and exchange.feed.futures.stats.connects >= 2)
    eventually("both channels subscribed again",
               lambda: sim_server.ws.subscriptions >= subscribed + 2)
    eventually("fresh pushes after the drop", lambda: _served_from_feed(exchange, rest))
    eventually("the book pushed again", lambda: exchange.feed.cache.book(symbol) is not None)


def test_out_of_order_pushes_are_dropped_and_never_move_a_price_back_in_time(
        feed: MarketFeed, exchange: FeedExchange, sim_server: SimServer) -> None:
    seen: list[int] = []
    feed.cache.on_update(lambda kind, key: seen.append(_ms(feed, kind, key)))
    exchange.index_price(BTC)
    eventually("the index pushed", lambda: feed.cache.index(BTC) is not None)
    sim_server.ws.faults.out_of_order(5)
    eventually("five pushes sent out of order", lambda: sim_server.ws.faults.reordered >= 5)
    eventually("the client dropped them", lambda: feed.cache.counters.out_of_order >= 5)
    assert seen == sorted(seen)


def _ms(feed: MarketFeed, kind: str, key: object) -> int:
    entry = feed.cache._entries[(kind, key)]  # the accepted entry's exchange time
    return entry.exchange_ms


def test_a_signed_connection_url_is_checked_and_a_wrong_signature_refused(
        sim_server: SimServer) -> None:
    import hashlib
    import hmac

    options, _ = ws_urls(sim_server.base_url)
    ts = str(int(time.time() * 1000))

    def signed(secret: str) -> str:
        prehash = f"GET/users/self/verify?uuid=feed-test-key&ts={ts}"
        sign = hmac.new(secret.encode(), prehash.encode(), hashlib.sha256).hexdigest().upper()
        return f"{options}?code=10&uuid=feed-test-key&ts={ts}&sign={sign}&apiKey=feed-test-key"

    good = websocket.create_connection(signed("feed-test-secret"), timeout=2)
    good.send('{"action":"heartbeat"}')
    assert good.recv() == '{"c":11,"rc":1}'
    good.close()
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(signed("wrong"), timeout=2)
    assert refused.value.status_code == 401


def test_prices_pushed_are_the_simulated_markets(exchange: FeedExchange,
                                                 venue: SimVenue) -> None:
    venue.set_index(BTC, Decimal("91234"))
    exchange.index_price(BTC)
    eventually("the new index pushed",
               lambda: exchange.feed.cache.index(BTC) == Decimal("91234.00"))


def test_a_feed_down_too_long_is_an_open_concern_that_blocks_nothing_and_clears(
        sim_server: SimServer) -> None:
    from helpers_feed import FAST

    from runner.domain.clock import SystemClock
    from runner.feed.health import FeedHealth
    from runner.feed.prices import PriceCache
    from runner.feed.source import FeedUrls
    from runner.service.attention import Attention

    attention = Attention(lambda _concern, _raised: None)
    options, futures = ws_urls(sim_server.base_url)
    dead = "ws://127.0.0.1:9/options"  # nothing listens on the discard port
    feed = MarketFeed(FeedUrls(dead, futures), PriceCache(STALE_AFTER), FAST).start()
    health = FeedHealth(feed, SystemClock(), down_after=0.3)
    try:
        eventually("the futures socket up", feed.futures.connected.is_set)
        health.observe(attention)
        time.sleep(0.4)
        health.observe(attention)
        lines = attention.lines()
        assert len(lines) == 1
        assert "market feed (options) down since" in lines[0]
        assert attention.entry_block("any") is None  # REST still serves every decision
    finally:
        feed.stop()
    up = MarketFeed(FeedUrls(options, futures), PriceCache(STALE_AFTER), FAST).start()
    try:
        eventually("both sockets up", lambda: up.options.connected.is_set()
                   and up.futures.connected.is_set())
        FeedHealth(up, SystemClock(), down_after=0.3).observe(attention)
        assert attention.lines() == ()
    finally:
        up.stop()


def test_a_channel_no_read_asked_for_is_unsubscribed(sim_server: SimServer,
                                                     venue: SimVenue) -> None:
    from helpers_feed import FAST

    from runner.feed.prices import PriceCache
    from runner.feed.source import FeedUrls

    clock = [0.0]
    options, futures = ws_urls(sim_server.base_url)
    feed = MarketFeed(FeedUrls(options, futures), PriceCache(STALE_AFTER), FAST,
                      forget_after=60, monotonic=lambda: clock[0]).start()
    try:
        symbol = venue.instruments(BTC)[0].symbol
        feed.want_book(symbol)
        feed.want_index(BTC)
        clock[0] = 30.0
        feed.want_index(BTC)  # still read
        clock[0] = 61.0
        assert feed.forget_unused() == 1
        assert [s.symbol for s in feed.options.wanted] == []
        assert [s.symbol for s in feed.futures.wanted] == ["BTCUSD"]
    finally:
        feed.stop()


def test_a_lagging_socket_is_stale_however_alive_it_looks_and_reads_go_to_rest() -> None:
    """Frames delivered 10 s late but steadily (a congested link; heartbeats answered at
    once): a push whose own time is older than the stale limit is never used, even the
    moment it arrives. Deterministic: the market, the server's cadence and the cache all
    run on one manual clock that only the test moves; every wait is on a condition."""
    clock = ManualClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))

    def seconds() -> float:
        return clock.now().timestamp()

    venue = SimVenue(clock, seed=5)
    rest = CountingRest(venue)
    with SimServer(venue, "k", "s", clock) as server:
        server.ws.monotonic = seconds
        faults = server.ws.faults = WsFaults(monotonic=seconds)
        options, futures = ws_urls(server.base_url)
        cache = PriceCache(5.0, seconds, lambda: to_epoch_ms(clock.now()))
        timing = Timing(heartbeat_every=30, silence_limit=60, backoff_start=0.05,
                        backoff_max=0.2)  # no beat or silence falls due: the clock is held
        feed = MarketFeed(FeedUrls(options, futures), cache, timing,
                          monotonic=seconds).start()
        exchange = FeedExchange(rest, feed, clock)  # type: ignore[arg-type]
        try:
            exchange.index_price(BTC)
            eventually("the pushed index", lambda: cache.index(BTC) is not None, seconds=60)
            faults.lag(10, 60)
            clock.advance(timedelta(seconds=6))  # the push of 10:00:06 leaves at 10:00:16
            eventually("a push held back", lambda: faults.delayed >= 1, seconds=60)
            clock.advance(timedelta(seconds=10))
            sent = to_epoch_ms(datetime(2026, 3, 2, 10, 0, 6, tzinfo=UTC))
            eventually("the late push delivered",
                       lambda: (cache.stamp("index", BTC) or 0) >= sent, seconds=60)
            assert feed.futures.connected.is_set()  # the socket looks healthy
            assert cache.counters.late >= 1
            assert cache.index(BTC) is None  # 10 s old on arrival: never handed out
            before = rest.count("index_price")
            assert exchange.index_price(BTC) == venue.index_price(BTC)
            assert rest.count("index_price") == before + 1
        finally:
            feed.stop()
