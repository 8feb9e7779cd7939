"""The entry gates a tick works out to plan its reads are the ones its decision reports
(issue 12, full tick cost): handed over only for the very state and moment they were
worked out from, and the decisions come out the same as when each works them out itself.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from runner.domain.clock import ManualClock
from runner.engine.decide import decide
from runner.engine.gates import entry_gates
from runner.service.runtime import assemble
from runner.sim.venue import SimVenue
from tests.scenarios.helpers_scenarios import MONDAY_10, paper_settings, strategy_from_yaml

EVERY_FEW_SECONDS = """
    enabled: true
    underlying: BTC
    structure: {type: strangle, side: buy, qty: 0.01, expiry: {next: true},
                call: {delta: 0.15}, put: {delta: -0.15}}
    entry:
      - min_available_margin_pct: 10
    timing: {check_interval: 4s, max_concurrent_trades: 1, max_trades_per_day: 1,
             cooldown: 1h}
    execution:
      open: {mode: limit, fill_timeout: 30s, requote_rounds: 10, aggressive_buffer_pct: 2}
      close: {mode: limit, fill_timeout: 30s, requote_rounds: 10, aggressive_buffer_pct: 2}
    exits:
      - max_hold: 1h
    """


def _service(tmp_path: Path, start: datetime):
    spec = strategy_from_yaml(tmp_path, "few", EVERY_FEW_SECONDS)
    clock = ManualClock(start)
    runtime = assemble(paper_settings(tmp_path / "state"), [spec], clock=clock,
                       exchange=SimVenue(clock, seed=7), launch=start)
    return runtime.service, spec, clock


def test_the_gates_of_the_read_plan_are_handed_only_for_the_same_state_and_moment(
        tmp_path: Path) -> None:
    service, spec, clock = _service(tmp_path, MONDAY_10)
    assert service.safe_tick() is not None
    now = clock.now()
    state = service._states[spec.name]
    known = service._known_gates(spec, state, now)
    assert known == entry_gates(spec, state, now)
    # another state object (derived again, e.g. after a recount) or another moment: none
    assert service._known_gates(spec, replace(state), now) is None
    assert service._known_gates(spec, state, now + timedelta(seconds=1)) is None


def test_the_decisions_of_a_tick_are_those_it_makes_working_out_its_own_gates(
        tmp_path: Path) -> None:
    """Ten minutes of ticks: the entry opens, then the gates block it (one trade at a time,
    a cooldown); at every tick the decision given the plan's gates equals the decision that
    works them out itself."""
    service, spec, clock = _service(tmp_path, MONDAY_10)
    compared = 0
    for _ in range(300):
        report = service.safe_tick()
        assert report is not None
        now = clock.now()
        state = service._states[spec.name]
        gates = service._known_gates(spec, state, now)
        if gates is not None and service.last_snapshot is not None:
            snapshot = service.last_snapshot
            assert decide(spec, state, snapshot, now, gates=gates) == \
                decide(spec, state, snapshot, now)
            compared += 1
        clock.advance(timedelta(seconds=2))
    assert compared > 100
    assert any(not check.passed for check in entry_gates(spec, service._states[spec.name],
                                                         clock.now())[0])
