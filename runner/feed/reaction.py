"""React between ticks: a pushed price that makes an exit due ends the wait at once.

The service loop waits between ticks in `BetweenTicks.pause` instead of a plain sleep.
Every accepted push sets an event; the waiting loop thread wakes, lays the fresh pushed
prices over the last tick's snapshot (`pushed_view`) and asks the service which trades
an exit would close on them (`Service.exits_due`, pure engine code). When one is due
the wait ends and the loop runs its tick now: that tick reads, decides the exit and
sends the close's first order as any tick does. So the decision and the order stay on
the loop thread, never concurrent with a tick, and always come from a full tick.
A trade that woke the loop once does not wake it again before the next regular tick
(a tick that did not close it, for whatever reason, is not repeated at push rate), and
checks are at most one per `min_gap` seconds. Only fresh pushed prices are used
(`PriceCache` hands out nothing stale); without them the view is the last tick's.

How this composes with "market exits are evaluated at the strategy's check_interval"
(engine/exits.py): a pushed crossing is the reason to run the feed, so it fires on the
crossing. The check on pushed prices evaluates every exit rule, market rules included,
whatever the interval; the trades it finds due are handed to the service
(`Reacting.reacting`), and the early tick it starts (a) reads the chains of those trades'
legs, so their close is priced and sent in that tick, not one tick later (the read plan
does not price a trade held on an `index_move` exit alone), and (b) evaluates those
trades' market exits as if their check were due. Nothing else moves: entries, other
trades' market exits and the strategy's check grid keep their own cadence, so a busy feed
never makes a strategy check more often than it says. The early tick decides on what it
reads itself; if that no longer crosses, nothing is closed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Final, Protocol

from loguru import logger

from runner.domain.clock import Clock
from runner.domain.snapshot import Chain, MarketSnapshot
from runner.feed.source import FeedExchange

MIN_GAP: Final = 0.1  # seconds between two exit checks on pushed prices (CPU bound)
_WAIT_SLICE: Final = 0.25  # the stop (a plain flag set by signal handlers) is looked at this often


class Reacting(Protocol):
    """What the reaction needs of the service."""

    last_snapshot: MarketSnapshot | None
    reacting: frozenset[str]  # the trades the next tick prices and checks off its cadence

    def exits_due(self, snapshot: MarketSnapshot, now: datetime) -> dict[str, str]: ...


@dataclass(slots=True)
class ReactionStats:
    checks: int = 0
    early_ticks: int = 0
    woken_for: list[str] = field(default_factory=list)


def pushed_view(last: MarketSnapshot, exchange: FeedExchange, now: datetime) -> MarketSnapshot:
    """The last tick's snapshot with every fresh pushed index, book and chain laid over."""
    cache = exchange.feed.cache
    prices = dict(last.index_prices)
    for underlying in last.index_prices:
        pushed = cache.index(underlying)
        if pushed is not None:
            prices[underlying] = pushed
    books = {symbol: cache.book(symbol) or book for symbol, book in last.books.items()}
    chains = {underlying: _pushed_chain(chain, exchange) for underlying, chain in
              last.chains.items()}
    return replace(last, at=now, index_prices=prices, books=books, chains=chains)


def _pushed_chain(chain: Chain, exchange: FeedExchange) -> Chain:
    quotes = dict(chain.quotes)
    for expiry in {quote.instrument.expiry for quote in chain.quotes.values()}:
        for quote in exchange.pushed_chain(chain.underlying, expiry) or ():
            quotes[quote.symbol] = quote
    return Chain.of(chain.underlying, quotes.values())


class BetweenTicks:
    """The wait between two ticks, cut short when a pushed price makes an exit due."""

    def __init__(self, service: Reacting, exchange: FeedExchange, clock: Clock,
                 stopped: Callable[[], bool], *, min_gap: float = MIN_GAP,
                 after_tick: Callable[[], None] | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._service = service
        self._exchange = exchange
        self._clock = clock
        self._stopped = stopped
        self._min_gap = min_gap
        self._monotonic = monotonic
        self._after_tick = after_tick  # once per wait, on the loop thread (feed health)
        self._wake = threading.Event()
        self._woken_for: frozenset[str] = frozenset()
        self._checked_at = float("-inf")
        self.stats = ReactionStats()
        exchange.feed.cache.on_update(lambda _kind, _key: self._wake.set())

    def wake(self) -> None:
        """End the wait now (another thread, a test; never a signal handler: it takes the
        Event's lock, which the waiting thread may hold when the handler runs)."""
        self._wake.set()

    def pause(self, seconds: float) -> None:
        """Wait up to `seconds`; return early for a stop or an exit made due by a push."""
        end = self._monotonic() + max(0.0, seconds)
        if self._after_tick is not None:
            try:
                self._after_tick()
            except Exception as error:  # the wait must never break the loop
                logger.warning("market feed check failed: {!r}", error)
        while not self._stopped():
            remaining = end - self._monotonic()
            if remaining <= 0:
                self._woken_for = frozenset()  # a regular tick follows
                return
            if not self._wake.wait(min(remaining, _WAIT_SLICE)):
                continue
            self._wake.clear()
            if self._exit_due():
                return

    def _exit_due(self) -> bool:
        now = self._monotonic()
        if now - self._checked_at < self._min_gap:
            return False
        self._checked_at = now
        last = self._service.last_snapshot
        if last is None:
            return False
        self.stats.checks += 1
        try:
            at = self._clock.now()
            due = self._service.exits_due(pushed_view(last, self._exchange, at), at)
        except Exception as error:  # the wait must never break the loop
            logger.warning("exit check on pushed prices failed: {!r}", error)
            return False
        new = sorted(set(due) - self._woken_for)
        if not new:
            return False
        self._woken_for |= set(new)
        self._service.reacting = frozenset(new)
        self.stats.early_ticks += 1
        self.stats.woken_for.extend(new)
        logger.info("pushed prices make an exit due ({}): ticking now",
                    "; ".join(f"{trade_id} {due[trade_id]}" for trade_id in new))
        return True
