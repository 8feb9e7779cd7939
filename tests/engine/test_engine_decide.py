"""Whole decisions: a strategy, a market and a time in; an open decision, closes and the
checks that led there out; and the trade an open decision creates."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from runner.domain.instruments import Underlying
from runner.domain.orders import Side
from runner.domain.trades import Trade, TradeStage
from runner.engine.decide import decide, new_trade
from runner.engine.state import state_from_trades
from runner.strategy.model import (
    AutoExecution,
    DteExpiry,
    ExecutionPlan,
    FixedStrike,
    LimitExecution,
    MaxHoldExit,
    MinAvailableMarginCondition,
    RfqExecution,
    RiskSpec,
    TimingSpec,
)
from tests.builders import NOW, make_leg, make_snapshot, make_spec, make_trade, strangle_legs
from tests.engine.helpers_engine import check, decide_at, names, state

NEXT = datetime(2026, 3, 3, 8, tzinfo=UTC)

MICRO_STRANGLE = make_spec(
    name="micro_strangle",
    legs=strangle_legs("0.15", "-0.15", qty="0.01"),
    entry=[MinAvailableMarginCondition(Decimal(30))],
    timing=TimingSpec(check_interval=timedelta(seconds=5), cooldown=timedelta(seconds=10),
                      max_concurrent_trades=1, max_trades_per_day=2),
    exits=(MaxHoldExit(timedelta(seconds=10)),),
)


def test_micro_strangle_buys_a_001_strangle_near_015_delta_on_the_next_expiry() -> None:
    decision = decide_at(MICRO_STRANGLE)
    assert decision.entry_checked
    assert decision.open is not None
    call, put = decision.open.legs
    assert (call.spec.side, put.spec.side) == (Side.BUY, Side.BUY)
    assert (call.qty, put.qty) == (Decimal("0.01"), Decimal("0.01"))
    assert call.instrument.expiry == put.instrument.expiry == NEXT
    assert abs(call.delta - 0.15) < 0.1
    assert abs(put.delta + 0.15) < 0.1
    assert decision.open.notional_usd == (call.instrument.strike + put.instrument.strike) \
        * Decimal("0.01")
    assert decision.open.execution == "limit"
    assert decision.open.cycle is None
    assert decision.open.checks == decision.checks
    assert names(decision)[-1] == "legs"


def test_new_trade_records_legs_sides_deltas_the_entry_index_and_the_route() -> None:
    market = make_snapshot()
    decision = decide(MICRO_STRANGLE, state(), market, NOW)
    assert decision.open is not None
    trade = new_trade(MICRO_STRANGLE, decision.open, "ms-1", market, NOW)
    assert trade.stage is TradeStage.PENDING_OPEN
    assert (trade.trade_id, trade.strategy, trade.created_at) == ("ms-1", "micro_strangle", NOW)
    assert [(leg.index, leg.symbol, leg.side, leg.qty, leg.delta_at_entry)
            for leg in trade.legs] == [
        (leg.index, leg.symbol, Side.BUY, Decimal("0.01"), leg.delta)
        for leg in decision.open.legs]
    assert trade.index_at_entry == Decimal(87_000)
    assert trade.execution == "limit"
    assert trade.transitions[0].reason.startswith("entry: every gate and condition passed")


def _fill_and_open(trade: Trade, at: datetime) -> Trade:
    trade = trade.moved_to(TradeStage.OPENING, "orders placed", at)
    for leg in trade.legs:
        trade = trade.with_leg(leg.with_open_fill(leg.qty, Decimal(100)))
    return trade.moved_to(TradeStage.OPEN, "filled", at)


def _close(trade: Trade, reason: str, at: datetime) -> Trade:
    trade = trade.with_exit_reason(reason).moved_to(TradeStage.PENDING_CLOSE, reason, at)
    for leg in trade.legs:
        trade = trade.with_leg(leg.with_close_fill(leg.open_qty, Decimal(100)))
    return trade.moved_to(TradeStage.CLOSED, "flat", at)


def test_micro_strangle_makes_exactly_two_round_trips_in_a_day_each_held_10_seconds() -> None:
    """A1/A2 at engine level: the quota counts stored trades and only blocks."""
    market = make_snapshot()
    trades: dict[str, Trade] = {}
    last_check: datetime | None = None
    now = NOW
    for _ in range(720):  # one hour of 5 s ticks
        current = state_from_trades(NOW, trades.values(), now, last_check)
        decision = decide(MICRO_STRANGLE, current, replace(market, at=now), now)
        for close in decision.closes:
            trades[close.trade_id] = _close(trades[close.trade_id], close.reason, now)
        if decision.entry_checked:
            last_check = now
        if decision.open is not None:
            trade_id = f"ms-{len(trades) + 1}"
            created = new_trade(MICRO_STRANGLE, decision.open, trade_id, market, now)
            trades[trade_id] = _fill_and_open(created, now)
        now += timedelta(seconds=5)
    assert len(trades) == 2
    for trade in trades.values():
        assert trade.stage is TradeStage.CLOSED
        assert trade.exit_reason == "max_hold"
        assert trade.closed_at - trade.opened_at == timedelta(seconds=10)
    first, second = sorted(trades.values(), key=lambda t: t.created_at)
    assert second.created_at - first.closed_at >= timedelta(0)


def test_legs_that_cannot_resolve_block_the_entry_with_the_reason() -> None:
    spec = make_spec(legs=(make_leg(strike=FixedStrike(Decimal(123_456))),))
    decision = decide_at(spec)
    assert decision.open is None
    legs = check(decision, "legs")
    assert not legs.passed
    assert legs.detail == "leg 0: call 03 Mar 2026: strike 123456 is not listed"


def test_legs_are_not_resolved_when_a_gate_already_blocks() -> None:
    spec = make_spec(legs=(make_leg(strike=FixedStrike(Decimal(123_456))),))
    decision = decide_at(spec, strategy_state=state(trades_today=1))
    assert "legs" not in names(decision)


# -- risk limits and routing ---------------------------------------------------------------------
ATM_STRANGLE = strangle_legs("0.5", "-0.5", qty="0.5", expiry=DteExpiry(2, 2, 2))


def _notional(spec) -> Decimal:
    decision = decide_at(replace(spec, risk=RiskSpec()))
    assert decision.open is not None
    return decision.open.notional_usd


def test_notional_is_strike_times_qty_summed_over_the_legs() -> None:
    """I4: not premium."""
    decision = decide_at(make_spec(legs=ATM_STRANGLE))
    assert decision.open is not None
    expected = sum(leg.instrument.strike * leg.qty for leg in decision.open.legs)
    assert decision.open.notional_usd == expected
    assert expected > Decimal(80_000)


@pytest.mark.parametrize(("slack", "passes"), [(0, True), (-1, False)])
def test_the_per_trade_notional_limit_is_inclusive(slack: int, passes: bool) -> None:
    spec = make_spec(legs=ATM_STRANGLE)
    limit = _notional(spec) + slack
    decision = decide_at(replace(spec, risk=RiskSpec(max_notional_per_trade_usd=limit)))
    assert check(decision, "max_notional_per_trade_usd").passed is passes
    assert (decision.open is not None) is passes


def test_the_per_strategy_limit_adds_the_open_trades_notional() -> None:
    spec = make_spec(legs=ATM_STRANGLE, timing=TimingSpec(max_concurrent_trades=3,
                                                          max_trades_per_day=None))
    new = _notional(spec)
    limited = replace(spec, risk=RiskSpec(max_notional_per_strategy_usd=new + 9_999))
    held = make_trade([("BTCUSD-27MAR26-100000-C", Side.BUY, "0.1", 900)])  # 10,000 USD
    decision = decide_at(limited, strategy_state=state(active_trades=(held,)))
    result = check(decision, "max_notional_per_strategy_usd")
    assert not result.passed
    assert result.detail.startswith("10000.0 USD open + ")
    room = decide_at(limited, strategy_state=state(active_trades=()))
    assert room.open is not None


def test_the_per_strategy_limit_honours_the_services_open_notional_figure() -> None:
    spec = make_spec(legs=ATM_STRANGLE, risk=RiskSpec(max_notional_per_strategy_usd=Decimal(
        100_000)))
    decision = decide_at(spec, strategy_state=state(notional_open_usd=Decimal(50_000)))
    assert not check(decision, "max_notional_per_strategy_usd").passed


AUTO = AutoExecution(rfq=RfqExecution(), limit=LimitExecution())


@pytest.mark.parametrize(("qty", "route"), [("0.5", "rfq"), ("0.1", "limit")])
def test_i4_auto_routes_by_strike_notional_against_the_rfq_minimum(qty: str, route: str) -> None:
    spec = make_spec(legs=strangle_legs("0.5", "-0.5", qty=qty),
                     execution=ExecutionPlan(open=AUTO, close=LimitExecution()))
    decision = decide_at(spec)
    assert decision.open is not None
    assert decision.open.execution == route


def test_an_rfq_strategy_routes_to_rfq() -> None:
    spec = make_spec(execution=ExecutionPlan(open=RfqExecution(), close=RfqExecution()))
    decision = decide_at(spec)
    assert decision.open is not None
    assert decision.open.execution == "rfq"


def test_a_two_underlying_market_serves_a_strategy_on_eth() -> None:
    spec = make_spec(underlying=Underlying.ETH,
                     legs=tuple(replace(leg, underlying=Underlying.ETH)
                                for leg in strangle_legs()))
    market = make_snapshot(underlyings=(Underlying.BTC, Underlying.ETH))
    decision = decide_at(spec, snapshot=market)
    assert decision.open is not None
    assert {leg.instrument.underlying for leg in decision.open.legs} == {Underlying.ETH}
    trade = new_trade(spec, decision.open, "eth-1", market, NOW)
    assert trade.index_at_entry == Decimal(3000)
