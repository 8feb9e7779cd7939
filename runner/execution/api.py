"""The executors' public entry points: start an open, start a close, advance a tick.

Pure: a trade, an execution spec, the tick's snapshot and events and `now` in; the
trade with fills credited and stages moved (each with its reason), the commands for the
dispatcher, and alerts out (brief-engine.md, "Executors"). Nothing here blocks, sleeps,
reads the clock or calls the exchange.

Routing: `auto` picks RFQ or limit from the notional (strike x qty summed, lessons I4)
and the route is recorded on the trade (`trade.execution`). An RFQ below its minimum
notional goes straight to its fallback, with the reason. A structure sold by RFQ
(`action: sell`) has its leg sides reversed on open, so the trade records what it
holds and the close (always the reverse of what is held) reverses it again.

A close started while another execution of the trade is still working supersedes it
(pass it as `previous`): its live orders are cancelled first and their fills counted,
and the new orders carry the new reason in their keys (lessons B4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from runner.domain.commands import CancelRfq, Event, OrderPurpose
from runner.domain.orders import Side
from runner.domain.snapshot import MarketSnapshot
from runner.domain.trades import Trade, TradeLeg, TradeStage
from runner.execution.launch import start_limit_close, start_limit_open
from runner.execution.limit import attempt_base, run_limit
from runner.execution.phases import phase_index, unwind_spec
from runner.execution.rfq import begin_rfq, run_rfq
from runner.execution.router import Route, notional_usd, route
from runner.execution.state import ExecutionState, RfqStage, Step, TrackedOrder
from runner.strategy.model import (
    AutoExecution,
    ExecutionSpec,
    LimitExecution,
    LimitLike,
    RfqExecution,
)


def start_open(trade: Trade, spec: ExecutionSpec, snapshot: MarketSnapshot,
               now: datetime) -> Step:
    """Begin opening a PENDING_OPEN trade: limit orders, an RFQ, or FAILED at once."""
    if trade.stage is not TradeStage.PENDING_OPEN:
        raise ValueError(f"trade {trade.trade_id} is {trade.stage.value}, not pending_open")
    chosen = route(spec, notional_usd((leg.symbol, leg.qty) for leg in trade.legs))
    first_attempt = attempt_base(trade)
    if isinstance(chosen.spec, RfqExecution):
        return _start_rfq_open(trade, chosen, snapshot, now, first_attempt)
    return start_limit_open(trade, chosen.spec, snapshot, now, chosen.why, first_attempt)


def _start_rfq_open(trade: Trade, chosen: Route, snapshot: MarketSnapshot, now: datetime,
                    first_attempt: int) -> Step:
    spec = chosen.spec
    assert isinstance(spec, RfqExecution)  # noqa: S101 - routed here for RFQ only
    if spec.action is Side.SELL:
        trade = replace(trade, legs=tuple(_reversed(leg) for leg in trade.legs))
    notional = notional_usd((leg.symbol, leg.qty) for leg in trade.legs)
    if notional < spec.min_notional_usd:
        why = (f"rfq skipped: notional {notional} USD is below the RFQ minimum"
               f" {spec.min_notional_usd}")
        if spec.fallback is None:
            failed = trade.moved_to(TradeStage.FAILED, f"not opened: {why}; no fallback", now)
            return Step(None, failed, ())
        return start_limit_open(trade, spec.fallback, snapshot, now, f"{why}; limit fallback",
                                first_attempt, notes=(f"trade {trade.trade_id}: {why}",))
    trade = replace(trade, execution="rfq")
    state, create = begin_rfq(trade, spec, OrderPurpose.OPEN, "open", now, first_attempt)
    trade = trade.moved_to(TradeStage.OPENING, f"rfq requested ({chosen.why}; notional"
                                               f" {notional} USD)", now)
    return Step(state, trade, (create,))


def _reversed(leg: TradeLeg) -> TradeLeg:
    """`action: sell` trades the structure the other way round (no fills yet)."""
    return replace(leg, side=leg.side.opposite)


def start_close(trade: Trade, spec: ExecutionSpec, reason: str, snapshot: MarketSnapshot,
                now: datetime, *, previous: ExecutionState | None = None) -> Step:
    """Begin closing a trade (or unwinding the filled legs of a failed open).

    `previous`: the execution still working on this trade, if any; it is superseded.
    """
    if previous is not None and previous.rfq is not None \
            and previous.rfq.stage is RfqStage.ACCEPTING:
        return Step(previous, trade, (), notes=(f"trade {trade.trade_id}: an RFQ accept is"
                                                f" in flight; {reason} waits for it",))
    unwind = trade.opened_at is None
    purpose = OrderPurpose.UNWIND if unwind else OrderPurpose.CLOSE
    key_reason = "unwind" if unwind else reason
    trade = _to_pending_close(trade, reason, now)
    commands, inherited = _superseded(previous, trade)
    first_attempt = attempt_base(trade)
    if not inherited and trade.is_flat:
        return _nothing_held(trade, purpose, reason, now, commands)
    chosen = _close_route(trade, spec, unwind, bool(inherited))
    if isinstance(chosen.spec, RfqExecution):
        state, create = begin_rfq(trade, chosen.spec, purpose, key_reason, now, first_attempt)
        trade = trade.moved_to(TradeStage.CLOSING, f"close by rfq requested ({reason};"
                                                   f" {chosen.why})", now)
        return Step(state, trade, (*commands, create))
    step = start_limit_close(trade, chosen.spec, purpose, key_reason, snapshot, now,
                             first_attempt, inherited, notes=(f"{trade.trade_id}: {chosen.why}",))
    return replace(step, commands=(*commands, *step.commands))


def _to_pending_close(trade: Trade, reason: str, now: datetime) -> Trade:
    if trade.stage is TradeStage.PENDING_CLOSE:
        return trade
    if trade.stage is TradeStage.CLOSING:
        return trade.moved_to(TradeStage.PENDING_CLOSE, f"close superseded by {reason}", now)
    if trade.opened_at is not None:
        trade = trade.with_exit_reason(reason)
    return trade.moved_to(TradeStage.PENDING_CLOSE, f"close requested: {reason}", now)


def _superseded(previous: ExecutionState | None,
                trade: Trade) -> tuple[tuple[CancelRfq, ...], tuple[TrackedOrder, ...]]:
    if previous is None:
        return (), ()
    cancels: tuple[CancelRfq, ...] = ()
    if previous.rfq is not None and previous.rfq.request_id is not None:
        cancels = (CancelRfq(trade.trade_id, previous.rfq.request_id, "superseded"),)
    inherited = previous.limit.live_orders() if previous.limit is not None else ()
    return cancels, inherited


def _nothing_held(trade: Trade, purpose: OrderPurpose, reason: str, now: datetime,
                  commands: tuple[CancelRfq, ...]) -> Step:
    if purpose is OrderPurpose.UNWIND:
        trade = trade.moved_to(TradeStage.FAILED, "open failed; nothing was filled", now)
    else:
        trade = trade.moved_to(TradeStage.CLOSED, f"nothing held to close ({reason})", now)
    return Step(None, trade, commands)


def _close_route(trade: Trade, spec: ExecutionSpec, unwind: bool, has_inherited: bool) -> Route:
    if unwind:
        return Route(unwind_spec(_limit_part(spec)), "unwind by aggressive limit orders")
    chosen = route(spec, notional_usd((leg.symbol, leg.open_qty) for leg in trade.legs))
    if not isinstance(chosen.spec, RfqExecution):
        return chosen
    rfq = chosen.spec
    fallback = rfq.fallback or LimitExecution()
    if has_inherited:
        return Route(fallback, "limit: earlier close orders are still being cancelled")
    notional = notional_usd((leg.symbol, leg.open_qty) for leg in trade.legs)
    if notional < rfq.min_notional_usd:
        return Route(fallback, f"rfq skipped: notional {notional} USD is below the RFQ"
                               f" minimum {rfq.min_notional_usd}; limit fallback")
    return chosen


def _limit_part(spec: ExecutionSpec) -> LimitLike | None:
    if isinstance(spec, AutoExecution):
        return spec.limit
    if isinstance(spec, RfqExecution):
        return spec.fallback
    return spec


def advance(state: ExecutionState, trade: Trade, snapshot: MarketSnapshot,
            events: Sequence[Event], now: datetime) -> Step:
    """Advance one execution by one tick with this tick's (unfiltered) events."""
    if trade.trade_id != state.trade_id:
        raise ValueError(f"execution of {state.trade_id} advanced with trade {trade.trade_id}")
    if trade.stage.is_terminal:
        return Step(None, trade, (), notes=(f"trade {trade.trade_id} is already"
                                            f" {trade.stage.value}",))
    if state.rfq is not None:
        return run_rfq(state, trade, snapshot, events, now)
    return run_limit(state, trade, snapshot, events, now)


def budget_spent(state: ExecutionState, now: datetime) -> bool:
    """Whether a limit execution's time budget is over at `now` (its phases).

    The service asks it after a restart: a close whose budget ran out while the process
    was down is started again rather than given up without a single attempt. An RFQ
    execution is never "spent": past its deadline its own next step cancels its request
    and hands over to the limit fallback with a fresh budget. Superseding it instead
    would leave its request active and unwatched when the RfqCreated that named it was
    lost with the process (no request id to cancel; found by the crash campaign).
    """
    if state.rfq is not None:
        return False
    if state.limit is None:
        return False
    return (state.limit.exhausted_at is not None
            or phase_index(state.limit.spec, state.limit.started_at, now) is None)
