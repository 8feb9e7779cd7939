"""The feed's health for the operator: a socket that looks alive while every price it
pushes arrives too old to be used is an open concern (issue 11), cleared by the first
push on time; it blocks nothing, since REST serves every read meanwhile."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from runner.domain.clock import ManualClock
from runner.domain.instruments import Underlying
from runner.feed.health import FeedHealth
from runner.feed.prices import PriceCache
from runner.feed.source import FeedUrls, MarketFeed
from runner.service.attention import Attention

BTC = Underlying.BTC


class Clocks:
    def __init__(self) -> None:
        self.monotonic = 0.0
        self.wall_ms = 1_000_000

    def tick(self, seconds: float) -> None:
        self.monotonic += seconds
        self.wall_ms += int(seconds * 1000)


def _world() -> tuple[Clocks, PriceCache, FeedHealth, Attention]:
    clocks = Clocks()
    cache = PriceCache(5.0, lambda: clocks.monotonic, lambda: clocks.wall_ms)
    feed = MarketFeed(FeedUrls("ws://127.0.0.1:9/options", "ws://127.0.0.1:9/futures"),
                      cache)  # never started: only its cache is pushed to here
    feed.options.connected.set()
    feed.futures.connected.set()
    health = FeedHealth(feed, ManualClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC)),
                        down_after=30, monotonic=lambda: clocks.monotonic)
    return clocks, cache, health, Attention(lambda _concern, _raised: None)


def _push(clocks: Clocks, cache: PriceCache, late_by: float) -> None:
    cache.put_index(BTC, Decimal("90000"), clocks.wall_ms - int(late_by * 1000))


def test_pushes_that_all_arrive_too_old_for_long_are_reported_and_block_nothing() -> None:
    clocks, cache, health, attention = _world()
    for _ in range(16):  # 32 s of pushes arriving 8 s late
        _push(clocks, cache, late_by=8)
        health.observe(attention)
        clocks.tick(2)
    lines = attention.lines()
    assert len(lines) == 1
    assert "market feed lagging since" in lines[0]
    assert "read over REST" in lines[0]
    assert attention.entry_block("any") is None
    _push(clocks, cache, late_by=0.2)  # caught up
    health.observe(attention)
    assert attention.lines() == ()


def test_a_short_lag_or_one_push_on_time_among_late_ones_raises_nothing() -> None:
    clocks, cache, health, attention = _world()
    for step in range(30):
        _push(clocks, cache, late_by=0.1 if step % 10 == 9 else 8)
        health.observe(attention)
        clocks.tick(2)
    assert attention.lines() == ()
