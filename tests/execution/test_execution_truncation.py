"""Prices the exchange truncates (issue 8 finding 9): noticed from the open orders the tick
already read, the effective tick learned per instrument, and a requote on it that is never
worse than the price the phase intended (rule: runner/execution/truncation.py)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import ROUND_FLOOR

from runner.domain.commands import Event, PlaceOrder
from runner.domain.orders import Side
from runner.domain.snapshot import Chain, MarketSnapshot
from runner.domain.trades import TradeStage
from runner.execution import Step, advance, start_close, start_open
from runner.strategy.model import Phase, PhasedLimitExecution, PriceReference
from tests.execution.helpers_execution import (
    CALL,
    T0,
    D,
    Desk,
    at,
    cancels,
    new_trade,
    opened,
    option_quote,
    pending_close,
    places,
)

AT_MARK = PhasedLimitExecution((Phase(timedelta(minutes=5), timedelta(seconds=30),
                                      PriceReference.MARK),))


def listed_at_a_tenth(mark: str = "9.5") -> MarketSnapshot:
    """The instrument list says tick 0.1 (as live); bid 9, ask 10.4."""
    quote = option_quote(CALL, "9", "10.4", mark, tick="0.1")
    return MarketSnapshot(at=T0, chains={quote.instrument.underlying:
                                         Chain.of(quote.instrument.underlying, [quote])})


@dataclass
class TruncatingDesk(Desk):
    """The desk, keeping every order price truncated down to whole dollars (as live)."""

    def _place(self, command: PlaceOrder) -> list[Event]:
        price = command.request.price.to_integral_value(rounding=ROUND_FLOOR)
        return super()._place(replace(command, request=replace(command.request, price=price)))

    def seen(self, snapshot: MarketSnapshot) -> MarketSnapshot:
        return replace(snapshot, open_orders=tuple(self.live()))


def _tick(step: Step, desk: TruncatingDesk, events: list[Event], seconds: float,
          snapshot: MarketSnapshot) -> tuple[Step, list[Event]]:
    assert step.state is not None
    nxt = advance(step.state, step.trade, desk.seen(replace(snapshot, at=at(seconds))),
                  events, at(seconds))
    return nxt, desk.execute(nxt.commands)


def long_call_to_close():
    return pending_close(opened(new_trade((CALL, Side.BUY, "1")), "8"), "max_hold")


def test_a_close_sell_truncated_from_9_5_to_9_is_requoted_at_10_and_the_tick_learned():
    desk = TruncatingDesk()
    desk.position = {CALL: D(1)}
    step = start_close(long_call_to_close(), AT_MARK, "max_hold", listed_at_a_tenth(), T0)
    (sent,) = places(step)
    assert sent.request.price == D("9.5")  # on the listed 0.1 grid
    events = desk.execute(step.commands)
    assert desk.live()[0].price == D(9)  # the exchange kept 9.00

    step, events = _tick(step, desk, events, 1, listed_at_a_tenth())
    (cancel,) = cancels(step)
    assert cancel.client_order_id == sent.request.client_order_id
    assert "requote 9 -> 10" in cancel.reason
    assert step.learned_ticks == ((CALL, D(1)),)
    assert any("rests at 9" in n and "learned tick 1" in n for n in step.notes)

    step, events = _tick(step, desk, events, 2, listed_at_a_tenth())
    (again,) = places(step)
    assert again.request.price == D(10)  # never below the intended 9.5; a price it keeps
    assert again.request.side is Side.SELL
    assert again.request.reduce_only
    assert desk.live()[0].price == D(10)

    for seconds in (3, 4, 5):  # kept as sent: nothing more to do
        step, events = _tick(step, desk, events, seconds, listed_at_a_tenth())
        assert step.commands == ()
    fill = desk.fill(again.request.client_order_id, "1")
    step, _ = _tick(step, desk, [*events, fill], 6, listed_at_a_tenth())
    assert step.trade.stage is TradeStage.CLOSED
    assert step.trade.legs[0].exit_price == D(10)


def test_an_open_buy_truncated_down_is_already_on_the_learned_grid_and_stays():
    """9.5 kept at 9.0 is what rounding a buy down on tick 1 gives: not worse for us."""
    desk = TruncatingDesk()
    step = start_open(new_trade((CALL, Side.BUY, "1")), AT_MARK, listed_at_a_tenth(), T0)
    (sent,) = places(step)
    assert sent.request.price == D("9.5")
    events = desk.execute(step.commands)
    step, events = _tick(step, desk, events, 1, listed_at_a_tenth())
    assert step.commands == ()
    assert step.learned_ticks == ((CALL, D(1)),)
    assert any("already on it: kept" in n for n in step.notes)
    # a later reprice (mark up to 9.8) rounds down on the learned grid: 9, no requote
    for seconds in (31, 61):
        step, events = _tick(step, desk, events, seconds, listed_at_a_tenth("9.8"))
        assert cancels(step) == []
        assert places(step) == []


def test_a_learned_tick_rounds_the_first_price_of_a_later_execution():
    snapshot = replace(listed_at_a_tenth(), learned_ticks={CALL: D(1)})
    close = start_close(long_call_to_close(), AT_MARK, "max_hold", snapshot, T0)
    assert [p.request.price for p in places(close)] == [D(10)]  # sell rounds up
    open_ = start_open(new_trade((CALL, Side.BUY, "1")), AT_MARK, snapshot, T0)
    assert [p.request.price for p in places(open_)] == [D(9)]  # buy rounds down


def test_a_price_no_grid_explains_is_noted_once_and_not_requoted():
    desk = Desk()
    desk.position = {CALL: D(1)}
    step = start_close(long_call_to_close(), AT_MARK, "max_hold", listed_at_a_tenth(), T0)
    events = desk.execute(step.commands)
    (order,) = desk.live()
    desk.orders[order.client_order_id] = replace(order, price=D("9.3"))
    seen = replace(listed_at_a_tenth(), open_orders=tuple(desk.live()))
    assert step.state is not None
    step = advance(step.state, step.trade, replace(seen, at=at(1)), events, at(1))
    assert step.commands == ()
    assert step.learned_ticks == ()
    assert any("no tick explains it" in n for n in step.notes)
    assert step.state is not None
    later = advance(step.state, step.trade, replace(seen, at=at(2), open_orders=tuple(
        desk.live())), [], at(2))
    assert not any("rests at" in n for n in later.notes)
