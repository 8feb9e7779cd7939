"""The decision for one strategy at one moment, and the trade it creates.

`decide(spec, state, snapshot, now)`:
1. Exits, every call (even for a disabled strategy: closing bookkeeping never pauses,
   lessons A3): an active trade whose nearest leg expiry has passed settles (G1); an OPEN
   trade closes on its first exit rule that fires (E5). Rules of the clock are evaluated
   every call, rules that read the market when the check interval has elapsed (exits.py).
2. Entry, when the check interval has elapsed: the gates (concurrent trades, cooldown,
   trades per day, attempts per day), the schedule (window, trades per cycle), then the
   entry conditions, each reported in this order; when all pass, the legs are resolved
   and the risk limits checked. An `OpenDecision` comes out only when every check passed.

Deliberate choices:
- Every gate and condition is evaluated and reported even after one blocks (cheap, and
  `plan` and the logs show the full picture); the legs are resolved only when they are
  needed: all checks passed, or a `no_existing_position` on the trade's own instruments
  while every gate passes (with a gate closed it says so instead: resolving the legs
  reads the greeks of a whole expiry).
- Settling at expiry applies to trades in OPEN, PENDING_CLOSE or CLOSING (the stages that
  may move to CLOSED): the service cancels working orders, books settlement and places
  no close order. A trade still opening when its leg expires is the executor's to unwind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final

from runner.domain.snapshot import MarketSnapshot
from runner.domain.trades import Trade, TradeLeg, TradeStage
from runner.engine.checks import SET_FIELD, CheckResult, all_passed, first_failure
from runner.engine.conditions import condition_checks
from runner.engine.exits import EXPIRY_REASON, first_exit, nearest_expiry, settles_at_expiry
from runner.engine.gates import EntryGates, entry_gates, is_entry_due
from runner.engine.limits import execution_route, notional_usd, risk_checks
from runner.engine.selection import LegFailure, ResolvedLeg, resolve_legs
from runner.engine.state import StrategyState
from runner.engine.unresolved import Unresolved, entry_window_start
from runner.strategy.model import StrategySpec

__all__ = ["CheckResult", "CloseDecision", "Decision", "OpenDecision", "decide",
           "evaluate_entry", "exit_decisions", "new_trade"]

SETTLEABLE_STAGES: Final = frozenset({TradeStage.OPEN, TradeStage.PENDING_CLOSE,
                                      TradeStage.CLOSING})
_OPEN: Final = TradeStage.OPEN  # a plain name: an Enum class's attribute lookup is slow


@dataclass(frozen=True, slots=True)
class OpenDecision:
    legs: tuple[ResolvedLeg, ...]
    cycle: int | None
    notional_usd: Decimal
    checks: tuple[CheckResult, ...]
    execution: str = "limit"  # the route: "rfq" or "limit" (auto resolved by notional, I4)


@dataclass(frozen=True, slots=True)
class CloseDecision:
    """Close (or, with settle_at_expiry, settle without orders) one trade."""

    trade_id: str
    reason: str  # the exit rule's reason, or "expiry"
    detail: str
    settle_at_expiry: bool = False


@dataclass(frozen=True, slots=True, init=False)
class Decision:
    strategy: str
    entry_checked: bool  # False when the check interval has not elapsed
    checks: tuple[CheckResult, ...]  # every gate/condition evaluated, in order
    open: OpenDecision | None
    closes: tuple[CloseDecision, ...]  # exits that fired (first rule wins) and settlements
    # Every check passed but the legs cannot be resolved: why, as data (unresolved.py).
    unresolved: Unresolved | None = None

    def __init__(self, strategy: str, entry_checked: bool, checks: tuple[CheckResult, ...],
                 open: OpenDecision | None, closes: tuple[CloseDecision, ...],
                 unresolved: Unresolved | None = None) -> None:
        SET_FIELD(self, "strategy", strategy)  # its own __init__: see checks.SET_FIELD
        SET_FIELD(self, "entry_checked", entry_checked)
        SET_FIELD(self, "checks", checks)
        SET_FIELD(self, "open", open)
        SET_FIELD(self, "closes", closes)
        SET_FIELD(self, "unresolved", unresolved)

    @property
    def blocked_by(self) -> CheckResult | None:
        """The first check that blocked the entry, if any."""
        return first_failure(self.checks)


def decide(spec: StrategySpec, state: StrategyState, snapshot: MarketSnapshot,
           now: datetime, *, held_elsewhere: frozenset[str] = frozenset(),
           due: bool | None = None, gates: EntryGates | None = None) -> Decision:
    """Decide exits for the strategy's trades and, when due, whether to open one.

    Trades in `held_elsewhere` are managed by other rules (the copy of the strategy they
    opened with): they still count for the gates, but their exits are not decided here.
    `due` says whether this is one of the strategy's checks; by default, when the check
    interval has elapsed (a simulation stepping by events checks on the grid instead).
    `gates` is `entry_gates(spec, state, now)` when the caller has worked it out already
    for these very arguments (the service's read plan); else it is worked out here.
    """
    if due is None:
        due = is_entry_due(spec.timing, state, now)
    closes = exit_decisions(spec, state, snapshot, now, skip=held_elsewhere, market=due)
    if not spec.enabled:  # its check still keeps the cadence of its market exits
        disabled = CheckResult("enabled", False, "the strategy is disabled (enabled: false)")
        return Decision(spec.name, due, (disabled,), None, closes)
    if not due:
        return Decision(spec.name, False, (), None, closes)
    checks, opening, failure = _evaluate(spec, state, snapshot, now, gates)
    unresolved = (Unresolved(entry_window_start(spec, state, now), failure)
                  if failure is not None else None)
    return Decision(spec.name, True, checks, opening, closes, unresolved)


class _Legs:
    """The strategy's legs resolved at most once per decision, on first need."""

    def __init__(self, spec: StrategySpec, snapshot: MarketSnapshot, now: datetime) -> None:
        self._args = (spec, snapshot, now)
        self._result: tuple[ResolvedLeg, ...] | LegFailure | None = None

    def get(self) -> tuple[ResolvedLeg, ...] | LegFailure:
        if self._result is None:
            self._result = resolve_legs(*self._args)
        return self._result

    def symbols(self) -> tuple[str, ...] | str:
        resolved = self.get()
        if isinstance(resolved, LegFailure):
            return "the trade's own legs could not be resolved"
        return tuple(leg.symbol for leg in resolved)


def evaluate_entry(spec: StrategySpec, state: StrategyState, snapshot: MarketSnapshot,
                   now: datetime) -> tuple[tuple[CheckResult, ...], OpenDecision | None]:
    """Every entry check in order, and the open decision when all of them pass."""
    checks, opening, _ = _evaluate(spec, state, snapshot, now)
    return checks, opening


def _evaluate(spec: StrategySpec, state: StrategyState, snapshot: MarketSnapshot,
              now: datetime, known: EntryGates | None = None,
              ) -> tuple[tuple[CheckResult, ...], OpenDecision | None, LegFailure | None]:
    """The checks, the open decision, and the leg failure when it is what blocked."""
    gates, cycle = known if known is not None else entry_gates(spec, state, now)
    legs = _Legs(spec, snapshot, now)
    blocking = first_failure(gates)
    checks = (*gates, *condition_checks(spec.entry, snapshot, now, legs.symbols,
                                        blocked_by=blocking.name if blocking else None))
    if not all_passed(checks):
        return checks, None, None
    resolved = legs.get()
    if isinstance(resolved, LegFailure):
        return (*checks, CheckResult("legs", False, str(resolved))), None, resolved
    notional = notional_usd(resolved)
    checks = (*checks, CheckResult("legs", True, describe_legs, (resolved,)),
              *risk_checks(spec.risk, notional, state))
    if not all_passed(checks):
        return checks, None, None
    route = execution_route(spec.execution.open, notional)
    return checks, OpenDecision(resolved, cycle, notional, checks, route), None


def describe_legs(legs: tuple[ResolvedLeg, ...]) -> str:
    """`buy 0.1 BTCUSD-4MAR26-95000-C (delta +0.150)` for each leg."""
    def one(leg: ResolvedLeg) -> str:
        delta = f"delta {leg.delta:+.3f}" if leg.delta is not None else "no delta"
        return f"{leg.spec.side.value} {leg.qty} {leg.symbol} ({delta})"
    return "; ".join(one(leg) for leg in legs)


def exit_decisions(spec: StrategySpec, state: StrategyState, snapshot: MarketSnapshot,
                   now: datetime, *, skip: frozenset[str] = frozenset(), market: bool = True,
                   ) -> tuple[CloseDecision, ...]:
    """Settlements of expired trades and the first exit that fires for each OPEN trade
    (`market`: the check interval has elapsed, the rules that read the market count too)."""
    closes: list[CloseDecision] = []
    for trade in state.active_trades:
        if trade.trade_id in skip:
            continue
        if trade.stage in SETTLEABLE_STAGES and settles_at_expiry(trade, now):
            expiry = nearest_expiry(trade)
            detail = f"a leg expired at {expiry.isoformat() if expiry else '?'}: settle"
            closes.append(CloseDecision(trade.trade_id, EXPIRY_REASON, detail, True))
        elif trade.stage is _OPEN:
            fired = first_exit(spec, trade, state.launch, snapshot, now, market=market)
            if fired is not None:
                closes.append(CloseDecision(trade.trade_id, fired.reason, fired.detail))
    return tuple(closes)


def new_trade(spec: StrategySpec, decision: OpenDecision, trade_id: str,
              snapshot: MarketSnapshot, now: datetime) -> Trade:
    """The trade an open decision creates, in PENDING_OPEN, ready to be stored."""
    legs = tuple(TradeLeg(index=leg.index, symbol=leg.symbol, side=leg.spec.side, qty=leg.qty,
                          delta_at_entry=leg.delta) for leg in decision.legs)
    where = f" in cycle {decision.cycle}" if decision.cycle is not None else ""
    reason = f"entry: every gate and condition passed{where}; notional {decision.notional_usd} USD"
    return Trade.create(trade_id, spec.name, legs, now, reason=reason, cycle=decision.cycle,
                        index_at_entry=snapshot.index_price(spec.underlying),
                        execution=decision.execution)
