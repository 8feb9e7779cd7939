"""Per-strategy isolation: one strategy's trouble never stops another from trading.

Issue 4 item 5: a file that fails validation is reported and skipped, the others run; a
strategy that raises is isolated and the others go on. Here, with the real service over
the simulator: a strategy whose leg can never resolve (its strike is not listed), and
one whose evaluation raises on every tick, run beside micro_strangle, which still makes
its two round trips; the loop itself never fails.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from runner.cli.run_simulate import _load_specs
from runner.domain.trades import TradeStage
from runner.strategy.model import AllOf
from tests.scenarios.helpers_scenarios import (
    PROFILES,
    STRATEGIES,
    Scenario,
    all_closed,
    shipped,
    strategy_from_yaml,
)

NEVER_RESOLVES = """
    enabled: true
    underlying: BTC
    legs:
      - {option: call, side: buy, qty: 0.01, expiry: {next: true}, strike: {fixed: 1}}
    timing: {check_interval: 5s, max_trades_per_day: 1}
    execution: {open: {profile: aggressive_limit}}
    exits:
      - max_hold: 10s
    """


# The same file without its `execution`: a required key ('description' once hid it).
NO_EXECUTION = """version: 1
name: no_execution
description: a strategy file that forgot how to trade
enabled: true
underlying: BTC
legs:
  - {option: call, side: buy, qty: 0.01, expiry: {next: true}, strike: {fixed: 1}}
timing: {check_interval: 5s, max_trades_per_day: 1}
exits:
  - max_hold: 10s
"""


class _Unknown:
    """An entry condition no engine knows: evaluating it raises."""


def test_unresolvable_and_raising_strategies_do_not_stop_micro_strangle(tmp_path):
    (micro,) = shipped("micro_strangle")
    never = strategy_from_yaml(tmp_path, "never_resolves", NEVER_RESOLVES)
    raising = replace(micro, name="raises", entry=AllOf((_Unknown(),)))
    scenario = Scenario.start(tmp_path, [never, raising, micro])
    assert scenario.run_until(scenario.now + timedelta(minutes=2),
                              stop=all_closed("micro_strangle", 2))
    assert [t.stage for t in scenario.trades("micro_strangle")] == [TradeStage.CLOSED] * 2
    assert scenario.trades("never_resolves") == []
    assert scenario.trades("raises") == []
    assert scenario.failed_ticks == 0  # the loop never failed as a whole
    errors = scenario.strategy_errors()
    assert errors
    assert {name for name, _ in errors} == {"raises"}
    legs = [c for r in scenario.reports for d in r.decisions if d.strategy == "never_resolves"
            for c in d.checks if c.name == "legs"]
    assert legs
    assert all(not c.passed and "not listed" in c.detail for c in legs)
    scenario.close()


def test_a_file_that_fails_validation_is_reported_and_the_others_run(tmp_path, capsys):
    broken = tmp_path / "no_execution.yaml"
    broken.write_text(NO_EXECUTION, encoding="utf-8")
    specs = _load_specs([broken, STRATEGIES / "micro_strangle.yaml", PROFILES])
    assert [spec.name for spec in specs] == ["micro_strangle"]
    err = capsys.readouterr().err
    assert "missing required key 'execution'" in err  # a worded diagnostic ...
    assert "checker failed" not in err  # ... not an internal failure of the checker
