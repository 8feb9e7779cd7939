"""Benchmark (on demand, not collected): many SIGKILL-like crashes at random points, with figures.

Run: `/work/venv/bin/python tests/bench/crash_campaign.py [--runs 200] [--seed 1]
[--kills 3] [--feed rest|ws]`

Each run: a fresh simulated venue and store, both strategy shapes (micro_strangle-like
limit round trips, rfq_endurance-like RFQ cycles; makers quoting or silent at random),
then `--kills` times: kill the service at a random call (random method, n-th call, before
or after the venue acted) or service event, drop it without cleanup, restart after a
random downtime (2 s to 2 min), and finally run on until everything is finished;
`--faults RATE` also injects the fault campaign's faults while the killed processes run.
`--damage RATE` damages the store at that rate per kill (issue 7): truncated to 0 bytes,
NUL-filled or cut in half while the service is down, or its directory deleted while it
runs (tests/crash/helpers_damage.py). Checks the invariants of tests/crash/helpers_audit.py
after every restart and at the end; once a damage lost the store's memory, the checks
that still mean something: no duplicate open, no unmanaged position.
`--feed ws` (issue 11): every process reads prices pushed over the simulator's WebSocket
on simulated time, with drops, silent stalls, out-of-order pushes and late delivery
firing all along, through the last run too but its last 5 minutes
(tests/feed/helpers_ws_campaign.py); a kill closes its sockets, the restarted process
connects and subscribes anew. Adds the feed's figures and invariants (never a price older
than the stale limit served, recovery after every feed fault). A failed tick is a
violation in both modes. The suite's short version: tests/crash/test_crash_campaign_ws.py.
Prints the number of runs, kills that landed, violations grouped by kind with an example,
executions left in flight, trades by stage, and wall time. Exit code 1 on any violation.

The venue is the in-process SimVenue, not a sim-server: it keeps its default taker key
(rfqList refused as over HTTP) and has no HTTP, so `--rfq-body`/`--key-access` do not
apply here; the RFQ flows over HTTP in both body encodings are in tests/e2e, and the
same campaign over the throttling sim-server is tests/bench/http_campaign.py.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from runner.sim.faulty import FaultyExchange
from runner.sim.venue import SimVenue
from tests.crash.helpers_audit import audit, in_flight
from tests.crash.helpers_crash import (
    MICRO,
    RFQ,
    START,
    KillingExchange,
    KillPoint,
    World,
    hard_kill,
    load_specs,
    run_until,
)
from tests.crash.helpers_damage import (
    OpenWatch,
    choose,
    damage_down,
    delete_running,
    final_verdict,
    limit_opens_per_day,
)
from tests.faults.helpers_faults import campaign_plan
from tests.feed.helpers_ws_campaign import FeedFigures, WsCampaign, quiet_feed_logs

METHODS = ["place_order", "place_order", "cancel_order", "get_order", "open_orders", "fills",
           "orderbook", "positions", "create_rfq", "rfq_quotes", "accept_quote", "cancel_rfq",
           "block_trades", "event:trade_created", "event:trade_stage"]
TICK = timedelta(seconds=2)
SETTLE = timedelta(minutes=45)
QUIET_END = timedelta(minutes=5)  # the last minutes of a run without new feed faults


@dataclass
class Outcome:
    landed: int = 0
    violations: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    stages: Counter[str] = field(default_factory=Counter)
    damages: Counter[str] = field(default_factory=Counter)
    flagged: int = 0  # positions the service left to the operator with DECISION NEEDED
    feed: FeedFigures | None = None
    failed_ticks: list[str] = field(default_factory=list)


def one_run(directory: Path, rng: random.Random, kills: int, fault_rate: float,
            damage_rate: float = 0.0, feed: str = "rest", *,
            minutes: tuple[int, int] = (1, 15), settle: timedelta = SETTLE) -> Outcome:
    """`minutes`: how long a process runs before its kill point (if it was not reached);
    `settle`: how long the last process runs on after the RFQ schedule could end."""
    specs = load_specs(directory / "strategies", MICRO, RFQ)
    world = World(specs, directory / "state", seed=rng.randint(0, 10_000))
    plan = campaign_plan(fault_rate, rng.randint(0, 10_000)) if fault_rate else None
    outcome = Outcome()
    ws = WsCampaign(world.venue, world.clock, rng.randint(0, 10_000)) if feed == "ws" else None
    try:
        _kill_and_restart(world, specs, rng, kills, plan, damage_rate, ws, outcome,
                          minutes, settle)
    finally:
        if ws is not None:
            figures = ws.close()
            outcome.violations += figures.violations
            outcome.feed = figures
    return outcome


def _start(world: World, exchange: Any, watch: OpenWatch, ws: WsCampaign | None,
           outcome: Outcome) -> Any:
    """A process: over the WebSocket feed too when the campaign has one; a failed tick
    is a violation (a kill is not a failure: it ends the process)."""
    def listener(kind: str, data: dict[str, object]) -> None:
        if kind == "tick_failed":
            outcome.failed_ticks.append(f"tick failed: {data.get('error')}")
        watch(kind, data)

    runtime = world.start(ws.exchange(exchange) if ws else exchange, listener=listener)
    if ws is not None:
        ws.attach(runtime.service)
    return runtime


def _kill_and_restart(world: World, specs: Any, rng: random.Random, kills: int,
                      plan: Any, damage_rate: float, ws: WsCampaign | None,
                      outcome: Outcome, minutes: tuple[int, int], settle: timedelta) -> None:
    lost = False  # a damage lost the store's memory: the ordinary audit no longer applies
    watch = OpenWatch(world.venue)

    def wrap(exchange: Any) -> Any:
        if plan is None or not isinstance(exchange, SimVenue):
            return exchange
        return FaultyExchange(exchange, plan, world.clock)

    if rng.random() < 0.3:
        world.venue.set_maker_behaviour(enabled=False)
    for _ in range(kills):
        point = KillPoint(rng.choice(METHODS), nth=rng.randint(1, 4), after=rng.random() < 0.5)
        damage = choose(rng, damage_rate)
        killer = KillingExchange(wrap(world.venue), point, armed=False)
        watch.inner = killer.listener
        runtime = _start(world, killer, watch, ws, outcome)
        watch.runtime = runtime
        killer.armed = True
        until = world.clock.now() + timedelta(minutes=rng.randint(*minutes))
        if damage == "delete_running":
            middle = world.clock.now() + (until - world.clock.now()) * rng.random()
            killed = run_until(runtime, middle, TICK)
            if not killed:
                delete_running(world.state_dir)
                killed = run_until(runtime, until, TICK)
            outcome.landed += killed
        else:
            outcome.landed += run_until(runtime, until, TICK)
        hard_kill(runtime)
        if ws is not None:
            ws.kill()
        if damage is not None and damage != "delete_running":
            damage_down(world.state_dir / "runner.sqlite3", damage)
            lost = True
        if damage is not None:
            outcome.damages[damage] += 1
        world.clock.advance(timedelta(seconds=rng.randint(2, 120)))
        watch.inner = None
        check = world.start(listener=watch)  # a clean start: audit what recovery made of it
        if not lost:
            outcome.violations += audit(world.venue, check.store, specs)
        check.store.close()
    # long enough for a schedule a late restart began (2 cycles, ~30 min) to finish
    end = max(world.clock.now(), START + timedelta(minutes=40)) + settle
    if ws is not None:  # the feed's faults go on (REST serves) but leave a quiet end
        ws.lift(end - QUIET_END)
    # REST faults lifted: every execution finishes
    final = _start(world, world.venue, watch, ws, outcome)
    watch.runtime = final
    run_until(final, end, TICK)
    if lost:
        unmanaged, outcome.flagged = final_verdict(final, world.venue)
        outcome.violations += unmanaged + limit_opens_per_day(world.venue, specs)
    else:
        outcome.violations += audit(world.venue, final.store, specs)
        outcome.left = in_flight(final.store, world.venue)
    outcome.violations += watch.violations + outcome.failed_ticks
    outcome.stages = Counter(f"{t.strategy}:{t.stage.value}" for t in final.store.load_trades())
    final.store.close()


def kind(violation: str) -> str:
    return re.sub(r"[0-9][0-9A-Za-z:.\-]*", "#", violation)[:90]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--kills", type=int, default=3, help="kills per run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--faults", type=float, default=0.0,
                        help="also inject the fault campaign's faults at this rate per kind")
    parser.add_argument("--damage", type=float, default=0.0,
                        help="damage the store at this rate per kill (0 to 1)")
    parser.add_argument("--feed", choices=("rest", "ws"), default="rest",
                        help="ws: prices pushed over the simulator's WebSocket, with its faults")
    args = parser.parse_args()
    quiet_feed_logs()
    rng = random.Random(args.seed)
    began = time.perf_counter()
    landed = 0
    kinds: Counter[str] = Counter()
    examples: dict[str, str] = {}
    left_runs = 0
    stages: Counter[str] = Counter()
    damages: Counter[str] = Counter()
    flagged = 0
    feed = FeedFigures()
    for number in range(args.runs):
        with tempfile.TemporaryDirectory(prefix=f"crash-{number}-") as scratch:
            outcome = one_run(Path(scratch), rng, args.kills, args.faults, args.damage,
                              args.feed)
        landed += outcome.landed
        if outcome.feed is not None:
            feed.add(outcome.feed)
        stages.update(outcome.stages)
        damages.update(outcome.damages)
        flagged += outcome.flagged
        left_runs += bool(outcome.left)
        for violation in outcome.violations + [f"in flight: {x}" for x in outcome.left]:
            kinds[kind(violation)] += 1
            examples.setdefault(kind(violation), f"run {number}: {violation}")
    wall = time.perf_counter() - began
    print(f"runs: {args.runs}, kill points tried: {args.runs * args.kills}, kills landed:"
          f" {landed}, wall time {wall:.1f} s ({wall / args.runs:.2f} s per run)")
    print(f"trades by stage: {dict(sorted(stages.items()))}")
    print(f"runs with something left in flight: {left_runs}")
    if args.feed == "ws":
        for line in feed.lines():
            print(line)
    if args.damage:
        duplicates = sum(n for k, n in kinds.items() if k.startswith("duplicate open"))
        unmanaged = sum(n for k, n in kinds.items() if k.startswith(("unmanaged", "after the")))
        print(f"store damages: {dict(sorted(damages.items()))}; positions left to the operator"
              f" with DECISION NEEDED: {flagged}; duplicate opens: {duplicates}; unmanaged"
              f" positions: {unmanaged}")
    print(f"violations: {sum(kinds.values())} in {len(kinds)} kinds")
    for name, count in kinds.most_common():
        print(f"  {count:5d} x {examples[name]}")
    return 1 if kinds else 0


if __name__ == "__main__":
    raise SystemExit(main())
