"""Paper, testnet and production never share trades, counts or positions (issue 7 item 4).

Before, a paper run and then a testnet run on the same `state/` used one store: testnet
said "DECISION NEEDED ... the store holds 0.50 but the exchange shows 0" about paper's
positions, and paper's trades counted towards testnet's daily limits. Here both run on
the same root, as `load_settings` configures them, each over its own (simulated)
exchange: each environment has its own store, and each strategy's one trade a day is
its own.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from runner.domain.clock import ManualClock
from runner.domain.trades import TradeStage
from runner.service.runtime import Runtime, assemble
from runner.service.settings import load_settings
from runner.sim.venue import SimVenue
from tests.safety.test_safety_store_truth import ONCE_A_DAY
from tests.scenarios.helpers_scenarios import MONDAY_10, strategy_from_yaml

KEYS = {"COINCALL_API_KEY_TEST": "k", "COINCALL_API_SECRET_TEST": "s"}


def run(runtime: Runtime, clock: ManualClock, seconds: int) -> None:
    for _ in range(seconds):
        assert runtime.service.safe_tick() is not None
        clock.advance(timedelta(seconds=1))


def test_a_paper_run_then_a_testnet_run_on_the_same_root_keep_separate_stores(
        tmp_path: Path) -> None:
    root = tmp_path / "state"
    spec = strategy_from_yaml(tmp_path, "once", ONCE_A_DAY)
    clock = ManualClock(MONDAY_10)
    paper = load_settings({"RUNNER_STATE_DIR": str(root)})
    paper_run = assemble(paper, [spec], clock=clock, exchange=SimVenue(clock, seed=7),
                         launch=clock.now())
    run(paper_run, clock, 30)
    assert [t.stage for t in paper_run.store.load_trades()] == [TradeStage.OPEN]
    paper_run.store.close()

    testnet = load_settings({"RUNNER_STATE_DIR": str(root), "TRADING_ENVIRONMENT": "testnet",
                             **KEYS})
    testnet_run = assemble(testnet, [spec], clock=clock, exchange=SimVenue(clock, seed=8),
                           launch=clock.now())
    run(testnet_run, clock, 30)

    assert testnet_run.store.path == root / "testnet" / "runner.sqlite3"
    assert paper_run.store.path == root / "paper" / "runner.sqlite3"
    assert not any("DECISION NEEDED" in line for line in testnet_run.reconciliation.lines)
    assert testnet_run.service.attention.lines() == ()
    # paper's trade of the day does not count towards testnet's: testnet opens its own
    assert [t.stage for t in testnet_run.store.load_trades()] == [TradeStage.OPEN]
    assert testnet_run.store.meta("environment") == "testnet"
    testnet_run.store.close()
