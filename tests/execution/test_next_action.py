"""When an execution next acts by the clock alone (execution/next_action.py, issue 12).

A simulation stepping by events skips the ticks between an execution's step and the
moment `next_action_at` names, so that moment must be a lower bound: every step before
it, with no new event, does nothing at all (no command, the same state and trade). These
tests drive executions second by second over a moving market, as the live loop would,
and check that bound at every second; they also check it is worth having (most seconds
are skipped) and name the moments of the rules it reads.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from runner.domain.commands import Event, QuotesReceived
from runner.domain.orders import Side
from runner.domain.snapshot import MarketSnapshot
from runner.execution import Step, advance, start_close, start_open
from runner.execution.next_action import next_action_at, rfq_inputs, rfq_step_is_quiet
from runner.execution.state import RfqStage
from runner.strategy.model import (
    LimitExecution,
    Phase,
    PhasedLimitExecution,
    PriceReference,
    RfqExecution,
)
from tests.execution.helpers_execution import (
    CALL,
    PUT,
    T0,
    D,
    Desk,
    at,
    make_quote,
    market,
    new_trade,
    opened,
    pending_close,
)

SECOND = timedelta(seconds=1)
PHASED = PhasedLimitExecution(phases=(
    Phase(timedelta(seconds=40), timedelta(seconds=10), PriceReference.FAIR),
    Phase(timedelta(seconds=30), timedelta(seconds=15), PriceReference.AGGRESSIVE),
))


def moving_market(when: datetime) -> MarketSnapshot:
    """Bids and asks that step every few seconds, so requotes are sometimes due."""
    s = int((when - T0).total_seconds())
    call, put = 100 + (s // 3) % 9, 50 + (s // 4) % 7
    return market(when, CALL=(str(call), str(call + 10), str(call + 5)),
                  PUT=(str(put), str(put + 6), str(put + 3)))


@dataclass
class Walk:
    seconds: int = 0  # seconds stepped with no event
    skippable: int = 0  # of them, before the moment next_action_at named


def walk(first: Step, desk: Desk, seconds: int,
         fills: dict[int, tuple[int, str]] | None = None) -> Walk:
    """Advance every second; before the named moment a step without events is a no-op."""
    found = Walk()
    step, now = first, T0
    events: list[Event] = list(desk.execute(first.commands))
    for s in range(1, seconds + 1):
        if step.state is None:
            break
        named = next_action_at(step.state, step.trade, now)
        now = at(s)
        if s in (fills or {}):
            leg, qty = (fills or {})[s]
            order = desk.live_on((CALL, PUT)[leg])[0]
            events.append(desk.fill(order.client_order_id, qty))
        following = advance(step.state, step.trade, moving_market(now), events, now)
        if not events:
            found.seconds += 1
            if now < named:
                found.skippable += 1
                assert following.commands == ()
                assert following.state == step.state
                assert following.trade == step.trade
        step, events = following, list(desk.execute(following.commands))
    return found


def test_a_phased_open_acts_only_at_its_requotes_and_phase_ends_between_answers() -> None:
    trade = new_trade((CALL, Side.SELL, "1"), (PUT, Side.SELL, "1"))
    walked = walk(start_open(trade, PHASED, moving_market(T0), T0), Desk(), 90)
    assert walked.skippable * 2 > walked.seconds  # most seconds need no tick


def test_a_partial_fill_does_not_move_the_next_moment_it_names() -> None:
    trade = new_trade((CALL, Side.SELL, "1"), (PUT, Side.SELL, "1"))
    walked = walk(start_open(trade, PHASED, moving_market(T0), T0), Desk(), 90,
                  fills={17: (0, "0.4"), 33: (1, "1")})
    assert walked.skippable * 2 > walked.seconds


def test_an_aggressive_close_acts_only_at_its_rounds() -> None:
    held = pending_close(opened(new_trade((CALL, Side.SELL, "1"), (PUT, Side.SELL, "1")),
                                "105", "53"), "max_loss")
    step = start_close(held, LimitExecution(fill_timeout=timedelta(seconds=20)),
                       "max_loss", moving_market(T0), T0)
    desk = Desk(position={CALL: D(-1), PUT: D(-1)})
    walked = walk(step, desk, 120, fills={50: (1, "1")})
    assert walked.skippable * 2 > walked.seconds


def test_the_moments_named_are_the_rules_own() -> None:
    trade = new_trade((CALL, Side.SELL, "1"))
    desk = Desk()
    step = start_open(trade, PHASED, moving_market(T0), T0)
    answered = advance(step.state, step.trade, moving_market(at(1)),
                       desk.execute(step.commands), at(1))
    assert next_action_at(step.state, step.trade, T0) == T0  # the answer is awaited
    assert next_action_at(answered.state, answered.trade, at(1)) == at(10)  # requote
    progress = answered.state.limit
    late = replace(progress, next_reprice_at=at(45))
    assert next_action_at(replace(answered.state, limit=late), answered.trade,
                          at(38)) == at(40)  # the first phase ends
    exhausted = replace(progress, exhausted_at=at(70))
    assert next_action_at(replace(answered.state, limit=exhausted), answered.trade,
                          at(70)) == at(70)  # the grace tick follows at once (B8)


def test_a_refused_leg_waits_for_its_pause_to_end() -> None:
    trade = new_trade((CALL, Side.SELL, "1"))
    step = start_open(trade, PHASED, moving_market(T0), T0)
    (order,) = step.state.limit.orders
    refused = replace(order, state=type(order.state).FINAL)
    leg = replace(step.state.limit.leg(0), hold_until=at(12))
    progress = replace(step.state.limit.with_order(refused).with_leg(leg),
                       next_reprice_at=at(10))
    paused = replace(step.state, limit=progress)
    assert next_action_at(paused, step.trade, at(1)) == at(10)
    later = replace(paused, limit=replace(progress, next_reprice_at=at(20)))
    assert next_action_at(later, step.trade, at(1)) == at(12)
    assert next_action_at(later, step.trade, at(12)) == at(12)  # place at the next tick


def test_an_rfq_collecting_quotes_waits_for_its_deadline_and_a_quiet_step_is_told() -> None:
    trade = new_trade((CALL, Side.BUY, "0.5"), (PUT, Side.BUY, "0.5"))
    rfq = RfqExecution(timeout=timedelta(seconds=60), min_improvement_pct=D(1))
    step = start_open(trade, rfq, moving_market(T0), T0)
    assert next_action_at(step.state, step.trade, T0) == T0  # the create is answered next
    created = advance(step.state, step.trade, moving_market(at(1)),
                      Desk().execute(step.commands), at(1))
    assert created.state.rfq.stage is RfqStage.COLLECTING
    assert next_action_at(created.state, created.trade, at(1)) == at(60)
    poor = make_quote("q1", "r1", (CALL, Side.SELL, "111", "0.5"), (PUT, Side.SELL, "57", "0.5"))
    seen = advance(created.state, created.trade, moving_market(at(2)),
                   [QuotesReceived("r1", (poor,))], at(2))
    assert not rfq_step_is_quiet(created.state, seen, created.trade)  # a quote first seen
    again = advance(seen.state, seen.trade, moving_market(at(5)),
                    [QuotesReceived("r1", (poor,))], at(5))
    assert again.state != seen.state  # its book baseline moved with the market ...
    assert rfq_step_is_quiet(seen.state, again, seen.trade)  # ... which is no action
    good = make_quote("q2", "r1", (CALL, Side.SELL, "100", "0.5"), (PUT, Side.SELL, "50", "0.5"))
    accepted = advance(seen.state, seen.trade, moving_market(at(6)),
                       [QuotesReceived("r1", (poor, good))], at(6))
    assert not rfq_step_is_quiet(seen.state, accepted, seen.trade)


def test_an_rfq_step_reads_only_its_inputs_the_book_cost_and_the_usable_quotes() -> None:
    """Two books with the same cost for the wanted legs, at two seconds: the same step."""
    trade = new_trade((CALL, Side.BUY, "0.5"), (PUT, Side.BUY, "0.5"))
    rfq = RfqExecution(timeout=timedelta(seconds=60), min_improvement_pct=D(1))
    step = start_open(trade, rfq, moving_market(T0), T0)
    created = advance(step.state, step.trade, moving_market(at(1)),
                      Desk().execute(step.commands), at(1))
    poor = make_quote("q1", "r1", (CALL, Side.SELL, "111", "0.5"), (PUT, Side.SELL, "57", "0.5"))
    one = market(at(5), CALL=("100", "110", "105"), PUT=("50", "56", "53"))
    other = market(at(7), CALL=("101", "112", "106"), PUT=("49", "54", "51"))  # 83 again
    collecting = created.state.rfq
    assert rfq_inputs(collecting, one, (poor,), at(5)) == rfq_inputs(
        collecting, other, (poor,), at(7))
    steps = [advance(created.state, created.trade, snapshot, [QuotesReceived("r1", (poor,))],
                     when) for snapshot, when in ((one, at(5)), (other, at(7)))]
    assert steps[0].state == steps[1].state
    no_ask = market(at(5), CALL=("100", None, "105"), PUT=("50", "56", "53"))
    assert rfq_inputs(collecting, no_ask, (poor,), at(5)) != rfq_inputs(
        collecting, one, (poor,), at(5))
    expiring = replace(poor, expires_at=at(6))
    assert rfq_inputs(collecting, one, (expiring,), at(5)) != rfq_inputs(
        collecting, one, (poor,), at(5))  # about to expire: no longer judged
