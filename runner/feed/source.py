"""The exchange port seen through the pushed prices: fresh from the feed, else REST.

`MarketFeed` owns the cache and the two sockets (options: `orderBook`, `tOption`;
futures: `spotPrice`) and subscribes to what the snapshot reader asks for: the reader's
own reads are the subscription plan, so held legs and entry candidates are followed
without a second list to keep in step (the read plan of leanreads decides what is read;
this module only decides where it comes from). A channel nobody read for
`forget_after` seconds is unsubscribed.

`FeedExchange` wraps the REST port. `index_price`, `orderbook` and `option_chain(expiry)`
answer from the cache when the pushed value is fresh (`PriceCache.stale_after`), else
they read REST as before: a stale or dropped feed costs REST calls, never a decision on
an old price. A chain from the feed is the last REST chain of that expiry (instrument
details) with every option's top of book, mark, IV and greeks replaced by its `tOption`
push; it is only served when every option of that REST chain has a fresh push, and the
REST chain itself is read again every `chain_refresh` seconds (new listings). Every
other call goes straight to REST.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from runner.domain.clock import Clock, to_epoch_ms
from runner.domain.instruments import Underlying
from runner.domain.snapshot import Book, Greeks, OptionQuote
from runner.exchange.port import Exchange
from runner.feed.connection import FeedConnection, Timing
from runner.feed.messages import Control, Subscription, apply, parse_frame
from runner.feed.prices import PriceCache, TickerRow

FORGET_AFTER: Final = 120.0  # seconds without a read before a channel is unsubscribed
CHAIN_REFRESH: Final = 60.0  # seconds between REST chain reads while the feed serves it


@dataclass(frozen=True, slots=True)
class FeedUrls:
    """Where the feed is; `url(path)` signs when the key is known (built per attempt)."""

    options: str
    futures: str
    sign: Callable[[str], str] | None = None  # adds code/uuid/ts/sign to a bare URL

    def options_url(self) -> str:
        return self.sign(self.options) if self.sign else self.options

    def futures_url(self) -> str:
        return self.sign(self.futures) if self.sign else self.futures


class MarketFeed:
    """The cache, the sockets, and the channels the reader asked for."""

    def __init__(self, urls: FeedUrls, cache: PriceCache, timing: Timing | None = None, *,
                 forget_after: float = FORGET_AFTER,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.cache = cache
        self.options = FeedConnection("options", urls.options_url, self.on_frame, timing,
                                      monotonic)
        self.futures = FeedConnection("futures", urls.futures_url, self.on_frame, timing,
                                      monotonic)
        self._forget_after = forget_after
        self.monotonic = monotonic  # the feed's clock: sockets, channels, chain refresh
        self._asked: dict[Subscription, float] = {}
        self._lock = threading.Lock()

    def start(self) -> MarketFeed:
        self.options.start()
        self.futures.start()
        return self

    def stop(self) -> None:
        self.options.stop()
        self.futures.stop()

    def on_frame(self, text: str) -> bool:
        """Apply one received frame; True when it was a heartbeat reply."""
        frame = parse_frame(text)
        if isinstance(frame, Control):
            return frame.heartbeat
        apply(frame, self.cache)
        return False

    # -- what the reader asks for --------------------------------------------------------
    def want_index(self, underlying: Underlying) -> None:
        self._ask(self.futures, Subscription("spotPrice", underlying.index_name))

    def want_book(self, symbol: str) -> None:
        self._ask(self.options, Subscription("orderBook", symbol))

    def want_chain(self, underlying: Underlying, expiry: datetime) -> None:
        self._ask(self.options, Subscription("tOption", underlying.index_name,
                                             to_epoch_ms(expiry)))

    def _ask(self, connection: FeedConnection, subscription: Subscription) -> None:
        with self._lock:
            self._asked[subscription] = self.monotonic()
        connection.want(subscription)

    def forget_unused(self) -> int:
        """Unsubscribe what no read asked for in `forget_after` seconds; how many."""
        now = self.monotonic()
        with self._lock:
            forgotten = [s for s, at in self._asked.items() if now - at > self._forget_after]
            for old in forgotten:
                del self._asked[old]
        for old in forgotten:
            (self.futures if old.data_type == "spotPrice" else self.options).drop(old)
        return len(forgotten)


class FeedExchange:
    """An `Exchange` whose market reads come from the feed while it is fresh."""

    def __init__(self, rest: Exchange, feed: MarketFeed, clock: Clock, *,
                 chain_refresh: float = CHAIN_REFRESH) -> None:
        self._rest = rest
        self.feed = feed
        self._clock = clock
        self._chain_refresh = chain_refresh
        self._rest_chains: dict[tuple[Underlying, datetime], tuple[float, list[OptionQuote]]] = {}

    @property
    def rest(self) -> Exchange:
        return self._rest

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rest, name)

    def index_price(self, underlying: Underlying) -> Decimal:
        self.feed.want_index(underlying)
        return self._served(self.feed.cache.index(underlying),
                            lambda: self._rest.index_price(underlying))

    def orderbook(self, symbol: str, *, fresh: bool = True) -> Book:
        self.feed.want_book(symbol)
        return self._served(self.feed.cache.book(symbol),
                            lambda: self._rest.orderbook(symbol, fresh=fresh))

    def option_chain(self, underlying: Underlying, expiry: datetime | None = None, *,
                     fresh: bool = False) -> list[OptionQuote]:
        if expiry is None:
            return self._rest.option_chain(underlying, expiry, fresh=fresh)
        self.feed.want_chain(underlying, expiry)
        pushed = self.pushed_chain(underlying, expiry)
        if pushed is not None:
            self.feed.cache.note_read(True)
            return pushed
        self.feed.cache.note_read(False)
        rows = self._rest.option_chain(underlying, expiry, fresh=fresh)
        self._rest_chains[(underlying, expiry)] = (self.feed.monotonic(), list(rows))
        return rows

    def pushed_chain(self, underlying: Underlying,
                     expiry: datetime) -> list[OptionQuote] | None:
        """The chain of one expiry from fresh pushes only; None when any option lacks one."""
        known = self._rest_chains.get((underlying, expiry))
        if known is None or self.feed.monotonic() - known[0] > self._chain_refresh:
            return None
        now = self._clock.now()
        rows = []
        for quote in known[1]:
            ticker = self.feed.cache.ticker(quote.symbol)
            if ticker is None:
                return None
            rows.append(_overlay(quote, ticker, now))
        return rows

    def _served(self, pushed: Any, rest: Callable[[], Any]) -> Any:
        self.feed.cache.note_read(pushed is not None)
        return pushed if pushed is not None else rest()


def _overlay(quote: OptionQuote, ticker: TickerRow, now: datetime) -> OptionQuote:
    greeks = (Greeks(ticker.delta, ticker.gamma, ticker.vega, ticker.theta)
              if ticker.delta is not None else quote.greeks)
    # Built field by field, not with dataclasses.replace: the REST row may be a subclass
    # (the simulator's LazyQuote) whose constructor takes other arguments; the feed's row
    # is a plain quote that owes nothing to the REST row but its instrument and fallbacks.
    return OptionQuote(instrument=quote.instrument, bid=ticker.bid, bid_size=ticker.bid_size,
                       ask=ticker.ask, ask_size=ticker.ask_size, mark=ticker.mark,
                       mark_iv=ticker.mark_iv, greeks=greeks,
                       underlying_price=ticker.underlying_price or quote.underlying_price,
                       at=now, last=quote.last)
