"""A campaign over HTTP: the real service, the real REST adapter, a throttling sim-server.

Issue 8, "Done means": the campaigns pass with the simulator's defaults (taker key, JSON
RFQ bodies, rate limits on) and in the FORM world, and (item 5) go through the venue that
throttles without tripping it. The in-process campaigns (tests/faults, tests/crash) run
on `SimVenue` directly; this one assembles the service exactly as `runner run` does, on
a `CoincallClient` (signing, envelope, retries, client-side limiter, RFQ body
negotiation with its memory in the state directory) talking to an in-thread `SimServer`
on loopback with its throttle on, a taker key and `rfq_body` JSON or FORM. Both sides
share one `ManualClock`: the venue's market, its throttle windows and signature window,
the client's timestamps, its limiter and its retry back-offs all read it, and every wait
(tick sleeps, limiter waits, back-offs) advances it, so hours pass in seconds.

Faults are the fault campaign's plan (`tests.faults.helpers_faults.campaign_plan`), fired
on the wire by the server: HTTP 5xx, timeouts (the connection held past the client's
read timeout, nothing performed), injected 10605 answers, answers cut in half (the action
performed), lost answers on every write (performed, connection dropped) and rare price
freezes. Held connections cost real time, so they are held just past the client's read
timeout.

`--kills`: the service is dropped like SIGKILL at a random call of the adapter (before or
after the request went out) or service event, then a new runtime and a new client are
assembled on the same store file after a random downtime, as the crash harness does in
process. The venue and the server survive, as the exchange would.

Checked: the audit of tests.crash.helpers_audit after every restart and at the end (no
unknown order, no orphan, fills and fees booked once, positions explained, limits kept,
no pile-up behind a failed close), no open over unexplained positions (OpenWatch), and
the venue's `throttled == 0` and `internal_errors == 0`.

`feed="ws"` (issue 11): every process also reads prices pushed over the same server's
WebSocket, on the shared clock, with its own faults (tests/feed/helpers_ws_campaign.py).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from runner.exchange.coincall.client import CoincallClient
from runner.exchange.coincall.http import Timeouts
from runner.exchange.coincall.rfq_bodies import MEMORY_FILE as RFQ_BODY_MEMORY_FILE
from runner.service.runtime import Runtime
from runner.service.settings import Secret
from runner.service.tick_report import TickReport, TooManyFailures
from runner.sim.faults import FaultKind, FaultPlan, FaultRule
from runner.sim.server import SimServer
from runner.sim.wire_in import BodyKind
from tests.crash.helpers_audit import audit, in_flight
from tests.crash.helpers_crash import (
    START,
    Killed,
    KillingExchange,
    KillPoint,
    World,
    hard_kill,
    load_specs,
)
from tests.crash.helpers_damage import OpenWatch
from tests.faults.helpers_faults import BUSY_MICRO, BUSY_RFQ, WRITES
from tests.feed.helpers_ws_campaign import FeedFigures, WsCampaign

KEY = "http-campaign-key"
SECRET = "http-campaign-secret"
BODIES = {"json": BodyKind.JSON, "form": BodyKind.FORM}
# Adapter calls (and service events) a kill may land on; the write paths weigh double.
KILL_POINTS = ("place_order", "place_order", "cancel_order", "get_order", "open_orders",
               "fills", "positions", "create_rfq", "create_rfq", "rfq_quotes",
               "accept_quote", "accept_quote", "cancel_rfq", "block_trades",
               "event:trade_created", "event:trade_stage")
READ_TIMEOUT_S = 0.25  # real seconds; a TIMEOUT fault holds the connection a little longer


def http_plan(rate: float, seed: int, read_timeout: float = READ_TIMEOUT_S) -> FaultPlan:
    """The fault campaign's plan, with connections held just past the client's patience."""
    rules = [FaultRule(endpoint=name, kind=FaultKind.LOST_RESPONSE, probability=rate)
             for name in WRITES]
    rules += [
        FaultRule(endpoint="*", kind=FaultKind.HTTP_5XX, probability=rate),
        FaultRule(endpoint="*", kind=FaultKind.TIMEOUT, probability=rate,
                  seconds=read_timeout + 0.1),
        FaultRule(endpoint="*", kind=FaultKind.RATE_LIMIT, probability=rate),
        FaultRule(endpoint="*", kind=FaultKind.MALFORMED, probability=rate),
        FaultRule(endpoint="index_price", kind=FaultKind.FREEZE_PRICES, probability=0.0005,
                  seconds=120),
    ]
    return FaultPlan(rules, seed)


class CountingSession(requests.Session):
    """A requests session that counts what the adapter sends (shared counter)."""

    def __init__(self, counter: Counter[str]) -> None:
        super().__init__()
        self._counter = counter

    def request(self, method: str | bytes, url: str | bytes, *args: Any,
                **kwargs: Any) -> requests.Response:
        self._counter["requests"] += 1
        return super().request(method, url, *args, **kwargs)


@dataclass(slots=True)
class HttpCampaignResult:
    hours: float
    rfq_body: str
    kills_planned: int = 0
    kills_landed: int = 0
    restarts: int = 0
    failed_starts: int = 0
    ticks: int = 0
    wall_s: float = 0.0
    requests: int = 0
    faults_fired: int = 0
    freezes_fired: int = 0
    throttled: int = 0
    throttled_by_class: dict[str, int] = field(default_factory=dict)
    internal_errors: int = 0
    encoding_learnt: str = ""
    crashed: str | None = None
    failed_ticks: int = 0
    alerts: list[str] = field(default_factory=list)
    concerns: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    trades: dict[str, dict[str, int]] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    in_flight: list[str] = field(default_factory=list)
    feed: FeedFigures | None = None  # WebSocket mode: its figures

    def broken(self) -> bool:
        return bool(self.violations or self.in_flight or self.crashed or self.throttled
                    or self.internal_errors)

    def lines(self) -> list[str]:
        return [
            f"RFQ body world: {self.rfq_body} (adapter ended on {self.encoding_learnt})",
            f"simulated {self.hours:g} h in {self.wall_s:.1f} s wall ({self.ticks} ticks)",
            f"requests: {self.requests}, faults fired: {self.faults_fired}"
            f" (+{self.freezes_fired} price freezes)",
            f"throttled answers: {self.throttled} {self.throttled_by_class or ''},"
            f" internal errors: {self.internal_errors}",
            f"kills: {self.kills_landed} landed of {self.kills_planned} planned,"
            f" restarts: {self.restarts}, starts failed and retried: {self.failed_starts}",
            f"trades: {self.trades}",
            f"alerts: {len(self.alerts)}, entry-blocking concerns raised: {len(self.concerns)},"
            f" strategy errors: {len(self.errors)}, failed ticks: {self.failed_ticks},"
            f" loop crashed: {self.crashed}",
            f"invariant violations: {len(self.violations)}, in flight at the end:"
            f" {len(self.in_flight)}",
            *[f"  VIOLATION {v}" for v in self.violations],
            *[f"  IN FLIGHT {v}" for v in self.in_flight],
            *(self.feed.lines() if self.feed is not None else []),
        ]


@dataclass(slots=True)
class _Campaign:
    """The surviving side (venue, server, store file, clock) and the figures so far."""

    world: World
    server: SimServer
    result: HttpCampaignResult
    watch: OpenWatch
    counter: Counter[str]
    tick: timedelta
    read_timeout: float
    rest: CoincallClient | None = None
    ws: WsCampaign | None = None

    def client(self) -> CoincallClient:
        self.rest = CoincallClient(
            base_url=self.server.base_url, api_key=Secret(KEY), api_secret=Secret(SECRET),
            clock=self.world.clock, sleep=self.world.clock.sleep,
            timeouts=Timeouts(connect=1.0, read=self.read_timeout),
            rfq_body_memory=self.world.state_dir / RFQ_BODY_MEMORY_FILE,
            session_factory=lambda: CountingSession(self.counter))
        return self.rest

    def start(self, exchange: Any) -> Runtime:
        """Assemble as a fresh process would; a start the faults break is tried again."""
        if self.ws is not None:
            exchange = self.ws.exchange(exchange)
        for _ in range(20):
            try:
                runtime = self.world.start(exchange, listener=self.watch)
            except Exception as error:  # the process would exit and be restarted
                self.result.failed_starts += 1
                self.result.errors.append(f"start failed: {error!r}")
                self.world.clock.advance(timedelta(seconds=5))
                continue
            self.watch.runtime = runtime
            if self.ws is not None:
                self.ws.attach(runtime.service)
            return runtime
        raise RuntimeError("20 starts in a row failed")

    def collect(self, report: TickReport) -> None:
        self.result.alerts.extend(report.alerts)
        self.result.errors.extend(f"{name}: {error}" for name, error in report.strategy_errors)

    def on_event(self, kind: str, data: dict[str, object]) -> None:
        if kind == "tick_failed":
            self.result.failed_ticks += 1
            self.result.errors.append(f"tick failed: {data.get('error')}")
        elif kind == "concern_raised" and data.get("blocks_entries"):
            self.result.concerns.append(f"{data.get('key')}: {data.get('text')}")

    def run(self, runtime: Runtime, until: datetime) -> bool:
        """Tick until `until`; True when a kill landed on the way."""
        try:
            runtime.service.run(self.tick.total_seconds(), on_tick=self.collect, until=until)
        except Killed:
            return True
        except TooManyFailures as error:
            self.result.crashed = repr(error)
        return False

    def drop(self, runtime: Runtime) -> None:
        """SIGKILL: the store as committed, the client's connections gone."""
        self.result.ticks += runtime.service.ticks
        hard_kill(runtime)
        if self.rest is not None:
            self.rest.close()
        if self.ws is not None:
            self.ws.kill()


@contextmanager
def _campaign(directory: Path, *, hours: float, seed: int, rate: float, rfq_body: str,
              tick: timedelta, read_timeout: float, start: datetime,
              feed: str) -> Iterator[_Campaign]:
    specs = load_specs(directory / "strategies", BUSY_MICRO, BUSY_RFQ)
    world = World(specs, directory / "state", seed=seed)
    world.clock.set(start)
    plan = http_plan(rate, seed, read_timeout)
    result = HttpCampaignResult(hours=hours, rfq_body=rfq_body)
    with SimServer(world.venue, KEY, SECRET, world.clock, plan,
                   rfq_body=BODIES[rfq_body]) as server:
        campaign = _Campaign(world, server, result, OpenWatch(world.venue), Counter(), tick,
                             read_timeout)
        campaign.watch.inner = campaign.on_event
        if feed == "ws":
            campaign.ws = WsCampaign(world.venue, world.clock, seed, server=server)
        try:
            yield campaign
        finally:
            if campaign.ws is not None:
                result.feed = campaign.ws.close()
                result.violations += result.feed.violations


def run_http_campaign(directory: Path, *, hours: float, seed: int = 7, rate: float = 0.03,
                      rfq_body: str = "json", kills: int = 0,
                      tick: timedelta = timedelta(seconds=3),
                      read_timeout: float = READ_TIMEOUT_S, start: datetime = START,
                      downtime_s: tuple[int, int] = (2, 120),
                      feed: str = "rest") -> HttpCampaignResult:
    """Hours of both strategies over HTTP under faults (and kills); then faults off until
    every execution finished; the audit and the venue's counters.

    `downtime_s`: the range a killed service stays down. The deployment restarts after
    30 s; a restart inside the second of the killed process's last reads can meet the
    venue's window still holding them (a new process's limiter starts empty), which a
    downtime of 0 shows as throttled answers."""
    began = time.perf_counter()
    with _campaign(directory, hours=hours, seed=seed, rate=rate, rfq_body=rfq_body,
                   tick=tick, read_timeout=read_timeout, start=start,
                   feed=feed) as campaign:
        result = campaign.result
        result.kills_planned = kills
        end = start + timedelta(hours=hours)
        runtime = _run_with_kills(campaign, end, kills, random.Random(seed), downtime_s)
        fired = campaign.server.faults.fired()
        result.freezes_fired, result.faults_fired = fired[-1], sum(fired[:-1])
        campaign.server.faults.clear()
        if campaign.ws is not None:
            campaign.ws.lift()
        _settle(campaign, runtime)
        result.ticks += runtime.service.ticks
        assert campaign.rest is not None
        result.encoding_learnt = campaign.rest.rfq_body.value
        _final_figures(campaign, runtime)
        runtime.store.close()
        campaign.rest.close()
        result.throttled = campaign.server.throttled
        result.throttled_by_class = campaign.server.throttle.refused_by_class()
        result.internal_errors = campaign.server.internal_errors
    result.requests = campaign.counter["requests"]
    result.wall_s = time.perf_counter() - began
    return result


def _run_with_kills(campaign: _Campaign, end: datetime, kills: int, rng: random.Random,
                    downtime_s: tuple[int, int]) -> Runtime:
    """Run to `end`, killed `kills` times at random calls; the runtime left running.

    Each restart is audited right after it assembled (store reconciled with the venue),
    then armed with the next kill point: no extra process start in between."""
    clock = campaign.world.clock
    runtime, killer = _start_killable(campaign)
    for number in range(kills + 1):
        killer.point = _kill_point(rng)
        killer.armed = number < kills
        share = (end - clock.now()) / (kills - number + 1)
        if campaign.run(runtime, clock.now() + share if number < kills else end):
            campaign.result.kills_landed += 1
        if number == kills:
            break
        campaign.drop(runtime)
        clock.advance(timedelta(seconds=rng.randint(*downtime_s)))
        runtime, killer = _start_killable(campaign)
        campaign.result.restarts += 1
        campaign.result.violations += [
            f"after restart {number + 1}: {v}"
            for v in audit(campaign.world.venue, runtime.store, campaign.world.specs)]
    return runtime


def _kill_point(rng: random.Random) -> KillPoint:
    return KillPoint(rng.choice(KILL_POINTS), nth=rng.randint(1, 3), after=rng.random() < 0.5)


def _start_killable(campaign: _Campaign) -> tuple[Runtime, KillingExchange]:
    """A new process: a new client wrapped by an unarmed killer, assembled on the store."""
    killer = KillingExchange(campaign.client(), KillPoint("none"), armed=False)
    campaign.watch.inner = _both(killer.listener, campaign.on_event)
    return campaign.start(killer), killer


def _both(first: Any, second: Any) -> Any:
    def listen(kind: str, data: dict[str, object]) -> None:
        first(kind, data)
        second(kind, data)
    return listen


def _settle(campaign: _Campaign, runtime: Runtime) -> None:
    """Faults lifted: run on until nothing is active (at most two simulated hours)."""
    clock = campaign.world.clock
    limit = clock.now() + timedelta(hours=2)
    while clock.now() < limit:
        campaign.run(runtime, clock.now() + timedelta(seconds=30))
        store = runtime.store
        if not store.load_active_trades() and not store.live_orders() \
                and not store.active_rfqs():
            return


def _final_figures(campaign: _Campaign, runtime: Runtime) -> None:
    result, venue, store = campaign.result, campaign.world.venue, runtime.store
    result.violations += audit(venue, store, campaign.world.specs)
    result.violations += campaign.watch.violations
    result.in_flight = in_flight(store, venue)
    for trade in store.load_trades():
        counts = result.trades.setdefault(trade.strategy, {})
        counts[trade.stage.value] = counts.get(trade.stage.value, 0) + 1
