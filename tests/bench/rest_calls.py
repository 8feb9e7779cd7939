"""Benchmark (on demand, not collected): REST calls per minute the service sends, by situation.

Run: `PYTHONPATH=$PWD python tests/bench/rest_calls.py [--minutes 10] [--ws-minutes 5]
[--tick 2] [--mode both|rest|ws] [--only idle]`

The service is assembled as `runner run` assembles it, on the real Coincall REST adapter
(`CoincallClient`: signing, envelope, its client-side limiter and instrument cache), talking
over loopback HTTP to the simulator's server (`SimServer`, the server `runner sim-server`
runs, rate limits on); every HTTP request the adapter sends is counted by path. The tick is
the live default (2 s). Each situation is measured in two modes:
- REST (the default market data): both sides share one manual clock, so simulated
  minutes pass in seconds and the figures are deterministic;
- WS (`RUNNER_MARKET_FEED=ws`): the feed is attached as `runner run` attaches it
  (`attach_feed`, the reaction between ticks included) to the sim-server's own WebSocket
  feed. A pushed price's freshness is wall time, so this mode runs in real time (a clock
  that starts at the same simulated moment and runs at wall speed); each situation runs
  in its own process, all at once, for `--ws-minutes` (rfq_endurance: its 13 minutes).
  It also says how many market reads the feed served and how many fell back to REST.

`--mode both` (the default) ends with a side-by-side table ready for the README.

Situations (issue 11):
- idle: rfq_endurance whose first window opens 4 h after launch, no trade open;
- holding: one micro_strangle strangle held (its max_hold made a day), counted from the
  moment it is OPEN; "holding, stop" adds a 90 % loss stop on the fair price, so its
  legs' chain is read every tick;
- trading: micro_strangle trading continuously (no daily limit; its 10 s hold, 10 s cooldown);
- rfq_endurance: the live file, its first 13 minutes;
- ten strategies: ten copies of micro_strangle as shipped (two round trips a day each).

Prints calls per minute for each, the busiest paths, and the throttled answers (must be 0).
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from runner.domain.clock import Clock, ManualClock
from runner.domain.trades import TradeStage
from runner.exchange.coincall.client import CoincallClient
from runner.exchange.coincall.rfq_bodies import MEMORY_FILE as RFQ_BODY_MEMORY_FILE
from runner.service.feed_choice import FeedChoice
from runner.service.feed_wiring import AttachedFeed, attach_feed
from runner.service.runtime import Runtime, assemble
from runner.service.settings import Environment, Secret, Settings
from runner.sim.server import SimServer
from runner.sim.venue import SimVenue
from runner.strategy import load_strategies
from runner.strategy.model import MaxHoldExit, MaxLossPctExit, PriceBasis, StrategySpec

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
KEY, SECRET = "bench-key", "bench-secret"
RFQ_MINUTES = 13.0  # rfq_endurance is measured over its first 13 minutes


class WallClock:
    """Real time from START: the simulated day of the REST mode, at wall speed (WS mode)."""

    def __init__(self, start: datetime) -> None:
        self._start = start
        self._began = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._began)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class CountingSession(requests.Session):
    """Counts every request the adapter sends, by path."""

    def __init__(self, counter: Counter[str]) -> None:
        super().__init__()
        self._counter = counter

    def request(self, method: str | bytes, url: str | bytes, *args: Any,
                **kwargs: Any) -> requests.Response:
        path = urlsplit(url if isinstance(url, str) else url.decode()).path
        self._counter[_family(path)] += 1
        return super().request(method, url, *args, **kwargs)


def _family(path: str) -> str:
    """The path without its per-symbol or per-index tail (one line per endpoint)."""
    for head in ("/open/option/get/v1/", "/open/option/detail/v1/",
                 "/open/option/order/orderbook/v1/", "/open/option/getInstruments/"):
        if path.startswith(head):
            return head + "*"
    return path


def shipped() -> dict[str, StrategySpec]:
    files = [ROOT / "strategies.d" / name for name in
             ("micro_strangle.yaml", "rfq_endurance.yaml", "profiles.yaml")]
    return {spec.name: spec for spec in load_strategies(files).specs}


def idle_specs() -> list[StrategySpec]:
    rfq = shipped()["rfq_endurance"]
    assert rfq.schedule is not None
    later = replace(rfq.schedule, first_open_after=timedelta(hours=4))  # type: ignore[arg-type]
    return [replace(rfq, schedule=later)]


def holding_specs() -> list[StrategySpec]:
    micro = shipped()["micro_strangle"]
    return [replace(micro, exits=(MaxHoldExit(limit=timedelta(days=1)),))]


def holding_priced_specs() -> list[StrategySpec]:
    """Held with a loss stop on the fair price: the legs' chain is read every tick."""
    micro = shipped()["micro_strangle"]
    stop = MaxLossPctExit(pct=Decimal(90), basis=PriceBasis.FAIR)
    return [replace(micro, exits=(stop, MaxHoldExit(limit=timedelta(days=1))))]


def trading_specs() -> list[StrategySpec]:
    micro = shipped()["micro_strangle"]
    timing = replace(micro.timing, max_trades_per_day=10_000, max_attempts_per_day=10_000)
    return [replace(micro, timing=timing)]


def rfq_specs() -> list[StrategySpec]:
    return [shipped()["rfq_endurance"]]


def ten_specs() -> list[StrategySpec]:
    micro = shipped()["micro_strangle"]
    return [replace(micro, name=f"micro_strangle_{n}") for n in range(10)]


@dataclass(frozen=True, slots=True)
class Situation:
    name: str
    specs: Callable[[], list[StrategySpec]]
    # Counting starts once this holds (the service is warm, the situation reached).
    ready: Callable[[Runtime], bool] = lambda _runtime: True


def _holding(runtime: Runtime) -> bool:
    trades = runtime.store.load_active_trades()
    return bool(trades) and all(t.stage is TradeStage.OPEN for t in trades) \
        and not runtime.store.live_orders()


SITUATIONS = (
    Situation("idle", idle_specs),
    Situation("holding", holding_specs, _holding),
    Situation("holding, stop", holding_priced_specs, _holding),
    Situation("trading", trading_specs),
    Situation("rfq_endurance", rfq_specs),
    Situation("ten strategies", ten_specs),
)


@dataclass(slots=True)
class Figures:
    name: str
    mode: str  # "rest" or "ws"
    minutes: float
    counter: Counter[str]
    throttled: int
    trades: int
    wall_s: float
    served: int = 0  # WS mode: market reads the feed answered
    fell_back: int = 0  # WS mode: market reads that found no fresh push and went to REST

    @property
    def per_minute(self) -> float:
        return sum(self.counter.values()) / self.minutes

    def lines(self) -> list[str]:
        head = (f"{self.name:15s} {self.mode:4s} {self.per_minute:7.1f} calls/min over"
                f" {self.minutes:g} min (trades {self.trades}, throttled {self.throttled},"
                f" {self.wall_s:.1f} s wall")
        head += (f"; feed served {self.served} reads, {self.fell_back} fell back to REST)"
                 if self.mode == "ws" else ")")
        busiest = sorted(self.counter.items(), key=lambda item: -item[1])[:8]
        return [head, *(f"    {count / self.minutes:6.1f}/min {path}" for path, count in busiest)]

    def to_json(self) -> str:
        return json.dumps({"name": self.name, "mode": self.mode, "minutes": self.minutes,
                           "counter": dict(self.counter), "throttled": self.throttled,
                           "trades": self.trades, "wall_s": self.wall_s,
                           "served": self.served, "fell_back": self.fell_back})

    @classmethod
    def from_json(cls, text: str) -> Figures:
        data = json.loads(text)
        return cls(data["name"], data["mode"], data["minutes"], Counter(data["counter"]),
                   data["throttled"], data["trades"], data["wall_s"], data["served"],
                   data["fell_back"])


def measure(situation: Situation, minutes: float, tick: float, scratch: Path,
            mode: str = "rest") -> Figures:
    """Run the situation over HTTP; count the requests of `minutes` once it is reached."""
    began = time.perf_counter()
    clock: Clock = WallClock(START) if mode == "ws" else ManualClock(START)
    venue = SimVenue(clock, seed=1)
    counter: Counter[str] = Counter()
    with SimServer(venue, KEY, SECRET, clock) as server:
        client = CoincallClient(
            base_url=server.base_url, api_key=Secret(KEY), api_secret=Secret(SECRET),
            clock=clock, sleep=clock.sleep,
            rfq_body_memory=scratch / RFQ_BODY_MEMORY_FILE,
            session_factory=lambda: CountingSession(counter))
        settings = Settings(environment=Environment.PAPER, base_url=None, api_key=None,
                            api_secret=None, log_dir=scratch / "logs", state_dir=scratch)
        feed = _feed(server, settings, client, clock) if mode == "ws" else None
        runtime = assemble(settings, situation.specs(), clock=clock,
                           exchange=feed.exchange if feed else client, launch=clock.now())
        service = runtime.service
        if feed is not None:  # a push that makes an exit due ends the wait, as in `runner run`
            feed.react(service, clock, lambda: service.stop_requested)
        try:
            deadline = clock.now() + timedelta(hours=1)
            while not situation.ready(runtime) and clock.now() < deadline:
                service.safe_tick()
                clock.sleep(tick)
            counter.clear()
            before = _feed_reads(feed)
            until = clock.now() + timedelta(minutes=minutes)
            service.run(tick, until=until)
            served, fell_back = (after - first for after, first in zip(
                _feed_reads(feed), before, strict=True))
        finally:
            if feed is not None:
                feed.stop()
        trades = len(runtime.store.load_trades())
        runtime.store.close()
        client.close()
        throttled = server.throttled
    return Figures(situation.name, mode, minutes, Counter(counter), throttled, trades,
                   time.perf_counter() - began, served, fell_back)


def _feed(server: SimServer, settings: Settings, client: CoincallClient,
          clock: Clock) -> AttachedFeed:
    """`RUNNER_MARKET_FEED=ws` against the sim-server's own WebSocket (unsigned, public)."""
    url = server.base_url.replace("http://", "ws://") + "/options"
    feed = attach_feed(FeedChoice(enabled=True, url=url), settings, client, clock)
    assert feed is not None
    return feed


def _feed_reads(feed: AttachedFeed | None) -> tuple[int, int]:
    if feed is None:
        return 0, 0
    counters = feed.feed.cache.counters
    return counters.served, counters.fell_back


def _minutes(situation: Situation, minutes: float) -> float:
    return RFQ_MINUTES if situation.name == "rfq_endurance" else minutes


def _one(situation: Situation, minutes: float, tick: float, mode: str) -> Figures:
    with tempfile.TemporaryDirectory(prefix=f"rest-calls-{mode}-") as scratch:
        return measure(situation, _minutes(situation, minutes), tick, Path(scratch), mode)


def _start_ws(situation: Situation, args: argparse.Namespace) -> subprocess.Popen[str]:
    """One situation in WS mode, in a process of its own (they run in real time)."""
    command = [sys.executable, __file__, "--child", "--mode", "ws", "--only", situation.name,
               "--ws-minutes", str(args.ws_minutes), "--tick", str(args.tick)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


def table(rest: dict[str, Figures], ws: dict[str, Figures]) -> list[str]:
    """The side-by-side table, calls per minute, ready for the README."""
    def cell(figures: Figures | None) -> str:
        return "-" if figures is None else f"{figures.per_minute:.0f}"
    lines = ["| situation | REST mode | WS mode |", "|---|---|---|"]
    lines += [f"| {LABELS[s.name]} | {cell(rest.get(s.name))} | {cell(ws.get(s.name))} |"
              for s in SITUATIONS if s.name in rest or s.name in ws]
    return lines


LABELS = {"idle": "idle, next window hours away",
          "holding": "holding one strangle (time exits)",
          "holding, stop": "holding one strangle with a loss stop",
          "trading": "one micro_strangle trading continuously",
          "rfq_endurance": "rfq_endurance, first 13 minutes",
          "ten strategies": "ten micro_strangle copies"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="REST mode (simulated)")
    parser.add_argument("--ws-minutes", type=float, default=5.0, help="WS mode (real time)")
    parser.add_argument("--tick", type=float, default=2.0)
    parser.add_argument("--mode", choices=("both", "rest", "ws"), default="both")
    parser.add_argument("--only", action="append", default=[],
                        help="run only this situation (repeatable)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.getLogger("runner").setLevel(logging.ERROR)
    from loguru import logger
    logger.remove()  # the feed's own log lines would drown the figures
    chosen = [s for s in SITUATIONS if not args.only or s.name in args.only]
    if args.child:
        print(_one(chosen[0], args.ws_minutes, args.tick, "ws").to_json(), flush=True)
        return
    children = ({s.name: _start_ws(s, args) for s in chosen}
                if args.mode in ("both", "ws") else {})
    rest: dict[str, Figures] = {}
    if args.mode in ("both", "rest"):
        for situation in chosen:
            rest[situation.name] = _one(situation, args.minutes, args.tick, "rest")
            print("\n".join(rest[situation.name].lines()), flush=True)
    ws: dict[str, Figures] = {}
    for name, child in children.items():
        out, _ = child.communicate()
        if child.returncode != 0 or not out.strip():
            print(f"{name} ws: the measuring process failed ({child.returncode})", flush=True)
            continue
        ws[name] = Figures.from_json(out.strip().splitlines()[-1])
        print("\n".join(ws[name].lines()), flush=True)
    print("\n".join(["", f"REST calls per minute ({args.tick:g} s ticks; REST mode over"
                      f" {args.minutes:g} simulated minutes, WS mode over {args.ws_minutes:g}"
                      " real minutes; rfq_endurance over its first 13):", *table(rest, ws)]))


if __name__ == "__main__":
    main()
