"""Phase plans: a limit execution as a sequence of timed pricing phases.

A `PhasedLimitExecution` already is one. A plain `LimitExecution` (the classic fill
manager) becomes `requote_rounds + 1` identical phases, each one fill timeout long,
priced aggressively with the buffer: a phase change is a requote round, so each round
may step the price freely while a phase's own repricing never moves against us
(lessons B9). One clock for both keeps a single executor.

Invariant: the plan's total duration is the execution's whole budget; past it the
execution is exhausted (lessons B1: bounded attempts, never a runaway).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from runner.strategy.model import (
    LimitExecution,
    LimitLike,
    Phase,
    PhasedLimitExecution,
    PriceGuards,
    PriceReference,
)


def phase_plan(spec: LimitLike) -> tuple[Phase, ...]:
    """The phases `spec` walks through, passive to aggressive."""
    if isinstance(spec, PhasedLimitExecution):
        return spec.phases
    round_ = Phase(duration=spec.fill_timeout, requote_interval=spec.fill_timeout,
                   reference=PriceReference.AGGRESSIVE, offset_pct=spec.aggressive_buffer_pct)
    return (round_,) * (spec.requote_rounds + 1)


def guards_of(spec: LimitLike) -> PriceGuards:
    return spec.guards


def phase_index(spec: LimitLike, started_at: datetime, now: datetime) -> int | None:
    """Which phase `now` falls in; None once the whole plan has run out."""
    elapsed = now - started_at
    end = timedelta(0)
    for index, phase in enumerate(phase_plan(spec)):
        end += phase.duration
        if elapsed < end:
            return index
    return None


def phase_end(spec: LimitLike, started_at: datetime, index: int) -> datetime:
    """When phase `index` ends."""
    plan = phase_plan(spec)
    return started_at + sum((p.duration for p in plan[: index + 1]), timedelta(0))


def rounds_of(spec: LimitLike) -> int:
    """How many pricing rounds (phases) the plan has; for messages."""
    return len(phase_plan(spec))


def unwind_spec(spec: LimitLike | None) -> LimitExecution:
    """How filled legs of a failed open are traded back: aggressive limit orders.

    The open's own plan may be passive (phases starting at fair value); an unwind wants
    out, so it uses the classic aggressive rounds (the open's timing when it was
    classic) and keeps only the price floor for sells.
    """
    if isinstance(spec, LimitExecution):
        return LimitExecution(fill_timeout=spec.fill_timeout, requote_rounds=spec.requote_rounds,
                              aggressive_buffer_pct=spec.aggressive_buffer_pct,
                              guards=PriceGuards(min_floor_price=spec.guards.min_floor_price))
    floor = spec.guards.min_floor_price if spec is not None else None
    return LimitExecution(guards=PriceGuards(min_floor_price=floor))
