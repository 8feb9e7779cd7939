"""A strategy its clock conditions keep out reads no chain (issue 12, full tick cost).

Given a strategy that enters only on Fridays, ticking on a Monday: its checks are due
every few seconds and fail on the weekday, and no tick reads an option chain for it; the
account its margin condition decides on is still read, so its checks say the same. On a
Friday the same strategy reads its chain and opens.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from runner.domain.clock import ManualClock
from runner.service.runtime import Runtime, assemble
from runner.sim.venue import SimVenue
from tests.cli_helpers import RecordingExchange
from tests.scenarios.helpers_scenarios import MONDAY_10, paper_settings, strategy_from_yaml

TICK = timedelta(seconds=2)
FRIDAYS_ONLY = """
    enabled: true
    underlying: BTC
    structure: {type: strangle, side: buy, qty: 0.01, expiry: {next: true},
                call: {delta: 0.15}, put: {delta: -0.15}}
    entry:
      - weekdays: [fri]
      - min_available_margin_pct: 10
    timing: {check_interval: 4s, max_concurrent_trades: 1, max_trades_per_day: 1}
    execution:
      open: {mode: limit, fill_timeout: 30s, requote_rounds: 10, aggressive_buffer_pct: 2}
      close: {mode: limit, fill_timeout: 30s, requote_rounds: 10, aggressive_buffer_pct: 2}
    exits:
      - max_hold: 1h
    """


def _run(tmp_path: Path, start: datetime, duration: timedelta) -> tuple[Runtime, Counter[str],
                                                                         list[str]]:
    spec = strategy_from_yaml(tmp_path, "fridays", FRIDAYS_ONLY)
    clock = ManualClock(start)
    exchange = RecordingExchange(SimVenue(clock, seed=7))
    runtime = assemble(paper_settings(tmp_path / "state"), [spec], clock=clock,
                       exchange=exchange, launch=start)
    margin_words = []
    until = start + duration
    while clock.now() < until:
        report = runtime.service.safe_tick()
        assert report is not None
        for decision in report.decisions:
            margin_words += [str(c) for c in decision.checks
                             if c.name == "min_available_margin_pct"]
        clock.advance(TICK)
    return runtime, Counter(exchange.calls), margin_words


def test_on_a_monday_a_fridays_only_strategy_reads_no_chain(tmp_path: Path) -> None:
    runtime, calls, margin_words = _run(tmp_path, MONDAY_10, timedelta(minutes=2))
    assert calls["option_chain"] == 0
    assert len(margin_words) >= 20  # checked all along, the account read each time
    assert all("pass (available margin" in words for words in margin_words), margin_words[:3]
    assert runtime.store.load_trades() == []


def test_on_a_friday_it_reads_its_chain_and_opens(tmp_path: Path) -> None:
    runtime, calls, _ = _run(tmp_path, MONDAY_10 + timedelta(days=4), timedelta(seconds=20))
    assert calls["option_chain"] >= 1
    assert len(runtime.store.load_trades()) == 1
