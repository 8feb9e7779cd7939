"""The exit screen never hides a check at which an exit fires (issue 12).

In front of the exact exit probe, a screen evaluates the held trades' market exits on
plain numbers with a margin and lets the exact probe (the engine's own rules on a real
snapshot) run only where a rule may fire. So, given a held strangle and rules whose
thresholds the market crosses back and forth (a profit target, a stop after a fast
move of the index, a delta limit, a leg's greek, an index move), the screened probe
answers exactly as the plain one at every check of a few hours, and spares most of them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from runner.domain.clock import ManualClock
from runner.domain.instruments import OptionKind, Underlying
from runner.domain.trades import Trade, TradeStage
from runner.engine.state import StrategyState
from runner.service.exit_probe import ExitProbe
from runner.service.exit_screen import ExitScreen
from runner.service.simulation import simulate
from runner.sim.faults import FaultPlan
from runner.sim.faulty import FaultyExchange
from runner.sim.venue import SimVenue
from runner.strategy import load_strategies
from runner.strategy.model import (
    BeforeExpiryExit,
    Direction,
    ExitRule,
    Greek,
    IndexMoveExit,
    LegGreekExit,
    MaxLossPctExit,
    MaxLossUsdExit,
    MoveUnit,
    PriceBasis,
    ProfitTargetExit,
    StrategySpec,
    StructureDeltaExit,
)
from tests.builders import make_spec, make_trade

START = datetime(2026, 3, 2, tzinfo=UTC)
OPENED = START + timedelta(hours=1)
CHECKS = 480  # every 30 s for four hours
JUMP_AT = 300  # a fast move of the index before this check


def _held(venue: SimVenue, clock: ManualClock, side: str,
          stage: TradeStage = TradeStage.OPEN) -> Trade:
    """A 0.1 strangle of the second expiry, 0.2 delta-ish, entered at the marks of OPENED."""
    clock.set(OPENED)
    rows = venue.option_chain(Underlying.BTC)
    expiry = sorted({q.instrument.expiry for q in rows})[1]
    calls = [q for q in rows if q.instrument.expiry == expiry
             and q.instrument.kind is OptionKind.CALL and q.instrument.strike > 88_000]
    puts = [q for q in rows if q.instrument.expiry == expiry
            and q.instrument.kind is OptionKind.PUT and q.instrument.strike < 86_000]
    call, put = calls[0], puts[-1]
    return make_trade([(call.symbol, side, "0.1", str(call.mark)),
                       (put.symbol, side, "0.1", str(put.mark))], stage=stage,
                      created_at=OPENED, index_at_entry=venue.index_price(Underlying.BTC))


def _answers(rules: tuple[ExitRule, ...], side: str, *, jump: str | None = None,
             stage: TradeStage = TradeStage.OPEN) -> tuple[list[bool], list[bool], ExitProbe]:
    """Each check's answer by the screened probe and by the plain one, on twin venues."""
    answers = []
    probes = []
    for screened in (True, False):
        clock = ManualClock(START)
        venue = SimVenue(clock, seed=3)
        trade = _held(venue, clock, side, stage)
        spec: StrategySpec = make_spec(exits=rules)
        views = [(spec, replace(StrategyState.fresh(START), active_trades=(trade,)))]
        probe = ExitProbe(venue, clock, screen=screened)
        fired = []
        for check in range(1, CHECKS + 1):
            at = OPENED + timedelta(seconds=30 * check)
            if jump is not None and check == JUMP_AT:
                clock.set(at - timedelta(seconds=10))
                venue.set_index(Underlying.BTC,
                                venue.index_price(Underlying.BTC) * Decimal(jump))
            fired.append(probe.fires(views, at))
        answers.append(fired)
        probes.append(probe)
    return answers[0], answers[1], probes[0]


CASES = [
    ((ProfitTargetExit(Decimal(10), PriceBasis.MARK),), "sell", "0.97"),
    ((ProfitTargetExit(Decimal(45), PriceBasis.MID),), "buy", None),
    ((ProfitTargetExit(Decimal(8)),), "sell", "0.97"),
    ((MaxLossPctExit(Decimal(150)),), "sell", "1.03"),
    ((MaxLossPctExit(Decimal(10), PriceBasis.EXECUTABLE),), "buy", "0.97"),
    ((MaxLossUsdExit(Decimal(45)),), "sell", None),
    ((StructureDeltaExit(Decimal("0.045")),), "sell", None),
    ((LegGreekExit(0, Greek.DELTA, Direction.BELOW, Decimal("-0.07")),), "sell", "1.03"),
    ((LegGreekExit(1, Greek.GAMMA, Direction.ABOVE, Decimal("0.000005")),), "buy", None),
    ((IndexMoveExit(Decimal(2000), MoveUnit.USD),), "buy", None),
    ((IndexMoveExit(Decimal(2), MoveUnit.PCT),), "buy", "0.97"),
]
CASE_IDS = ["target_mark_after_a_drop", "target_mid_long", "target_executable_after_a_drop",
            "stop_after_a_rise", "stop_executable_long_after_a_drop", "stop_usd",
            "delta_limit", "leg_delta_after_a_rise", "leg_gamma", "index_move_usd",
            "index_move_pct_then_back"]


@pytest.mark.parametrize(("rules", "side", "jump"), CASES, ids=CASE_IDS)
def test_the_screened_probe_answers_as_the_plain_one_at_every_check(
        rules: tuple[ExitRule, ...], side: str, jump: str | None) -> None:
    screened, plain, probe = _answers(rules, side, jump=jump)
    assert screened == plain
    fired = sum(plain)
    assert 0 < fired < CHECKS  # the thresholds are crossed: the test can fail
    assert probe.exact - fired <= (CHECKS - fired) / 10  # most others are spared


def test_rules_of_the_clock_and_a_settling_trade_are_always_probed() -> None:
    expiry_soon = (BeforeExpiryExit(timedelta(days=1, hours=6)),)
    screened, plain, _ = _answers(expiry_soon, "sell")
    assert screened == plain
    assert any(plain)
    assert not all(plain)
    screened, plain, _ = _answers((ProfitTargetExit(Decimal(99)),), "sell",
                                  stage=TradeStage.PENDING_CLOSE)
    assert screened == plain


def test_a_venue_behind_a_fault_injector_is_never_screened() -> None:
    clock = ManualClock(START)
    venue = SimVenue(clock, seed=3)
    assert ExitProbe(venue, clock).screened
    assert not ExitProbe(FaultyExchange(venue, FaultPlan(), clock), clock).screened


def _example_book() -> list[StrategySpec]:
    root = Path(__file__).resolve().parents[2] / "strategies.d"
    files = [*sorted((root / "examples").glob("*.yaml")), root / "profiles.yaml"]
    return [replace(spec, enabled=True) for spec in load_strategies(files).specs]


def test_the_example_book_trades_the_same_with_and_without_the_screen(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Four days in which market exits fire (a stop, profit targets, index moves): every
    trade the same, to its last transition and fill, and the same ticks, whether checks
    are screened one by one or a stretch at once, or each probed exactly."""
    def run() -> tuple[int, list[str]]:
        result = simulate(_example_book(), start=START, duration=timedelta(days=4), seed=3)
        return result.ticks, [repr(trade) for trade in result.trades]
    screened = run()
    monkeypatch.setattr(ExitScreen, "may_fire", lambda *_: True)  # the exact probe always
    monkeypatch.setattr(ExitScreen, "none_fire_within", lambda *_: False)
    assert run() == screened
    reasons = {trade.split("exit_reason='")[1].split("'")[0] for trade in screened[1]
               if "exit_reason='" in trade}
    assert {"max_loss", "profit_target", "index_move"} <= reasons


@pytest.mark.parametrize(("rules", "side", "jump"), CASES, ids=CASE_IDS)
def test_a_stretch_told_quiet_holds_no_check_at_which_an_exit_fires(
        rules: tuple[ExitRule, ...], side: str, jump: str | None) -> None:
    """Stretches of 8 checks: one the probe tells quiet (no exit can fire in it) holds no
    check at which the plain probe fires; and many are told quiet (none where a rule
    cannot be bounded over a stretch: a leg's gamma)."""
    _, plain, _ = _answers(rules, side, jump=jump)
    clock = ManualClock(START)
    venue = SimVenue(clock, seed=3)
    trade = _held(venue, clock, side)
    views = [(make_spec(exits=rules), replace(StrategyState.fresh(START),
                                              active_trades=(trade,)))]
    probe = ExitProbe(venue, clock)
    quiet = 0
    for first in range(1, CHECKS + 1, 8):
        if first <= JUMP_AT < first + 8 and jump is not None:
            clock.set(OPENED + timedelta(seconds=30 * JUMP_AT - 10))
            venue.set_index(Underlying.BTC, venue.index_price(Underlying.BTC) * Decimal(jump))
            continue  # the jump is made by reading the venue inside this stretch
        checks = range(first, min(first + 8, CHECKS + 1))
        moments = [OPENED + timedelta(seconds=30 * check) for check in checks]
        if probe.none_fire_within(views, moments):
            quiet += 1
            assert not any(plain[check - 1] for check in checks), first
    bounded = not any(isinstance(rule, LegGreekExit) and rule.greek is not Greek.DELTA
                      for rule in rules)
    assert quiet >= CHECKS / 8 / 4 if bounded else quiet == 0
