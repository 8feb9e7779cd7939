"""Concerns: raised once, cleared once, shown in the heartbeat; a blocking one holds back
new entries of the strategies it names while exits and closes go on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from runner.domain.trades import TradeStage
from runner.service.attention import Attention, Concern
from runner.service.heartbeat import Heartbeat, health_verdict
from tests.scenarios.helpers_scenarios import Scenario, strategy_from_yaml

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

QUICK_STRANGLE = """
    enabled: true
    underlying: BTC
    structure: {type: strangle, side: buy, qty: 0.01, expiry: {next: true},
                call: {delta: 0.3}, put: {delta: -0.3}}
    timing: {check_interval: 5s, max_trades_per_day: 5}
    execution: {open: {profile: aggressive_limit}, close: {profile: aggressive_limit}}
    exits:
      - max_hold: 1m
    """


def test_a_concern_is_reported_once_however_often_it_is_raised():
    seen: list[tuple[str, bool]] = []
    attention = Attention(lambda concern, raised: seen.append((concern.key, raised)))
    assert attention.report("store.gone", "the store vanished", blocks_entries=True)
    assert not attention.report("store.gone", "the store vanished", blocks_entries=True)
    assert attention.clear("store.gone")
    assert not attention.clear("store.gone")
    assert seen == [("store.gone", True), ("store.gone", False)]


def test_a_global_concern_blocks_every_strategy_and_a_scoped_one_only_its_own():
    attention = Attention()
    attention.report("close.t1", "a failed close holds legs", blocks_entries=True,
                     strategy="alpha")
    assert attention.entry_block("alpha") == "a failed close holds legs"
    assert attention.entry_block("beta") is None
    attention.report("store.gone", "the store vanished", blocks_entries=True)
    assert attention.entry_block("beta") == "the store vanished"
    attention.report("file.x", "x.yaml is invalid")  # informs, does not block
    assert attention.entry_block("beta") == "the store vanished"
    assert attention.lines() == ("alpha: a failed close holds legs (entries blocked)",
                                 "x.yaml is invalid",
                                 "the store vanished (entries blocked)")


def test_clear_prefix_ends_every_matching_concern_but_those_kept():
    attention = Attention()
    for name in ("a", "b", "c"):
        attention.report(f"file.{name}", f"{name} is invalid")
    attention.clear_prefix("file.", keep=frozenset({"file.b"}))
    assert [c.key for c in attention.concerns()] == ["file.b"]


def test_a_live_heartbeat_with_problems_reads_degraded_and_stays_healthy():
    beat = Heartbeat(at=START, tick=3, environment="paper", strategies=("alpha",),
                     problems=("the store vanished (entries blocked)",), pid=42)
    assert Heartbeat.from_json(beat.to_json()) == beat
    verdict = health_verdict(beat, START + timedelta(seconds=2))
    assert verdict.ok  # alive: a restart would not explain anything
    assert verdict.text.startswith("degraded: the store vanished (entries blocked); heartbeat")


def test_a_heartbeat_of_an_older_runner_without_problems_still_reads():
    data = Heartbeat(at=START, tick=1, environment="paper", strategies=(), pid=7).to_json()
    del data["problems"]
    assert Heartbeat.from_json(data).problems == ()


def test_a_blocking_concern_holds_back_entries_but_the_open_trade_still_closes(tmp_path):
    spec = strategy_from_yaml(tmp_path, "quick", QUICK_STRANGLE)
    scenario = Scenario.start(tmp_path, [spec], at=START)
    scenario.run_for(timedelta(seconds=20))
    (trade,) = scenario.trades()
    assert trade.stage is TradeStage.OPEN
    scenario.service.attention.report("test.hold", "the operator must look",
                                      blocks_entries=True)
    scenario.run_for(timedelta(minutes=3))
    (trade,) = scenario.trades()  # closed by its max_hold exit, nothing new opened
    assert trade.stage is TradeStage.CLOSED
    assert ("concern_raised", "the operator must look") in [
        (kind, data.get("text")) for kind, data in scenario.events]
    pages = scenario.pager.keys()
    assert "concern.test.hold" in pages
    scenario.service.attention.clear("test.hold")
    scenario.run_for(timedelta(seconds=30))
    assert len(scenario.trades()) == 2  # entries resume once the concern is cleared
    scenario.close()


def test_concern_lines_name_their_strategy():
    assert Concern("k", "holds legs", True, "alpha").line() == (
        "alpha: holds legs (entries blocked)")
