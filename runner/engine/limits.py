"""Risk limits on notional, per trade and per strategy (model.RiskSpec).

Notional is defined once (model.NOTIONAL_DEFINITION, lessons I4): the sum over the legs of
strike x quantity, in USD. Not premium, not mark x qty. The same figure routes `auto`
execution (RFQ at or above the RFQ minimum) and is printed by `plan`.

Choice: the strategy's open notional is the larger of the figure the service put in the
state and the one computed here from the state's active trades, so a state built without
it still enforces the limit.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from runner.engine.checks import CheckResult
from runner.engine.selection import ResolvedLeg
from runner.engine.state import StrategyState, trade_notional_usd
from runner.strategy.model import AutoExecution, ExecutionSpec, RfqExecution, RiskSpec

_ZERO = Decimal(0)


def notional_usd(legs: Iterable[ResolvedLeg]) -> Decimal:
    """Strike x quantity summed over the legs (USD)."""
    return sum((leg.notional_usd for leg in legs), _ZERO)


def open_notional_usd(state: StrategyState) -> Decimal:
    """The notional the strategy already carries in its active trades."""
    computed = sum((trade_notional_usd(t) for t in state.active_trades if t.stage.is_active),
                   _ZERO)
    return max(computed, state.notional_open_usd)


def risk_checks(risk: RiskSpec, notional: Decimal,
                state: StrategyState) -> tuple[CheckResult, ...]:
    """Per-trade then per-strategy limits; only the limits that are set are reported."""
    checks: list[CheckResult] = []
    per_trade = risk.max_notional_per_trade_usd
    if per_trade is not None:
        checks.append(CheckResult("max_notional_per_trade_usd", notional <= per_trade,
                                  "trade notional {} USD, at most {} USD".format,
                                  (notional, per_trade)))
    per_strategy = risk.max_notional_per_strategy_usd
    if per_strategy is not None:
        carried = open_notional_usd(state)
        total = carried + notional
        checks.append(CheckResult("max_notional_per_strategy_usd", total <= per_strategy,
                                  "{} USD open + {} USD new = {} USD, at most {} USD".format,
                                  (carried, notional, total, per_strategy)))
    return tuple(checks)


def execution_route(execution: ExecutionSpec, notional: Decimal) -> str:
    """How the trade opens, as the trade and reports name it: "rfq" or "limit".

    `auto` takes RFQ when the notional reaches the RFQ minimum (strike x qty, not premium:
    the old system compared premium and so never routed to RFQ, lessons I4).
    """
    if isinstance(execution, RfqExecution):
        return "rfq"
    if isinstance(execution, AutoExecution):
        return "rfq" if notional >= execution.rfq.min_notional_usd else "limit"
    return "limit"
