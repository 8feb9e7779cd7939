"""A fault campaign: the real service over a faulty simulated venue for hours of simulated time.

`campaign_plan(rate)` injects, at `rate` each on every request: HTTP 5xx, timeouts (held
2 s of the clock), rate limits and malformed answers (the call performed, the answer
spoiled); on writes (place, cancel, accept, create/cancel RFQ) lost answers (performed,
no answer) at `rate`; and now and then a price freeze of a couple of minutes (lessons C1).

`run_campaign(...)` assembles the service on `FaultyExchange(SimVenue)` exactly like
`runner simulate --faults`, runs it, then lifts the faults and lets every execution
finish at a quiet moment, and returns figures plus the invariant audit of
`tests.crash.helpers_audit` (no unknown order or fill, no orphan, fills equal on both
sides, positions explained, limits kept, fees booked once, and no strategy opening while
an older trade of it holds legs from a failed close) and whatever is still in flight.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from runner.service.runtime import Runtime
from runner.service.tick_report import TickReport, TooManyFailures
from runner.sim.faults import FaultKind, FaultPlan, FaultRule
from runner.sim.faulty import FaultyExchange
from tests.crash.helpers_audit import audit, in_flight
from tests.crash.helpers_crash import MICRO, RFQ, START, World, load_specs
from tests.feed.helpers_ws_campaign import FeedFigures, WsCampaign

WRITES = ("place_order", "cancel_order", "accept_quote", "create_rfq", "cancel_rfq")

# micro_strangle-like, but trading all day long (every 10 minutes) so that hours of faults
# meet many opens and closes, on the next day's expiry (the nearest one, minutes before
# 08:00, has no bids at all: closes cannot fill whatever the faults, see R-C4); and the
# rfq_endurance-like cycles.
BUSY_MICRO = MICRO.replace("max_trades_per_day: 2", "max_trades_per_day: 200").replace(
    "max_attempts_per_day: 4", "max_attempts_per_day: 400").replace(
    "cooldown: 10s", "cooldown: 10m").replace("expiry: {next: true}", "expiry: {dte: 1}")
BUSY_RFQ = RFQ.replace("count: 2", "count: 60").replace(
    "max_trades_per_day: 3", "max_trades_per_day: 200").replace(
    "max_attempts_per_day: 6", "max_attempts_per_day: 400")


def campaign_plan(rate: float = 0.03, seed: int = 7) -> FaultPlan:
    rules = [FaultRule(endpoint=name, kind=FaultKind.LOST_RESPONSE, probability=rate,
                       seconds=1) for name in WRITES]
    rules += [
        FaultRule(endpoint="*", kind=FaultKind.HTTP_5XX, probability=rate),
        FaultRule(endpoint="*", kind=FaultKind.TIMEOUT, probability=rate, seconds=2),
        FaultRule(endpoint="*", kind=FaultKind.RATE_LIMIT, probability=rate),
        FaultRule(endpoint="*", kind=FaultKind.MALFORMED, probability=rate),
        FaultRule(endpoint="index_price", kind=FaultKind.FREEZE_PRICES, probability=0.0005,
                  seconds=120),
    ]
    return FaultPlan(rules, seed)


@dataclass(slots=True)
class CampaignResult:
    hours: float
    ticks: int = 0
    wall_s: float = 0.0
    crashed: str | None = None  # TooManyFailures, or any exception that escaped the loop
    faults_fired: int = 0
    freezes_fired: int = 0
    alerts: list[str] = field(default_factory=list)
    concerns: list[str] = field(default_factory=list)  # raised, with blocks_entries
    errors: list[str] = field(default_factory=list)
    failed_ticks: int = 0
    trades: dict[str, dict[str, int]] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    in_flight: list[str] = field(default_factory=list)
    feed: FeedFigures | None = None  # WebSocket mode: its figures

    def lines(self) -> list[str]:
        return [
            f"simulated {self.hours:g} h in {self.wall_s:.1f} s wall ({self.ticks} ticks)",
            f"faults fired: {self.faults_fired} (+{self.freezes_fired} price freezes)",
            f"trades: {self.trades}",
            f"alerts: {len(self.alerts)}, entry-blocking concerns raised: {len(self.concerns)},"
            f" strategy errors: {len(self.errors)},"
            f" failed ticks: {self.failed_ticks}, loop crashed: {self.crashed}",
            f"invariant violations: {len(self.violations)}, in flight at the end:"
            f" {len(self.in_flight)}",
            *[f"  VIOLATION {v}" for v in self.violations],
            *[f"  IN FLIGHT {v}" for v in self.in_flight],
            *(self.feed.lines() if self.feed is not None else []),
        ]


def with_fill_timeout(text: str, seconds: int | None) -> str:
    """A strategy text whose limit executions (and RFQ fallbacks) use this fill timeout."""
    if seconds is None:
        return text
    return text.replace("fill_timeout: 30s", f"fill_timeout: {seconds}s")


def run_campaign(directory: Path, *, hours: float, tick: timedelta, rate: float = 0.03,
                 seed: int = 7, start: datetime = START, micro: str = BUSY_MICRO,
                 fill_timeout_s: int | None = None, feed: str = "rest") -> CampaignResult:
    """Hours of both strategies under faults; then faults off until a quiet moment.

    `fill_timeout_s`: a short fill timeout for every limit execution (issue 7: one lost
    close order used to consume a short close budget and fail the trade holding a leg).
    `feed="ws"`: prices pushed over the simulator's WebSocket with its own faults
    (tests/feed/helpers_ws_campaign.py), its invariants added to the violations.
    """
    specs = load_specs(directory / "strategies", with_fill_timeout(micro, fill_timeout_s),
                       with_fill_timeout(BUSY_RFQ, fill_timeout_s))
    world = World(specs, directory / "state", seed=seed)
    world.clock.set(start)
    plan = campaign_plan(rate, seed)
    faulty = FaultyExchange(world.venue, plan, world.clock)
    result = CampaignResult(hours=hours)

    def collect(report: TickReport) -> None:
        result.alerts.extend(report.alerts)
        result.errors.extend(f"{name}: {error}" for name, error in report.strategy_errors)

    def on_event(kind: str, data: dict[str, object]) -> None:
        if kind == "tick_failed":
            result.failed_ticks += 1
            result.errors.append(f"tick failed: {data.get('error')}")
        elif kind == "concern_raised" and data.get("blocks_entries"):
            result.concerns.append(f"{data.get('key')}: {data.get('text')}")

    began = time.perf_counter()
    ws = WsCampaign(world.venue, world.clock, seed) if feed == "ws" else None
    runtime = world.start(ws.exchange(faulty) if ws else faulty, listener=on_event)
    service = runtime.service
    if ws is not None:
        ws.attach(service)
    try:
        service.run(tick.total_seconds(), on_tick=collect,
                    until=start + timedelta(hours=hours))
    except TooManyFailures as error:
        result.crashed = repr(error)
    fired = plan.fired()
    result.freezes_fired = fired[-1]
    result.faults_fired = sum(fired[:-1])
    plan.clear()
    if ws is not None:
        ws.lift()
    _settle(runtime, tick, collect)
    if ws is not None:
        result.feed = ws.close()
        result.violations += result.feed.violations
    result.wall_s = time.perf_counter() - began
    result.ticks = service.ticks
    store = runtime.store
    result.violations = audit(world.venue, store, specs)
    result.in_flight = in_flight(store, world.venue)
    for trade in store.load_trades():
        counts = result.trades.setdefault(trade.strategy, {})
        counts[trade.stage.value] = counts.get(trade.stage.value, 0) + 1
    store.close()
    return result


def _settle(runtime: Runtime, tick: timedelta,
            collect: Callable[[TickReport], None]) -> None:
    """Faults lifted: run on until nothing is active (at most two simulated hours)."""
    clock = runtime.clock
    limit = clock.now() + timedelta(hours=2)
    while clock.now() < limit:
        runtime.service.run(tick.total_seconds(), on_tick=collect,
                            until=clock.now() + timedelta(seconds=30))
        store = runtime.store
        if not store.load_active_trades() and not store.live_orders() \
                and not store.active_rfqs():
            return
