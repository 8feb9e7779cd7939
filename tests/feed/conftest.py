"""Fixtures of the feed tests: the simulator served on loopback (REST and WebSocket) on
the wall clock, and a market feed connected to it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers_feed import FAST, STALE_AFTER, CountingRest, ws_urls

from runner.domain.clock import SystemClock
from runner.feed.prices import PriceCache
from runner.feed.source import FeedExchange, FeedUrls, MarketFeed
from runner.sim.server import SimServer
from runner.sim.venue import SimVenue

KEY, SECRET = "feed-test-key", "feed-test-secret"


@pytest.fixture
def venue() -> SimVenue:
    return SimVenue(SystemClock(), seed=5)


@pytest.fixture
def sim_server(venue: SimVenue) -> Iterator[SimServer]:
    with SimServer(venue, KEY, SECRET, SystemClock()) as server:
        yield server


@pytest.fixture
def rest(venue: SimVenue) -> CountingRest:
    return CountingRest(venue)


@pytest.fixture
def feed(sim_server: SimServer) -> Iterator[MarketFeed]:
    options, futures = ws_urls(sim_server.base_url)
    market = MarketFeed(FeedUrls(options, futures), PriceCache(STALE_AFTER), FAST).start()
    yield market
    market.stop()


@pytest.fixture
def exchange(rest: CountingRest, feed: MarketFeed) -> FeedExchange:
    return FeedExchange(rest, feed, SystemClock())  # type: ignore[arg-type]
