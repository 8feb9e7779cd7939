"""Switching the market feed on for `runner run` (issue 11): URLs, login, start, stop.

The settings are read by `choice` (`RUNNER_MARKET_FEED=ws`, `RUNNER_FEED_STALE_SECONDS`,
`RUNNER_WS_URL`); this module is imported only when the feed is on. The options stream
comes from `RUNNER_WS_URL` when set; the futures stream (index) is the same URL ending in
`/futures`. Without it the URL follows the venue: production
  `wss://ws.coincall.com/options`, testnet `wss://betaws.seizeyouralpha.com/options`
  (the host proven live, coincall-api.md section 1), and a `COINCALL_BASE_URL` of
  `http(s)://host:port` (a `runner sim-server`) gives `ws(s)://host:port/options`.
- Paper mode has no remote venue: its in-process simulator is served on a loopback port
  for the feed alone, so paper runs take the same WebSocket path as testnet and production.
Testnet and production connections are signed (coincall-api.md section 9: `code=10`,
`uuid`, `ts`, `sign` = uppercase hex HMAC-SHA256 of `GET/users/self/verify?uuid=KEY&ts=TS`,
`apiKey`). The URL carries the key and a signature: only its scheme, host and path are
ever logged.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from loguru import logger

from runner.domain.clock import Clock
from runner.exchange.port import Exchange
from runner.feed.health import FeedHealth
from runner.feed.prices import PriceCache
from runner.feed.reaction import BetweenTicks
from runner.feed.source import FeedExchange, FeedUrls, MarketFeed
from runner.service.feed_choice import FeedChoice
from runner.service.settings import TESTNET_URL, Environment, Settings

PRODUCTION_WS: Final = "wss://ws.coincall.com/options"
TESTNET_WS: Final = "wss://betaws.seizeyouralpha.com/options"


def options_url(settings: Settings, override: str | None) -> str:
    """The options stream of the settings' venue (see the module doc)."""
    if override:
        return override
    if settings.environment is Environment.PRODUCTION:
        return PRODUCTION_WS
    base = settings.base_url or TESTNET_URL
    if base.rstrip("/") == TESTNET_URL:
        return TESTNET_WS
    parts = urlsplit(base)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, "/options", "", ""))


def futures_url(options: str) -> str:
    parts = urlsplit(options)
    path = parts.path.removesuffix("/options") + "/futures"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def login_signer(api_key: str, api_secret: str,
                 clock: Callable[[], float] = time.time) -> Callable[[str], str]:
    """Adds Coincall's login query to a bare stream URL, with a new `ts` each time."""
    def sign(url: str) -> str:
        ts = str(int(clock() * 1000))
        prehash = f"GET/users/self/verify?uuid={api_key}&ts={ts}"
        digest = hmac.new(api_secret.encode(), prehash.encode(), hashlib.sha256)
        return (f"{url}?code=10&uuid={api_key}&ts={ts}&sign={digest.hexdigest().upper()}"
                f"&apiKey={api_key}")
    return sign


def public_part(url: str) -> str:
    """Scheme, host and path: what may be logged of a stream URL."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


class AttachedFeed:
    """The running feed of one `runner run`: the wrapped exchange and how to stop it."""

    def __init__(self, exchange: FeedExchange, loopback: Any = None) -> None:
        self.exchange = exchange
        self.feed = exchange.feed
        self._loopback = loopback  # paper mode's in-process feed server
        self.reaction: BetweenTicks | None = None

    def react(self, service: Any, clock: Clock, stopped: Callable[[], bool]) -> BetweenTicks:
        """Let pushes end the service's wait between ticks (reaction.py)."""
        health = FeedHealth(self.feed, clock)

        def after_tick() -> None:
            self.feed.forget_unused()
            health.observe(service.attention)

        self.reaction = BetweenTicks(service, self.exchange, clock, stopped,
                                     after_tick=after_tick)
        service.between_ticks = self.reaction.pause
        return self.reaction

    def stop(self) -> None:
        self.feed.stop()
        if self._loopback is not None:
            self._loopback.stop()
        counters = self.feed.cache.counters
        connects = self.feed.options.stats.connects + self.feed.futures.stats.connects
        early = self.reaction.stats.early_ticks if self.reaction is not None else 0
        logger.info("market feed stopped: {} reads served from pushes, {} from REST; {} pushes "
                    "taken, {} out of order dropped, {} arrived already stale; {} connections; "
                    "{} ticks started early by a pushed price", counters.served,
                    counters.fell_back, counters.accepted, counters.out_of_order,
                    counters.late, connects, early)


def attach_feed(choice: FeedChoice, settings: Settings, exchange: Exchange,
                clock: Clock) -> AttachedFeed | None:
    """Start the feed when configured and wrap `exchange`; None when the feed is off."""
    if not choice.enabled:
        return None
    loopback = None
    sign = None
    if settings.environment is Environment.PAPER and choice.url is None:
        from runner.sim.server import SimServer

        # A key nobody knows: the loopback server is for the unsigned feed alone, never
        # a way for another local process to place orders on the paper account.
        unknown = secrets.token_hex(16)
        loopback = SimServer(exchange, unknown, secrets.token_hex(16), clock).start()
        url = loopback.base_url.replace("http://", "ws://") + "/options"
    else:
        url = options_url(settings, choice.url)
        if settings.api_key is not None and settings.api_secret is not None:
            sign = login_signer(settings.api_key.reveal(), settings.api_secret.reveal())
    urls = FeedUrls(url, futures_url(url), sign)
    feed = MarketFeed(urls, PriceCache(choice.stale_after)).start()
    logger.info("market feed: WebSocket {} and {}; a price older than {:g} s is not used "
                "(REST reads instead)", public_part(url), public_part(urls.futures),
                choice.stale_after)
    return AttachedFeed(FeedExchange(exchange, feed, clock), loopback)
