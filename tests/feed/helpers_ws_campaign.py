"""The WebSocket market feed in the fault and crash campaigns (issue 11), on simulated time.

`WsCampaign` serves the world's venue as `runner sim-server`'s WebSocket feed (an
in-thread `SimServer`; the service still reads REST through the campaign's own faulty
venue) and gives each service process a real `MarketFeed` + `FeedExchange` on the
campaign's manual clock: pushes, heartbeats, silence, backoff and staleness are all
counted in simulated seconds, so "older than 5 s" means 5 s of the market the campaign
simulates. Between two ticks the clock moves, the feed's faults fire in turn after
random gaps, with random lengths (drops, silent stalls, out-of-order pushes, late
delivery), and the loop waits (real time, at
most `BARRIER_S`) until both socket threads have seen the new time with their heartbeat
answered, and the index pushed at that time arrived: the simulated clock never outruns
the threads, so a healthy feed serves and no stall is imagined.

The feed invariants it checks, independent of the cache's own bookkeeping:
- never a decision on a stale price: every index the feed served is the venue's index
  at a second no older than `stale_after` (looked up on the venue's index path, which
  a second's price never leaves: the clock also moves inside a tick, on a timeout
  fault), every book served was stamped no older, every chain row's push no older;
- the feed recovers after each drop, stall and lag: a push stamped after the episode's
  end arrives within `RECOVER_WITHIN` (plus any time no process ran), on a reconnected
  and resubscribed socket for drops and detected stalls.
Determinism: a run differs from another of the same seed (which reads the feed saves
from REST, so which REST faults fire, depends on the threads); the invariants hold for any.
"""

from __future__ import annotations

import random
import threading
import time
from bisect import bisect_right
from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from loguru import logger

from runner.domain.clock import ManualClock, to_epoch_ms
from runner.domain.instruments import Underlying
from runner.domain.snapshot import Book, OptionQuote
from runner.feed.connection import Timing
from runner.feed.health import FeedHealth
from runner.feed.prices import PriceCache
from runner.feed.source import FeedExchange, FeedUrls, MarketFeed
from runner.sim.server import SimServer
from runner.sim.venue import SimVenue
from runner.sim.ws_faults import WsFaults

BTC: Final = Underlying.BTC
STALE_AFTER: Final = 5.0  # simulated seconds (the runner's default)
BARRIER_S: Final = 0.25  # real seconds a tick waits at most for the pushes of its time
RECOVER_WITHIN: Final = timedelta(minutes=3)
FAULT_GAP: Final = (timedelta(seconds=20), timedelta(minutes=3))  # between two faults
KINDS: Final = ("drop", "stall", "out_of_order", "lag", "stall")  # in turn; lengths random


@dataclass(frozen=True, slots=True)
class Episode:
    kind: str
    start: datetime
    end: datetime  # when the venue side was healthy again


@dataclass(slots=True)
class FeedFigures:
    fired: Counter[str] = field(default_factory=Counter)
    served: int = 0
    from_rest: int = 0
    served_in_fault: int = 0  # reads served from pushes while a stall or lag was on
    rest_in_fault: int = 0
    connects: int = 0
    stalls_seen: int = 0
    resubscribed: int = 0
    out_of_order: int = 0
    late: int = 0
    recovered: int = 0
    judged: int = 0  # drops, stalls and lags whose recovery was judged
    barrier_timeouts: int = 0  # ticks the threads did not catch up with within BARRIER_S
    violations: list[str] = field(default_factory=list)

    def add(self, other: FeedFigures) -> None:
        """Sum another run's figures into these."""
        self.fired.update(other.fired)
        for name in ("served", "from_rest", "served_in_fault", "rest_in_fault", "connects",
                     "stalls_seen", "resubscribed", "out_of_order", "late", "recovered",
                     "judged", "barrier_timeouts"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.violations += other.violations

    def lines(self) -> list[str]:
        return [
            f"feed faults fired: {dict(sorted(self.fired.items()))}; the feed recovered "
            f"after {self.recovered} of {self.judged} drops/stalls/lags",
            f"feed reads: {self.served} served from pushes, {self.from_rest} from REST "
            f"(during stalls and lags: {self.served_in_fault} served, {self.rest_in_fault}"
            " from REST)",
            f"feed sockets: {self.connects} connections, {self.stalls_seen} stalls detected,"
            f" {self.resubscribed} resubscriptions; pushes: {self.out_of_order} out of order"
            f" dropped, {self.late} arrived already stale; {self.barrier_timeouts} ticks went"
            " on before the sockets caught up",
            f"feed violations: {len(self.violations)}",
            *[f"  FEED VIOLATION {v}" for v in self.violations[:20]],
        ]


def quiet_feed_logs() -> None:
    """The feed's debug lines (every reconnect) off, for a campaign's printout."""
    logger.disable("runner.feed")


class WsCampaign:
    """One feed server for the whole campaign; one feed client per service process."""

    def __init__(self, venue: SimVenue, clock: ManualClock, seed: int, *,
                 fault_gap: tuple[timedelta, timedelta] = FAULT_GAP,
                 server: SimServer | None = None) -> None:
        """`server`: the campaign's own sim-server (its REST side is the campaign's);
        without one, a server for the feed alone is started and stopped here."""
        self.clock = clock
        self._fault_gap = fault_gap
        self.venue = venue
        self._rng = random.Random(seed)
        self._own_server = server is None
        self.server = server or SimServer(venue, "ws-campaign", "ws-campaign-secret", clock,
                                          rate_limits=False).start()
        self.server.ws.monotonic = self.seconds
        self.server.ws.wake_every = 0.002  # pushes follow a clock step within ~2 ms
        self.faults = self.server.ws.faults = WsFaults(monotonic=self.seconds)
        self.figures = FeedFigures()
        self.episodes: list[Episode] = []
        self._pushed: list[int] = []  # exchange ms of every index push taken, in order
        self._gaps: list[tuple[datetime, datetime]] = []  # no feed client running
        self._down_since: datetime | None = clock.now()
        self._next_fault = clock.now() + fault_gap[0]
        self._lifted_at: datetime | None = None
        self._heard = threading.Event()
        self.feed: MarketFeed | None = None

    # -- clocks of the feed: simulated time --------------------------------------------
    def seconds(self) -> float:
        return self.clock.now().timestamp()

    def now_ms(self) -> int:
        return to_epoch_ms(self.clock.now())

    # -- a service process -------------------------------------------------------------
    def exchange(self, rest: Any) -> FeedExchange:
        """The feed client of a new process, over its REST port `rest`."""
        root = self.server.base_url.replace("http://", "ws://")
        cache = PriceCache(STALE_AFTER, self.seconds, self.now_ms)
        feed = MarketFeed(FeedUrls(f"{root}/options", f"{root}/futures"), cache,
                          Timing(poll=0.002), monotonic=self.seconds)
        cache.on_update(lambda kind, key: self._on_push(cache, kind, key))
        self.feed = feed.start()
        feed.want_index(BTC)  # watched by the campaign: recovery is seen in quiet hours too
        if self._down_since is not None:
            self._gaps.append((self._down_since, self.clock.now()))
            self._down_since = None
        return AuditedFeedExchange(rest, feed, self.clock, self)

    def attach(self, service: Any) -> None:
        """The loop's wait between ticks: clock step, faults, then the pushes of that time."""
        feed = self.feed
        assert feed is not None
        health = FeedHealth(feed, self.clock, monotonic=self.seconds)

        def pause(seconds: float) -> None:
            feed.forget_unused()
            feed.want_index(BTC)
            health.observe(service.attention)
            self.clock.sleep(seconds)
            self._fire_due()
            self._barrier(feed)

        service.between_ticks = pause

    def kill(self) -> None:
        """The process died: its sockets close with it."""
        if self.feed is not None:
            self._count(self.feed)
            self.feed.stop()
            self.feed = None
            self._down_since = self.clock.now()

    def lift(self, at: datetime | None = None) -> None:
        """No new fault from `at` (default: now) on; those under way run out."""
        self._lifted_at = at or self.clock.now()

    def close(self) -> FeedFigures:
        """Stop everything and judge recovery; the figures with every violation."""
        self.kill()
        if self._own_server:
            self.server.stop()
        self._judge_recovery()
        return self.figures

    # -- between ticks -----------------------------------------------------------------
    def _fire_due(self) -> None:
        now = self.clock.now()
        lifted = self._lifted_at is not None and now >= self._lifted_at
        if lifted or now < self._next_fault:
            return
        kind = KINDS[sum(self.figures.fired.values()) % len(KINDS)]
        end = now
        if kind == "drop":
            self.faults.drop()
        elif kind == "stall":
            seconds = self._rng.uniform(6, 45)
            self.faults.stall(seconds)
            end = now + timedelta(seconds=seconds)
        elif kind == "out_of_order":
            self.faults.out_of_order(self._rng.randint(3, 20))
        else:
            by, lasting = self._rng.uniform(8, 30), self._rng.uniform(20, 90)
            self.faults.lag(by, lasting)
            end = now + timedelta(seconds=lasting + by)
        self.figures.fired[kind] += 1
        self.episodes.append(Episode(kind, now, end))
        low, high = self._fault_gap
        self._next_fault = end + low + (high - low) * self._rng.random()

    def _in_fault(self, *kinds: str) -> bool:
        now = self.clock.now()
        return any(e.start <= now <= e.end for e in self.episodes[-2:]
                   if e.kind in (kinds or ("stall", "lag")))

    def _barrier(self, feed: MarketFeed) -> None:
        """Wait (real time, bounded) until the socket threads caught up with the clock;
        not during a stall, when nothing answers and it would only wait out the bound."""
        if self._in_fault("stall"):
            return
        now, want = self.seconds(), self.now_ms()
        lagging = self._in_fault("lag")
        deadline = time.monotonic() + BARRIER_S

        def caught_up() -> bool:
            sockets = all(c.progress >= now and not c.beat_pending
                          for c in (feed.options, feed.futures) if c.connected.is_set())
            return sockets and (lagging or not feed.futures.connected.is_set()
                                or (feed.cache.stamp("index", BTC) or 0) >= want)

        while not caught_up():
            left = deadline - time.monotonic()
            if left <= 0:
                self.figures.barrier_timeouts += 1
                return
            self._heard.wait(min(left, 0.002))
            self._heard.clear()

    def _on_push(self, cache: PriceCache, kind: str, key: Hashable) -> None:
        if kind == "index":
            stamp = cache.stamp(kind, key)
            if stamp is not None:
                self._pushed.append(stamp)
            self._heard.set()

    # -- the audit -----------------------------------------------------------------------
    def served_index(self, price: Decimal) -> None:
        now = int(self.seconds())
        market = self.venue._market  # the path itself: what the index was at any second
        fresh = {market.index(BTC, second) for second in range(now - int(STALE_AFTER),
                                                               now + 1)}
        if price not in fresh:
            self._violation(f"an index of {price} served from the feed is not the venue's"
                            f" index of the last {STALE_AFTER:g} s")

    def served_book(self, book: Book) -> None:
        age = (self.clock.now() - book.at).total_seconds()
        if age > STALE_AFTER:
            self._violation(f"a book of {book.symbol} {age:.1f} s old served from the feed")

    def served_chain(self, cache: PriceCache, rows: list[OptionQuote]) -> None:
        oldest = min((cache.stamp("ticker", row.symbol) or 0 for row in rows), default=None)
        if oldest is not None and self.now_ms() - oldest > STALE_AFTER * 1000:
            self._violation(f"a chain row {(self.now_ms() - oldest) / 1000:.1f} s old served"
                            " from the feed")

    def read(self, served: bool) -> None:
        fault = self._in_fault()
        figures = self.figures
        figures.served += served
        figures.from_rest += not served
        figures.served_in_fault += served and fault
        figures.rest_in_fault += fault and not served

    def _violation(self, text: str) -> None:
        self.figures.violations.append(f"{self.clock.now():%H:%M:%S} {text}")

    def _count(self, feed: MarketFeed) -> None:
        figures = self.figures
        for connection in (feed.options, feed.futures):
            figures.connects += connection.stats.connects
            figures.stalls_seen += connection.stats.stalls
            figures.resubscribed += connection.stats.resubscribed
        figures.out_of_order += feed.cache.counters.out_of_order
        figures.late += feed.cache.counters.late

    def _judge_recovery(self) -> None:
        for episode in self.episodes:
            if episode.kind == "out_of_order":
                continue
            self.figures.judged += 1
            deadline = episode.end + RECOVER_WITHIN
            for down, up in self._gaps:
                if up > episode.end and down < deadline:
                    deadline += up - max(down, episode.end)
            after = bisect_right(self._pushed, to_epoch_ms(episode.end))
            if after < len(self._pushed) and self._pushed[after] <= to_epoch_ms(deadline):
                self.figures.recovered += 1
            else:
                self._violation(f"the feed did not recover after the {episode.kind} of "
                                f"{episode.start:%H:%M:%S}-{episode.end:%H:%M:%S}")


class AuditedFeedExchange(FeedExchange):
    """The runner's `FeedExchange`, every read it serves from pushes checked for age."""

    def __init__(self, rest: Any, feed: MarketFeed, clock: ManualClock,
                 campaign: WsCampaign) -> None:
        super().__init__(rest, feed, clock)
        self._campaign = campaign

    def _served_now(self, before: int) -> bool:
        served = self.feed.cache.counters.served > before
        self._campaign.read(served)
        return served

    def index_price(self, underlying: Underlying) -> Decimal:
        before = self.feed.cache.counters.served
        price = super().index_price(underlying)
        if self._served_now(before) and underlying is BTC:
            self._campaign.served_index(price)
        return price

    def orderbook(self, symbol: str, *, fresh: bool = True) -> Book:
        before = self.feed.cache.counters.served
        book = super().orderbook(symbol, fresh=fresh)
        if self._served_now(before):
            self._campaign.served_book(book)
        return book

    def option_chain(self, underlying: Underlying, expiry: datetime | None = None, *,
                     fresh: bool = False) -> list[OptionQuote]:
        before = self.feed.cache.counters.served
        rows = super().option_chain(underlying, expiry, fresh=fresh)
        if expiry is not None and self._served_now(before):
            self._campaign.served_chain(self.feed.cache, rows)
        return rows
