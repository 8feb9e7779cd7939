"""Issue 11 item 1: every tick reads only what the decisions due now need.

The service runs on the simulated venue with a manual clock and 2 s ticks (the live
default); every exchange call is recorded. Idle, it reads a few times a minute; holding a
trade whose exits are all times, it reads nothing until an exit is due, and then prices
the close in that very tick; a price exit reads the chain of its legs every tick; a read
that failed is tried again the next tick.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from runner.domain.clock import ManualClock
from runner.domain.instruments import Underlying
from runner.domain.trades import TradeStage
from runner.service.read_plan import LIVENESS_EVERY, Demand, ReadPlanner
from runner.service.runtime import Runtime, assemble
from runner.service.snapshots import MarketNeeds, SnapshotReader
from runner.service.tick_cadence import SLOWER_BY
from runner.service.tick_report import TickReport
from runner.service.watch import UNREACHABLE_AFTER, MarketWatch
from runner.sim.faults import FaultPlan, FaultRule
from runner.sim.faulty import FaultyExchange
from runner.sim.venue import SimVenue
from tests.cli_helpers import RecordingExchange
from tests.scenarios.helpers_scenarios import MONDAY_10, paper_settings, strategy_from_yaml

TICK = timedelta(seconds=2)
READS = ("index_price", "option_chain", "orderbook", "account", "positions", "open_orders")

STRANGLE = """
    enabled: true
    underlying: BTC
    structure: {{type: strangle, side: buy, qty: 0.01, expiry: {{next: true}},
                call: {{delta: 0.15}}, put: {{delta: -0.15}}}}
    timing: {{check_interval: 5s, max_concurrent_trades: 1, max_trades_per_day: 1,
             max_attempts_per_day: 1}}
    {schedule}
    execution:
      open: {{mode: limit, fill_timeout: 30s, requote_rounds: 10, aggressive_buffer_pct: 2}}
      close: {{mode: limit, fill_timeout: 30s, requote_rounds: 10, aggressive_buffer_pct: 2}}
    exits:
{exits}
    """
LATER = ("schedule: {type: cycles, first_open_after: 4h, open_window: 5m, close_after: 10m,"
         " gap: 5m, count: 1}")


@dataclass
class World:
    clock: ManualClock
    faults: FaultPlan
    exchange: RecordingExchange
    runtime: Runtime

    def run(self, duration: timedelta) -> list[TickReport]:
        reports = []
        until = self.clock.now() + duration
        while self.clock.now() < until:
            report = self.runtime.service.safe_tick()
            assert report is not None
            reports.append(report)
            self.clock.advance(TICK)
        return reports

    def reads(self) -> Counter[str]:
        return Counter(name for name in self.exchange.calls if name in READS)

    def trades(self) -> list:
        return self.runtime.store.load_trades()


def world(tmp_path: Path, exits: str, schedule: str = "") -> World:
    spec = strategy_from_yaml(tmp_path, "plan", STRANGLE.format(exits=exits,
                                                                 schedule=schedule))
    clock = ManualClock(MONDAY_10)
    faults = FaultPlan.of()
    exchange = RecordingExchange(FaultyExchange(SimVenue(clock, seed=7), faults, clock))
    runtime = assemble(paper_settings(tmp_path / "state"), [spec], clock=clock,
                       exchange=exchange, launch=MONDAY_10)
    return World(clock, faults, exchange, runtime)


def held(tmp_path: Path, exits: str) -> World:
    """A strangle opened and OPEN, its working orders done; the calls so far forgotten."""
    opened = world(tmp_path, exits)
    for _ in range(60):
        opened.run(TICK)
        trades = opened.trades()
        if trades and trades[0].stage is TradeStage.OPEN \
                and not opened.runtime.store.live_orders():
            break
    assert [t.stage for t in opened.trades()] == [TradeStage.OPEN]
    opened.run(timedelta(seconds=60))  # past the reads the fills asked for
    opened.exchange.calls.clear()
    return opened


def test_idle_until_a_window_hours_away_reads_at_most_ten_times_a_minute(tmp_path) -> None:
    idle = world(tmp_path, "      - max_hold: 10m", LATER)
    idle.run(timedelta(minutes=1))  # the first tick reads everything once
    idle.exchange.calls.clear()
    idle.run(timedelta(minutes=10))
    reads = idle.reads()
    assert sum(reads.values()) / 10 <= 10, reads
    assert reads["option_chain"] == 0
    assert reads["orderbook"] == 0
    assert reads["index_price"] >= 10 * 60 / LIVENESS_EVERY.total_seconds() - 1  # liveness
    assert reads["positions"] >= 10
    assert reads["account"] >= 10


def test_a_trade_held_on_time_exits_reads_no_chain_until_the_exit_is_due(tmp_path) -> None:
    holding = held(tmp_path, "      - max_hold: 3m")
    trade = holding.trades()[0]
    due = trade.opened_at + timedelta(minutes=3)
    holding.run(due - holding.clock.now() - TICK)
    assert holding.reads()["option_chain"] == 0
    assert sum(holding.reads().values()) <= 3 * 10
    reports = holding.run(TICK * 2)
    closing = next(r for r in reports if r.closing)
    assert closing.closing == [trade.trade_id]
    assert holding.exchange.calls.count("place_order") >= 2  # priced in the tick it fired
    assert holding.reads()["option_chain"] >= 1


def test_a_price_exit_reads_the_chain_of_its_legs_every_tick_and_no_more(tmp_path) -> None:
    holding = held(tmp_path, "      - max_loss: {pct: 99}\n      - max_hold: 1h")
    holding.run(timedelta(minutes=2))
    reads = holding.reads()
    ticks = 60
    assert reads["option_chain"] == ticks  # one expiry, both legs: one read a tick
    assert sum(reads.values()) / 2 <= 40, reads  # holding one trade: at most 40 a minute
    assert reads["index_price"] <= 2 * 2 + 1


def test_an_index_move_exit_reads_the_index_every_tick(tmp_path) -> None:
    holding = held(tmp_path, "      - index_move: {pct: 50}\n      - max_hold: 1h")
    holding.run(timedelta(minutes=1))
    assert holding.reads()["index_price"] == 30
    assert holding.reads()["option_chain"] == 0


def test_a_failed_read_is_tried_again_the_next_tick(tmp_path) -> None:
    holding = held(tmp_path, "      - max_hold: 1h")
    holding.faults.add(FaultRule("account", "http_5xx", count=3))
    holding.run(timedelta(seconds=90))  # the 60 s cadence comes due once on the way
    accounts = holding.exchange.calls.count("account")
    assert 4 <= accounts <= 5  # three failures in a row, retried at once, then one success


# -- the watches judge on the reads made ---------------------------------------------------
BTC_INDEX = MarketNeeds(underlyings=frozenset({Underlying.BTC}), account=False,
                        positions=False, open_orders=False)
NOTHING = MarketNeeds(account=False, positions=False, open_orders=False)


def watch_ticks(venue: SimVenue, clock: ManualClock, watch: MarketWatch, *, ticks: int,
                index_every: int) -> list[tuple[str, ...]]:
    """2 s ticks; the index read every `index_every` ticks, nothing read in between."""
    reader, verdicts = SnapshotReader(venue), []
    for number in range(ticks):
        needs = BTC_INDEX if number % index_every == 0 else NOTHING
        verdicts.append(watch.observe(reader.read(needs, clock.now()), needs).stale)
        clock.advance(TICK)
    return verdicts


def test_an_index_read_every_30_s_is_never_called_stale_for_being_read_rarely() -> None:
    clock = ManualClock(MONDAY_10)
    watch = MarketWatch()
    verdicts = watch_ticks(SimVenue(clock, seed=3), clock, watch, ticks=600, index_every=15)
    assert all(stale == () for stale in verdicts)
    assert watch.failed_ticks == 0  # ticks that read nothing say nothing about reachability


def test_a_frozen_index_read_every_30_s_is_stale_once_its_reads_span_60_s() -> None:
    """C1 with lean reads: three reads 30 s apart saw the same value."""
    clock = ManualClock(MONDAY_10)
    venue = SimVenue(clock, seed=3)
    venue.freeze_prices(Underlying.BTC)
    verdicts = watch_ticks(venue, clock, MarketWatch(), ticks=31, index_every=15)
    assert verdicts[29] == ()  # two reads, 30 s apart
    assert verdicts[30] == ("index BTC",)  # the third read, 60 s after the first


def test_ticks_whose_every_read_failed_make_the_exchange_unreachable() -> None:
    clock = ManualClock(MONDAY_10)
    faults = FaultPlan.of()
    reader = SnapshotReader(FaultyExchange(SimVenue(clock, seed=3), faults, clock))
    watch = MarketWatch()
    faults.add(FaultRule("*", "http_5xx"))
    verdicts = [watch.observe(reader.read(BTC_INDEX, clock.now()), BTC_INDEX)
                for _ in range(3)]
    assert [v.reachable for v in verdicts] == [True, True, False]


def test_while_unreachable_every_tick_tries_the_liveness_read_so_the_return_is_seen_next_tick(
        ) -> None:
    """C4 with lean reads: an entry due for three ticks meets the outage (the exchange is
    unreachable after them), then its window closes and nothing else is due. The loop ticks
    slower now; were those ticks to read nothing, the exchange's return would go unseen
    until the 30 s liveness read. Each tick makes the liveness read instead, so the first
    tick after the exchange answers again finds it reachable."""
    clock = ManualClock(MONDAY_10)
    faults = FaultPlan.of()
    reader = SnapshotReader(FaultyExchange(SimVenue(clock, seed=3), faults, clock))
    planner, watch = ReadPlanner(), MarketWatch()
    entry_due = Demand(underlyings=frozenset({Underlying.BTC}),
                       entry_underlyings=frozenset({Underlying.BTC}))
    idle = Demand(underlyings=frozenset({Underlying.BTC}))

    def tick(demand: Demand) -> MarketNeeds:
        needs = planner.plan(demand, clock.now(), reachable=watch.verdict.reachable)
        snapshot = reader.read(needs, clock.now())
        planner.note(needs, snapshot)
        watch.observe(snapshot, needs)
        clock.advance(TICK * SLOWER_BY if not watch.verdict.reachable else TICK)
        return needs

    tick(entry_due)  # the first tick reads everything, the exchange answers
    faults.add(FaultRule("*", "http_5xx"))
    for _ in range(UNREACHABLE_AFTER):
        tick(entry_due)
    assert not watch.verdict.reachable
    idle_reads = [tick(idle) for _ in range(2)]  # the window has closed: nothing else due
    assert all(needs.underlyings for needs in idle_reads)
    assert not watch.verdict.reachable
    faults.clear()  # the exchange answers again, between two slow ticks
    assert tick(idle).underlyings == frozenset({Underlying.BTC})
    assert watch.verdict.reachable
    assert clock.now() - MONDAY_10 < LIVENESS_EVERY  # well before the 30 s liveness read
