"""Benchmark (on demand, not collected): REST calls per minute the service sends, by situation.

Run: `PYTHONPATH=$PWD python tests/bench/rest_calls.py [--minutes 10] [--tick 2] [--only idle]`

The service is assembled as `runner run` assembles it, on the real Coincall REST adapter
(`CoincallClient`: signing, envelope, its client-side limiter and instrument cache), talking
over loopback HTTP to the simulator's server (`SimServer`, the server `runner sim-server`
runs, rate limits on). Both sides share one manual clock, so simulated minutes pass in
seconds and the figures are deterministic; every HTTP request the adapter sends is counted
by path. The tick is the live default (2 s).

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
import logging
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

from runner.domain.clock import ManualClock
from runner.domain.trades import TradeStage
from runner.exchange.coincall.client import CoincallClient
from runner.exchange.coincall.rfq_bodies import MEMORY_FILE as RFQ_BODY_MEMORY_FILE
from runner.service.runtime import Runtime, assemble
from runner.service.settings import Environment, Secret, Settings
from runner.sim.server import SimServer
from runner.sim.venue import SimVenue
from runner.strategy import load_strategies
from runner.strategy.model import MaxHoldExit, MaxLossPctExit, PriceBasis, StrategySpec

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
KEY, SECRET = "bench-key", "bench-secret"


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
    minutes: float
    counter: Counter[str]
    throttled: int
    trades: int
    wall_s: float

    @property
    def per_minute(self) -> float:
        return sum(self.counter.values()) / self.minutes

    def lines(self) -> list[str]:
        head = (f"{self.name:15s} {self.per_minute:7.1f} calls/min over {self.minutes:g} min"
                f" (trades {self.trades}, throttled {self.throttled}, {self.wall_s:.1f} s wall)")
        busiest = sorted(self.counter.items(), key=lambda item: -item[1])[:6]
        return [head, *(f"    {count / self.minutes:6.1f}/min {path}" for path, count in busiest)]


def measure(situation: Situation, minutes: float, tick: float, scratch: Path) -> Figures:
    """Run the situation over HTTP; count the requests of `minutes` once it is reached."""
    began = time.perf_counter()
    clock = ManualClock(START)
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
        runtime = assemble(settings, situation.specs(), clock=clock, exchange=client,
                           launch=clock.now())
        service = runtime.service
        deadline = clock.now() + timedelta(hours=1)
        while not situation.ready(runtime) and clock.now() < deadline:
            service.safe_tick()
            clock.sleep(tick)
        counter.clear()
        until = clock.now() + timedelta(minutes=minutes)
        service.run(tick, until=until)
        trades = len(runtime.store.load_trades())
        runtime.store.close()
        client.close()
        throttled = server.throttled
    return Figures(situation.name, minutes, Counter(counter), throttled, trades,
                   time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--tick", type=float, default=2.0)
    parser.add_argument("--only", action="append", default=[],
                        help="run only this situation (repeatable)")
    args = parser.parse_args()
    logging.getLogger("runner").setLevel(logging.ERROR)
    for situation in SITUATIONS:
        if args.only and situation.name not in args.only:
            continue
        minutes = 13.0 if situation.name == "rfq_endurance" else args.minutes
        with tempfile.TemporaryDirectory(prefix="rest-calls-") as scratch:
            figures = measure(situation, minutes, args.tick, Path(scratch))
        print("\n".join(figures.lines()), flush=True)


if __name__ == "__main__":
    main()
