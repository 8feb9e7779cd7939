"""Start-up reconciliation of the store with the exchange, and the operator's decisions."""

from runner.reconcile.compare import Discrepancy, Orphan, ReconcilePlan, plan_reconciliation
from runner.reconcile.decisions import (
    adopt_positions,
    flatten_trade,
    fresh_start_blocked,
    mark_closed_externally,
)
from runner.reconcile.startup import (
    ReconcileReport,
    SettlementPrice,
    credit_fills,
    move_to_closed,
    reconcile,
    settle_expired,
)

__all__ = [
    "Discrepancy",
    "Orphan",
    "ReconcilePlan",
    "ReconcileReport",
    "SettlementPrice",
    "adopt_positions",
    "credit_fills",
    "flatten_trade",
    "fresh_start_blocked",
    "mark_closed_externally",
    "move_to_closed",
    "plan_reconciliation",
    "reconcile",
    "settle_expired",
]
