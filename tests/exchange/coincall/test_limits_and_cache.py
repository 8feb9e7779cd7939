"""Client-side rate limits (section 7) and the market-data cache (C1: TTL cannot be bypassed)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from runner.domain.clock import ManualClock
from runner.domain.instruments import Underlying
from runner.exchange.coincall import endpoints as ep
from runner.exchange.coincall.cache import TtlCache
from runner.exchange.coincall.client import CoincallClient
from runner.exchange.coincall.endpoints import RateClass, RateLimit
from runner.exchange.coincall.ratelimit import RateLimiter

from .conftest import FakeCoincall, RecordingSleep


# -- rate limiter ------------------------------------------------------------------------------
def test_requests_beyond_the_window_wait_until_the_oldest_leaves_it(
        clock: ManualClock, sleeps: RecordingSleep) -> None:
    limiter = RateLimiter(now=lambda: clock.now().timestamp(), sleep=sleeps)
    for _ in range(5):
        assert limiter.acquire(RateClass.POSITIONS_AND_ORDERS) == 0
    clock.advance(timedelta(milliseconds=400))
    assert limiter.acquire(RateClass.POSITIONS_AND_ORDERS) == pytest.approx(0.6)
    assert sleeps.calls == [pytest.approx(0.6)]


def test_rate_classes_have_separate_budgets(clock: ManualClock, sleeps: RecordingSleep) -> None:
    limiter = RateLimiter(now=lambda: clock.now().timestamp(), sleep=sleeps)
    for _ in range(2):
        limiter.acquire(RateClass.ACCOUNT)
    for _ in range(30):
        limiter.acquire(RateClass.TRADING)
    for _ in range(30):
        limiter.acquire(RateClass.ORDERBOOK)
    assert sleeps.calls == []
    limiter.acquire(RateClass.ACCOUNT)
    assert sleeps.calls == [pytest.approx(1.0)]


def test_a_sustained_burst_never_exceeds_the_documented_limit_in_any_window(
        clock: ManualClock, sleeps: RecordingSleep) -> None:
    limiter = RateLimiter(now=lambda: clock.now().timestamp(), sleep=sleeps)
    sent: list[float] = []
    for _ in range(95):
        limiter.acquire(RateClass.TRADING)
        sent.append(clock.now().timestamp())
    limit = RateClass.TRADING.limit
    for index in range(len(sent) - limit.calls):
        assert sent[index + limit.calls] - sent[index] >= limit.per.total_seconds()


def test_every_documented_limit_is_configured() -> None:
    """Section 7: positions/orders 5/1 s, account 2/1 s, orderbook and trading 30/2 s."""
    assert RateClass.POSITIONS_AND_ORDERS.limit == RateLimit(5, timedelta(seconds=1))
    assert RateClass.ACCOUNT.limit == RateLimit(2, timedelta(seconds=1))
    assert RateClass.ORDERBOOK.limit == RateLimit(30, timedelta(seconds=2))
    assert RateClass.TRADING.limit == RateLimit(30, timedelta(seconds=2))
    assert RateClass.PUBLIC_CONFIG.limit == RateLimit(10, timedelta(seconds=2))
    assert {e.rate_class for e in (ep.PLACE_ORDER, ep.CANCEL_ORDER)} == {RateClass.TRADING}
    assert ep.ACCOUNT_SUMMARY.rate_class is RateClass.ACCOUNT


def test_the_client_waits_instead_of_exceeding_the_positions_limit(
        make_client: Callable[..., CoincallClient], coincall: FakeCoincall,
        sleeps: RecordingSleep) -> None:
    coincall.always("GET", ep.POSITIONS.path, coincall.ok([]))
    client = make_client()
    for _ in range(6):
        client.positions()
    assert len(coincall.sent(ep.POSITIONS.path)) == 6
    assert len(sleeps.calls) == 1
    assert 0.9 < sleeps.calls[0] <= 1.0


# -- cache -------------------------------------------------------------------------------------
def _counting_loader(values: list[int]) -> Callable[[], int]:
    def load() -> int:
        values.append(len(values) + 1)
        return values[-1]
    return load


def test_a_cached_value_is_served_until_its_ttl_then_loaded_again(clock: ManualClock) -> None:
    """C1: no reader gets a value older than the TTL."""
    cache: TtlCache[int] = TtlCache(now=clock.now, ttl=timedelta(seconds=30))
    loads: list[int] = []
    assert cache.get_or_load("k", _counting_loader(loads)) == 1
    clock.advance(timedelta(seconds=29))
    assert cache.get_or_load("k", _counting_loader(loads)) == 1
    clock.advance(timedelta(seconds=1))
    assert cache.get("k") is None
    assert cache.get_or_load("k", _counting_loader(loads)) == 2


def test_every_entry_keeps_the_time_it_was_fetched_and_is_never_restamped(
        clock: ManualClock) -> None:
    cache: TtlCache[int] = TtlCache(now=clock.now)
    fetched_at = clock.now()
    cache.get_or_load("k", lambda: 7)
    clock.advance(timedelta(seconds=20))
    entry = cache.get("k")
    assert entry is not None
    assert entry.fetched_at == fetched_at
    assert entry.age(clock.now()) == timedelta(seconds=20)


def test_fresh_bypasses_the_cache_and_refreshes_it(clock: ManualClock) -> None:
    cache: TtlCache[int] = TtlCache(now=clock.now)
    loads: list[int] = []
    cache.get_or_load("k", _counting_loader(loads))
    assert cache.get_or_load("k", _counting_loader(loads), fresh=True) == 2
    assert cache.get_or_load("k", _counting_loader(loads)) == 2


def test_the_least_recently_used_entry_is_evicted_beyond_the_size(clock: ManualClock) -> None:
    cache: TtlCache[int] = TtlCache(now=clock.now, max_entries=3)
    for key in "abc":
        cache.get_or_load(key, lambda: 0)
    assert cache.get("a") is not None  # "a" is now the most recently used
    cache.get_or_load("d", lambda: 0)
    assert len(cache) == 3
    assert cache.get("b") is None
    assert all(cache.get(key) is not None for key in "acd")


def test_the_default_cache_is_30_seconds_and_100_entries(clock: ManualClock) -> None:
    cache: TtlCache[int] = TtlCache(now=clock.now)
    assert cache.ttl == timedelta(seconds=30)
    for key in range(101):
        cache.get_or_load(key, lambda: 0)
    assert len(cache) == 100


def test_a_failed_load_caches_nothing(clock: ManualClock) -> None:
    cache: TtlCache[int] = TtlCache(now=clock.now)

    def failing() -> int:
        raise RuntimeError("exchange down")

    with pytest.raises(RuntimeError):
        cache.get_or_load("k", failing)
    assert cache.get("k") is None


def test_the_client_caches_instruments_for_30_seconds_only(
        client: CoincallClient, coincall: FakeCoincall, clock: ManualClock,
        doc: object) -> None:
    path = "/open/option/getInstruments/BTC"
    coincall.always("GET", path, coincall.ok(doc.instruments))  # type: ignore[attr-defined]
    client.instruments(Underlying.BTC)
    client.instruments(Underlying.BTC)
    assert len(coincall.sent(path)) == 1
    clock.advance(timedelta(seconds=30))
    client.instruments(Underlying.BTC)
    assert len(coincall.sent(path)) == 2


def test_the_client_never_caches_positions_account_or_orders(
        client: CoincallClient, coincall: FakeCoincall, doc: object) -> None:
    coincall.always("GET", ep.POSITIONS.path, coincall.ok([]))
    coincall.always("GET", ep.ACCOUNT_SUMMARY.path,
                    coincall.ok(doc.account))  # type: ignore[attr-defined]
    coincall.always("GET", ep.OPEN_ORDERS.path, coincall.ok({"list": [], "pageTotal": 1}))
    for _ in range(2):
        client.positions()
        client.account()
        client.open_orders()
    for path in (ep.POSITIONS.path, ep.ACCOUNT_SUMMARY.path, ep.OPEN_ORDERS.path):
        assert len(coincall.sent(path)) == 2
