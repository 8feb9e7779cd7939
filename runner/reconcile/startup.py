"""Reconciliation on every start: refresh the ledger, credit fills, compare, apply.

Runs on every start, with or without a crash before it, and is idempotent: a second
run finds nothing to do (lessons A7). Steps:
1. read the exchange's working orders and positions (a failed read postpones
   reconciliation and says so; it is never taken as "nothing there", lessons C5);
2. bring the ledger up to date from exchange truth, through the dispatcher (lookups by
   client order id, grace period for young orders, lost RFQ accepts resolved);
3. credit every active trade with the fills its orders and block trades made, also
   while the runner was down (lessons I2, B7);
4. compare (pure, `compare.plan_reconciliation`) and apply: cancel orphans the runner
   placed, settle trades whose instruments expired (lessons G1, G2), and report foreign
   orders and positions (left alone) and positions that need an operator's decision
   (lessons H6).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from runner.dispatch import Dispatcher
from runner.domain.clock import Clock
from runner.domain.commands import CancelOrder
from runner.domain.exercise import Exercise
from runner.domain.instruments import OptionKind, Underlying, parse_symbol
from runner.domain.ledger import (
    LedgerStatus,
    RfqLedgerState,
    credit_executions,
    executions_from_orders,
    executions_from_rfq,
)
from runner.domain.trades import Trade, TradeLeg, TradeStage
from runner.exchange.errors import ExchangeError
from runner.exchange.port import Exchange
from runner.reconcile.compare import Discrepancy, ReconcilePlan, plan_reconciliation
from runner.reconcile.rfqs import settle_active_rfqs
from runner.reconcile.settlement import DeliveryPrices, exercise_fees
from runner.store import Store

SettlementPrice = Callable[[Underlying, datetime], Decimal | None]
EXPIRY_REASON = "expiry"


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    """What reconciliation found and did, as lines a person can read."""

    at: datetime
    complete: bool
    lines: tuple[str, ...]
    resumed: tuple[str, ...] = ()
    credited: tuple[str, ...] = ()
    cancelled: tuple[int, ...] = ()
    foreign_orders: tuple[int, ...] = ()
    foreign_positions: tuple[str, ...] = ()
    settled: tuple[str, ...] = ()
    discrepancies: tuple[Discrepancy, ...] = ()

    @property
    def needs_attention(self) -> bool:
        """True when an operator must look: postponed, or positions disagree (either way:
        a position the store does not explain is a decision too, issue 7)."""
        return not self.complete or bool(self.discrepancies) or bool(self.foreign_positions)

    def text(self) -> str:
        return "\n".join(self.lines)


def reconcile(store: Store, exchange: Exchange, clock: Clock | datetime,
              settlement_price: SettlementPrice | None = None) -> ReconcileReport:
    """Bring the store in line with the exchange at start-up; report every finding.

    `clock` may be the service's Clock or just the current time (the store's clock then
    stamps the changes).
    """
    if isinstance(clock, datetime):
        now, clock = clock, store.clock
    else:
        now = clock.now()
    try:
        working = exchange.open_orders()
        positions = exchange.positions()
    except ExchangeError as exc:
        return ReconcileReport(now, False, (
            f"reconcile: POSTPONED, the exchange could not be read ({exc}); nothing was"
            " changed and it runs again at the next start or when called",))
    dispatcher = Dispatcher(exchange, store, clock)
    _refresh_ledger(dispatcher, store, working, now)
    rfq_lines = settle_active_rfqs(store, exchange)
    credited = credit_fills(store)
    trades = store.load_active_trades()
    plan = plan_reconciliation(trades, store.all_orders(), working, positions, now)
    cancelled = _cancel_orphans(dispatcher, plan)
    exercises = _exercise_history(exchange, store, plan.expired_trades)
    settled = _settle(store, plan.expired_trades, now, settlement_price, exercises)
    resumed = tuple(t.trade_id for t in store.load_active_trades())
    lines = _lines(store, plan, credited, settled, resumed, rfq_lines)
    return ReconcileReport(
        at=now, complete=True, lines=tuple(lines), resumed=resumed, credited=tuple(credited),
        cancelled=cancelled, foreign_orders=tuple(o.order_id for o in plan.foreign_orders),
        foreign_positions=tuple(p.symbol for p in plan.foreign_positions),
        settled=tuple(settled), discrepancies=plan.discrepancies)


def _refresh_ledger(dispatcher: Dispatcher, store: Store, working: list, now: datetime) -> None:
    by_client = {o.client_order_id: o for o in working if o.client_order_id is not None}
    for row in store.live_orders():
        if row.status is LedgerStatus.INTENT:
            stage = store.trade_stage(row.trade_id)
            if stage is None or stage.is_terminal:
                dispatcher.give_up(row, "its trade ended before it was sent")
            continue
        seen = by_client.get(row.client_order_id)
        if seen is not None:
            dispatcher.record_view(row, seen)
        else:
            dispatcher.settle_missing(row, now)
    dispatcher.poll_rfqs(now)
    oldest = min((t.created_at for t in store.load_active_trades()), default=now)
    dispatcher.record_fills(min(oldest, now - timedelta(days=1)))


def credit_fills(store: Store) -> list[str]:
    """Credit each active trade with what its orders and block trades executed (I2)."""
    credited = []
    for trade in store.load_active_trades():
        executions = executions_from_orders(store.orders_for_trade(trade.trade_id))
        for record in store.rfqs_for_trade(trade.trade_id):
            if record.state is RfqLedgerState.FILLED:
                executions.extend(executions_from_rfq(record, trade))
        updated = credit_executions(trade, executions)
        if updated != trade:
            store.save_trade(updated)
            credited.append(trade.trade_id)
    return credited


def _cancel_orphans(dispatcher: Dispatcher, plan: ReconcilePlan) -> tuple[int, ...]:
    cancelled = []
    for orphan in plan.orphans:
        cid = orphan.order.client_order_id or 0
        dispatcher.execute([CancelOrder(orphan.trade_id, cid, orphan.order.order_id,
                                        f"reconcile: {orphan.why}")])
        cancelled.append(cid)
    return tuple(cancelled)


def _exercise_history(exchange: Exchange, store: Store,
                      trade_ids: tuple[str, ...]) -> list[Exercise] | None:
    """The exercise history since the earliest expiry among the trades to settle (the
    exercise fees, E6); None when it cannot be read (they are then booked without)."""
    trades = [t for t in (store.load_trade(i) for i in trade_ids) if t is not None]
    expiries = [parse_symbol(leg.symbol).expiry for t in trades for leg in t.legs]
    if not expiries:
        return []
    try:
        return exchange.exercises(min(expiries) - timedelta(days=1))
    except ExchangeError:
        return None


def _settle(store: Store, trade_ids: tuple[str, ...], now: datetime,
            settlement_price: SettlementPrice | None,
            exercises: Sequence[Exercise] | None) -> list[str]:
    settled = []
    for trade_id in trade_ids:
        trade = store.load_trade(trade_id)
        if trade is None:
            continue
        store.save_trade(settle_expired(trade, now, settlement_price, exercises))
        settled.append(trade_id)
    return settled


def settle_expired(trade: Trade, now: datetime, settlement_price: SettlementPrice | None,
                   exercises: Sequence[Exercise] | None = None) -> Trade:
    """Close every held leg at intrinsic value against the settlement price (G1, G2), with
    its share of the exercise fee the exchange's history reports (E6).

    Without a known settlement price the legs are closed with no exit price, so the
    PnL stays visibly pending instead of being booked at zero (lessons I6). An
    in-the-money leg whose fee the history lacks (or an unreadable history) is booked
    without it, and the CLOSED transition names it: start-up never waits.
    """
    prices = _prices(trade, settlement_price)
    fees = exercise_fees(trade, prices, now, exercises)
    for leg in trade.legs:
        if leg.open_qty > 0:
            trade = trade.with_leg(_settled_leg(leg, prices, fees.get(leg.symbol)))
    trade = trade.with_exit_reason(EXPIRY_REASON)
    reason = "instruments expired and settled"
    unknown = sorted(symbol for symbol, fee in fees.items() if fee is None)
    if unknown:
        reason += f"; exercise fee of {', '.join(unknown)} not in the history: booked without it"
    return move_to_closed(trade, reason, now)


def _prices(trade: Trade, settlement_price: SettlementPrice | None) -> DeliveryPrices:
    series = {(parts.underlying, parts.expiry) for leg in trade.legs
              if leg.open_qty > 0 and (parts := parse_symbol(leg.symbol))}
    if settlement_price is None:
        return {}
    return {item: settlement_price(*item) for item in series}


def _settled_leg(leg: TradeLeg, prices: DeliveryPrices, fee: Decimal | None) -> TradeLeg:
    parts = parse_symbol(leg.symbol)
    price = prices.get((parts.underlying, parts.expiry))
    if price is None:
        return replace(leg, closed_qty=leg.filled_qty)
    if parts.kind is OptionKind.CALL:
        intrinsic = max(Decimal(0), price - parts.strike)
    else:
        intrinsic = max(Decimal(0), parts.strike - price)
    return leg.with_close_fill(leg.open_qty, intrinsic, fee or Decimal(0))


def move_to_closed(trade: Trade, reason: str, now: datetime) -> Trade:
    """Walk the allowed transitions from the trade's stage to CLOSED."""
    if trade.stage is TradeStage.PENDING_OPEN:
        trade = trade.moved_to(TradeStage.OPEN, reason, now)
    if trade.stage is TradeStage.OPENING:
        trade = trade.moved_to(TradeStage.PENDING_CLOSE, reason, now)
    return trade.moved_to(TradeStage.CLOSED, reason, now)


def _lines(store: Store, plan: ReconcilePlan, credited: list[str], settled: list[str],
           resumed: tuple[str, ...], rfq_lines: list[str]) -> list[str]:
    lines = list(rfq_lines)
    lines += [f"reconcile: credited fills made while down to trade {t}" for t in credited]
    lines += [f"reconcile: cancelled orphan order {o.order.order_id} (client id"
              f" {o.order.client_order_id}, trade {o.trade_id}): {o.why}" for o in plan.orphans]
    lines += [f"reconcile: settled trade {t} at expiry" for t in settled]
    lines += [f"reconcile: trade {t} expired; waiting for the exchange to settle it"
              for t in plan.awaiting_settlement]
    lines += [f"reconcile: left alone order {o.order_id} on {o.symbol} ({o.side.value}"
              f" {o.qty} @ {o.price}): not placed by this runner" for o in plan.foreign_orders]
    lines += [f"reconcile: left alone position {p.symbol} {p.qty}: not opened by this runner"
              for p in plan.foreign_positions]
    lines += [f"reconcile: left alone {qty} of {symbol} beyond what the runner holds"
              for symbol, qty in plan.surplus_positions]
    lines += [d.line() for d in plan.discrepancies]
    for trade_id in resumed:
        trade = store.load_trade(trade_id)
        if trade is not None:
            lines.append(f"reconcile: resumed trade {trade_id} of {trade.strategy}"
                         f" ({trade.stage.value})")
    return lines or ["reconcile: store and exchange agree; nothing to do"]
