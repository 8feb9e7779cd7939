"""`runner run --adopt` / `--flatten`: the operator's decision on positions at a start.

Owns applying that decision to a store before the service trades (lessons A9, H6): adopt
what the exchange holds and the store does not track, and with flatten close every active
trade (reduce-only, followed, bounded). Used by the service's start and by the crash
tests; the decisions themselves live in `reconcile.decisions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from runner.dispatch import Dispatcher
from runner.domain.trades import ZERO, Trade
from runner.exchange.errors import ExchangeError
from runner.exchange.port import Exchange
from runner.reconcile.decisions import FlattenLimits, adopt_positions, flatten
from runner.reconcile.startup import reconcile
from runner.store.store import Store

StartDecisionName = Literal["adopt", "flatten"]
START_DECISIONS: Final = ("adopt", "flatten")


@dataclass(frozen=True, slots=True)
class StartDecision:
    """What a start-up decision did; `ok` is False when something is still unresolved."""

    decision: str | None
    ok: bool
    lines: tuple[str, ...]


def apply_start_decision(store: Store, exchange: Exchange, now: datetime,
                         decision: StartDecisionName | None, *,
                         limits: FlattenLimits | None = None) -> StartDecision:
    """Apply `runner run --adopt` or `--flatten` to a store (lessons A9, H6).

    adopt: every exchange position the store does not track becomes an OPEN trade of
    the strategy "adopted". flatten: the same, then every active trade is flattened
    (reduce-only, followed, bounded); `ok` is False if anything is still held or the
    exchange could not be read. Reconciles first. Uses the store's clock for waits.
    """
    if decision is None:
        return StartDecision(None, True, ())
    if decision not in START_DECISIONS:
        raise ValueError(f"unknown start decision {decision!r}; expected adopt or flatten")
    report = reconcile(store, exchange, now)
    if not report.complete:
        return StartDecision(decision, False, report.lines)
    adopted = adopt_positions(store, exchange, now)
    lines = [f"start --{decision}: {adopted_line(t)}" for t in adopted]
    ok = True
    if decision == "flatten":
        ok, flattened = _flatten_all(store, exchange, limits)
        lines += flattened
    store.audit("operator", f"run --{decision}", "done" if ok else "incomplete",
                adopted=[t.trade_id for t in adopted])
    return StartDecision(decision, ok, tuple(lines) or (f"start --{decision}: nothing to do",))


def _flatten_all(store: Store, exchange: Exchange,
                 limits: FlattenLimits | None) -> tuple[bool, list[str]]:
    dispatcher = Dispatcher(exchange, store, store.clock)
    ok, lines = True, []
    for trade in store.load_active_trades():
        prefix = f"start --flatten: {trade.trade_id}"
        try:
            gone = nothing_to_reduce(exchange, trade)
        except ExchangeError as error:
            return False, [*lines, f"{prefix}: positions could not be read ({error}); stopped"]
        if gone is not None:
            ok = False
            lines.append(f"{prefix}: {gone}")
            continue
        outcome = flatten(store, dispatcher, exchange, store.clock, trade.trade_id, limits)
        ok = ok and outcome.is_done
        lines += [f"{prefix}: {line}" for line in outcome.lines]
    return ok, lines


def nothing_to_reduce(exchange: Exchange, trade: Trade) -> str | None:
    """Why flattening this trade cannot place a single order, or None when it can.

    A trade that holds something the exchange does not show at all needs "closed
    externally", not an order; its stage is left alone. Raises ExchangeError.
    """
    held = [leg for leg in trade.legs if leg.open_qty > 0]
    if not held:
        return None
    found = {p.symbol: p.qty for p in exchange.positions()}
    if any(found.get(leg.symbol, ZERO) * leg.side.sign > 0 for leg in held):
        return None
    legs = ", ".join(f"{leg.side.value} {leg.open_qty} {leg.symbol}" for leg in held)
    return (f"the exchange shows none of trade {trade.trade_id}'s positions ({legs}); nothing"
            " to flatten. If they were closed by hand: runner trades close-externally"
            f" {trade.trade_id}")


def adopted_line(trade: Trade) -> str:
    """One line for a position adopted as a trade."""
    leg = trade.legs[0]
    return (f"adopted {leg.side.value} {leg.open_qty} {leg.symbol} @ {leg.entry_price} as"
            f" trade {trade.trade_id} (strategy {trade.strategy})")
