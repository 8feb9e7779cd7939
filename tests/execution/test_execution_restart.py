"""Restart resume: an execution persisted mid-flight continues exactly as if never stopped."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from runner.domain.orders import Side
from runner.execution import ExecutionState, advance, execution_state_from_dict, start_open
from runner.strategy.model import (
    LimitExecution,
    Phase,
    PhasedLimitExecution,
    PriceGuards,
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
    places,
)

BOOK = market(CALL=("100", "102", "101"), PUT=("50", "52", "51"))
MOVED = market(CALL=("95", "97", "96"), PUT=("55", "57", "56"))
PHASED = PhasedLimitExecution(
    phases=(Phase(timedelta(seconds=30), timedelta(seconds=10), PriceReference.FAIR, D(-1)),
            Phase(timedelta(seconds=30), timedelta(seconds=10), PriceReference.AGGRESSIVE,
                  D(1))),
    guards=PriceGuards(min_floor_price=D(5), open_sell_floor_pct_of_fair=D(80)),
    profile="passive_to_aggressive")


def through_json(state: ExecutionState) -> ExecutionState:
    return execution_state_from_dict(json.loads(json.dumps(state.to_dict())))


@pytest.mark.parametrize("spec", [LimitExecution(fill_timeout=timedelta(seconds=30),
                                                 requote_rounds=1), PHASED])
def test_a_limit_execution_survives_a_round_trip_and_continues_identically(spec):
    """Persisted after every step, rebuilt on restart: the same next steps, command for
    command, fill for fill."""
    trade = new_trade((CALL, Side.BUY, "1"), (PUT, Side.SELL, "1"))
    desk = Desk()
    step = start_open(trade, spec, BOOK, T0)
    call_id = places(step)[0].request.client_order_id
    events = [*desk.execute(step.commands), desk.fill(call_id, "0.3")]
    mid = advance(step.state, step.trade, BOOK, events, at(5))
    restored = through_json(mid.state)
    assert restored == mid.state
    script = [(at(30), MOVED, []), (at(31), MOVED, "confirm"), (at(45), MOVED, []),
              (at(61), MOVED, []), (at(62), MOVED, "confirm")]
    original = _replay(mid.state, mid.trade, script, Desk(orders=dict(desk.orders)))
    resumed = _replay(restored, mid.trade, script, Desk(orders=dict(desk.orders)))
    assert original == resumed
    assert any(s.commands for s in original)


def _replay(state, trade, script, desk):
    steps, pending = [], []
    for when, snapshot, mode in script:
        if state is None:
            break
        step = advance(state, trade, snapshot, pending if mode == "confirm" else [], when)
        pending = desk.execute(step.commands)
        steps.append(step)
        state, trade = step.state, step.trade
    return steps


def test_an_rfq_execution_waiting_for_quotes_survives_a_round_trip():
    trade = new_trade((CALL, Side.BUY, "0.5"), (PUT, Side.BUY, "0.5"))
    spec = RfqExecution(timeout=timedelta(seconds=60), fallback=PHASED, action=Side.BUY)
    desk = Desk(quotes=(make_quote("q1", "r1", (CALL, Side.SELL, "104", "0.5"),
                                   (PUT, Side.SELL, "54", "0.5")),))
    step = start_open(trade, spec, BOOK, T0)
    mid = advance(step.state, step.trade, BOOK,
                  [*desk.execute(step.commands), desk.quote_event("r1")], at(10))
    restored = through_json(mid.state)
    assert restored == mid.state
    assert restored.rfq.request_id == "r1"
    assert restored.rfq.fallback == PHASED
    late = at(60)
    assert advance(restored, mid.trade, BOOK, [], late) == advance(mid.state, mid.trade, BOOK,
                                                                    [], late)


def test_a_state_of_an_unknown_version_is_refused():
    trade = new_trade((CALL, Side.BUY, "1"))
    data = start_open(trade, LimitExecution(), BOOK, T0).state.to_dict()
    data["version"] = 99
    with pytest.raises(ValueError, match="version"):
        execution_state_from_dict(data)
