"""Issue 7 item 10: a strategy whose legs cannot be resolved says why, once per window.

Before, a strategy whose window was open but whose legs could not be resolved ran and
never traded without a word. Here the real service decides it every 5 s for ten minutes:
one `legs_unresolved` event for the day's window, and one more when the next UTC day
(a new window) begins; `runner plan` gives the same words.
"""

from __future__ import annotations

from datetime import timedelta

from runner.cli.plan_report import make_plan
from runner.sim.venue import SimVenue
from tests.scenarios.helpers_scenarios import Scenario, strategy_from_yaml

NO_STRIKE = """
    enabled: true
    underlying: BTC
    legs:
      - {option: call, side: buy, qty: 0.01, expiry: {next: true},
         strike: {delta: 0.2, tolerance: 0.000001}}
    timing: {check_interval: 5s}
    execution: {open: {mode: limit}}
    exits:
      - max_hold: 10s
    """
STEP = timedelta(seconds=5)


def told(scenario: Scenario) -> list[dict[str, object]]:
    return [data for kind, data in scenario.events if kind == "legs_unresolved"]


def test_a_strategy_with_no_strike_within_tolerance_says_so_once_per_window(tmp_path):
    spec = strategy_from_yaml(tmp_path, "no_strike", NO_STRIKE)
    scenario = Scenario.start(tmp_path, [spec])
    scenario.run_for(timedelta(minutes=10), STEP)
    assert scenario.trades() == []
    (first,) = told(scenario)
    reason = str(first["reason"])
    assert reason.startswith("the legs cannot be resolved: leg 0: call ")
    assert "is more than 0.000001 from the target 0.2" in reason
    assert first["window"] == "2026-03-02T00:00:00+00:00"

    next_day = scenario.now.replace(hour=0, minute=0, second=0) + timedelta(days=1)
    scenario.clock.advance(next_day - scenario.now)
    scenario.run_for(timedelta(minutes=1), STEP)
    assert [e["window"] for e in told(scenario)] == ["2026-03-02T00:00:00+00:00",
                                                     "2026-03-03T00:00:00+00:00"]
    plan = make_plan(spec, SimVenue(scenario.clock, seed=7), scenario.now)
    assert not plan.resolved
    same_words = plan.data["problem"].split(": closest delta")[0]
    assert same_words.startswith("the legs cannot be resolved: leg 0: call ")
    assert "is more than 0.000001 from the target 0.2" in plan.data["problem"]
    scenario.close()
