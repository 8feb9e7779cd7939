"""What a flatten closes with: the limit part of a strategy's close, every phase priced like
its last (most aggressive) one, with the same budget and requote rhythm."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from runner.service.control import most_aggressive
from runner.strategy.model import (
    AutoExecution,
    LimitExecution,
    Phase,
    PhasedLimitExecution,
    PriceReference,
    RfqExecution,
)

MINUTE = timedelta(minutes=1)
PHASED = PhasedLimitExecution(phases=(
    Phase(2 * MINUTE, MINUTE, PriceReference.FAIR),
    Phase(MINUTE, MINUTE / 2, PriceReference.AGGRESSIVE, Decimal(1))), profile="walk")


def test_a_phased_close_keeps_its_budget_and_every_phase_takes_the_last_price():
    flatten = most_aggressive(PHASED)
    assert [(p.duration, p.requote_interval) for p in flatten.phases] == [
        (2 * MINUTE, MINUTE), (MINUTE, MINUTE / 2)]
    assert {(p.reference, p.offset_pct) for p in flatten.phases} == {
        (PriceReference.AGGRESSIVE, Decimal(1))}
    assert flatten.total_duration == PHASED.total_duration
    assert flatten.profile == "walk"


def test_an_aggressive_limit_close_stays_aggressive_round_for_round():
    flatten = most_aggressive(LimitExecution(fill_timeout=MINUTE, requote_rounds=2))
    assert len(flatten.phases) == 3
    assert {p.reference for p in flatten.phases} == {PriceReference.AGGRESSIVE}


def test_an_rfq_close_flattens_by_its_limit_fallback_and_auto_by_its_limit():
    assert most_aggressive(RfqExecution(fallback=PHASED)).phases == most_aggressive(
        PHASED).phases
    no_fallback = most_aggressive(RfqExecution(fallback=None))
    assert no_fallback.phases == most_aggressive(LimitExecution()).phases
    auto = AutoExecution(rfq=RfqExecution(), limit=PHASED)
    assert most_aggressive(auto).phases == most_aggressive(PHASED).phases
