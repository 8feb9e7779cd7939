"""Scenario harness: the REAL service (runtime.assemble) over the simulator in simulated time.

Wiring, exactly as `runner simulate` does it, with the pieces left in the test's hands:
a `ManualClock`, a seeded `SimVenue` (optionally behind a `FaultyExchange`), paper
`Settings` whose state directory is the test's tmp_path, and `runtime.assemble(...)`.
The loop is `service.safe_tick(); clock.advance(tick)`; a per-tick probe may look at the
venue between ticks (net positions, orders) without touching the service.

`Scenario.restart()` assembles again on the same store path and the same venue object,
as a process restart against the same exchange would.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from runner.domain.clock import ManualClock
from runner.domain.trades import Trade, TradeStage
from runner.service.alerts import AlertMessage, LogAlerter
from runner.service.loop import Service
from runner.service.runtime import Runtime, assemble
from runner.service.settings import Environment, Settings
from runner.service.tick_report import TickReport
from runner.sim.faults import FaultPlan
from runner.sim.faulty import FaultyExchange
from runner.sim.venue import SimVenue
from runner.strategy.model import StrategySpec

REPO = Path(__file__).resolve().parents[2]
STRATEGIES = REPO / "strategies.d"
PROFILES = STRATEGIES / "profiles.yaml"

# A Monday, 10:00 UTC: the day's 08:00 expiry has passed, 3MAR26 is the next one.
MONDAY_10 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ONE_SECOND = timedelta(seconds=1)

Probe = Callable[["Scenario", TickReport | None], None]


def load_specs(*files: Path) -> list[StrategySpec]:
    """Load strategy files together with the shared profiles; fail loudly on any error."""
    from runner.strategy import load_strategies
    from runner.strategy.diagnostics import Severity

    result = load_strategies([*files, PROFILES])
    errors = [d.render() for d in result.diagnostics if d.severity is Severity.ERROR]
    assert not errors, errors
    return [spec for spec in result.specs if spec.enabled]


def shipped(*names: str) -> list[StrategySpec]:
    """The strategies shipped in strategies.d/, by name (e.g. "micro_strangle")."""
    return load_specs(*(STRATEGIES / f"{name}.yaml" for name in names))


def strategy_from_yaml(tmp_path: Path, name: str, body: str) -> StrategySpec:
    """Write a strategy file (body without the `version`/`name` header) and load it."""
    directory = tmp_path / "strategies"
    directory.mkdir(exist_ok=True)
    path = directory / f"{name}.yaml"
    path.write_text(f"version: 1\nname: {name}\ndescription: scenario {name}\n"
                    + textwrap.dedent(body), encoding="utf-8")
    (spec,) = [s for s in load_specs(path) if s.name == name]
    return spec


def paper_settings(state_dir: Path) -> Settings:
    return Settings(environment=Environment.PAPER, base_url=None, api_key=None,
                    api_secret=None, log_dir=state_dir / "logs", state_dir=state_dir)


@dataclass
class Pager:
    """An alert channel that keeps what it was sent (the service's pages)."""

    sent: list[AlertMessage] = field(default_factory=list)

    def send(self, message: AlertMessage) -> None:
        self.sent.append(message)

    def keys(self, *, recovered: bool | None = None) -> list[str]:
        return [m.key for m in self.sent if recovered is None or m.recovered is recovered]


@dataclass
class Recorder:
    """The service's listener: every event, and the stored trade at each stage change."""

    runtime: Runtime | None = None
    events: list[tuple[str, dict[str, object]]] = field(default_factory=list)
    stage_changes: list[tuple[str, Trade]] = field(default_factory=list)

    def listen(self, kind: str, data: dict[str, object]) -> None:
        self.events.append((kind, data))
        if kind == "trade_stage" and self.runtime is not None:
            stored = self.runtime.store.load_trade(str(data["trade"]))
            assert stored is not None, data
            self.stage_changes.append((str(data["stage"]), stored))


@dataclass
class Scenario:
    """One assembled service over a venue and a manual clock, and what the loop saw."""

    clock: ManualClock
    venue: SimVenue
    exchange: Any
    settings: Settings
    specs: list[StrategySpec]
    launch: datetime
    runtime: Runtime
    recorder: Recorder
    pager: Pager
    reports: list[TickReport] = field(default_factory=list)
    failed_ticks: int = 0

    # -- building -----------------------------------------------------------------------
    @classmethod
    def start(cls, tmp_path: Path, specs: Iterable[StrategySpec], *,
              at: datetime = MONDAY_10, seed: int = 7,
              faults: FaultPlan | None = None) -> Scenario:
        clock = ManualClock(at)
        venue = SimVenue(clock, seed=seed)
        exchange: Any = FaultyExchange(venue, faults, clock) if faults is not None else venue
        settings = paper_settings(tmp_path / "state")
        specs = list(specs)
        recorder, pager = Recorder(), Pager()
        runtime = assemble(settings, specs, clock=clock, exchange=exchange, launch=at,
                           listener=recorder.listen,
                           alerter=LogAlerter(clock, sinks=(pager,)))
        recorder.runtime = runtime
        return cls(clock, venue, exchange, settings, specs, at, runtime, recorder, pager)

    @property
    def events(self) -> list[tuple[str, dict[str, object]]]:
        return self.recorder.events

    @property
    def stage_changes(self) -> list[tuple[str, Trade]]:
        return self.recorder.stage_changes

    def restart(self, specs: Iterable[StrategySpec] | None = None, *,
                launch: datetime | None = None) -> Runtime:
        """Close the store and assemble again on the same path and the same venue."""
        self.runtime.store.close()
        if specs is not None:
            self.specs = list(specs)
        self.launch = launch or self.clock.now()
        self.runtime = assemble(self.settings, self.specs, clock=self.clock,
                                exchange=self.exchange, launch=self.launch,
                                listener=self.recorder.listen,
                                alerter=LogAlerter(self.clock, sinks=(self.pager,)))
        self.recorder.runtime = self.runtime
        return self.runtime

    def close(self) -> None:
        self.runtime.store.close()

    # -- running ------------------------------------------------------------------------
    @property
    def service(self) -> Service:
        return self.runtime.service

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def tick(self, step: timedelta = ONE_SECOND, probe: Probe | None = None) -> TickReport | None:
        """One loop iteration as `Service.run` does it: safe_tick, then the clock moves."""
        report = self.service.safe_tick()
        if report is None:
            self.failed_ticks += 1
        else:
            self.reports.append(report)
        if probe is not None:
            probe(self, report)
        self.clock.advance(step)
        return report

    def run_for(self, duration: timedelta, step: timedelta = ONE_SECOND,
                probe: Probe | None = None) -> None:
        self.run_until(self.now + duration, step, probe)

    def run_until(self, when: datetime, step: timedelta = ONE_SECOND,
                  probe: Probe | None = None,
                  stop: Callable[[Scenario], bool] | None = None) -> bool:
        """Tick until `when` (or until `stop` says so; then True)."""
        while self.now < when:
            self.tick(step, probe)
            if stop is not None and stop(self):
                return True
        return False

    # -- looking ------------------------------------------------------------------------
    def trades(self, strategy: str | None = None) -> list[Trade]:
        return sorted(self.runtime.store.load_trades(strategy),
                      key=lambda t: (t.created_at, t.trade_id))

    def trade(self, trade_id: str) -> Trade:
        found = self.runtime.store.load_trade(trade_id)
        assert found is not None, trade_id
        return found

    def in_stage(self, *stages: TradeStage, strategy: str | None = None) -> list[Trade]:
        return [t for t in self.trades(strategy) if t.stage in stages]

    def net_positions(self) -> dict[str, Decimal]:
        return {p.symbol: p.qty for p in self.venue.positions() if p.qty != 0}

    def alerts(self) -> list[str]:
        return [alert for report in self.reports for alert in report.alerts]

    def strategy_errors(self) -> list[tuple[str, str]]:
        return [error for report in self.reports for error in report.strategy_errors]

    def orders_of(self, trade_id: str) -> list[Any]:
        return self.runtime.store.orders_for_trade(trade_id)


def all_closed(strategy: str, count: int) -> Callable[[Scenario], bool]:
    """A stop condition: `count` trades of `strategy` are terminal."""
    def done(scenario: Scenario) -> bool:
        finished = [t for t in scenario.trades(strategy) if t.stage.is_terminal]
        return len(finished) >= count
    return done


def held_seconds(trade: Trade) -> float:
    assert trade.opened_at is not None, trade.trade_id
    assert trade.closed_at is not None, trade.trade_id
    return (trade.closed_at - trade.opened_at).total_seconds()


def stages_of(trades: Iterable[Trade]) -> dict[str, TradeStage]:
    return {t.trade_id: t.stage for t in trades}
