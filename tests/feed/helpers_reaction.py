"""A service trading one strangle against a loopback sim-server, REST over HTTP and prices
pushed over its WebSocket, run on its own thread (the store belongs to that thread), with
every order the venue receives timestamped (benchmarks and the reaction tests)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runner.domain.clock import SystemClock
from runner.domain.orders import OrderRequest
from runner.exchange.coincall.client import CoincallClient
from runner.feed.connection import Timing
from runner.feed.prices import PriceCache
from runner.feed.reaction import BetweenTicks
from runner.feed.source import FeedExchange, FeedUrls, MarketFeed
from runner.service.runtime import assemble
from runner.service.settings import Environment, Secret, Settings
from runner.sim.server import SimServer
from runner.sim.venue import SimVenue
from runner.strategy import load_strategies

KEY, SECRET = "reaction-key", "reaction-secret"
STRATEGY = """\
version: 1
name: reaction_probe
description: a small strangle entered at once and closed when the index moves 1 %
enabled: true
underlying: BTC
structure:
  type: strangle
  side: buy
  qty: 0.01
  expiry: {dte: 1}
  call: {delta: 0.15}
  put: {delta: -0.15}
timing:
  check_interval: 1s
  max_concurrent_trades: 1
  max_trades_per_day: 1
  max_attempts_per_day: 1
execution:
  open: {mode: limit, fill_timeout: 30s, requote_rounds: 20, aggressive_buffer_pct: 5}
  close: {mode: limit, fill_timeout: 30s, requote_rounds: 20, aggressive_buffer_pct: 5}
exits:
  - index_move: {pct: 1}
  - max_hold: 1h
"""


class RecordingVenue:
    """The simulated venue, noting when each order arrives (monotonic seconds)."""

    def __init__(self, venue: SimVenue) -> None:
        self._venue = venue
        self.orders: list[tuple[float, OrderRequest]] = []

    def place_order(self, request: OrderRequest) -> int:
        self.orders.append((time.monotonic(), request))
        return self._venue.place_order(request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._venue, name)

    def closes_after(self, moment: float) -> list[float]:
        return [at for at, request in self.orders if request.reduce_only and at >= moment]


@dataclass
class RunningService:
    """The loop thread and what it told: trade stages and the end of every tick."""

    stages: list[str] = field(default_factory=list)
    ticks_done: list[float] = field(default_factory=list)
    reaction: BetweenTicks | None = None
    error: BaseException | None = None
    service: Any = None
    ready: threading.Event = field(default_factory=threading.Event)

    def listen(self, kind: str, data: dict[str, object]) -> None:
        if kind == "trade_stage":
            self.stages.append(str(data["stage"]))


def serve_venue(seed: int = 3) -> tuple[SimServer, RecordingVenue]:
    clock = SystemClock()
    recorder = RecordingVenue(SimVenue(clock, seed=seed))
    server = SimServer(recorder, KEY, SECRET, clock, rate_limits=False)  # type: ignore[arg-type]
    return server.start(), recorder


def run_service(tmp_path: Path, server: SimServer, *, tick: float, feed: bool,
                timing: Timing | None = None) -> tuple[threading.Thread, RunningService]:
    """Start the loop thread; `feed` switches the WebSocket feed and the reaction on."""
    running = RunningService()
    strategy = tmp_path / "probe.yaml"
    strategy.write_text(STRATEGY, encoding="utf-8")

    def loop() -> None:
        try:
            _loop(tmp_path, server, strategy, running, tick, feed, timing)
        except BaseException as error:  # the test reads it
            running.error = error
            running.ready.set()

    thread = threading.Thread(target=loop, name="service-under-test", daemon=True)
    thread.start()
    return thread, running


def _loop(tmp_path: Path, server: SimServer, strategy: Path, running: RunningService,
          tick: float, feed: bool, timing: Timing | None) -> None:
    clock = SystemClock()
    rest = CoincallClient(base_url=server.base_url, api_key=Secret(KEY),
                          api_secret=Secret(SECRET), clock=clock)
    exchange: Any = rest
    market: MarketFeed | None = None
    if feed:
        root = server.base_url.replace("http://", "ws://")
        market = MarketFeed(FeedUrls(f"{root}/options", f"{root}/futures"), PriceCache(2.0),
                            timing).start()
        exchange = FeedExchange(rest, market, clock)
    settings = Settings(Environment.TESTNET, server.base_url, Secret(KEY), Secret(SECRET),
                        tmp_path / "logs", tmp_path / "state")
    runtime = assemble(settings, list(load_strategies([strategy]).specs), clock=clock,
                       exchange=exchange, launch=datetime.now(UTC),
                       store_path=tmp_path / "state" / "runner.db", listener=running.listen)
    service = running.service = runtime.service
    if market is not None:
        running.reaction = BetweenTicks(service, exchange, clock,
                                        lambda: service.stop_requested)
        service.between_ticks = running.reaction.pause
    running.ready.set()
    try:
        service.run(tick, on_tick=lambda _report: running.ticks_done.append(time.monotonic()))
    finally:
        service.cancel_working_orders()
        runtime.store.close()
        if market is not None:
            market.stop()


def wait(what: str, check: Any, seconds: float, running: RunningService) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if running.error is not None:
            raise AssertionError(f"the service failed while waiting for {what}") \
                from running.error
        if check():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def cross_index_after_a_tick(server: SimServer, recorder: RecordingVenue,
                             running: RunningService, move: str = "1.03") -> float:
    """Once the trade is open, right after a tick ends, jump the index by `move`; return
    the moment (monotonic) of the jump."""
    from decimal import Decimal

    from runner.domain.instruments import Underlying

    wait("the trade to open", lambda: "open" in running.stages, 60, running)
    ticks = len(running.ticks_done)
    wait("the next tick to end", lambda: len(running.ticks_done) > ticks, 30, running)
    index = recorder.index_price(Underlying.BTC)
    crossed = time.monotonic()
    recorder.set_index(Underlying.BTC, (index * Decimal(move)).quantize(Decimal("0.01")))
    return crossed
